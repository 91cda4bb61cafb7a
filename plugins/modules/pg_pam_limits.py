#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_pam_limits
short_description: Login-session limits for the PostgreSQL OS users, never lowering one
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Writes C(nofile), C(nproc) and C(memlock) soft and hard limits for the OS
    users that own PostgreSQL clusters (and any extra O(users)) to one file the
    collection owns, C(/etc/security/limits.d/60-pghost-postgresql.conf), in one
    call for all users and items.
  - These limits reach login sessions only - C(su -), C(runuser -l), C(sshd),
    C(cron), C(sudo), i.e. every PAM service whose stack loads C(pam_limits) -
    so that C(pg_dump), C(psql) and a manual C(pg_ctl) run with them. systemd
    services never see them; the server's own limits are C(Limit*) settings of
    its unit.
  - Reads C(/etc/security/limits.conf) and every C(limits.d/*.conf) the way
    C(pam_limits) does (file order, user lines beating C(@group) lines beating
    C(*), uid and gid ranges, C(-) for soft and hard, C(unlimited)), and each value
    becomes the highest of the value asked, what those files (or, when none sets
    it, systemd's C(DefaultLimit*) a session inherits) already give the user, and
    what this file said before. A value is never lowered.
  - Capped only where the kernel would refuse more - C(nofile) at C(fs.nr_open);
    every item at PID 1's hard limit when C(CAP_SYS_RESOURCE) is missing from
    the bounding set (containers), since C(pam_limits) could then set nothing
    above it (Debian skips the item, soft limit too; upstream refuses the login).
    The reason line says so.
  - Lines it wrote before for users or items not asked for now are kept as
    they are. Nothing outside its own file is changed.
  - Unlike M(community.general.pam_limits), which edits one line of one file per
    call and compares only with that file, this sees C(limits.conf) and all of
    C(limits.d) together, so it can keep the never-lower rule across files (a
    C(postgres) line in its own file would otherwise silently beat a higher C(*)
    or C(@group) line elsewhere), and it does in one call what would take six
    per user (three items, soft and hard).
options:
  path:
    description:
      - The file the collection owns. It must be a C(*.conf) file, not hidden, directly in the C(limits.d)
        directory, the only place C(pam_limits) reads it from; the directory must exist.
    type: path
    default: /etc/security/limits.d/60-pghost-postgresql.conf
  limits_conf:
    description: The main file C(pam_limits) reads before C(limits.d).
    type: path
    default: /etc/security/limits.conf
  clusters:
    description:
      - The PostgreSQL clusters as M(pghost.hardening.pg_host_facts) reports them
        (C(ansible_facts.pghost_clusters_found)). Each one's C(owner) gets the limits; its
        settings size the C(memlock) floor of O(memlock=auto).
    default: []
  users:
    description: More OS users to give the same O(nofile), O(nproc) and a numeric or C(unlimited) O(memlock).
    type: list
    elements: str
    default: []
  hugepage_size_kb:
    description: The host's default huge page size in kB (C(ansible_facts.pghost_host.hugepage_size_kb)); 0 for none.
    type: int
    default: 0
  nofile:
    description:
      - Open files, soft and hard, at least. C(0) leaves the item alone. At most C(fs.nr_open)
        (1048576 by default) - the kernel refuses more, so the module fails before writing anything.
        Never C(unlimited), which the kernel does not allow for open files.
    type: int
    default: 65536
  nproc:
    description: Processes of the user, soft and hard, at least. C(0) leaves the item alone.
    type: int
    default: 65536
  memlock:
    description:
      - Locked memory, soft and hard, in KiB as C(limits.conf) counts it.
      - C(auto) - the memory in huge pages the user's clusters map (server-reported
        C(shared_memory_size_in_huge_pages) on PostgreSQL 15+, else estimated), summed over the
        user's clusters and rounded up to KiB; when that is 0 (no huge pages) the item is left alone.
      - A whole number of KiB - at least that, and at least the C(auto) value. C(0) leaves the item alone.
      - C(unlimited).
    type: str
    default: auto
notes:
  - Run it as root. Only Linux with PAM; FreeBSD login classes are a different mechanism.
  - A missing C(limits.conf) is reported - Linux-PAM 1.5.2 (Debian 12) then fails every session that
    loads C(pam_limits) and never reads C(limits.d).
  - A line that turns C(pam_limits) off for a user (C(postgres -)), or a later file that sets the same
    user's item again, is reported as a warning; the module does not edit other files.
  - To lower a limit, edit or remove the file by hand; the module never does.
attributes:
  check_mode:
    details: Reports what would change, with a diff; writes nothing.
    support: full
  diff_mode:
    details: Shows the file before and after.
    support: full
  platform:
    platforms: [linux]
extends_documentation_fragment:
  - pghost.hardening.attributes
  - pghost.hardening.clusters
seealso:
  - module: pghost.hardening.pg_host_facts
  - module: community.general.pam_limits
  - name: limits.conf(5)
    description: The file format and how pam_limits orders files and domains.
    link: https://man7.org/linux/man-pages/man5/limits.conf.5.html
"""

EXAMPLES = r"""
- name: Limits for the owners of the clusters found
  pghost.hardening.pg_pam_limits:
    clusters: "{{ ansible_facts.pghost_clusters_found }}"
    hugepage_size_kb: "{{ ansible_facts.pghost_host.hugepage_size_kb }}"
    nofile: 65536
    nproc: 65536
    memlock: auto
  become: true
  register: limits

- name: Show what sessions of each user get now
  ansible.builtin.debug:
    var: limits.effective

- name: A maintenance user too, memlock left alone
  pghost.hardening.pg_pam_limits:
    users: [pgbackup]
    nofile: 16384
    nproc: 0
    memlock: "0"
  become: true
"""

RETURN = r"""
limits:
  description: One entry per user, item and soft/hard that was asked for.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The OS user.
      type: str
    item:
      description: C(nofile), C(nproc) or C(memlock).
      type: str
    type:
      description: C(soft) or C(hard).
      type: str
    value:
      description: The value written (memlock in KiB), or C(unlimited).
      type: str
    reason:
      description: Why the value is what it is; also the comment above its line.
      type: str
    previous_file:
      description: The value in the file before, null if none.
      type: str
    before:
      description: What the user's sessions got before (from the files, else inherited), null if unknown.
      type: str
    before_from:
      description: Where that came from (file, line and text, or C(inherited from systemd ...)).
      type: str
    after:
      description: What the user's sessions get with the new file, null if unknown.
      type: str
    after_from:
      description: Where that comes from.
      type: str
  sample:
    - user: postgres
      item: nofile
      type: hard
      value: "524288"
      reason: "asked 65536 (nofile); kept at 524288, inherited from systemd DefaultLimitNOFILE=524288"
      previous_file: null
      before: "524288"
      before_from: inherited from systemd DefaultLimitNOFILE=524288
      after: "524288"
      after_from: "/etc/security/limits.d/60-pghost-postgresql.conf:10 (postgres hard nofile 524288)"
effective_before:
  description: Per user and item, C(soft/hard) its sessions got before (memlock in KiB; C(?) = inherited, unknown).
  returned: always
  type: dict
  sample: {"postgres": {"nofile": "1024/524288", "nproc": "62502/62502", "memlock": "8192/8192 KiB"}}
effective:
  description: Per user and item, C(soft/hard) its sessions get with the new file.
  returned: always
  type: dict
  sample: {"postgres": {"nofile": "65536/524288", "nproc": "65536/65536", "memlock": "147456/147456 KiB"}}
memlock_reasons:
  description: Per user, how the huge page floor of O(memlock=auto) was found, one line per cluster.
  returned: always
  type: dict
lines:
  description: The limits whose value in the file changes, with the value before and the reason.
  returned: always
  type: list
  elements: str
pam_services:
  description:
    - C(/etc/pam.d) services whose stack loads C(pam_limits) directly (includes are not followed), for
      example C(login), C(runuser), C(su), C(sudo), C(sshd). Empty means no session gets these limits.
  returned: always
  type: list
  elements: str
ceiling:
  description: Per item, the hard limit no session can exceed here (PID 1's, without CAP_SYS_RESOURCE); null when none.
  returned: always
  type: dict
content:
  description: The file's new content.
  returned: always
  type: str
"""

import glob
import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import pam_limits
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import ClusterError, cluster_argument_spec
from ansible_collections.pghost.hardening.plugins.module_utils.file_write import write_atomically
from ansible_collections.pghost.hardening.plugins.module_utils.host_probe import HostFiles

# Places read on the target; unit tests point them elsewhere.
NR_OPEN = "/proc/sys/fs/nr_open"
SELF_STATUS = "/proc/self/status"
PID1_LIMITS = "/proc/1/limits"
PAM_D = "/etc/pam.d"
SYSTEMD_RUN = "/run/systemd/system"
# The kernel's default fs.nr_open, assumed when it cannot be read.
DEFAULT_NR_OPEN = 1048576


def read_text(path):
    return HostFiles().read(path, None)


def account(name):
    """pam_limits' view of a user: uid, primary gid, group names and gids (primary and supplementary)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return pam_limits.Account(name, None, None, frozenset(), frozenset())
    gids = set(os.getgrouplist(name, entry.pw_gid))
    names = set()
    for gid in gids:
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            pass
    return pam_limits.Account(name, entry.pw_uid, entry.pw_gid, frozenset(names), frozenset(gids))


def limits_sources(limits_conf, own_path):
    """[(path, text)] in pam_limits' order: limits.conf, then limits.d/*.conf by
    name ("C" order, no hidden files), the own file at its place even when missing."""
    directory = os.path.dirname(own_path)
    paths = [p for p in glob.glob(os.path.join(glob.escape(directory), "*.conf")) if os.path.isfile(p)]
    if own_path not in paths:
        paths.append(own_path)
    paths.sort(key=lambda p: os.path.basename(p).encode("utf-8", "surrogateescape"))
    sources = []
    if os.path.exists(limits_conf):
        sources.append((limits_conf, read_text(limits_conf) or ""))
    for path in paths:
        sources.append((path, read_text(path) or ""))
    return sources


def systemd_defaults(module):
    """What a session inherits from systemd when no file sets an item; {} without systemd."""
    systemctl = module.get_bin_path("systemctl")
    if not systemctl or not os.path.isdir(SYSTEMD_RUN):
        return {}
    props = ",".join(sorted(pam_limits.SYSTEMD_DEFAULTS.values()))
    rc, out, err = module.run_command([systemctl, "show", "--property=" + props])
    return pam_limits.parse_systemd_defaults(out) if rc == 0 else {}


def read_nr_open(module):
    text = (read_text(NR_OPEN) or "").strip()
    if text.isdigit():
        return int(text)
    module.warn("could not read %s; assuming the kernel default %d" % (NR_OPEN, DEFAULT_NR_OPEN))
    return DEFAULT_NR_OPEN


def read_ceiling():
    """{item: hard limit} of PID 1 when this host has no CAP_SYS_RESOURCE in its bounding set, else None."""
    if pam_limits.has_capability(read_text(SELF_STATUS), pam_limits.CAP_SYS_RESOURCE):
        return None
    return pam_limits.parse_proc_limits(read_text(PID1_LIMITS)) or None


def read_pam_d():
    files = {}
    if os.path.isdir(PAM_D):
        for name in sorted(os.listdir(PAM_D)):
            path = os.path.join(PAM_D, name)
            if os.path.isfile(path):
                files[name] = read_text(path) or ""
    return files


def check_path(path):
    name = os.path.basename(path)
    if not name.endswith(".conf") or name.startswith("."):
        return ("path: %r is not accepted; pam_limits reads only *.conf files that are not hidden in its "
                "limits.d directory, e.g. /etc/security/limits.d/60-pghost-postgresql.conf" % path)
    if not os.path.isdir(os.path.dirname(path)):
        return ("path: the directory %s does not exist; is pam_limits (Debian libpam-modules) installed? "
                "Nothing was written" % os.path.dirname(path))
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/security/limits.d/60-pghost-postgresql.conf"),
            limits_conf=dict(type="path", default="/etc/security/limits.conf"),
            clusters=cluster_argument_spec(default=[]),
            users=dict(type="list", elements="str", default=[]),
            hugepage_size_kb=dict(type="int", default=0),
            nofile=dict(type="int", default=65536),
            nproc=dict(type="int", default=65536),
            memlock=dict(type="str", default="auto"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    path = p["path"]
    problem = check_path(path)
    if problem:
        module.fail_json(msg=problem)
    if p["hugepage_size_kb"] < 0:
        module.fail_json(msg="hugepage_size_kb: %r is not accepted; expected 0 (none) or the huge page size in kB"
                         % p["hugepage_size_kb"])
    nr_open = read_nr_open(module)
    try:
        memlock = pam_limits.parse_memlock(p["memlock"])
        extra = [pam_limits.check_user_name("users[%d]" % i, name) for i, name in enumerate(p["users"])]
        # Clusters are sized only when memlock depends on their huge pages.
        sized = memlock == "auto" or memlock not in (0, pam_limits.UNLIMITED)
        floors, memlock_reasons, warnings = pam_limits.memlock_floors(p["clusters"], p["hugepage_size_kb"], sized)
        owners = sorted(floors)
        for owner in owners:
            pam_limits.check_user_name("clusters[].owner", owner)
        users = sorted(set(owners) | set(extra))
        asked = pam_limits.asked_limits(users, floors, p["nofile"], p["nproc"], memlock, nr_open)
    except (pam_limits.LimitsError, ClusterError) as exc:
        module.fail_json(msg="%s; nothing was written" % exc)
    for warning in warnings:
        module.warn(warning)

    sources = limits_sources(p["limits_conf"], path)
    if not os.path.exists(p["limits_conf"]):
        module.warn("%s is missing: Linux-PAM 1.5.2 (Debian 12) then fails every session that loads pam_limits "
                    "and never reads limits.d; later releases skip it. Restore it (it may be empty)" % p["limits_conf"])
    text = dict(sources).get(path, "")
    if os.path.lexists(path) and not os.path.isfile(path):
        module.fail_json(msg="path: %s exists and is not a regular file; pam_limits cannot read it as limits. "
                             "Remove it or choose another path; nothing was written" % path)
    foreign = pam_limits.foreign_lines(text, path)
    if foreign:
        module.fail_json(msg="path: %s is the collection's own file, and line %s was not written by it, so a rewrite "
                             "would drop it. Move such lines to a file of your own in %s; nothing was written"
                             % (path, "; line ".join("%d (%s)" % item for item in foreign), os.path.dirname(path)))
    parsed = [(src, pam_limits.parse(body, src)) for src, body in sources]
    own_before = pam_limits.parse_own(text, path)
    inherited = systemd_defaults(module)
    ceiling = read_ceiling()
    accounts = dict((user, account(user)) for user in users)
    for user in users:
        if accounts[user].uid is None:
            module.warn("user %s does not exist on this host (yet); its lines are written, but only lines naming it "
                        "or * are taken into account" % user)
    result = pam_limits.plan(accounts, asked, parsed, path, own_before, inherited, nr_open, ceiling)
    for warning in result.warnings:
        module.warn(warning)
    if ceiling and any("PID 1's hard limit:" in r["reason"] for r in result.results):
        module.warn("CAP_SYS_RESOURCE is not in this host's bounding set (a container?): no session can raise a "
                    "hard limit above PID 1's (%s), so values above it were written as that"
                    % ", ".join("%s %s" % (item, pam_limits.fmt(ceiling[item], item))
                                for item in pam_limits.ITEMS if item in ceiling))
    services = pam_limits.pam_services(read_pam_d())
    if not services:
        module.warn("no service in %s loads pam_limits directly: these limits may reach no session" % PAM_D)

    new_text = result.text if users or own_before else text
    changed = new_text != text
    if changed and not module.check_mode:
        # The temporary file is hidden (.pghost-*), so pam_limits never reads it.
        write_atomically(path, new_text)
    lines = [pam_limits.describe(r) for r in result.results if r["value"] != r["previous_file"]]
    if not users:
        msg = "no PostgreSQL OS user found and no users given: nothing to do"
    elif changed and lines:
        msg = "%d limit(s) changed in %s for %s" % (len(lines), path, ", ".join(users))
    elif changed:
        msg = "reasons rewritten in %s, no value changed" % path
    else:
        msg = "no change"
    module.exit_json(
        changed=changed,
        msg=msg,
        limits=result.results,
        effective_before=result.effective_before,
        effective=result.effective,
        memlock_reasons=memlock_reasons,
        lines=lines,
        pam_services=services,
        ceiling=dict((k, pam_limits.fmt(v)) for k, v in ceiling.items()) if ceiling else None,
        content=new_text,
        diff=dict(before=text, after=new_text, before_header=path, after_header=path),
    )


if __name__ == "__main__":
    main()
