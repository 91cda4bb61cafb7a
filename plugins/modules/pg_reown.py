#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move the files of a PostgreSQL server from one UID/GID to another, in one walk.

Used by role pg_jail (tasks/apply_uid.yml) after the server user of a jail
got a new UID/GID (facts §8: jails sharing the host's SysV IPC need distinct
server UIDs). Everything is done relative to directory file descriptors
(openat/fstatat/fchownat with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW), so neither a
symlink nor a directory swapped for one while the walk runs can lead it out
of the tree - a jail's root user cannot make the host chown its own files.
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
    description: Walks and counts what would change; changes nothing.
    support: full
  diff_mode:
    description: No diff; RV(samples) names some of the entries.
    support: none
  platform:
    description: FreeBSD and Linux (any POSIX system with C(fchownat) and C(openat)).
    support: full
    platforms: [freebsd, linux]
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

import errno
import os
import posixpath
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils.host_probe import HostFiles

MAX_LINKS = 40  # symlinks followed while resolving one path (the kernel's MAXSYMLINKS is 32 on FreeBSD, 40 on Linux)
SAMPLES = 10
DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
WAL_LINKS = ("pg_wal", "pg_xlog")


class ReownError(Exception):
    """A path of `paths` cannot be walked; nothing has been changed yet."""


class Missing(ReownError):
    """A path (or a component of it) does not exist."""


def _components(path):
    return [part for part in path.split("/") if part not in ("", ".")]


def _join(names):
    return "/" + "/".join(names)


class Resolved:
    """A path resolved inside the root: a directory (fd) or another entry (parent_fd + name)."""

    def __init__(self, inner, st, fd=None, parent_fd=None, name=None):
        self.inner, self.st, self.fd, self.parent_fd, self.name = inner, st, fd, parent_fd, name

    @property
    def is_dir(self):
        return self.fd is not None

    def close(self):
        for fd in (self.fd, self.parent_fd):
            if fd is not None:
                os.close(fd)
        self.fd = self.parent_fd = None


def resolve(root_fd, path):
    """Open `path` (absolute, inside the root open as root_fd) the way a process
    chrooted there would: every symlink is followed inside the root, an
    absolute one from the root, `..` never goes above it. -> Resolved."""
    todo = _components(path)
    fds, names, links = [os.dup(root_fd)], [], 0
    try:
        while todo:
            name = todo.pop(0)
            if name == "..":
                if names:
                    os.close(fds.pop())
                    names.pop()
                continue
            try:
                st = os.stat(name, dir_fd=fds[-1], follow_symlinks=False)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    missing = _join(names + [name])
                    raise Missing("%s does not exist" % missing if missing == path.rstrip("/")
                                  else "%s: %s does not exist" % (path, missing))
                raise ReownError("%s: %s" % (_join(names + [name]), exc.strerror))
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_LINKS:
                    raise ReownError("%s: more than %d symlinks, a loop" % (path, MAX_LINKS))
                target = os.readlink(name, dir_fd=fds[-1])
                if target.startswith("/"):
                    while len(fds) > 1:
                        os.close(fds.pop())
                    names = []
                todo = _components(target) + todo
                continue
            if stat.S_ISDIR(st.st_mode):
                try:
                    fd = os.open(name, DIR_FLAGS, dir_fd=fds[-1])
                except OSError as exc:
                    raise ReownError("%s: %s" % (_join(names + [name]), exc.strerror))
                fds.append(fd)
                names.append(name)
                continue
            if todo:
                raise ReownError("%s: %s is not a directory" % (path, _join(names + [name])))
            parent = fds.pop()
            return Resolved(_join(names + [name]), st, parent_fd=parent, name=name)
        fd = fds.pop()
        return Resolved(_join(names), os.fstat(fd), fd=fd)
    finally:
        for fd in fds:
            os.close(fd)


