# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL's shared memory as the kernel shows it: the SysV interlock header
(PGShmemHeader), the dynamic shared memory control segment, their handles,
/proc/sysvipc and /proc/<pid>/maps. Pure parsers of recorded text and bytes;
ipc_cleanup.py decides with them.

Facts: docs/postgres-kernel-facts.md §1, §2; the sources named at each layout.
"""

from __future__ import annotations

import struct
from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils.versions import (
    DSM_ITEM_PINNED_SINCE,
    DSM_MAIN_REGION_SINCE,
    DSM_SINCE,
    at_least,
)

POSIX_DSM_DIR = "/dev/shm"
POSIX_DSM_PREFIX = "PostgreSQL."

# src/include/storage/pg_shmem.h, src/backend/storage/ipc/dsm.c, src/backend/port/sysv_sema.c
PG_SHMEM_MAGIC = 679834894
DSM_CONTROL_MAGIC = 0x9A503D32
PG_SEMA_MAGIC = 537


# ---------------------------------------------------------------------------
# Layouts. Native struct formats ('@') give C's own field alignment, so the
# same code reads LP64 (x86_64, aarch64) and ILP32 builds. dev_t and ino_t are
# 64-bit in glibc with large-file support, which PostgreSQL always builds with.
# ---------------------------------------------------------------------------

# PGShmemHeader (src/include/storage/pg_shmem.h):
#   int32 magic; pid_t creatorPID; Size totalsize; Size freeoffset;
#   dsm_handle dsm_control (9.4+); void *index; dev_t device; ino_t inode;
# x86_64: 56 bytes with dsm_control (magic @0, creatorPID @4, totalsize @8,
# freeoffset @16, dsm_control @24, index @32, device @40, inode @48; read back
# from live 15 and 17 segments), 48 bytes without (device @32, inode @40).
HEADER_FIELDS_DSM = ("magic", "creator_pid", "total_size", "free_offset", "dsm_control", "index", "device", "inode")
HEADER_FORMAT_DSM = "@iiNNIPQQ"
HEADER_FIELDS_OLD = ("magic", "creator_pid", "total_size", "free_offset", "index", "device", "inode")
HEADER_FORMAT_OLD = "@iiNNPQQ"

# dsm_control_header {uint32 magic, nitems, maxitems; dsm_control_item item[];}
# dsm_control_item (src/backend/storage/ipc/dsm.c), by version:
#   9.4-9.6: {dsm_handle handle; uint32 refcnt;}                       8 bytes
#   10-13:   {... ; void *impl_private_pm_handle; bool pinned;}        24 bytes on x86_64
#   14+:     {handle; refcnt; size_t first_page; size_t npages;
#             void *impl_private_pm_handle; bool pinned;}              40 bytes on x86_64
# A trailing "0P" pads the item to pointer alignment as the C array does.
DsmLayout = namedtuple("DsmLayout", ["items_offset", "item_size", "item_format", "main_region_handles"])


def _key(version):
    """(9, 6) / (15,) from a VersionInfo, a tuple or None."""
    if version is None:
        return None
    return getattr(version, "key", version)


def header_layout(version):
    """(format, fields) of PGShmemHeader: dsm_control exists from 9.4 (dsm.c is 9.4+)."""
    if not at_least(_key(version), DSM_SINCE):
        return HEADER_FORMAT_OLD, HEADER_FIELDS_OLD
    return HEADER_FORMAT_DSM, HEADER_FIELDS_DSM


def header_size(version):
    return struct.calcsize(header_layout(version)[0])


def dsm_layout(version):
    """DsmLayout of the control segment for a major version; None before 9.4 (no DSM)."""
    key = _key(version)
    if not at_least(key, DSM_SINCE):
        return None
    if not at_least(key, DSM_ITEM_PINNED_SINCE):
        item = "@II"
        items_offset = struct.calcsize("@III")
        main = False
    elif not at_least(key, DSM_MAIN_REGION_SINCE):
        item = "@IIP?0P"
        items_offset = struct.calcsize("@III0P")
        main = False
    else:
        item = "@IINNP?0P"
        items_offset = struct.calcsize("@III0P")
        main = True
    return DsmLayout(items_offset, struct.calcsize(item), item, main)


def parse_sysvipc(text):
    """/proc/sysvipc/shm or /proc/sysvipc/sem -> [dict of int fields], named by the header line.

    shm: key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime rss swap
    sem: key semid perms nsems uid gid cuid cgid otime ctime
    (perms is octal in the file; kept as printed, an int of its digits.)
    """
    lines = (text or "").splitlines()
    if not lines:
        return []
    names = lines[0].split()
    rows = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) < len(names):
            continue
        try:
            values = [int(f) for f in fields[:len(names)]]
        except ValueError:
            continue
        rows.append(dict(zip(names, values)))
    return rows


def parse_shmem_header(data, version):
    """The PGShmemHeader at offset 0 of a SysV segment -> dict; None when too short."""
    fmt, fields = header_layout(version)
    size = struct.calcsize(fmt)
    if data is None or len(data) < size:
        return None
    header = dict(zip(fields, struct.unpack_from(fmt, data, 0)))
    header.setdefault("dsm_control", 0)
    return header


def header_is_ours(header, dir_dev, dir_ino):
    """PGSharedMemoryAttach(): magic, device and inode all equal the data directory's."""
    return bool(header) and header["magic"] == PG_SHMEM_MAGIC and header["device"] == dir_dev \
        and header["inode"] == dir_ino


