# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only facts about a PostgreSQL host: memory, kernel settings, container, logind.

Entry point: gather_host(module, platform=None) -> dict (shape documented in
plugins/modules/pg_host_facts.py RETURN). Everything on Linux is read from
/proc, /sys and /etc directly; FreeBSD needs one sysctl(8) call.

Facts: docs/postgres-kernel-facts.md, cited by section number.
"""

from __future__ import annotations

import os
import platform as _platform
import re

from ansible_collections.pghost.hardening.plugins.module_utils.kernel_keys import (
    FREEBSD_LOADER_TUNABLES,
    LINUX_IPC_NAMESPACED,
    LINUX_THP_FILES,
    MANAGED_SYSCTLS,
    proc_sys_path,
)

SUPPORTED_PLATFORMS = ("linux", "freebsd")

# Test seam, used only by tests/integration/test_freebsd_branches.py: a Linux
# CI machine plays a FreeBSD host whose files lie under a directory, with
# test-double commands first on PATH. Both variables must be set; on a real
# host neither is, and the probes read "/" and the running kernel's name.
TEST_ROOT_ENV = "PGHOST_HARDENING_TEST_ROOT"
TEST_PLATFORM_ENV = "PGHOST_HARDENING_TEST_PLATFORM"


def _test_override():
    """(root, platform) of the integration test's stand-in host, or (None, None)."""
    root, platform = os.environ.get(TEST_ROOT_ENV), os.environ.get(TEST_PLATFORM_ENV)
    if root and platform:
        return root, platform.lower()
    return None, None


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

LOGIND_BINARIES = ("/lib/systemd/systemd-logind", "/usr/lib/systemd/systemd-logind")
# systemd reads the first logind.conf found in this order, then the drop-ins
# of every logind.conf.d below, sorted by file name; a drop-in in an earlier
# directory masks one with the same name in a later directory.
LOGIND_CONF_DIRS = ("/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd", "/lib/systemd")

_BOOL_WORDS = {
    "1": "yes", "yes": "yes", "y": "yes", "true": "yes", "t": "yes", "on": "yes",
    "0": "no", "no": "no", "n": "no", "false": "no", "f": "no", "off": "no",
}