class Walk:
    def __init__(self, root, root_fd, old_uid, new_uid, old_gid, new_gid, one_file_system, postgresql_links, check_mode):
        self.root, self.root_fd = root, root_fd
        self.uid = (old_uid, new_uid) if old_uid is not None and old_uid != new_uid else None
        self.gid = (old_gid, new_gid) if old_gid is not None and old_gid != new_gid else None
        self.one_file_system, self.postgresql_links, self.check_mode = one_file_system, postgresql_links, check_mode
        self.seen = {}  # (st_dev, st_ino) of walked directories -> path whose walk reached it
        self.reports, self.samples, self.errors, self.warnings = [], [], [], []
        self.queue = []

    def host_path(self, inner):
        return posixpath.join(self.root, inner.lstrip("/")) if self.root not in ("", "/") else inner

    def run(self, paths):
        self.queue = [(path, None) for path in paths]
        while self.queue:
            path, reason = self.queue.pop(0)
            self.start(path, reason)

    def start(self, path, reason):
        report = dict(path=path, reason=reason, resolved=None, host_path=None, exists=False, walked=False,
                      note=None, dirs=0, files=0, uid_changed=0, gid_changed=0, other_filesystems=0)
        self.reports.append(report)
        try:
            target = resolve(self.root_fd, path)
        except ReownError as exc:
            report["note"] = str(exc)
            if reason is not None:
                self.warnings.append("%s, not walked (%s)" % (exc, reason))
            return
        try:
            report.update(resolved=target.inner, host_path=self.host_path(target.inner), exists=True)
            if not target.is_dir:
                report.update(walked=True, files=1)
                self.fix(target.parent_fd, target.name, target.st, target.inner, report)
                return
            key = (target.st.st_dev, target.st.st_ino)
            if key in self.seen:
                report["note"] = "already walked, through %s" % self.seen[key]
                return
            report["walked"] = True
            # Link targets are a tablespace or the WAL: all the server's, mounts included.
            self.walk(target, report, in_postgresql=reason is not None)
        finally:
            target.close()

    def fix(self, dir_fd, name, st, inner, report, fd=None):
        """Give one entry its new owner/group when it has the old one."""
        uid = self.uid[1] if self.uid and st.st_uid == self.uid[0] else -1
        gid = self.gid[1] if self.gid and st.st_gid == self.gid[0] else -1
        if uid == -1 and gid == -1:
            return
        if not self.check_mode:
            try:
                if fd is not None:
                    os.fchown(fd, uid, gid)
                else:
                    os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
            except OSError as exc:
                self.errors.append("%s: %s" % (self.host_path(inner), exc.strerror))
                return
            special = st.st_mode & (stat.S_ISUID | stat.S_ISGID)
            if special and not stat.S_ISDIR(st.st_mode):
                after = os.fstat(fd) if fd is not None else os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                lost = special & ~after.st_mode
                if lost:
                    self.warnings.append("%s lost its %s bit with the new owner (chown clears it); set it again "
                                         "if it is needed" % (self.host_path(inner),
                                                              "set-user-ID" if lost & stat.S_ISUID else "set-group-ID"))
        if uid != -1:
            report["uid_changed"] += 1
        if gid != -1:
            report["gid_changed"] += 1
        if len(self.samples) < SAMPLES:
            parts = []
            if uid != -1:
                parts.append("uid %d -> %d" % self.uid)
            if gid != -1:
                parts.append("gid %d -> %d" % self.gid)
            self.samples.append("%s: %s" % (self.host_path(inner), ", ".join(parts)))

    def frame(self, fd, inner, dev, in_postgresql, close):
        try:
            names = sorted(os.listdir(fd))
        except OSError as exc:
            self.errors.append("%s: cannot list: %s" % (self.host_path(inner), exc.strerror))
            names = []
        is_pgdata = "PG_VERSION" in names and "pg_tblspc" in names
        return {"fd": fd, "inner": inner, "dev": dev, "names": iter(names), "close": close,
                "is_pgdata": is_pgdata, "in_postgresql": in_postgresql or is_pgdata,
                "is_tblspc": False}

    def walk(self, top, report, in_postgresql):
        """Depth first from an open directory; one open descriptor per level."""
        self.seen[(top.st.st_dev, top.st.st_ino)] = report["path"]
        report["dirs"] += 1
        self.fix(None, None, top.st, top.inner, report, fd=top.fd)
        frames = [self.frame(top.fd, top.inner, top.st.st_dev, in_postgresql, close=False)]
        while frames:
            frame = frames[-1]
            name = next(frame["names"], None)
            if name is None:
                frames.pop()
                if frame["close"]:
                    os.close(frame["fd"])
                continue
            inner = posixpath.join(frame["inner"], name)
            try:
                st = os.stat(name, dir_fd=frame["fd"], follow_symlinks=False)
            except OSError as exc:
                if exc.errno != errno.ENOENT:  # gone since it was listed: nothing to do
                    self.errors.append("%s: %s" % (self.host_path(inner), exc.strerror))
                continue
            if stat.S_ISDIR(st.st_mode):
                child = self.enter(frame, name, st, inner, report)
                if child is not None:
                    frames.append(child)
                continue
            report["files"] += 1
            self.fix(frame["fd"], name, st, inner, report)
            if stat.S_ISLNK(st.st_mode) and self.postgresql_links and (
                    frame["is_tblspc"] or (frame["is_pgdata"] and name in WAL_LINKS)):
                self.follow(frame, name, inner)

    def enter(self, frame, name, st, inner, report):
        """Change a subdirectory and open it for the walk; None when it is not walked."""
        key = (st.st_dev, st.st_ino)
        if key in self.seen:
            return None  # walked already, through an earlier path: counted there
        if self.one_file_system and st.st_dev != frame["dev"] and not frame["in_postgresql"]:
            report["other_filesystems"] += 1
            self.warnings.append("%s is another filesystem, not walked (one_file_system)" % self.host_path(inner))
            return None
        report["dirs"] += 1
        self.fix(frame["fd"], name, st, inner, report)
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=frame["fd"])
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                self.errors.append("%s: cannot open: %s" % (self.host_path(inner), exc.strerror))
            return None
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != key:
            os.close(fd)
            self.errors.append("%s was replaced while it was walked; not walked" % self.host_path(inner))
            return None
        self.seen[key] = report["path"]
        child = self.frame(fd, inner, st.st_dev, frame["in_postgresql"], close=True)
        child["is_tblspc"] = frame["is_pgdata"] and name == "pg_tblspc"
        return child

    def follow(self, frame, name, inner):
        try:
            target = os.readlink(name, dir_fd=frame["fd"])
        except OSError as exc:
            self.errors.append("%s: cannot read the link: %s" % (self.host_path(inner), exc.strerror))
            return
        where = target if target.startswith("/") else posixpath.join(frame["inner"], target)
        self.queue.append((where, "%s -> %s" % (inner, target)))


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
