#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move the files of a PostgreSQL server from one UID/GID to another, in one
walk (thin shell over module_utils/reown.py, which says how the walk stays
inside the jail).

Used by role pg_jail (tasks/apply_uid.yml) after the server user of a jail
got a new UID/GID (docs/postgres-kernel-facts.md §8: jails sharing the host's SysV IPC need distinct
server UIDs).
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_reown
short_description: Change the owner and group of exactly the files a PostgreSQL server user owned, in one walk
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Walks every directory of O(paths) once and, for each entry (the directory itself, files, directories,
    symlinks, sockets and so on), changes the owner of those owned by O(old_uid) to O(new_uid) and the group of
    those with group O(old_gid) to O(new_gid). Every other entry is left exactly as it is. Nothing is read from
    or written to the files, and modes are never set.
  - Symlinks are never followed while walking; a symlink owned by O(old_uid) gets the new owner itself
    (C(lchown)). A path of O(paths) that is itself a symlink, or has one in it, is followed to the directory it
    names, inside O(root).
  - With O(root), O(paths) are paths inside that directory (a FreeBSD jail's root) and are resolved the way a
    process in the jail sees them - an absolute symlink starts again at O(root), C(..) stops at it - so no path
    or link leads out of O(root).
  - Inside a PostgreSQL data directory (a directory holding C(PG_VERSION) and C(pg_tblspc)), with
    O(postgresql_links), the targets of the tablespace links in C(pg_tblspc) and of a C(pg_wal) (C(pg_xlog)
    before PostgreSQL 10) that is a symlink are walked as well, each as one more entry of RV(paths), resolved
    inside O(root) like the paths. Filesystems mounted inside a data directory or a tablespace are walked too
    (they belong to the server); elsewhere, O(one_file_system) keeps the walk on the filesystem of the path it
    started from.
  - A directory is walked once even when several paths reach it (a data directory inside the user's home);
    its entries count for the path that reached it first, so give the data directories before the home.
  - Meant to run while the server is stopped (role C(pg_jail) stops it first); a running server keeps the
    files it has open, and new files it creates have the old owner.
options:
  paths:
    description:
      - The directories (or single files) to walk, absolute, inside O(root).
      - One that does not exist fails the module before anything is changed, unless O(missing_ok).
    type: list
    elements: path
    required: true
  root:
    description:
      - The directory O(paths) and the links followed are inside, such as a jail's root (its C(path)).
      - C(/) (the default) for paths of the host itself.
    type: path
    default: /
  old_uid:
    description: The owner to replace. Entries owned by any other user keep their owner.
    type: int
  new_uid:
    description: The owner that entries owned by O(old_uid) get.
    type: int
  old_gid:
    description: The group to replace. Entries with any other group keep their group.
    type: int
  new_gid:
    description: The group that entries with group O(old_gid) get.
    type: int
  one_file_system:
    description:
      - Do not walk into a directory on another filesystem than the path the walk started from (like
        C(find -xdev)); the mount point itself is left alone too, and counted in RV(paths[].other_filesystems).
      - Does not apply inside a PostgreSQL data directory or tablespace, whose mounted parts belong to the server.
    type: bool
    default: true
  missing_ok:
    description:
      - A path of O(paths) that does not exist is reported (RV(paths[].exists) false) instead of failing.
      - A missing target of a tablespace or WAL link is always only a warning.
    type: bool
    default: false
  postgresql_links:
    description: Walk the targets of the C(pg_tblspc) links and a symlinked C(pg_wal)/C(pg_xlog) of the data directories met.
    type: bool
    default: true
notes:
  - Give O(old_uid) with O(new_uid), O(old_gid) with O(new_gid), or both pairs.
  - Run as root (C(become)); changing the owner of a file needs it.
  - C(chown) clears the set-user-ID and set-group-ID bits of a regular file on Linux (also when root does it) and,
    on FreeBSD, when the caller is not root. PostgreSQL data directories have no such files; when one loses such
    a bit the module warns, naming it, and does not set it again.
  - Hard links to a file outside O(paths) change with it (they are the same file).
  - Sockets are changed like any other entry, but the server's Unix socket directory (C(/tmp)) is not meant to
    be walked; the server creates new sockets when it starts.
attributes:
  check_mode:
    details: Walks and counts what would change; changes nothing.
    support: full
  diff_mode:
    details: No diff; RV(samples) names some of the entries.
    support: none
  platform:
    details: FreeBSD and Linux (any POSIX system with C(fchownat) and C(openat)).
    platforms: [freebsd, linux]
extends_documentation_fragment:
  - pghost.hardening.attributes
seealso:
  - module: pghost.hardening.pg_jail_facts
  - plugin: pghost.hardening.jail_uid_plan
    plugin_type: filter
  - name: pw(8)
    description: Changing the UID of the user (C(pw usermod NAME -u UID)) does not change the owner of any file.
    link: https://man.freebsd.org/cgi/man.cgi?query=pw&sektion=8
"""

EXAMPLES = r"""
- name: Give the data of jail pg3's PostgreSQL to its new server UID and GID
  pghost.hardening.pg_reown:
    root: /jails/pg3
    paths:
      - /var/db/postgres/data16
      - /var/db/postgres
    old_uid: 770
    new_uid: 20000
    old_gid: 770
    new_gid: 20000
  become: true
  register: reowned

- name: Only the group, on the host
  pghost.hardening.pg_reown:
    paths: [/srv/pgdata]
    old_gid: 70
    new_gid: 5432
  become: true

- name: How many files would change
  pghost.hardening.pg_reown:
    root: /jails/pg3
    paths: [/var/db/postgres]
    old_uid: 770
    new_uid: 20000
  check_mode: true
  register: would
"""

RETURN = r"""
paths:
  description:
    - One entry per path of O(paths), in order, then one per tablespace or WAL link target followed.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description:
        - The path as given or, for a link followed, its target (a relative one joined to the link's directory).
      type: str
      sample: /var/db/postgres/data16
    reason:
      description: Why a path was walked that O(paths) does not name (the link), else null.
      type: str
      sample: "/var/db/postgres/data16/pg_tblspc/16384 -> /tblspc/fast"
    resolved:
      description: The path inside O(root) with symlinks resolved; null when it does not exist.
      type: str
      sample: /var/db/postgres/data16
    host_path:
      description: Where that is on the host (O(root) joined with RV(paths[].resolved)).
      type: str
      sample: /jails/pg3/var/db/postgres/data16
    exists:
      description: Whether the path exists.
      type: bool
    walked:
      description: Whether it was walked (false when missing, or already walked through another path).
      type: bool
    note:
      description: Why it was not walked, or null.
      type: str
      sample: "already walked, through /var/db/postgres"
    dirs:
      description: Directories examined (the path itself included).
      type: int
      sample: 26
    files:
      description: Other entries examined (files, symlinks, sockets ...).
      type: int
      sample: 1402
    uid_changed:
      description: Entries whose owner changed (in check mode, would change).
      type: int
      sample: 1428
    gid_changed:
      description: Entries whose group changed (in check mode, would change).
      type: int
      sample: 1428
    other_filesystems:
      description: Directories on another filesystem that were not walked (O(one_file_system)).
      type: int
      sample: 0
totals:
  description: The sums of RV(paths[].dirs), RV(paths[].files), RV(paths[].uid_changed) and RV(paths[].gid_changed).
  returned: always
  type: dict
  sample: {dirs: 26, files: 1402, uid_changed: 1428, gid_changed: 1428}
samples:
  description: Up to ten entries that changed (or would), as host paths with the change.
  returned: always
  type: list
  elements: str
  sample: ["/jails/pg3/var/db/postgres/data16: uid 770 -> 20000, gid 770 -> 20000"]
msg:
  description: One sentence with the totals.
  returned: always
  type: str
  sample: "1428 of 1428 entries under 2 paths: owner 770 -> 20000 on 1428, group 770 -> 20000 on 1428"
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.reown import Missing, ReownError, Walk, resolve


def run(module):
    p = module.params
    if p["old_uid"] is None and p["old_gid"] is None:
        module.fail_json(msg="give old_uid and new_uid, old_gid and new_gid, or both; nothing was changed")
    for old, new in (("old_uid", "new_uid"), ("old_gid", "new_gid")):
        if (p[old] is None) != (p[new] is None):
            module.fail_json(msg="give %s and %s together (given: %s=%s, %s=%s); nothing was changed"
                             % (old, new, old, p[old], new, p[new]))
    for key in ("old_uid", "new_uid", "old_gid", "new_gid"):
        if p[key] is not None and p[key] < 0:
            module.fail_json(msg="%s is %d; ids are 0 or more; nothing was changed" % (key, p[key]))
    relative = [path for path in p["paths"] if not path.startswith("/")]
    if relative:
        module.fail_json(msg="paths must be absolute (inside root %s): %s; nothing was changed"
                         % (p["root"], ", ".join(relative)))
    if not p["paths"]:
        module.fail_json(msg="paths is empty; nothing was changed")
    # The root as the host sees it; only the integration test maps it under a tree.
    root_real = HostFiles().path(p["root"])
    try:
        root_fd = os.open(root_real, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        module.fail_json(msg="root %s: %s; nothing was changed" % (p["root"], exc.strerror))
    try:
        # Every path is looked at before anything changes: a typo fails alone.
        for path in p["paths"]:
            try:
                resolve(root_fd, path).close()
            except Missing as exc:
                if not p["missing_ok"]:
                    where = "" if p["root"] in ("", "/") else " (inside root %s)" % p["root"]
                    module.fail_json(msg="%s%s; set missing_ok to skip it; nothing was changed" % (exc, where),
                                     path=path)
            except ReownError as exc:
                module.fail_json(msg="%s; nothing was changed" % exc, path=path)
        walk = Walk(p["root"], root_fd, p["old_uid"], p["new_uid"], p["old_gid"], p["new_gid"],
                    p["one_file_system"], p["postgresql_links"], module.check_mode)
        walk.run(p["paths"])
    finally:
        os.close(root_fd)

    totals = dict((key, sum(r[key] for r in walk.reports)) for key in ("dirs", "files", "uid_changed", "gid_changed"))
    changed = bool(totals["uid_changed"] or totals["gid_changed"])
    for warning in walk.warnings:
        module.warn(warning)
    parts = []
    if walk.uid:
        parts.append("owner %d -> %d on %d" % (walk.uid + (totals["uid_changed"],)))
    if walk.gid:
        parts.append("group %d -> %d on %d" % (walk.gid + (totals["gid_changed"],)))
    entries = totals["dirs"] + totals["files"]
    walked = len([r for r in walk.reports if r["walked"]])
    msg = "%d entries under %d path(s)%s: %s" % (
        entries, walked, " (check mode, would change)" if module.check_mode else "",
        "; ".join(parts) if parts else "old and new ids are the same, nothing to do")
    result = dict(changed=changed, paths=walk.reports, totals=totals, samples=walk.samples, msg=msg)
    if walk.errors:
        module.fail_json(msg="%d entries could not be changed or read (%s%s); %s"
                         % (len(walk.errors), "; ".join(walk.errors[:5]), " ..." if len(walk.errors) > 5 else "", msg),
                         errors=walk.errors, **dict((k, v) for k, v in result.items() if k != "msg"))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", required=True),
            root=dict(type="path", default="/"),
            old_uid=dict(type="int"),
            new_uid=dict(type="int"),
            old_gid=dict(type="int"),
            new_gid=dict(type="int"),
            one_file_system=dict(type="bool", default=True),
            missing_ok=dict(type="bool", default=False),
            postgresql_links=dict(type="bool", default=True),
        ),
        required_together=[("old_uid", "new_uid"), ("old_gid", "new_gid")],
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