class HostFiles:
    """File access for the probes, relative to a root so tests can use a fake tree.

    Paths given to the methods are absolute host paths ("/proc/meminfo");
    every method is read-only and returns a default instead of raising.
    """

    def __init__(self, root=None):
        # None: the host itself ("/"), or the integration test's tree (see _test_override).
        self.root = root if root is not None else (_test_override()[0] or "/")

    def path(self, path):
        if self.root in ("/", ""):
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def read(self, path, default=None):
        try:
            with open(self.path(path), "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except (IOError, OSError):
            return default

    def read_bytes(self, path, default=None):
        try:
            with open(self.path(path), "rb") as handle:
                return handle.read()
        except (IOError, OSError):
            return default

    def exists(self, path):
        return os.path.exists(self.path(path))

    def isdir(self, path):
        return os.path.isdir(self.path(path))

    def isfile(self, path):
        return os.path.isfile(self.path(path))

    def listdir(self, path):
        try:
            return sorted(os.listdir(self.path(path)))
        except (IOError, OSError):
            return []

    def access(self, path, mode):
        return os.access(self.path(path), mode)

    def stat(self, path):
        try:
            return os.stat(self.path(path))
        except (IOError, OSError):
            return None

    def readlink(self, path):
        try:
            return os.readlink(self.path(path))
        except (IOError, OSError):
            return None

    def realpath(self, path):
        """Host path with symlinks resolved inside the root."""
        real = os.path.realpath(self.path(path))
        if self.root in ("/", ""):
            return real
        root = os.path.realpath(self.root)
        if real == root:
            return "/"
        if real.startswith(root + os.sep):
            return real[len(root):]
        return real

    def pid_alive(self, pid):
        """kill(pid, 0): the process exists (EPERM still means it exists)."""
        try:
            os.kill(pid, 0)
        except OSError as exc:
            return exc.errno == 1  # EPERM
        return True


def current_platform():
    return _test_override()[1] or _platform.system().lower()


# ---------------------------------------------------------------------------
# Pure parsers (unit tested with recorded file contents)
# ---------------------------------------------------------------------------

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


def parse_sysctl_names(text):
    """`sysctl -N ...` output (one OID name per line) -> set of names."""
    return set(line.strip() for line in (text or "").splitlines() if line.strip())


def normalize_sysctl(value):
    """Collapse tabs/newlines: kernel.sem '32000\\t1024000000\\t500\\t32000\\n' -> single spaces.
    Numbers are accepted too (as pg_sysctl is given them); None gives ''."""
    return " ".join(str(value).split()) if value is not None else ""


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


def parse_systemd_ini(text):
    """systemd unit/config syntax -> [(section, key, value)] in order.

    Comments start with # or ;, a trailing backslash continues a line.
    """
    entries = []
    section = None
    pending = ""
    for raw in (text or "").splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if sep:
            entries.append((section, key.strip(), value.strip()))
    return entries


def remove_ipc_from(texts):
    """Effective RemoveIPC from logind config texts in reading order (later wins);
    None when none of them sets it in [Login]. Unparsable values are ignored,
    as logind does."""
    value = None
    for text in texts:
        for section, key, raw in parse_systemd_ini(text):
            if section == "Login" and key == "RemoveIPC":
                word = _BOOL_WORDS.get(raw.lower())
                if word is not None:
                    value = word
    return value


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


def parse_sysctl_e(text):
    """`sysctl -e name...` output (name=value per line) -> {name: value}."""
    values = {}
    for line in (text or "").splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


def parse_swapinfo_k(text):
    """`swapinfo -k` -> total swap in kB (device lines summed, the Total line skipped)."""
    total = 0
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2 and fields[0] != "Total" and fields[1].isdigit():
            total += int(fields[1])
    return total


def apply_live_map(writable, namespaced, is_container):
    """A setting is applied live only where it can be written and, inside a
    container, only when it belongs to the container's own IPC namespace:
    vm.* and THP are global to the kernel (docs/design.md; docs/postgres-kernel-facts.md §3, §4)."""
    return dict(
        (name, bool(writable.get(name)) and (bool(namespaced.get(name)) or not is_container))
        for name in writable
    )


# ---------------------------------------------------------------------------
# Gatherers
# ---------------------------------------------------------------------------

def _page_size():
    try:
        return int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4096


def effective_remove_ipc(files):
    """logind's RemoveIPC ("yes"/"no"), None when systemd-logind is not installed.

    Upstream default is yes (docs/postgres-kernel-facts.md §5); RHEL builds default to no, which this
    cannot see from the configuration, so "yes" is reported there: the safe
    answer for a hardening run (it leads to writing RemoveIPC=no).
    """
    if not any(files.exists(path) for path in LOGIND_BINARIES):
        return None
    texts = []
    for directory in LOGIND_CONF_DIRS:
        text = files.read(directory + "/logind.conf")
        if text is not None:
            texts.append(text)
            break
    dropins = {}
    for directory in LOGIND_CONF_DIRS:
        for name in files.listdir(directory + "/logind.conf.d"):
            if name.endswith(".conf") and name not in dropins:
                dropins[name] = directory + "/logind.conf.d/" + name
    for name in sorted(dropins):
        text = files.read(dropins[name])
        if text is not None:
            texts.append(text)
    return remove_ipc_from(texts) or "yes"


def linux_service_mgr(files):
    if files.isdir("/run/systemd/system"):
        return "systemd"
    if files.exists("/sbin/openrc") or files.exists("/sbin/openrc-run"):
        return "openrc"
    comm = (files.read("/proc/1/comm") or "").strip()
    if comm in ("", "init"):
        return "sysvinit"
    return comm


def _gather_linux(module, files):
    meminfo = parse_meminfo(files.read("/proc/meminfo", ""))
    host = {"platform": "linux"}
    for field, key in MEMINFO_KEYS.items():
        host[key] = meminfo.get(field, 0)
    host["page_size"] = _page_size()

    mounts = parse_mountinfo(files.read("/proc/self/mountinfo", ""))
    sysctl = {}
    writable = {}
    namespaced = {}
    paths = [(name, proc_sys_path(name)) for name in MANAGED_SYSCTLS["linux"]]
    for name, path in paths:
        value = files.read(path)
        if value is not None:
            sysctl[name] = normalize_sysctl(value)
        namespaced[name] = name in LINUX_IPC_NAMESPACED
    thp = {}
    for name in sorted(LINUX_THP_FILES):
        path = LINUX_THP_FILES[name]
        choice = parse_thp(files.read(path))
        if choice is not None:
            thp[name] = choice
        namespaced[name] = False
        paths.append((name, path))
    for name, path in paths:
        # /proc/sys files check their mode bits even for root, and a read-only
        # mount (unprivileged containers) wins over the mode bits.
        writable[name] = bool(
            files.exists(path) and files.access(path, os.W_OK) and not mount_read_only(mounts, path)
        )

    container = detect_container_linux(
        files.exists,
        files.read_bytes("/proc/1/environ"),
        files.read("/run/systemd/container"),
        files.read("/proc/1/cgroup"),
    )
    host.update(
        sysctl=sysctl,
        thp=thp,
        writable=writable,
        namespaced=namespaced,
        container=container,
        apply_live=apply_live_map(writable, namespaced, container["is_container"]),
        logind_remove_ipc=effective_remove_ipc(files),
        service_mgr=linux_service_mgr(files),
    )
    return host


def _gather_freebsd(module, files):
    names = ["hw.physmem", "vm.swap_total", "security.jail.jailed"] + list(MANAGED_SYSCTLS["freebsd"])
    sysctl_bin = module.get_bin_path("sysctl", required=True)
    # -i: skip OIDs this kernel lacks instead of failing; -e: name=value lines.
    dummy, out, dummy = module.run_command([sysctl_bin, "-i", "-e"] + names)
    values = parse_sysctl_e(out)

    host = {"platform": "freebsd"}
    physmem = values.get("hw.physmem", "0")
    host["mem_total_kb"] = int(physmem) // 1024 if physmem.isdigit() else 0
    swap = values.get("vm.swap_total")
    if swap is not None and swap.isdigit():
        host["swap_total_kb"] = int(swap) // 1024
    else:
        swapinfo = module.get_bin_path("swapinfo")
        total = 0
        if swapinfo:
            rc, out, dummy = module.run_command([swapinfo, "-k"])
            if rc == 0:
                total = parse_swapinfo_k(out)
        host["swap_total_kb"] = total
    host.update(hugepage_size_kb=0, hugepages_total=0, hugepages_free=0, hugetlb_kb=0,
                committed_as_kb=None, commit_limit_kb=None, page_size=_page_size())

    jailed = values.get("security.jail.jailed", "0").strip() == "1"
    # Which kern.ipc limits the running kernel lets sysctl(8) set: the rest
    # are loader tunables, effective at the next boot (docs/postgres-kernel-facts.md §8). The kernel
    # says so itself (-W: writable variables); which ones are differs between
    # releases (kern.ipc.semmsl was CTLFLAG_RW, later CTLFLAG_RWTUN; semusz is
    # read-only on some). Without an answer, the table in kernel_keys.
    rc, out, dummy = module.run_command([sysctl_bin, "-N", "-W", "kern.ipc"])
    runtime = parse_sysctl_names(out) if rc == 0 else set()
    if runtime:
        loader_only = [name for name in MANAGED_SYSCTLS["freebsd"] if name not in runtime]
    else:
        loader_only = list(FREEBSD_LOADER_TUNABLES)
    sysctl = {}
    writable = {}
    namespaced = {}
    for name in MANAGED_SYSCTLS["freebsd"]:
        if name in values:
            sysctl[name] = normalize_sysctl(values[name])
        # kern.ipc limits are global: a jail sets none of them.
        writable[name] = name not in loader_only and not jailed
        namespaced[name] = False
    container = {"is_container": jailed, "type": "jail" if jailed else None}
    host.update(
        sysctl=sysctl,
        thp={},
        writable=writable,
        namespaced=namespaced,
        container=container,
        apply_live=apply_live_map(writable, namespaced, jailed),
        logind_remove_ipc=None,
        service_mgr="rc",
        loader_only=loader_only,
        loader_only_source="sysctl -N -W kern.ipc" if runtime else "built-in table (sysctl -N -W gave no answer)",
    )
    return host


def gather_host(module, platform=None, files=None):
    """Host facts for the platform (default: the running one); read-only.

    files is for tests (a HostFiles with a fake root).
    """
    platform = (platform or current_platform()).lower()
    files = files or HostFiles()
    if platform == "linux":
        return _gather_linux(module, files)
    if platform == "freebsd":
        return _gather_freebsd(module, files)
    module.fail_json(msg="pghost.hardening supports %s; this host runs %s" % (" and ".join(SUPPORTED_PLATFORMS), platform))
    return None
