"""SysV semaphores and shared memory (module_utils/sysv.py), hand-computed.

docs/postgres-kernel-facts.md §2: sets = ceil((max_connections + autovacuum_max_workers
[+ max_wal_senders from 12] [+ max_worker_processes from 9.4] + N) / 16),
N = 5 (9.2-13), 6 (14-16), 7 (17); each set is 17 semaphores wide; 10 and
later use POSIX semaphores on Linux and FreeBSD.
docs/postgres-kernel-facts.md §1: 9.2 keeps the whole main area in SysV; 9.3+ only the interlock
segment (56 bytes seen on Debian's 15) unless 12+ says shared_memory_type =
sysv; dynamic_shared_memory_type = sysv adds SysV segments.
"""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import ClusterError, cluster_spec
from ansible_collections.pghost.hardening.plugins.module_utils.sysv import (
    host_sysv_needs,
    semaphore_need,
    shm_need,
)

MiB = 1024 * 1024


def spec(version, mc=100, av=3, wp=8, ws=10, **more):
    raw = {"version": version, "max_connections": mc, "autovacuum_max_workers": av,
           "max_worker_processes": wp, "max_wal_senders": ws}
    raw.update(more)
    return cluster_spec(raw, 0)


def up(a, b):
    """Ceiling of a / b for the test's own arithmetic."""
    q, r = divmod(a, b)
    return q + (1 if r else 0)