DsmControl = namedtuple("DsmControl", ["sane", "reason", "magic", "nitems", "maxitems", "items"])
DsmItem = namedtuple("DsmItem", ["slot", "handle", "refcnt", "pinned"])


def parse_dsm_control(data, version):
    """A DSM control segment's bytes -> DsmControl.

    sane follows dsm_control_segment_sane() (dsm.c): long enough for the
    header, magic, maxitems items fit, nitems <= maxitems. Linux POSIX and
    SysV segments are exactly the size PostgreSQL asked for
    (dsm_control_bytes_needed(maxitems)), so a different size means the
    version's item layout does not fit: not sane either, rather than guess.
    """
    layout = dsm_layout(version)
    if layout is None:
        return DsmControl(False, "PostgreSQL %s has no dynamic shared memory" % getattr(version, "major", version),
                          None, 0, 0, [])
    if data is None or len(data) < struct.calcsize("@III"):
        return DsmControl(False, "too short for a control segment header", None, 0, 0, [])
    magic, nitems, maxitems = struct.unpack_from("@III", data, 0)
    if magic != DSM_CONTROL_MAGIC:
        return DsmControl(False, "magic 0x%08x is not PG_DYNSHMEM_CONTROL_MAGIC" % magic, magic, nitems, maxitems, [])
    needed = layout.items_offset + layout.item_size * maxitems
    if needed > len(data):
        return DsmControl(False, "%d items of %d bytes do not fit in %d bytes" % (maxitems, layout.item_size, len(data)),
                          magic, nitems, maxitems, [])
    if nitems > maxitems:
        return DsmControl(False, "nitems %d > maxitems %d" % (nitems, maxitems), magic, nitems, maxitems, [])
    if needed != len(data):
        return DsmControl(False, "size %d is not %d + %d * %d: the item layout of PostgreSQL %s does not fit"
                          % (len(data), layout.items_offset, layout.item_size, maxitems,
                             getattr(version, "major", version)), magic, nitems, maxitems, [])
    items = []
    for slot in range(nitems):
        values = struct.unpack_from(layout.item_format, data, layout.items_offset + slot * layout.item_size)
        pinned = bool(values[-1]) if len(values) > 2 else None
        items.append(DsmItem(slot, values[0], values[1], pinned))
    return DsmControl(True, None, magic, nitems, maxitems, items)


def dsm_handles_to_destroy(control, version):
    """Handles dsm_cleanup_using_control_segment() destroys: refcnt != 0 (0 = unused
    slot; 1 = moribund, 2+ = active, both destroyed), skipping from 14 on the odd
    handles that live in the main shared memory region (is_main_region_dsm_handle)."""
    layout = dsm_layout(version)
    if not control.sane or layout is None:
        return []
    handles = []
    for item in control.items:
        if item.refcnt == 0:
            continue
        if layout.main_region_handles and item.handle & 1:
            continue
        handles.append(item.handle)
    return handles


def sysv_dsm_key(handle):
    """dsm_impl_sysv(): key = (key_t) handle, negated when < 1; 0 (IPC_PRIVATE) is never used."""
    key = handle - (1 << 32) if handle >= (1 << 31) else handle
    if key < 1:
        key = -key
    return key


def posix_dsm_path(handle):
    return "%s/%s%d" % (POSIX_DSM_DIR, POSIX_DSM_PREFIX, handle)


def parse_maps_line(line):
    """One /proc/<pid>/maps line -> (major, minor, inode, path) or None.

    Fields: address perms offset dev(hex major:minor) inode pathname; a SysV
    segment shows as "/SYSV<key as %08x> (deleted)" with inode = shmid.
    """
    fields = line.split(None, 5)
    if len(fields) < 6:
        return None
    major, sep, minor = fields[3].partition(":")
    try:
        dev = (int(major, 16), int(minor, 16)) if sep else (None, None)
        inode = int(fields[4])
    except ValueError:
        return None
    path = fields[5].strip()
    if path.endswith(" (deleted)"):
        path = path[:-len(" (deleted)")]
    return dev[0], dev[1], inode, path


def mappers(maps_by_pid, fds_by_pid=None):
    """Who uses what: ({(major, minor, inode): {pid}} for /dev/shm files, {shmid: {pid}} for SysV).

    maps_by_pid: {pid: maps text}; fds_by_pid: {pid: [(major, minor, inode)]} of
    open descriptors that point into /dev/shm.
    """
    files, sysv = {}, {}
    for pid, text in (maps_by_pid or {}).items():
        for line in (text or "").splitlines():
            parsed = parse_maps_line(line)
            if parsed is None:
                continue
            major, minor, inode, path = parsed
            if path.startswith("/SYSV"):
                sysv.setdefault(inode, set()).add(pid)
            elif path.startswith(POSIX_DSM_DIR + "/"):
                files.setdefault((major, minor, inode), set()).add(pid)
    for pid, ids in (fds_by_pid or {}).items():
        for ident in ids:
            files.setdefault(tuple(ident), set()).add(pid)
    return files, sysv
