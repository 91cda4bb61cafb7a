# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel settings pghost.hardening reads and may manage, per platform.

Facts: docs/postgres-kernel-facts.md, cited by section number.
"""

from __future__ import annotations

# The SysV IPC limits PostgreSQL needs, per platform, by the field of
# sysv.py's answer they hold (docs/postgres-kernel-facts.md §1, §2). The one
# list: kernel_plan names its proposals with it, host_probe marks the Linux
# ones namespaced. Linux packs the semaphore limits into one kernel.sem
# ("SEMMSL SEMMNS SEMOPM SEMMNI", proc(5)); FreeBSD has a key per limit.
SYSV_SYSCTLS = {
    "linux": {"shmmax": "kernel.shmmax", "shmall": "kernel.shmall", "shmmni": "kernel.shmmni", "sem": "kernel.sem"},
    "freebsd": {"shmmax": "kern.ipc.shmmax", "shmall": "kern.ipc.shmall", "shmmni": "kern.ipc.shmmni",
                "semmni": "kern.ipc.semmni", "semmns": "kern.ipc.semmns", "semmsl": "kern.ipc.semmsl"},
}

# Linux sysctls. kernel.shm*/sem/msg* belong to the IPC namespace, so a
# privileged container can set them for itself; vm.* are global to the kernel
# and must not be applied live from a container (docs/design.md).
LINUX_IPC_NAMESPACED = tuple(SYSV_SYSCTLS["linux"].values())
LINUX_GLOBAL = (
    "vm.overcommit_memory",
    "vm.overcommit_ratio",
    "vm.overcommit_kbytes",
    "vm.swappiness",
    "vm.nr_hugepages",
    "vm.hugetlb_shm_group",
    "vm.dirty_background_bytes",
    "vm.dirty_bytes",
)
LINUX_SYSCTLS = LINUX_IPC_NAMESPACED + LINUX_GLOBAL

# Transparent huge pages are sysfs files, not sysctls; global like vm.*.
LINUX_THP_FILES = {
    "transparent_hugepage.enabled": "/sys/kernel/mm/transparent_hugepage/enabled",
    "transparent_hugepage.defrag": "/sys/kernel/mm/transparent_hugepage/defrag",
}

# FreeBSD kern.ipc.*: loader tunables need /boot/loader.conf and a reboot;
# the rest are writable at runtime through /etc/sysctl.conf (docs/postgres-kernel-facts.md §8).
FREEBSD_LOADER_TUNABLES = (
    "kern.ipc.shmmni",
    "kern.ipc.shmseg",
    "kern.ipc.semmni",
    "kern.ipc.semmns",
    "kern.ipc.semmnu",
    "kern.ipc.semopm",
    "kern.ipc.semume",
    "kern.ipc.semusz",
)
FREEBSD_RUNTIME = (
    "kern.ipc.shmmax",
    "kern.ipc.shmmin",
    "kern.ipc.shmall",
    "kern.ipc.shm_use_phys",
    "kern.ipc.semmsl",
    "kern.ipc.semvmx",
    "kern.ipc.semaem",
)
FREEBSD_SYSCTLS = FREEBSD_RUNTIME + FREEBSD_LOADER_TUNABLES

MANAGED_SYSCTLS = {"linux": LINUX_SYSCTLS, "freebsd": FREEBSD_SYSCTLS}

# The computed keys of each of pg_kernel's concerns (its pg_kernel_<concern>
# switches), so the role picks a concern's proposals by name, never by a
# restated key list. Swappiness and dirty limits are the user's values, not
# computed, and are not proposed.
PROPOSED_BY_CONCERN = {
    "linux": {"sysv_ipc": tuple(SYSV_SYSCTLS["linux"].values()), "hugepages": ("vm.nr_hugepages",),
              "overcommit": ("vm.overcommit_ratio", "vm.overcommit_memory")},
    "freebsd": {"sysv_ipc": tuple(SYSV_SYSCTLS["freebsd"].values())},
}


def proc_sys_path(name):
    """/proc/sys path of a Linux sysctl name (kernel.shmmax -> /proc/sys/kernel/shmmax)."""
    return "/proc/sys/" + name.replace(".", "/")


def normalize_sysctl(value):
    """Collapse tabs/newlines: kernel.sem '32000\\t1024000000\\t500\\t32000\\n' -> single spaces.
    Numbers are accepted too (as pg_sysctl is given them); None gives ''."""
    return " ".join(str(value).split()) if value is not None else ""
