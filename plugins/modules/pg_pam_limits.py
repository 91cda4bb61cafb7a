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

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import host_limits, pam_limits, pam_limits_plan
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import ClusterError, cluster_argument_spec
from ansible_collections.pghost.hardening.plugins.module_utils.file_write import write_atomically
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.systemd_ini import parse_show

# Places read on the target; unit tests point them elsewhere.
NR_OPEN = "/proc/sys/fs/nr_open"
SELF_STATUS = "/proc/self/status"
PID1_LIMITS = "/proc/1/limits"
PAM_D = "/etc/pam.d"
SYSTEMD_RUN = "/run/systemd/system"
# The kernel's default fs.nr_open, assumed when it cannot be read.
DEFAULT_NR_OPEN = 1048576


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


def limits_sources(limits_conf, own_path, files=None):
    """[(path, text)] in pam_limits' order: limits.conf, then limits.d/*.conf by
    name ("C" order, no hidden files), the own file at its place even when missing."""
    files = files or HostFiles()
    directory = os.path.dirname(own_path)
    paths = [os.path.join(directory, name) for name in files.listdir(directory)
             if name.endswith(".conf") and not name.startswith(".") and files.isfile(os.path.join(directory, name))]
    if own_path not in paths:
        paths.append(own_path)
    paths.sort(key=lambda p: os.path.basename(p).encode("utf-8", "surrogateescape"))
    sources = []
    if files.exists(limits_conf):
        sources.append((limits_conf, files.read(limits_conf) or ""))
    for path in paths:
        sources.append((path, files.read(path) or ""))
    return sources


def systemd_defaults(module, files=None):
    """What a session inherits from systemd when no file sets an item; {} without systemd."""
    systemctl = module.get_bin_path("systemctl")
    if not systemctl or not (files or HostFiles()).isdir(SYSTEMD_RUN):
        return {}
    props = ",".join(sorted(host_limits.MANAGER_PROPERTIES))
    rc, out, err = module.run_command([systemctl, "show", "--property=" + props])
    if rc != 0:
        return {}
    return pam_limits.inherited_from_systemd(host_limits.manager_limits((parse_show(out) or [{}])[0]))


def read_nr_open(module, files=None):
    text = ((files or HostFiles()).read(NR_OPEN) or "").strip()
    if text.isdigit():
        return int(text)
    module.warn("could not read %s; assuming the kernel default %d" % (NR_OPEN, DEFAULT_NR_OPEN))
    return DEFAULT_NR_OPEN


def read_ceiling(files):
    """{item: hard limit} of PID 1 when this host has no CAP_SYS_RESOURCE in its bounding set, else None."""
    if pam_limits.has_capability(files.read(SELF_STATUS), pam_limits.CAP_SYS_RESOURCE):
        return None
    return pam_limits.hard_limits(host_limits.parse_proc_limits(files.read(PID1_LIMITS))) or None


def read_pam_d(files):
    return dict((name, files.read(os.path.join(PAM_D, name)) or "") for name in files.listdir(PAM_D)
                if files.isfile(os.path.join(PAM_D, name)))


def input_problem(params, files):
    """Why the options cannot be used, before anything is read, or None."""
    path = params["path"]
    name = os.path.basename(path)
    if not name.endswith(".conf") or name.startswith("."):
        return ("path: %r is not accepted; pam_limits reads only *.conf files that are not hidden in its "
                "limits.d directory, e.g. /etc/security/limits.d/60-pghost-postgresql.conf" % path)
    if not files.isdir(os.path.dirname(path)):
        return ("path: the directory %s does not exist; is pam_limits (Debian libpam-modules) installed? "
                "Nothing was written" % os.path.dirname(path))
    if params["hugepage_size_kb"] < 0:
        return ("hugepage_size_kb: %r is not accepted; expected 0 (none) or the huge page size in kB"
                % params["hugepage_size_kb"])
    return None


def read_own_file(module, files, sources):
    """The collection's file as pam_limits reads it; fails when it cannot be rewritten."""
    path, limits_conf = module.params["path"], module.params["limits_conf"]
    if not files.exists(limits_conf):
        module.warn("%s is missing: Linux-PAM 1.5.2 (Debian 12) then fails every session that loads pam_limits "
                    "and never reads limits.d; later releases skip it. Restore it (it may be empty)" % limits_conf)
    text = dict(sources).get(path, "")
    if os.path.lexists(files.path(path)) and not files.isfile(path):
        module.fail_json(msg="path: %s exists and is not a regular file; pam_limits cannot read it as limits. "
                             "Remove it or choose another path; nothing was written" % path)
    problem = pam_limits_plan.refusal(path, text)
    if problem:
        module.fail_json(msg=problem)
    return text


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
    files = HostFiles()
    problem = input_problem(p, files)
    if problem:
        module.fail_json(msg=problem)
    nr_open = read_nr_open(module, files)
    try:
        want = pam_limits_plan.wanted(p["clusters"], p["users"], p["hugepage_size_kb"], p["nofile"], p["nproc"],
                                      p["memlock"], nr_open)
    except (pam_limits.LimitsError, ClusterError) as exc:
        module.fail_json(msg="%s; nothing was written" % exc)
    for warning in want.warnings:
        module.warn(warning)

    sources = limits_sources(p["limits_conf"], path, files)
    text = read_own_file(module, files, sources)
    ceiling = read_ceiling(files)
    result = pam_limits_plan.outcome(
        want, dict((user, account(user)) for user in want.users), sources, path, text,
        systemd_defaults(module, files), nr_open, ceiling, read_pam_d(files), PAM_D)
    for warning in result.warnings:
        module.warn(warning)
    if result.changed and not module.check_mode:
        # The temporary file is hidden (.pghost-*), so pam_limits never reads it.
        write_atomically(module, files.path(path), result.text)
    module.exit_json(
        changed=result.changed,
        msg=result.msg,
        limits=result.plan.results,
        effective_before=result.plan.effective_before,
        effective=result.plan.effective,
        memlock_reasons=want.memlock_reasons,
        lines=result.lines,
        pam_services=result.services,
        ceiling=dict((k, pam_limits.fmt(v)) for k, v in ceiling.items()) if ceiling else None,
        content=result.text,
        diff=dict(before=text, after=result.text, before_header=path, after_header=path),
    )


if __name__ == "__main__":
    main()
