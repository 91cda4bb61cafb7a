# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each PostgreSQL major version does with the kernel.

Every row is sourced from docs/postgres-kernel-facts.md, cited by section
number; code asks this table (or the thresholds below it) instead of comparing
PostgreSQL version numbers itself. Thresholds of other software stay beside
their parsers: systemd's in service_units.py (OOM_POLICY_SINCE), FreeBSD's in
jail_probe.py (SYSVSHM_NEW_SINCE).
"""

from __future__ import annotations

import re
from collections import namedtuple

NEWEST = (18,)

VersionInfo = namedtuple(
    "VersionInfo",
    [
        "major",                    # "9.6", "15"
        "key",                      # sortable tuple, (9, 6) or (15,)
        "main_area_in_sysv",        # whole main shared memory in SysV (<= 9.2; docs/postgres-kernel-facts.md §1)
        "has_shared_memory_type",   # shared_memory_type setting, 12+ (docs/postgres-kernel-facts.md §9)
        "has_dsm_type",             # dynamic_shared_memory_type, 9.4+ (docs/postgres-kernel-facts.md §1)
        "sysv_semaphores",          # SysV on Linux/FreeBSD: 9.6 and older (docs/postgres-kernel-facts.md §2)
        "sem_counts_worker_processes",  # max_worker_processes in the formula, 9.4+ (docs/postgres-kernel-facts.md §2)
        "sem_counts_wal_senders",   # max_wal_senders in the formula, 12+ (docs/postgres-kernel-facts.md §2)
        "sem_constant",             # N in ceil((... + N) / 16); None: ask the server (docs/postgres-kernel-facts.md §2)
        "has_huge_pages",           # huge_pages, 9.4+ (docs/postgres-kernel-facts.md §3, §9)
        "has_huge_page_size",       # huge_page_size, 14+ (docs/postgres-kernel-facts.md §3)
        # First minor that PANICs on fsync failure; 0 = all; None = none (docs/postgres-kernel-facts.md §7).
        # Read by the fleet audit through fsync_panics() and fsync_fixed_release() below.
        "fsync_panic_minor",
    ],
)


def _sem_constant(key):
    # docs/postgres-kernel-facts.md §2 table: 9.2-13 -> 5, 14-16 -> 6, 17 -> 7, 18 -> num_os_semaphores
    if key < (14,):
        return 5
    if key < (17,):
        return 6
    if key < (18,):
        return 7
    return None


# docs/postgres-kernel-facts.md §7: releases of 2019-02-14; all later majors include the fix.
_FSYNC_PANIC_MINOR = {(9, 4): 21, (9, 5): 16, (9, 6): 12, (10,): 7, (11,): 2}


def _row(key):
    major = ".".join(str(p) for p in key)
    return VersionInfo(
        major=major,
        key=key,
        main_area_in_sysv=key <= (9, 2),
        has_shared_memory_type=has_setting(key, "shared_memory_type"),
        has_dsm_type=has_setting(key, "dynamic_shared_memory_type"),
        sysv_semaphores=key < (10,),
        sem_counts_worker_processes=has_setting(key, "max_worker_processes"),
        sem_counts_wal_senders=key >= (12,),
        sem_constant=_sem_constant(key),
        has_huge_pages=has_setting(key, "huge_pages"),
        has_huge_page_size=has_setting(key, "huge_page_size"),
        fsync_panic_minor=_FSYNC_PANIC_MINOR.get(key, None if key < (9, 4) else 0),
    )


# The settings that size kernel resources, each with the first version that
# has it: docs/postgres-kernel-facts.md §2 (semaphore inputs), §1 (shared_memory_type 12,
# dynamic_shared_memory_type 9.4), §3 (huge_pages 9.4, huge_page_size 14,
# shared_memory_size(_in_huge_pages) 15), §9 (num_os_semaphores 18).
SETTINGS_SINCE = (
    ("max_connections", (0,)),
    ("autovacuum_max_workers", (8, 3)),
    ("max_worker_processes", (9, 4)),
    ("max_wal_senders", (9, 0)),
    ("shared_buffers", (0,)),
    ("shared_memory_type", (12,)),
    ("dynamic_shared_memory_type", (9, 4)),
    ("huge_pages", (9, 4)),
    ("huge_page_size", (14,)),
    ("shared_memory_size", (15,)),
    ("shared_memory_size_in_huge_pages", (15,)),
    ("num_os_semaphores", (18,)),
)


def has_setting(key, name):
    """Whether the version with sortable `key` ((9, 6), (15,)) has setting `name`."""
    return key >= dict(SETTINGS_SINCE)[name]


# Defaults that changed with a release (PostgreSQL's release notes): the
# shared_buffers default became 128MB in 9.3 (32MB before), the
# max_wal_senders default became 10 in 10 (0 before).
SHARED_BUFFERS_128MB_SINCE = (9, 3)
MAX_WAL_SENDERS_10_SINCE = (10,)


def server_defaults(key):
    """PostgreSQL's defaults for the settings that size kernel resources, for
    the version with sortable `key`; None where the version has no such setting."""
    def since(name, value):
        return value if has_setting(key, name) else None
    return {
        "max_connections": 100,
        "autovacuum_max_workers": 3,
        "max_worker_processes": since("max_worker_processes", 8),
        "max_wal_senders": 10 if key >= MAX_WAL_SENDERS_10_SINCE else 0,
        "shared_buffers": "128MB" if key >= SHARED_BUFFERS_128MB_SINCE else "32MB",
        "shared_memory_type": since("shared_memory_type", "mmap"),
        "dynamic_shared_memory_type": since("dynamic_shared_memory_type", "posix"),
        "huge_pages": since("huge_pages", "try"),
        "huge_page_size": since("huge_page_size", "0"),
    }


SUPPORTED = [(9, m) for m in range(2, 7)] + [(m,) for m in range(10, NEWEST[0] + 1)]
VERSIONS = dict((_row(k).major, _row(k)) for k in SUPPORTED)

_VERSION = re.compile(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$")


class VersionError(ValueError):
    """A PostgreSQL version this collection does not know."""


def supported_range():
    return "%s to %s" % (VERSIONS["9.2"].major, VERSIONS[str(NEWEST[0])].major)


def parse_version(value, name="version"):
    """(VersionInfo, minor or None) for '15', '15.4', '9.6', '9.6.24', 15 or 9.6."""
    text = str(value)
    match = _VERSION.match(text)
    if not match:
        raise VersionError(
            "%s: %r is not a PostgreSQL version; expected a major version such as '9.6' or '17' "
            "(optionally with a minor, '17.2'); supported: %s" % (name, value, supported_range())
        )
    first, second, third = (int(g) if g is not None else None for g in match.groups())
    if first < 10:
        if second is None:
            raise VersionError("%s: %r: versions before 10 need their second part (e.g. 9.6)" % (name, value))
        key, minor = (first, second), third
    else:
        if third is not None:
            raise VersionError("%s: %r: from 10 on a version is MAJOR or MAJOR.MINOR" % (name, value))
        key, minor = (first,), second
    major = ".".join(str(p) for p in key)
    if major not in VERSIONS:
        raise VersionError(
            "%s: PostgreSQL %s is not supported; supported: %s" % (name, major, supported_range())
        )
    return VERSIONS[major], minor


# ---------------------------------------------------------------------------
# Loose version strings as found on a host (PG_VERSION, directory names), and
# thresholds of PostgreSQL internals that are not settings.
# ---------------------------------------------------------------------------

def version_tuple(version):
    """'15' -> (15,), '9.6' -> (9, 6), '16beta1' -> (16,); None when unparsable."""
    match = re.match(r"^\s*(\d+)(?:\.(\d+))?", version or "")
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def directory_major(version):
    """The major version as package directories name it (/usr/lib/postgresql/<major>,
    /usr/pgsql-<major>): the version as given before 10 ('9.6'), its first part from 10 on ('15.4' -> '15')."""
    version = version or ""
    key = version_tuple(version)
    return version if key and key < (10,) else version.split(".")[0]


# Dynamic shared memory and its control segment's item layout
# (src/backend/storage/ipc/dsm.c): DSM exists from 9.4; items gain
# impl_private_pm_handle and pinned in 10; from 14 on odd handles live in the
# main region (first_page, npages).
DSM_SINCE = (9, 4)
DSM_ITEM_PINNED_SINCE = (10,)
DSM_MAIN_REGION_SINCE = (14,)


def parse_server_version(text):
    """(VersionInfo, minor or None) from what `SHOW server_version` prints:
    '15.4 (Debian 15.4-2.pgdg120+1)', '9.6.24', '16beta1' (no minor).
    Raises VersionError for text without a supported version."""
    match = re.match(r"^\s*(\d+(?:\.\d+){0,2})", str(text or ""))
    if not match:
        raise VersionError("server_version: %r is not a PostgreSQL version" % (text,))
    return parse_version(match.group(1), name="server_version")


def fsync_panics(info, minor):
    """Whether release `info`.`minor` PANICs on an fsync failure instead of
    retrying it (docs/postgres-kernel-facts.md §7): True or False, None when
    the minor is unknown and decides it."""
    first = info.fsync_panic_minor
    if first is None:
        return False
    if first == 0:
        return True
    return None if minor is None else minor >= first


def has_data_sync_retry(info, minor):
    """Whether release `info`.`minor` has the data_sync_retry setting: it came
    with the fsync PANIC, in the same minor releases (docs/postgres-kernel-facts.md
    §7, §7a). True or False, None when the minor is unknown and decides it."""
    return fsync_panics(info, minor)


def fsync_fixed_release(info):
    """The first release of the major `info` with the fsync PANIC ('9.6.12',
    '11.2', '12.0'); None when no release of that major has it
    (docs/postgres-kernel-facts.md §7)."""
    if info.fsync_panic_minor is None:
        return None
    return "%s.%d" % (info.major, info.fsync_panic_minor)


def fsync_fixed_majors():
    """'9.4.21, 9.5.16, 9.6.12, 10.7, 11.2, every release from 12': the releases to
    move to from a major that has none (docs/postgres-kernel-facts.md §7)."""
    rows = sorted(VERSIONS.values(), key=lambda info: info.key)
    patched = [fsync_fixed_release(info) for info in rows if info.fsync_panic_minor]
    whole = [info.major for info in rows if info.fsync_panic_minor == 0]
    return ", ".join(patched + (["every release from %s" % whole[0]] if whole else []))


def at_least(key, first):
    """key >= first for a sortable version key; None (version unknown) counts as the newest."""
    return key is None or key >= first
