# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SysV semaphore and shared memory needs of PostgreSQL clusters.

Per cluster, then summed over the clusters of a host. Sources:
docs/postgres-kernel-facts.md §1 (shared memory), §2 (semaphores).
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils.units import ceil_div

PLATFORMS = ("linux", "freebsd")

SEMAPHORES_PER_SET = 16
# Each set carries one extra "magic number" semaphore, so sets are 17 wide
# (docs/postgres-kernel-facts.md §2; later 17.x minors may use wider sets - unverified, so the
# server-reported num_os_semaphores is preferred where it exists).
SET_WIDTH = SEMAPHORES_PER_SET + 1

# sizeof(PGShmemHeader): the interlock segment PostgreSQL 9.3+ keeps in SysV
# while the main area is mmap()ed (docs/postgres-kernel-facts.md §1: 48 bytes documented, 56 seen
# with ipcs -m on Debian's 15; the larger is used).
INTERLOCK_SEGMENT_BYTES = 56

# Dynamic shared memory segments with dynamic_shared_memory_type = sysv also
# use SysV ids: at most 64 + 5 per backend live at once (PG_DYNSHMEM_FIXED_SLOTS
# and PG_DYNSHMEM_SLOTS_PER_BACKEND in src/backend/storage/ipc/dsm.c;
# unverified against every version, used as an upper bound).
DSM_FIXED_SLOTS = 64
DSM_SLOTS_PER_BACKEND = 5

SemNeed = namedtuple("SemNeed", ["sets", "semaphores", "posix_semaphores", "reason"])
ShmNeed = namedtuple("ShmNeed", ["segments", "extra_ids", "reason"])


def backends(c):
    """max_connections + autovacuum workers + launcher + bgworkers (+ WAL senders from 12)."""
    total = c.max_connections + c.autovacuum_max_workers + 1
    if c.info.sem_counts_worker_processes:
        total += c.max_worker_processes
    if c.info.sem_counts_wal_senders:
        total += c.max_wal_senders
    return total


def _semaphore_inputs(c):
    """The numerator of the documented formula, and its description."""
    if c.info.sem_constant is None:
        if c.num_os_semaphores is not None:
            return c.num_os_semaphores, "server-reported num_os_semaphores %d" % c.num_os_semaphores
        # Only reachable off Linux/FreeBSD; fall back to 17's constant and say so.
        constant, how = 7, "estimated with PostgreSQL 17's constant 7 (no num_os_semaphores reported)"
    else:
        constant, how = c.info.sem_constant, "documented constant %d for PostgreSQL %s" % (c.info.sem_constant, c.info.major)
    terms = [("max_connections", c.max_connections), ("autovacuum_max_workers", c.autovacuum_max_workers)]
    if c.info.sem_counts_worker_processes:
        terms.append(("max_worker_processes", c.max_worker_processes))
    if c.info.sem_counts_wal_senders:
        terms.append(("max_wal_senders", c.max_wal_senders))
    total = sum(value for dummy, value in terms) + constant
    text = " + ".join("%s %d" % t for t in terms) + " + %d (%s)" % (constant, how)
    return total, text


def semaphore_need(c, platform):
    """SysV semaphores one cluster needs (docs/postgres-kernel-facts.md §2)."""
    needed, text = _semaphore_inputs(c)
    if not c.info.sysv_semaphores and platform in PLATFORMS:
        return SemNeed(0, 0, needed, "%s: PostgreSQL %s uses POSIX semaphores on %s (%d of them); no SysV semaphores"
                       % (c.name, c.info.major, platform, needed))
    sets = ceil_div(needed, SEMAPHORES_PER_SET)
    return SemNeed(sets, sets * SET_WIDTH, 0, "%s: ceil((%s) / 16) = %d sets of %d" % (c.name, text, sets, SET_WIDTH))


def estimate_main_area_bytes(c):
    """Estimated main shared memory area, for versions that do not report it.

    The seed's sizing table (docs/postgres-kernel-facts.md §2, last item): 250 kB + 8.2 kB per
    shared_buffers page + 14.2 kB per connection, here counting every backend
    slot, plus a 10% margin because newer versions keep more fixed structures
    in shared memory than that table knew. Prefer the server's
    shared_memory_size (15+) whenever it is available.
    """
    pages = ceil_div(c.shared_buffers_bytes, 8192)
    tenths_kb = 2500 + 82 * pages + 142 * backends(c)  # in units of 0.1 kB
    estimate = ceil_div(tenths_kb * 1024, 10)
    return ceil_div(estimate * 11, 10)


def main_area_bytes(c):
    """(bytes, source) of the main shared memory area."""
    if c.shared_memory_size_mb is not None:
        return c.shared_memory_size_mb * 1024 * 1024, "server-reported shared_memory_size %dMB" % c.shared_memory_size_mb
    return estimate_main_area_bytes(c), "estimated from shared_buffers and backends (no server-reported size)"


def main_area_in_sysv(c):
    return c.info.main_area_in_sysv or (c.info.has_shared_memory_type and c.shared_memory_type == "sysv")


def shm_need(c):
    """SysV shared memory segments (sizes in bytes) one cluster creates (docs/postgres-kernel-facts.md §1)."""
    extra = 0
    note = ""
    if c.dynamic_shared_memory_type == "sysv":
        extra = DSM_FIXED_SLOTS + DSM_SLOTS_PER_BACKEND * backends(c)
        note = "; dynamic_shared_memory_type=sysv adds up to %d segment ids" % extra
    if main_area_in_sysv(c):
        size, source = main_area_bytes(c)
        why = "main area in SysV (PostgreSQL %s%s)" % (
            c.info.major, ", shared_memory_type=sysv" if c.info.has_shared_memory_type else "")
        return ShmNeed((size,), extra, "%s: one segment of %d bytes, %s, %s%s" % (c.name, size, why, source, note))
    return ShmNeed((INTERLOCK_SEGMENT_BYTES,), extra,
                   "%s: only the %d-byte interlock segment is SysV (main area is mmap, PostgreSQL %s)%s"
                   % (c.name, INTERLOCK_SEGMENT_BYTES, c.info.major, note))


HostSysv = namedtuple("HostSysv", [
    "semaphores", "semmni", "semmns", "semmsl", "shmmax", "shmall", "shmmni", "reasons"])


def host_sysv_needs(clusters, platform, page_size):
    """Sum the SysV needs of all clusters on one host.

    SHMMAX is a per-segment limit (largest segment); SHMALL (pages of
    page_size) and SHMMNI (segment ids) are system-wide, so they add up.
    Semaphore sets add up; SEMMSL is the width of one set.
    """
    reasons = []
    sets = semaphores = 0
    largest = total_pages = segment_ids = 0
    for c in clusters:
        sem = semaphore_need(c, platform)
        shm = shm_need(c)
        reasons += [sem.reason, shm.reason]
        sets += sem.sets
        semaphores += sem.semaphores
        largest = max([largest] + list(shm.segments))
        total_pages += sum(ceil_div(size, page_size) for size in shm.segments)
        segment_ids += len(shm.segments) + shm.extra_ids
    return HostSysv(
        semaphores=semaphores,
        semmni=sets,
        semmns=semaphores,
        semmsl=SET_WIDTH if sets else 0,
        shmmax=largest,
        shmall=total_pages,
        shmmni=segment_ids,
        reasons=reasons,
    )
