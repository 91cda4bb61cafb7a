# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers of Linux /proc and /sys files: meminfo, mountinfo, THP, container markers.

Pure functions, unit tested with recorded file contents (tests/unit/fixtures).
"""

from __future__ import annotations

import re

# /proc/meminfo field -> host dict key (values in kB, HugePages_* are counts).
MEMINFO_KEYS = {
    "MemTotal": "mem_total_kb",
    "SwapTotal": "swap_total_kb",
    "Hugepagesize": "hugepage_size_kb",
    "HugePages_Total": "hugepages_total",
    "HugePages_Free": "hugepages_free",
    # All huge page pools, every size (kernel 4.16+); CommitLimit leaves them out.
    "Hugetlb": "hugetlb_kb",
    "Committed_AS": "committed_as_kb",
    "CommitLimit": "commit_limit_kb",
}


def parse_meminfo(text):
    """/proc/meminfo -> {field: int} (kB for sizes, plain counts for HugePages_*)."""
    values = {}
    for line in (text or "").splitlines():
        key, sep, rest = line.partition(":")
        if not sep:
            continue
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key.strip()] = int(fields[0])
    return values


def parse_thp(text):
    """'always [madvise] never' -> 'madvise'; None when no choice is bracketed."""
    match = re.search(r"\[([^\]]+)\]", text or "")
    return match.group(1) if match else None


def _unescape_mount(field):
    # mountinfo escapes space, tab, newline and backslash as \ooo octal.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text):
    """/proc/self/mountinfo -> [(mount_point, read_only)] in file order.

    Fields: id parent major:minor root mount_point mount_options [optional...]
    - fstype source super_options (proc(5)). A mount is read-only when its
    per-mount options or its superblock options contain "ro".
    """
    mounts = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 6:
            continue
        options = set(fields[5].split(","))
        super_options = set()
        if "-" in fields[6:]:
            rest = fields[fields.index("-", 6) + 1:]
            if len(rest) >= 3:
                super_options = set(rest[2].split(","))
        mounts.append((_unescape_mount(fields[4]), "ro" in options or "ro" in super_options))
    return mounts


def mount_read_only(mounts, path):
    """Whether the mount holding path is read-only: longest matching mount point,
    the last one listed when several are stacked on the same point."""
    best = None
    best_len = -1
    for mount_point, read_only in mounts:
        if mount_point == "/":
            matches = True
        else:
            matches = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
        if matches and len(mount_point) >= best_len:
            best = read_only
            best_len = len(mount_point)
    return bool(best)


def detect_container_linux(exists, environ_1, systemd_container, cgroup_1):
    """Container type from the markers container engines leave behind.

    exists: callable(path) -> bool; environ_1: /proc/1/environ bytes or None;
    systemd_container: /run/systemd/container text or None; cgroup_1: /proc/1/cgroup text or None.
    """
    kind = None
    if exists("/run/.containerenv"):
        kind = "podman"
    elif exists("/.dockerenv"):
        kind = "docker"
    if kind is None and environ_1:
        for item in environ_1.split(b"\0"):
            if item.startswith(b"container="):
                kind = item[len(b"container="):].decode("utf-8", "replace") or None
                break
    if kind is None and systemd_container:
        kind = systemd_container.strip() or None
    if kind is None and cgroup_1:
        hints = (("libpod", "podman"), ("docker", "docker"), ("kubepods", "kubernetes"),
                 ("/lxc", "lxc"), ("machine.slice/machine-", "systemd-nspawn"))
        for line in cgroup_1.splitlines():
            path = line.split(":", 2)[-1]
            for needle, name in hints:
                if needle in path:
                    kind = name
                    break
            if kind:
                break
    return {"is_container": kind is not None, "type": kind}
