# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only facts about a PostgreSQL host: memory, kernel settings, container, logind.

The two gatherers put together what the parsers read: linux_proc.py
(/proc, /sys), freebsd_sysctl.py (sysctl(8), swapinfo(8)), logind.py
(RemoveIPC); file access goes through host_files.HostFiles.

Entry point: gather_host(module, platform=None) -> dict (shape documented in
plugins/modules/pg_host_facts.py RETURN). Everything on Linux is read from
/proc, /sys and /etc directly; FreeBSD needs one sysctl(8) call.

Facts: docs/postgres-kernel-facts.md, cited by section number.
"""

from __future__ import annotations

import os

from ansible_collections.pghost.hardening.plugins.module_utils.freebsd_sysctl import (
    parse_swapinfo_k,
    parse_sysctl_e,
    parse_sysctl_names,
)
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles, current_platform
from ansible_collections.pghost.hardening.plugins.module_utils.kernel_keys import (
    FREEBSD_LOADER_TUNABLES,
    LINUX_IPC_NAMESPACED,
    LINUX_THP_FILES,
    MANAGED_SYSCTLS,
    normalize_sysctl,
    proc_sys_path,
)
from ansible_collections.pghost.hardening.plugins.module_utils.linux_proc import (
    MEMINFO_KEYS,
    detect_container_linux,
    mount_read_only,
    parse_meminfo,
    parse_mountinfo,
    parse_thp,
)
from ansible_collections.pghost.hardening.plugins.module_utils.logind import effective_remove_ipc

SUPPORTED_PLATFORMS = ("linux", "freebsd")


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