def estimate(shared_buffers_bytes, backends):
    """The documented estimate (seed table, docs/postgres-kernel-facts.md §2): 250 kB + 8.2 kB per 8 kB
    page + 14.2 kB per backend slot, in bytes rounded up, then +10% rounded up."""
    pages = up(shared_buffers_bytes, 8192)
    kb = Fraction(250) + Fraction(82, 10) * pages + Fraction(142, 10) * backends
    whole = -(-(kb * 1024) // 1)
    return int(-(-(whole * Fraction(11, 10)) // 1))


# --- semaphores -------------------------------------------------------------

@pytest.mark.parametrize(
    "version, mc, av, wp, ws, platform, sets",
    [
        # 9.6: (100 + 3 + 8 + 5) / 16 = 116 / 16 = 7.25 -> 8 sets
        ("9.6", 100, 3, 8, 10, "linux", 8),
        ("9.6", 100, 3, 8, 10, "freebsd", 8),
        ("9.4", 100, 3, 8, 0, "linux", 8),
        ("9.5", 100, 3, 8, 0, "linux", 8),
        # 9.5: (200 + 5 + 16 + 5) = 226 / 16 = 14.125 -> 15 (wal senders not counted)
        ("9.5", 200, 5, 16, 10, "linux", 15),
        # 9.3 has no worker processes in the formula: (100 + 3 + 5) = 108 / 16 = 6.75 -> 7
        ("9.3", 100, 3, 8, 10, "linux", 7),
        ("9.3", 100, 3, None, None, "linux", 7),
        ("9.2", 100, 3, None, None, "linux", 7),
        ("9.2", 100, 3, None, None, "freebsd", 7),
        # exactly 16: (11 + 0 + 5) / 16 = 1; one more -> 2
        ("9.2", 11, 0, None, None, "linux", 1),
        ("9.2", 12, 0, None, None, "linux", 2),
        # 9.6 exactly 16: (3 + 0 + 8 + 5) = 16 -> 1; 17 -> 2
        ("9.6", 3, 0, 8, 0, "linux", 1),
        ("9.6", 4, 0, 8, 0, "linux", 2),
        # (0 + 0 + 0 + 5) = 5 -> 1 set
        ("9.4", 0, 0, 0, 0, "linux", 1),
        # 9.6 with 1000 connections: 1000 + 3 + 8 + 5 = 1016 / 16 = 63.5 -> 64
        ("9.6", 1000, 3, 8, 10, "linux", 64),
    ],
)
def test_sysv_semaphore_sets(version, mc, av, wp, ws, platform, sets):
    need = semaphore_need(spec(version, mc, av, wp, ws), platform)
    assert need.sets == sets
    assert need.semaphores == sets * 17
    assert need.posix_semaphores == 0


@pytest.mark.parametrize(
    "version, mc, av, wp, ws, posix",
    [
        ("10", 100, 3, 8, 10, 100 + 3 + 8 + 5),           # wal senders count from 12
        ("11", 100, 3, 8, 10, 116),
        ("12", 100, 3, 8, 10, 100 + 3 + 8 + 10 + 5),
        ("13", 100, 3, 8, 10, 126),
        ("14", 100, 3, 8, 10, 100 + 3 + 8 + 10 + 6),
        ("16", 100, 3, 8, 10, 127),
        ("17", 100, 3, 8, 10, 100 + 3 + 8 + 10 + 7),
    ],
)
@pytest.mark.parametrize("platform", ["linux", "freebsd"])
def test_posix_semaphores_from_10_need_no_sysv(version, mc, av, wp, ws, posix, platform):
    need = semaphore_need(spec(version, mc, av, wp, ws), platform)
    assert (need.sets, need.semaphores) == (0, 0)
    assert need.posix_semaphores == posix
    assert "POSIX" in need.reason


@pytest.mark.parametrize("platform", ["linux", "freebsd"])
def test_18_uses_the_server_reported_count(platform):
    need = semaphore_need(spec("18", num_os_semaphores=131), platform)
    assert (need.sets, need.semaphores, need.posix_semaphores) == (0, 0, 131)


@pytest.mark.parametrize(
    "version, mc, av, wp, ws, sets",
    [
        # terms 5 + 1 + 0 + 5 = 11: 13 -> 16 / 16 = 1; 14 -> 17 / 16 = 2; 17 -> 18 / 16 = 2
        ("13", 5, 1, 0, 5, 1),
        ("14", 5, 1, 0, 5, 2),
        # terms 4 + 1 + 0 + 5 = 10: 14-16 -> 16 -> 1; 17 -> 17 -> 2
        ("15", 4, 1, 0, 5, 1),
        ("16", 4, 1, 0, 5, 1),
        ("17", 4, 1, 0, 5, 2),
        ("12", 100, 3, 8, 10, 8),     # 126 / 16 = 7.875 -> 8
    ],
)
def test_sysv_semaphores_on_other_platforms_use_the_version_constant(version, mc, av, wp, ws, sets):
    need = semaphore_need(spec(version, mc, av, wp, ws), "solaris")
    assert (need.sets, need.semaphores) == (sets, sets * 17)


def test_18_elsewhere_sizes_sets_from_num_os_semaphores():
    # 131 / 16 = 8.19 -> 9 sets
    need = semaphore_need(spec("18", num_os_semaphores=131), "solaris")
    assert (need.sets, need.semaphores) == (9, 153)


# --- shared memory ----------------------------------------------------------

@pytest.mark.parametrize("version", ["9.3", "9.4", "9.5", "9.6", "10", "11"])
def test_interlock_segment_only_from_93(version):
    need = shm_need(spec(version))
    assert need.segments == (56,)
    assert need.extra_ids == 0


@pytest.mark.parametrize("version", ["12", "13", "14", "15", "16", "17", "18"])
def test_interlock_segment_with_mmap_from_12(version):
    need = shm_need(spec(version, shared_memory_type="mmap", shared_memory_size_mb=143))
    assert need.segments == (56,)


def test_92_whole_area_estimated():
    # 9.2 defaults: shared_buffers 32MB = 4096 pages; backends 100 + 3 + 1 = 104
    # 250 + 8.2 * 4096 + 14.2 * 104 = 35314.0 kB = 36161536 B; +10% = 39777689.6 -> 39777690
    need = shm_need(cluster_spec({"version": "9.2"}, 0))
    assert need.segments == (39777690,)
    assert need.segments == (estimate(32 * MiB, 104),)
    assert "estimated" in need.reason


def test_92_whole_area_reported():
    need = shm_need(spec("9.2", shared_memory_size_mb=40))
    assert need.segments == (40 * 1048576,)


@pytest.mark.parametrize("version", ["12", "13", "14"])
def test_sysv_12_to_14_estimated(version):
    # 128MB = 16384 pages; backends 100 + 3 + 1 + 8 + 10 = 122
    # 250 + 8.2 * 16384 + 14.2 * 122 = 136331.2 kB = 139603148.8 -> 139603149 B; * 1.1 -> 153563464
    need = shm_need(spec(version, shared_memory_type="sysv", shared_buffers="128MB"))
    assert need.segments == (153563464,)
    assert need.segments == (estimate(128 * MiB, 122),)


@pytest.mark.parametrize("version", ["15", "16", "17", "18"])
def test_sysv_15_plus_uses_the_reported_size(version):
    need = shm_need(spec(version, shared_memory_type="sysv", shared_memory_size_mb=143))
    assert need.segments == (143 * 1048576,) == (149946368,)
    assert "143" in need.reason


def test_sysv_15_without_report_is_estimated():
    need = shm_need(spec("15", shared_memory_type="sysv", shared_buffers="1GB", mc=200))
    # 1GB = 131072 pages; backends 200 + 3 + 1 + 8 + 10 = 222
    assert need.segments == (estimate(1024 * MiB, 222),)
    # 250 + 8.2 * 131072 + 14.2 * 222 = 1078192.8 kB -> 1104069427.2 -> 1104069428 B; * 1.1 -> 1214476370.8
    assert need.segments == (1214476371,)


@pytest.mark.parametrize(
    "version, extra",
    [
        ("9.4", 64 + 5 * (100 + 3 + 1 + 8)),          # 624
        ("9.6", 624),
        ("11", 624),                                   # wal senders not in MaxBackends before 12
        ("12", 64 + 5 * (100 + 3 + 1 + 8 + 10)),      # 674
        ("17", 674),
    ],
)
def test_dsm_sysv_adds_segment_ids(version, extra):
    need = shm_need(spec(version, dynamic_shared_memory_type="sysv"))
    assert need.extra_ids == extra
    assert need.segments == (56,)


@pytest.mark.parametrize("dsm", ["posix", "mmap", "none"])
def test_other_dsm_types_add_nothing(dsm):
    assert shm_need(spec("15", dynamic_shared_memory_type=dsm)).extra_ids == 0


@pytest.mark.parametrize("version", ["9.2", "9.3"])
@pytest.mark.parametrize("dsm", ["sysv", "posix"])
def test_dsm_type_before_94_is_refused(version, dsm):
    # dynamic_shared_memory_type exists from 9.4 (docs/postgres-kernel-facts.md §1): for 9.2/9.3 it is an
    # input mistake, refused instead of sized as 64 + 5 * backends segment ids for
    # dynamic segments those versions never create
    with pytest.raises(ClusterError) as exc:
        spec(version, dynamic_shared_memory_type=dsm)
    message = str(exc.value)
    assert message.startswith("clusters[0].dynamic_shared_memory_type")
    assert version in message and "9.4" in message


@pytest.mark.parametrize("version", ["9.2", "9.3"])
def test_no_dsm_segment_ids_before_94(version):
    assert shm_need(spec(version)).extra_ids == 0


# --- host sums --------------------------------------------------------------

def four_clusters():
    return [
        spec("9.2", 100, 3, None, None, shared_memory_size_mb=40),          # 41943040 B, 7 sets
        spec("9.6", 100, 3, 8, 10, dynamic_shared_memory_type="sysv"),     # 56 B + 624 ids, 8 sets
        spec("15", shared_memory_type="sysv", shared_memory_size_mb=143),  # 149946368 B, POSIX
        spec("16"),                                                        # 56 B, POSIX
    ]


@pytest.mark.parametrize("platform", ["linux", "freebsd"])
def test_multi_cluster_sums_4k_pages(platform):
    need = host_sysv_needs(four_clusters(), platform, 4096)
    assert need.shmmax == 149946368                     # the largest single segment
    # 41943040 / 4096 = 10240; 56 B -> 1 page; 149946368 / 4096 = 36608; 56 B -> 1 page
    assert need.shmall == 10240 + 1 + 36608 + 1 == 46850
    assert need.shmmni == 1 + (1 + 624) + 1 + 1 == 628
    assert need.semmni == 7 + 8 == 15
    assert need.semmns == need.semaphores == 15 * 17 == 255
    assert need.semmsl == 17
    assert len(need.reasons) == 8


def test_multi_cluster_sums_64k_pages():
    need = host_sysv_needs(four_clusters(), "linux", 65536)
    # 41943040 / 65536 = 640; 149946368 / 65536 = 2288; each 56 B segment one page
    assert need.shmall == 640 + 1 + 2288 + 1 == 2930
    assert need.shmmax == 149946368


def test_page_rounding_is_per_segment():
    # two 9.2 clusters with the default estimate of 39777690 B each: every segment is
    # rounded up on its own, ceil(39777690 / 4096) = 9712 (9711.35), so 2 * 9712 = 19424,
    # one page more than ceil(2 * 39777690 / 4096) = 19423
    clusters = [cluster_spec({"version": "9.2"}, 0), cluster_spec({"version": "9.2"}, 1)]
    need = host_sysv_needs(clusters, "linux", 4096)
    assert need.shmall == 2 * 9712 == 19424
    assert need.shmmax == 39777690
    assert need.shmmni == 2
    need = host_sysv_needs([spec("15")] * 5, "linux", 4096)
    assert (need.shmmax, need.shmall, need.shmmni) == (56, 5, 5)


def test_posix_only_hosts_need_no_semaphores():
    need = host_sysv_needs([spec("10"), spec("18")], "linux", 4096)
    assert (need.semmni, need.semmns, need.semmsl, need.semaphores) == (0, 0, 0, 0)


def test_no_clusters():
    need = host_sysv_needs([], "linux", 4096)
    assert (need.semmni, need.semmns, need.semmsl, need.shmmax, need.shmall, need.shmmni) == (0, 0, 0, 0, 0, 0)


def test_two_old_clusters_add_their_sets():
    # 9.6: 8 sets; 9.3 with 300 connections: (300 + 3 + 5) / 16 = 19.25 -> 20 sets
    need = host_sysv_needs([spec("9.6"), spec("9.3", 300, 3, None, None)], "freebsd", 4096)
    assert need.semmni == 28
    assert need.semmns == 28 * 17 == 476
    assert need.semmsl == 17


# --- properties -------------------------------------------------------------

OLD = ["9.2", "9.3", "9.4", "9.5", "9.6"]
N_FOR = {"9.2": 5, "9.3": 5, "9.4": 5, "9.5": 5, "9.6": 5}


@settings(max_examples=200, deadline=None, database=None)
@given(clusters=st.lists(st.tuples(st.sampled_from(OLD), st.integers(0, 5000), st.integers(0, 50),
                                   st.integers(0, 200)), max_size=6),
       platform=st.sampled_from(["linux", "freebsd"]))
def test_semaphore_sum_property(clusters, platform):
    specs, expected_sets = [], 0
    for version, mc, av, wp in clusters:
        specs.append(spec(version, mc, av, wp if version >= "9.4" else None, 0))
        terms = mc + av + (wp if version >= "9.4" else 0) + N_FOR[version]
        expected_sets += up(terms, 16)
    need = host_sysv_needs(specs, platform, 4096)
    assert need.semmni == expected_sets
    assert need.semmns == expected_sets * 17
    assert need.semmsl == (17 if expected_sets else 0)
