# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Give a jail's PostgreSQL files a new uid/gid: resolve paths inside a root
and walk them once, changing only entries owned by the old ids.

Everything is done relative to directory file descriptors (openat/fstatat/
fchownat with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW), so neither a symlink nor a
directory swapped for one while the walk runs can lead it out of the tree -
a jail's root user cannot make the host chown its own files.

Entry points: resolve(root_fd, path) and Walk(...).run(paths); the module
pghost.hardening.pg_reown validates its options and reports.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat

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
