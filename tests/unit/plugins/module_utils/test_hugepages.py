"""Huge pages for the clusters' main shared memory (module_utils/hugepages.py).

docs/postgres-kernel-facts.md §3: huge_pages exists from 9.4 (try/on/off), huge_page_size from 14
(0 = the kernel default), the server reports shared_memory_size_in_huge_pages
from 15 (-1 when it cannot use huge pages); the request is rounded up to
whole huge pages; vm.nr_hugepages sizes only the default pool. docs/postgres-kernel-facts.md §1:
huge pages are for the mmap'ed main area, not for shared_memory_type = sysv.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import ClusterError, cluster_spec
from ansible_collections.pghost.hardening.plugins.module_utils.hugepages import host_hugepages, hugepage_lock_bytes, hugepage_need

MiB = 1024 * 1024
EXAMPLE_96 = {"version": "9.6", "max_connections": 100, "autovacuum_max_workers": 3, "max_worker_processes": 8,
              "max_wal_senders": 10, "shared_buffers": "128MB", "huge_pages": "try"}
# 9.6 estimate: 16384 pages, backends 100 + 3 + 1 + 8 = 112:
# 250 + 8.2 * 16384 + 14.2 * 112 = 136189.2 kB = 139457740.8 -> 139457741 B; * 1.1 = 153403515.1 -> 153403516
EXAMPLE_96_BYTES = 153403516


def c(**raw):
    return cluster_spec(raw, 0)


def test_example_96_estimate():
    # 153403516 / 2097152 = 73.15 -> 74 pages of 2 MiB
    need = hugepage_need(c(**EXAMPLE_96), 2048)
    assert (need.pages, need.page_size_kb) == (74, 2048)
    assert 73 * 2097152 < EXAMPLE_96_BYTES <= 74 * 2097152


def test_example_96_with_1g_default_pages():
    need = hugepage_need(c(**EXAMPLE_96), 1048576)
    assert (need.pages, need.page_size_kb) == (1, 1048576)


@pytest.mark.parametrize("mode", ["try", "on", True])
def test_server_reported_pages_used_as_is(mode):
    need = hugepage_need(c(version="15", huge_pages=mode, shared_memory_size_in_huge_pages=72,
                           shared_memory_size_mb=9999), 2048)
    assert need.pages == 72


def test_reported_zero_is_zero():
    assert hugepage_need(c(version="16", shared_memory_size_in_huge_pages=0), 2048).pages == 0


@pytest.mark.parametrize(
    "size_mb, pages",
    [(143, 72),      # 143 MiB / 2 MiB = 71.5 -> 72
     (144, 72),      # exactly 72
     (145, 73),
     (1, 1)],
)
def test_minus_one_falls_back_to_the_reported_size(size_mb, pages):
    need = hugepage_need(c(version="15", shared_memory_size_in_huge_pages=-1, shared_memory_size_mb=size_mb), 2048)
    assert need.pages == pages


def test_minus_one_without_size_is_estimated():
    # 15 defaults: 128MB, backends 100 + 3 + 1 + 8 + 10 = 122 -> 153563464 B (see test_sysv) / 2 MiB = 73.2 -> 74
    need = hugepage_need(c(version="15", shared_memory_size_in_huge_pages=-1), 2048)
    assert need.pages == 74


@pytest.mark.parametrize("version", ["9.4", "9.6", "12", "15", "18"])
@pytest.mark.parametrize("off", ["off", False])
def test_off_needs_none(version, off):
    raw = {"version": version, "huge_pages": off}
    if version in ("15", "18"):
        raw["shared_memory_size_in_huge_pages"] = 72
    assert hugepage_need(c(**raw), 2048).pages == 0


@pytest.mark.parametrize("version", ["9.2", "9.3"])
def test_before_94_none(version):
    assert hugepage_need(c(version=version, shared_buffers="8GB"), 2048).pages == 0


@pytest.mark.parametrize("version, extra", [("12", {}), ("14", {}), ("15", {"shared_memory_size_in_huge_pages": 72}),
                                            ("18", {"shared_memory_size_mb": 1000})])
@pytest.mark.parametrize("mode", ["try", None])
def test_sysv_main_area_none(version, extra, mode):
    raw = dict(extra, version=version, shared_memory_type="sysv")
    if mode is not None:
        raw["huge_pages"] = mode
    assert hugepage_need(c(**raw), 2048).pages == 0


@pytest.mark.parametrize("version", ["12", "15", "18"])
@pytest.mark.parametrize("mode", ["on", True])
def test_sysv_main_area_with_huge_pages_on_is_refused(version, mode):
    # PostgreSQL refuses to start with huge_pages=on and shared_memory_type=sysv
    # (docs/postgres-kernel-facts.md §1), so there is nothing to size: the input is refused
    with pytest.raises(ClusterError) as exc:
        c(version=version, shared_memory_type="sysv", huge_pages=mode)
    assert str(exc.value).startswith("clusters[0].huge_pages")


def test_kernel_without_huge_pages():
    assert hugepage_need(c(**EXAMPLE_96), 0).pages == 0


def test_non_default_size_reported_pool():
    need = hugepage_need(c(version="15", huge_page_size="1GB", shared_memory_size_in_huge_pages=1), 2048)
    assert (need.pages, need.page_size_kb) == (1, 1048576)


def test_non_default_size_estimated():
    # 143 MiB in 1 GiB pages -> 1
    need = hugepage_need(c(version="15", huge_page_size="1GB", shared_memory_size_mb=143,
                           shared_memory_size_in_huge_pages=-1), 2048)
    assert (need.pages, need.page_size_kb) == (1, 1048576)


@pytest.mark.parametrize("size", ["2MB", "2048kB", "2048", 2048])
def test_huge_page_size_equal_to_default_counts(size):
    total, reasons, warnings = host_hugepages([c(version="15", huge_page_size=size,
                                                 shared_memory_size_in_huge_pages=72)], 2048)
    assert total == 72
    assert warnings == []


def test_non_default_size_warns_and_is_excluded():
    clusters = [cluster_spec({"version": "15", "name": "big", "huge_page_size": "1GB",
                              "shared_memory_size_in_huge_pages": 3}, 0)]
    total, reasons, warnings = host_hugepages(clusters, 2048)
    assert total == 0
    assert len(warnings) == 1
    assert "big" in warnings[0] and "1048576" in warnings[0] and "2048" in warnings[0]
    assert "hugepages-1048576kB" in warnings[0]


def test_non_default_size_needing_nothing_does_not_warn():
    clusters = [c(version="15", huge_page_size="1GB", huge_pages="off")]
    assert host_hugepages(clusters, 2048) == (0, [hugepage_need(clusters[0], 2048).reason], [])


def test_sum_over_clusters():
    clusters = [
        cluster_spec({"version": "15", "shared_memory_size_in_huge_pages": 100}, 0),     # 100
        cluster_spec(EXAMPLE_96, 1),                                                     # 74
        cluster_spec({"version": "16", "huge_pages": "off"}, 2),                         # 0
        cluster_spec({"version": "15", "huge_page_size": "1GB",
                      "shared_memory_size_in_huge_pages": 2}, 3),                        # other pool
        cluster_spec({"version": "9.3"}, 4),                                             # 0
        cluster_spec({"version": "13", "shared_memory_type": "sysv"}, 5),                # 0
        cluster_spec({"version": "17", "shared_memory_size_mb": 300,
                      "shared_memory_size_in_huge_pages": -1}, 6),                       # 150
    ]
    total, reasons, warnings = host_hugepages(clusters, 2048)
    assert total == 100 + 74 + 150 == 324
    assert len(reasons) == 7
    assert len(warnings) == 1 and "clusters[3]" in warnings[0]


def test_no_clusters():
    assert host_hugepages([], 2048) == (0, [], [])


@pytest.mark.parametrize("version", ["9.4", "9.6", "13"])
def test_huge_page_size_before_14_is_refused(version):
    # huge_page_size exists from 14 (docs/postgres-kernel-facts.md §3): for 9.4-13 it is refused rather
    # than moving the cluster's pages out of vm.nr_hugepages into another pool
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": version, "huge_page_size": "1GB", "shared_memory_size_mb": 144}, 0)
    message = str(exc.value)
    assert message.startswith("clusters[0].huge_page_size")
    assert version in message and "14" in message


@pytest.mark.parametrize("version", ["9.6", "13"])
def test_before_14_pages_come_from_the_default_pool(version):
    # without huge_page_size the server uses the kernel's default size:
    # 144 MiB / 2 MiB = 72 pages, counted in vm.nr_hugepages, no warning
    spec = cluster_spec({"version": version, "shared_memory_size_mb": 144}, 0)
    total, dummy, warnings = host_hugepages([spec], 2048)
    assert (total, warnings) == (72, [])


@settings(max_examples=200, deadline=None, database=None)
@given(reported=st.lists(st.tuples(st.integers(0, 10 ** 6), st.sampled_from(["try", "on", "off"])), max_size=6),
       default_kb=st.sampled_from([2048, 1048576, 16384, 64]))
def test_reported_sum_property(reported, default_kb):
    clusters = [cluster_spec({"version": "16", "huge_pages": mode, "shared_memory_size_in_huge_pages": n}, i)
                for i, (n, mode) in enumerate(reported)]
    total, reasons, warnings = host_hugepages(clusters, default_kb)
    assert total == sum(n for n, mode in reported if mode != "off")
    assert warnings == [] and len(reasons) == len(reported)


def test_lock_bytes_are_the_pages_the_cluster_maps():
    # 72 server-reported pages of 2 MiB = 150994944 bytes for memlock
    size, reason = hugepage_lock_bytes(c(version="15", huge_pages="try", shared_memory_size_in_huge_pages=72), 2048)
    assert size == 72 * 2 * MiB == 150994944
    assert "150994944 bytes" in reason


@pytest.mark.parametrize("raw", [dict(version="15", huge_pages="off"), dict(version="9.3")])
def test_lock_bytes_zero_without_huge_pages(raw):
    size, reason = hugepage_lock_bytes(c(**raw), 2048)
    assert size == 0
    assert reason


@pytest.mark.parametrize("raw", [
    dict(EXAMPLE_96),
    {"version": "15", "shared_buffers": "128MB", "shared_memory_size_in_huge_pages": 72},
])
def test_reason_is_the_same_for_try_and_on(raw):
    """The reason is written into drop-in and sysctl comments; a running server
    reports `try` until the restart that makes a new `on` take effect, and the
    next run must not rewrite the file for it (seen on the real-kernel VMs)."""
    reasons = {mode: hugepage_lock_bytes(c(**dict(raw, huge_pages=mode)), 2048) for mode in ("try", "on")}
    assert reasons["try"] == reasons["on"]
