"""The assembled plan (module_utils/kernel_plan.py): required minima, proposals
that never lower a limit, FreeBSD naming, and input errors.

The example is the one in the issue and in pg_kernel_params' EXAMPLES; its
numbers are checked by hand below.

A limit (kernel.shm*, kernel.sem, vm.nr_hugepages, kern.ipc.*) is proposed only
when its current value is known and below the requirement: never lowering a
limit needs the current value, so an unknown one (absent, blank, unreadable)
gives a warning naming the key and the required value instead. The overcommit
policy keys are proposed whatever their current value, the ratio before strict
mode (apply order), and vm.overcommit_kbytes never (writing the ratio clears
it, docs/postgres-kernel-facts.md §4).
"""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils.kernel_plan import PlanError, plan
from ansible_collections.pghost.hardening.plugins.module_utils.overcommit import GuardError

HOST = {"mem_total_kb": 16777216, "swap_total_kb": 0, "hugepage_size_kb": 2048, "page_size": 4096,
        "committed_as_kb": 2000000}
CLUSTER_96 = {"version": "9.6", "max_connections": 100, "autovacuum_max_workers": 3, "max_worker_processes": 8,
              "max_wal_senders": 10, "shared_buffers": "128MB", "huge_pages": "try"}

# Hand check of the example:
# semaphores (docs/postgres-kernel-facts.md §2, 9.6): ceil((100 + 3 + 8 + 5) / 16) = ceil(7.25) = 8 sets, 8 * 17 = 136
# shared memory (docs/postgres-kernel-facts.md §1, 9.6): only the 56-byte interlock segment -> shmmax 56, shmall 1 page, shmmni 1
# huge pages: estimate 250 + 8.2 * 16384 + 14.2 * (100 + 3 + 1 + 8) = 136189.2 kB = 139457740.8 -> 139457741 B,
#   +10% = 153403515.1 -> 153403516 B; / 2097152 = 73.15 -> 74 pages of 2 MiB
# overcommit: hugetlb 74 * 2048 = 151552 kB; usable 16625664 kB; reserve 10% = 1662566 kB (> 1 GiB)
#   -> ratio floor(100 * 14963098 / 16625664) = 90; CommitLimit in 4 kB pages (docs/postgres-kernel-facts.md §4, mm/util.c):
#   16625664 / 4 = 4156416 pages * 90 / 100 = 3740774.4 -> 3740774 pages = 14963096 kB
#   need 2000000 * 1.10 = 2200000 -> accepted
EXAMPLE_REQUIRED = {
    "semaphores": 136, "semmni": 8, "semmns": 136, "semmsl": 17,
    "shmmax": 56, "shmall": 1, "shmmni": 1,
    "nr_hugepages": 74, "overcommit_ratio": 90, "commit_limit_kb": 14963096,
}

LINUX_DEFAULTS = {
    "kernel.shmmax": "18446744073692774399", "kernel.shmall": "18446744073692774399", "kernel.shmmni": "4096",
    "kernel.sem": "32000\t1024000000\t500\t32000", "vm.nr_hugepages": "0", "vm.overcommit_memory": "0",
    "vm.overcommit_ratio": "50", "vm.overcommit_kbytes": "0",
}
FREEBSD_DEFAULTS = {
    "kern.ipc.shmmax": "536870912", "kern.ipc.shmall": "131072", "kern.ipc.shmmni": "192",
    "kern.ipc.semmni": "50", "kern.ipc.semmns": "340", "kern.ipc.semmsl": "340",
}
# every limit known and too low, the overcommit policy already in place
LINUX_LOW = {
    "kernel.shmmax": "0", "kernel.shmall": "0", "kernel.shmmni": "0", "kernel.sem": "0 0 0 0",
    "vm.nr_hugepages": "0", "vm.overcommit_memory": "2", "vm.overcommit_ratio": "90", "vm.overcommit_kbytes": "0",
}
# what the example proposes with LINUX_LOW
LINUX_LOW_PROPOSED = {"kernel.shmmax": 56, "kernel.shmall": 1, "kernel.shmmni": 1, "kernel.sem": "17 136 0 8",
                      "vm.nr_hugepages": 74}
# the example's requirements per limit key, as a warning must name them when the key is unknown
EXAMPLE_LIMITS = {"kernel.shmmax": [56], "kernel.shmall": [1], "kernel.shmmni": [1], "kernel.sem": [17, 136, 8],
                  "vm.nr_hugepages": [74]}


def warned_unknown(warnings, name, values):
    """A warning names `name` and every required value (as whole words)."""
    for w in warnings:
        if re.search(r"(?<![\w.])%s(?![\w.])" % re.escape(name), w) and \
                all(re.search(r"\b%d\b" % v, w) for v in values):
            return True
    return False


def policy_after_limits(proposed):
    """The overcommit ratio is applied before strict mode (apply order)."""
    names = list(proposed)
    if "vm.overcommit_ratio" in names and "vm.overcommit_memory" in names:
        return names.index("vm.overcommit_ratio") < names.index("vm.overcommit_memory")
    return True


def test_issue_example_required():
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], overcommit_ratio="auto", commit_headroom_pct=10)
    assert result["platform"] == "linux"
    assert result["required"] == EXAMPLE_REQUIRED


def test_issue_example_proposed_with_nothing_known():
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)])
    # no current values: no limit can be raised safely, only the overcommit policy is proposed,
    # the ratio first
    assert result["proposed"] == {"vm.overcommit_ratio": 90, "vm.overcommit_memory": 2}
    assert list(result["proposed"]) == ["vm.overcommit_ratio", "vm.overcommit_memory"]
    assert result["required"] == EXAMPLE_REQUIRED
    assert result["clusters"] == [{"name": "clusters[0]", "version": "9.6",
                                   "defaulted": ["dynamic_shared_memory_type"]}]
    warnings = result["warnings"]
    assert len(warnings) == 1 + len(EXAMPLE_LIMITS)
    assert sum("dynamic_shared_memory_type" in w for w in warnings) == 1
    for name, values in EXAMPLE_LIMITS.items():
        assert warned_unknown(warnings, name, values), (name, warnings)
    text = "\n".join(result["reasons"])
    for number in ("14963096", "2200000", "74"):
        assert re.search(r"\b%s\b" % number, text)


def test_issue_example_on_a_default_linux_kernel():
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=dict(LINUX_DEFAULTS))
    assert result["proposed"] == {"vm.nr_hugepages": 74, "vm.overcommit_ratio": 90, "vm.overcommit_memory": 2}
    assert list(result["proposed"]) == [
        "vm.nr_hugepages", "vm.overcommit_ratio", "vm.overcommit_memory"]
    assert result["required"] == EXAMPLE_REQUIRED
    # everything is known: the only warning is the defaulted setting
    assert len(result["warnings"]) == 1
    text = "\n".join(result["reasons"])
    for number in ("136", "14963096", "2200000", "74"):
        assert re.search(r"\b%s\b" % number, text)


def test_issue_example_with_every_limit_too_low():
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=dict(LINUX_LOW))
    assert result["proposed"] == LINUX_LOW_PROPOSED
    assert result["required"] == EXAMPLE_REQUIRED


def test_proposals_by_concern_split_the_proposals_exactly():
    """pg_kernel picks each concern's keys from proposed_by_concern: every
    proposal is in exactly one concern, and no concern invents one."""
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=dict(LINUX_LOW, **{"vm.overcommit_memory": "0"}))
    by_concern = result["proposed_by_concern"]
    assert by_concern == {
        "sysv_ipc": {"kernel.shmmax": 56, "kernel.shmall": 1, "kernel.shmmni": 1, "kernel.sem": "17 136 0 8"},
        "hugepages": {"vm.nr_hugepages": 74},
        "overcommit": {"vm.overcommit_memory": 2},
    }
    merged = {}
    for keys in by_concern.values():
        assert not set(keys) & set(merged)
        merged.update(keys)
    assert merged == result["proposed"]


def test_freebsd_proposes_only_sysv_ipc():
    result = plan("freebsd", {"page_size": 4096}, [dict(CLUSTER_96)],
                  current={name: "0" for name in FREEBSD_DEFAULTS})
    assert list(result["proposed_by_concern"]) == ["sysv_ipc"]
    assert result["proposed_by_concern"]["sysv_ipc"] == result["proposed"] != {}


def test_current_comes_from_host_sysctl():
    host = dict(HOST, sysctl=dict(LINUX_DEFAULTS))
    assert plan("linux", host, [dict(CLUSTER_96)])["proposed"] == {
        "vm.nr_hugepages": 74, "vm.overcommit_memory": 2, "vm.overcommit_ratio": 90}


def test_explicit_current_wins_over_host_sysctl():
    host = dict(HOST, sysctl=dict(LINUX_DEFAULTS))
    result = plan("linux", host, [dict(CLUSTER_96)], current={"vm.overcommit_memory": 2, "kernel.shmmax": "0"})
    proposed = result["proposed"]
    # kernel.shmmax 0 and vm.overcommit_memory 2 come from `current`, not from host.sysctl
    assert proposed["kernel.shmmax"] == 56 and "vm.overcommit_memory" not in proposed
    # host.sysctl is not merged in: kernel.shmall is unknown, so only warned about
    assert "kernel.shmall" not in proposed
    assert warned_unknown(result["warnings"], "kernel.shmall", [1])


@pytest.mark.parametrize(
    "now, proposed",
    [
        ("250 32000 32 128", None),                  # old kernel default covers 17 / 136 / 8
        ("17 136 32 8", None),
        ("10 100 32 4", "17 136 32 8"),
        ("250 100 100 128", "250 136 100 128"),     # only SEMMNS raised, the rest kept
        ("16 136 0 8", "17 136 0 8"),               # SEMOPM is not PostgreSQL's: kept as is
        ("250 32000 32 7", "250 32000 32 8"),
        ("250  32000\t32 128\n", None),
    ],
)
def test_kernel_sem_fields(now, proposed):
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current={"kernel.sem": now})
    assert result["proposed"].get("kernel.sem") == proposed


@pytest.mark.parametrize("now", ["garbage", "1 2 3", "1 2 3 4 5", "a b c d", "1.5 2 3 4", "", " ", None])
def test_unreadable_kernel_sem_counts_as_unknown(now):
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current={"kernel.sem": now})
    assert "kernel.sem" not in result["proposed"]
    assert warned_unknown(result["warnings"], "kernel.sem", [17, 136, 8])


def test_posix_only_clusters_propose_no_kernel_sem():
    result = plan("linux", dict(HOST), [{"version": "16"}], current={"kernel.sem": "1 1 1 1"})
    assert "kernel.sem" not in result["proposed"]
    assert (result["required"]["semmni"], result["required"]["semmsl"]) == (0, 0)


def test_current_huge_page_pool_counts_against_the_commit_limit():
    # current vm.nr_hugepages 4096 (8 GiB) already covers 74: not proposed; hugetlb 8388608 kB
    # usable 8388608 kB: reserve 1 GiB -> ratio floor(87.5) = 87; CommitLimit 8388608 * 87 / 100 = 7298088
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current={"vm.nr_hugepages": 4096})
    assert "vm.nr_hugepages" not in result["proposed"]
    assert result["required"]["overcommit_ratio"] == 87
    assert result["required"]["commit_limit_kb"] == 7298088


@pytest.mark.parametrize("unknown", [{}, {"vm.nr_hugepages": ""}, {"vm.nr_hugepages": "abc"}])
def test_hugepages_total_is_the_fallback_for_the_current_pool(unknown):
    host = dict(HOST, hugepages_total=100)
    result = plan("linux", host, [dict(CLUSTER_96)], current=unknown)
    assert "vm.nr_hugepages" not in result["proposed"]
    assert not warned_unknown(result["warnings"], "vm.nr_hugepages", [74])
    # hugetlb 100 * 2048 = 204800 kB; usable 16572416 kB = 4143104 pages -> ratio 90;
    # 4143104 * 90 / 100 = 3728793.6 -> 3728793 pages = 14915172 kB
    assert result["required"]["commit_limit_kb"] == 14915172


@pytest.mark.parametrize("unknown", [{}, {"vm.nr_hugepages": " "}, {"vm.nr_hugepages": "1.5"}])
def test_hugepages_total_below_the_need_is_raised(unknown):
    host = dict(HOST, hugepages_total=10)
    result = plan("linux", host, [dict(CLUSTER_96)], current=unknown)
    assert result["proposed"]["vm.nr_hugepages"] == 74
    assert any(re.search(r"vm\.nr_hugepages = 74 \(now 10\)", r) for r in result["reasons"])


def test_known_nr_hugepages_wins_over_hugepages_total():
    host = dict(HOST, hugepages_total=100)
    result = plan("linux", host, [dict(CLUSTER_96)], current={"vm.nr_hugepages": "0"})
    assert result["proposed"]["vm.nr_hugepages"] == 74


# --- vm.overcommit_kbytes (docs/postgres-kernel-facts.md §4) -----------------------------------------

@pytest.mark.parametrize("now", [0, "0"])
def test_overcommit_kbytes_zero_leaves_a_right_ratio_alone(now):
    current = {"vm.overcommit_memory": "2", "vm.overcommit_ratio": "90", "vm.overcommit_kbytes": now}
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=current)
    assert not any(k.startswith("vm.overcommit") for k in result["proposed"])
    assert not any("overcommit_kbytes" in r for r in result["reasons"])


@pytest.mark.parametrize("now", [None, "", " ", "abc"])
def test_overcommit_kbytes_unknown_writes_the_ratio_to_be_sure(now):
    # An unknown kbytes may be set and override the ratio; writing the ratio
    # clears it (docs/postgres-kernel-facts.md §4), so a right ratio is still proposed, kbytes never.
    current = {"vm.overcommit_memory": "2", "vm.overcommit_ratio": "90"}
    if now is not None:
        current["vm.overcommit_kbytes"] = now
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=current)
    assert [k for k in result["proposed"] if k.startswith("vm.overcommit")] == ["vm.overcommit_ratio"]
    assert result["proposed"]["vm.overcommit_ratio"] == 90
    assert any("vm.overcommit_kbytes is unknown" in r for r in result["reasons"])


@pytest.mark.parametrize("now", [1048576, "1048576", 1, "1", "4096\n"])
@pytest.mark.parametrize("memory, proposed", [("2", ["vm.overcommit_ratio"]),
                                              ("0", ["vm.overcommit_ratio", "vm.overcommit_memory"])])
def test_overcommit_kbytes_set_is_cleared_by_writing_the_ratio(now, memory, proposed):
    # vm.overcommit_kbytes overrides the ratio; writing vm.overcommit_ratio zeroes it
    # (docs/postgres-kernel-facts.md §4), so the ratio is proposed even when it already has the right value,
    # and vm.overcommit_kbytes itself never is
    current = {"vm.overcommit_memory": memory, "vm.overcommit_ratio": "90", "vm.overcommit_kbytes": now}
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=current)
    overcommit = [k for k in result["proposed"] if k.startswith("vm.overcommit")]
    assert overcommit == proposed                      # in apply order: the ratio first
    assert result["proposed"]["vm.overcommit_ratio"] == 90
    assert "vm.overcommit_kbytes" not in result["proposed"]
    assert any("overcommit_kbytes" in r for r in result["reasons"])


@pytest.mark.parametrize("current", [{}, dict(LINUX_DEFAULTS), dict(LINUX_DEFAULTS, **{"vm.overcommit_kbytes": "5"}),
                                     {"vm.overcommit_kbytes": "1048576"}])
def test_overcommit_kbytes_is_never_proposed(current):
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=current)
    assert "vm.overcommit_kbytes" not in result["proposed"]
    assert policy_after_limits(result["proposed"])


@pytest.mark.parametrize("unknown", [{}, {"vm.overcommit_memory": "", "vm.overcommit_ratio": " "},
                                     {"vm.overcommit_memory": "abc", "vm.overcommit_ratio": "1.5"}])
def test_policy_keys_are_proposed_when_unknown(unknown):
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=dict(unknown))
    assert [k for k in result["proposed"] if k.startswith("vm.overcommit")] == [
        "vm.overcommit_ratio", "vm.overcommit_memory"]
    assert (result["proposed"]["vm.overcommit_ratio"], result["proposed"]["vm.overcommit_memory"]) == (90, 2)


# --- unknown limits are warned about, not proposed ----------------------------

UNKNOWN_FORMS = [("absent", None), ("blank", ""), ("spaces", " "), ("none", None), ("word", "abc"),
                 ("fraction", "1.5"), ("hex", "0x10"), ("superscript", "\u00b2"), ("double minus", "--5")]


@pytest.mark.parametrize("name", sorted(EXAMPLE_LIMITS))
@pytest.mark.parametrize("form, value", UNKNOWN_FORMS, ids=[form for form, dummy in UNKNOWN_FORMS])
def test_unknown_limit_is_warned_not_proposed(name, form, value):
    current = dict(LINUX_LOW)
    if form == "absent":
        del current[name]
    else:
        current[name] = value
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=current)
    expected = dict(LINUX_LOW_PROPOSED)
    del expected[name]
    assert result["proposed"] == expected        # the known limits are still raised
    assert warned_unknown(result["warnings"], name, EXAMPLE_LIMITS[name])
    # and the plan itself does not change
    assert result["required"] == EXAMPLE_REQUIRED


def test_unknown_limit_that_is_not_needed_gives_no_warning():
    # PostgreSQL 16 uses POSIX semaphores and no huge pages here: kernel.sem is not needed
    result = plan("linux", dict(HOST), [{"version": "16", "huge_pages": "off"}], current={})
    assert not any("kernel.sem" in w or "vm.nr_hugepages" in w for w in result["warnings"])


# --- huge pages of every pool are outside the commit limit (meminfo Hugetlb) ---

@pytest.mark.parametrize(
    "nr_now, hugetlb_kb, limit",
    [
        # pool of 0 now, 74 planned: 151552 kB; another pool of 2 GiB (Hugetlb 2097152, none of it
        # the default pool): 2248704 kB outside; 14528512 kB = 3632128 pages * 90% -> 3268915 pages
        ("0", 2097152, 13075660),
        # pool of 100 now (204800 kB, above the 74 needed) + one 1 GiB page elsewhere:
        # Hugetlb 1253376; 15523840 kB = 3880960 pages * 90% = 3492864 pages
        ("100", 204800 + 1048576, 13971456),
        # pool of 10 now, 74 planned: 151552 kB; Hugetlb 10 * 2048 + 1048576 -> 1048576 in other pools;
        # 15577088 kB = 3894272 pages * 90% = 3504844.8 -> 3504844 pages
        ("10", 10 * 2048 + 1048576, 14019376),
        # Hugetlb is only the default pool: nothing else to subtract (same as without it)
        ("100", 204800, 14915172),
        # Hugetlb below what the pool says (read at another moment): never a negative other pool
        ("100", 0, 14915172),
        # no other pools, nothing given: as the example
        ("0", None, 14963096),
    ],
)
def test_other_huge_page_pools_reduce_the_commit_limit(nr_now, hugetlb_kb, limit):
    host = dict(HOST) if hugetlb_kb is None else dict(HOST, hugetlb_kb=hugetlb_kb)
    result = plan("linux", host, [dict(CLUSTER_96)], current={"vm.nr_hugepages": nr_now})
    assert result["required"]["overcommit_ratio"] == 90
    assert result["required"]["commit_limit_kb"] == limit


def test_other_huge_page_pools_with_an_explicit_ratio():
    # Hugetlb 2 GiB in another pool + 74 planned: 14528512 kB = 3632128 pages * 60% = 2179276.8 -> 2179276 pages
    host = dict(HOST, hugetlb_kb=2097152)
    result = plan("linux", host, [dict(CLUSTER_96)], overcommit_ratio=60, current={"vm.nr_hugepages": "0"})
    assert result["required"]["commit_limit_kb"] == 8717104


def test_overcommit_already_right_is_not_proposed():
    current = {"vm.overcommit_memory": "2", "vm.overcommit_ratio": "90", "vm.overcommit_kbytes": "0"}
    proposed = plan("linux", dict(HOST), [dict(CLUSTER_96)], current=current)["proposed"]
    assert "vm.overcommit_memory" not in proposed and "vm.overcommit_ratio" not in proposed


def test_overcommit_ratio_is_policy_so_it_may_go_down():
    proposed = plan("linux", dict(HOST), [dict(CLUSTER_96)], current={"vm.overcommit_ratio": "95"})["proposed"]
    assert proposed["vm.overcommit_ratio"] == 90


def test_explicit_overcommit_ratio():
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], overcommit_ratio="60")
    # 16625664 kB = 4156416 pages * 60 / 100 = 2493849.6 -> 2493849 pages = 9975396 kB
    assert result["required"]["overcommit_ratio"] == 60
    assert result["required"]["commit_limit_kb"] == 9975396
    assert result["proposed"]["vm.overcommit_ratio"] == 60


@pytest.mark.parametrize(
    "page_size, limit",
    [
        # 16625664 kB in 64 kB pages: 259776 pages * 90 / 100 = 233798.4 -> 233798 pages = 14963072 kB
        (65536, 14963072),
        # in 16 kB pages: 1039104 pages * 90 / 100 = 935193.6 -> 935193 pages = 14963088 kB
        (16384, 14963088),
        (4096, 14963096),
    ],
)
def test_commit_limit_uses_the_host_page_size(page_size, limit):
    result = plan("linux", dict(HOST, page_size=page_size), [dict(CLUSTER_96)])
    assert result["required"]["commit_limit_kb"] == limit


def test_manage_overcommit_false():
    host = {"page_size": 4096, "hugepage_size_kb": 2048}          # no memory figures needed
    result = plan("linux", host, [dict(CLUSTER_96)], manage_overcommit=False,
                  current={"vm.overcommit_kbytes": "1048576", "vm.nr_hugepages": "0"})
    assert not any(k.startswith("vm.overcommit") for k in result["proposed"])
    assert not any("overcommit_kbytes" in r for r in result["reasons"])
    assert result["required"]["overcommit_ratio"] is None
    assert result["required"]["commit_limit_kb"] is None
    assert result["proposed"]["vm.nr_hugepages"] == 74


def test_manage_hugepages_false():
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], manage_hugepages=False)
    assert "vm.nr_hugepages" not in result["proposed"]
    assert not any("vm.nr_hugepages" in w for w in result["warnings"])
    assert result["required"]["nr_hugepages"] == 0
    # no huge pages: 16 GiB = 4194304 pages -> ratio 90, 3774873 pages, CommitLimit 15099492
    assert result["required"]["commit_limit_kb"] == 15099492


def test_manage_hugepages_false_still_counts_the_current_pool():
    # the pool that exists (4096 * 2 MiB = 8 GiB) is outside the commit limit even when
    # vm.nr_hugepages is not managed: 8388608 kB = 2097152 pages -> ratio 87 -> 1824522 pages
    result = plan("linux", dict(HOST), [dict(CLUSTER_96)], manage_hugepages=False,
                  current={"vm.nr_hugepages": "4096"})
    assert result["required"]["commit_limit_kb"] == 7298088


def test_manage_hugepages_false_without_a_huge_page_size_is_refused_for_overcommit():
    # A pool of unknown page size would make CommitLimit look larger than it is.
    host = {k: v for k, v in HOST.items() if k != "hugepage_size_kb"}
    with pytest.raises(PlanError) as exc:
        plan("linux", host, [dict(CLUSTER_96)], manage_hugepages=False)
    assert "host.hugepage_size_kb" in str(exc.value)
    assert "vm.nr_hugepages" not in plan("linux", host, [dict(CLUSTER_96)], manage_hugepages=False,
                                         manage_overcommit=False)["proposed"]


def test_a_pool_of_unknown_page_size_is_refused_not_left_out():
    """4096 huge pages of an unknown size cannot be kept outside the commit
    limit; the plan refuses, naming the missing figure, rather than size the
    limit as if the pool were not there."""
    host = {k: v for k, v in HOST.items() if k != "hugepage_size_kb"}
    with pytest.raises(PlanError) as exc:
        plan("linux", host, [dict(CLUSTER_96)], manage_hugepages=False, current={"vm.nr_hugepages": "4096"})
    assert "host.hugepage_size_kb" in str(exc.value)


def test_a_pool_of_known_size_is_kept_outside_the_commit_limit():
    pool_kb = 4096 * HOST["hugepage_size_kb"]
    outside_pool_kb = HOST["mem_total_kb"] - pool_kb
    without_pool = plan("linux", dict(HOST), [dict(CLUSTER_96)], manage_hugepages=False,
                        current={"vm.nr_hugepages": "0"})["required"]["commit_limit_kb"]
    with_pool = plan("linux", dict(HOST), [dict(CLUSTER_96)], manage_hugepages=False,
                     current={"vm.nr_hugepages": "4096"})["required"]["commit_limit_kb"]
    assert without_pool > outside_pool_kb
    assert with_pool <= outside_pool_kb


def test_guard_error_comes_through():
    host = dict(HOST, committed_as_kb=16000000)      # need 17600000 > all 16 GiB
    with pytest.raises(GuardError) as exc:
        plan("linux", host, [dict(CLUSTER_96)])
    assert "16000000" in str(exc.value) and "17600000" in str(exc.value)


def test_several_clusters_add_up():
    clusters = [dict(CLUSTER_96), {"version": "15", "shared_memory_type": "sysv", "shared_memory_size_mb": 143},
                {"version": "9.3", "max_connections": 300}]
    result = plan("linux", dict(HOST), clusters, current={"kernel.sem": "10 100 32 4"})
    req = result["required"]
    # 8 + ceil((300 + 3 + 5) / 16) = 8 + 20 = 28 sets
    assert (req["semmni"], req["semmns"]) == (28, 476)
    # segments: 56, 143 MiB, 56 -> max 149946368; pages 1 + 36608 + 1; ids 3
    assert (req["shmmax"], req["shmall"], req["shmmni"]) == (149946368, 36610, 3)
    assert req["nr_hugepages"] == 74         # 15 is sysv, 9.3 has no huge pages
    assert result["proposed"]["kernel.sem"] == "17 476 32 28"
    # the SysV shared memory limits are unknown here: warned about with the summed needs
    for name, value in (("kernel.shmmax", 149946368), ("kernel.shmall", 36610), ("kernel.shmmni", 3)):
        assert name not in result["proposed"]
        assert warned_unknown(result["warnings"], name, [value])


# --- FreeBSD ----------------------------------------------------------------

FREEBSD_EXAMPLE = {
    "kern.ipc.shmmax": 56, "kern.ipc.shmall": 1, "kern.ipc.shmmni": 1,
    "kern.ipc.semmni": 8, "kern.ipc.semmns": 136, "kern.ipc.semmsl": 17,
}


def test_freebsd_names_and_no_linux_keys():
    current = dict((name, "0") for name in FREEBSD_EXAMPLE)
    result = plan("freebsd", {"page_size": 4096}, [dict(CLUSTER_96)], current=current)
    assert result["proposed"] == FREEBSD_EXAMPLE
    assert result["required"]["nr_hugepages"] == 0
    assert result["required"]["overcommit_ratio"] is None
    assert result["required"]["commit_limit_kb"] is None


def test_freebsd_unknown_limits_are_warned_not_proposed():
    result = plan("freebsd", {"page_size": 4096}, [dict(CLUSTER_96)], current={})
    assert result["proposed"] == {}
    for name, value in FREEBSD_EXAMPLE.items():
        assert warned_unknown(result["warnings"], name, [value]), name


def test_freebsd_defaults_cover_a_96_cluster():
    result = plan("freebsd", {"page_size": 4096}, [dict(CLUSTER_96)], current=dict(FREEBSD_DEFAULTS))
    assert result["proposed"] == {}


def test_freebsd_sysv_main_area():
    clusters = [{"version": "15", "shared_memory_type": "sysv", "shared_memory_size_mb": 1024}]
    result = plan("freebsd", dict(HOST), clusters, current=dict(FREEBSD_DEFAULTS))
    # 1 GiB segment: 1073741824 B > 536870912; 262144 pages > 131072; POSIX semaphores on 15
    assert result["proposed"] == {"kern.ipc.shmmax": 1073741824, "kern.ipc.shmall": 262144}


def test_freebsd_boot_only_follows_the_hosts_own_loader_only_list():
    current = dict((name, "0") for name in FREEBSD_EXAMPLE)
    table = plan("freebsd", {"page_size": 4096}, [dict(CLUSTER_96)], current=current)
    # The built-in table: shmmni and the semaphore counts wait for a boot, semmsl is runtime.
    assert sorted(table["boot_only"]) == ["kern.ipc.semmni", "kern.ipc.semmns", "kern.ipc.shmmni"]
    # A kernel that reported semmsl as not writable (pg_host_facts: sysctl -N -W).
    loader_only = ["kern.ipc.shmmni", "kern.ipc.semmni", "kern.ipc.semmns", "kern.ipc.semmsl"]
    host = {"page_size": 4096, "loader_only": loader_only}
    told = plan("freebsd", host, [dict(CLUSTER_96)], current=current)
    assert sorted(told["boot_only"]) == ["kern.ipc.semmni", "kern.ipc.semmns", "kern.ipc.semmsl", "kern.ipc.shmmni"]


def test_freebsd_ignores_linux_only_switches():
    result = plan("freebsd", {"page_size": 4096}, [{"version": "16"}], overcommit_ratio="50",
                  manage_overcommit=True, manage_hugepages=True, current={"vm.overcommit_kbytes": 5})
    assert not any(k.startswith(("vm.", "kernel.")) for k in result["proposed"])


# --- bad input --------------------------------------------------------------

_EXAMPLE = object()


def run(platform="linux", host=_EXAMPLE, clusters=_EXAMPLE, **kw):
    """plan() for the example, with the given arguments replaced (None included)."""
    host = dict(HOST) if host is _EXAMPLE else host
    clusters = [dict(CLUSTER_96)] if clusters is _EXAMPLE else clusters
    return plan(platform, host, clusters, **kw)


@pytest.mark.parametrize("ratio", [0, 150, 101, "x", True, False, -5, "5.5", 50.5, None, "AUTO", ""])
def test_bad_overcommit_ratio(ratio):
    with pytest.raises(PlanError) as exc:
        run(overcommit_ratio=ratio)
    assert str(exc.value).startswith("overcommit_ratio")
    assert repr(ratio) in str(exc.value)


@pytest.mark.parametrize("ratio", [1, 100, "100", "30"])
def test_overcommit_ratio_edges_accepted(ratio):
    host = dict(HOST, committed_as_kb=0)
    assert run(overcommit_ratio=ratio, host=host)["required"]["overcommit_ratio"] == int(ratio)


@pytest.mark.parametrize("headroom", [101, -1, True, "x", 10.5, None])
def test_bad_headroom(headroom):
    with pytest.raises(PlanError) as exc:
        run(commit_headroom_pct=headroom)
    assert str(exc.value).startswith("commit_headroom_pct")


@pytest.mark.parametrize("headroom", [0, 100, "25"])
def test_headroom_edges_accepted(headroom):
    assert run(commit_headroom_pct=headroom)["required"]["overcommit_ratio"] == 90


@pytest.mark.parametrize("platform", ["windows", "Linux", "FreeBSD", "", None, "darwin"])
def test_bad_platform(platform):
    with pytest.raises(PlanError) as exc:
        run(platform=platform)
    message = str(exc.value)
    assert message.startswith("platform") and "linux" in message and "freebsd" in message


@pytest.mark.parametrize(
    "host, field",
    [
        ({k: v for k, v in HOST.items() if k != "page_size"}, "host.page_size"),
        (dict(HOST, page_size=0), "host.page_size"),
        (dict(HOST, page_size=None), "host.page_size"),
        (dict(HOST, mem_total_kb=-1), "host.mem_total_kb"),
        (dict(HOST, mem_total_kb="16G"), "host.mem_total_kb"),
        (dict(HOST, mem_total_kb=True), "host.mem_total_kb"),
        (dict(HOST, mem_total_kb=1.5), "host.mem_total_kb"),
        ({k: v for k, v in HOST.items() if k != "mem_total_kb"}, "host.mem_total_kb"),
        ({k: v for k, v in HOST.items() if k != "swap_total_kb"}, "host.swap_total_kb"),
        ({k: v for k, v in HOST.items() if k != "committed_as_kb"}, "host.committed_as_kb"),
        ({k: v for k, v in HOST.items() if k != "hugepage_size_kb"}, "host.hugepage_size_kb"),
        (dict(HOST, swap_total_kb=-5), "host.swap_total_kb"),
        (dict(HOST, committed_as_kb="-1"), "host.committed_as_kb"),
        (dict(HOST, hugepages_total=-1), "host.hugepages_total"),
        (dict(HOST, hugepages_total="\u00b2"), "host.hugepages_total"),
        (dict(HOST, hugetlb_kb=-1), "host.hugetlb_kb"),
        (dict(HOST, hugetlb_kb="2G"), "host.hugetlb_kb"),
        (dict(HOST, hugetlb_kb="--5"), "host.hugetlb_kb"),
        (dict(HOST, mem_total_kb="--5"), "host.mem_total_kb"),
    ],
)
def test_bad_host(host, field):
    with pytest.raises(PlanError) as exc:
        run(host=host)
    assert str(exc.value).startswith(field)


@pytest.mark.parametrize("host", [None, [], "host", 5])
def test_host_not_a_mapping(host):
    with pytest.raises(PlanError) as exc:
        run(host=host)
    assert str(exc.value).startswith("host")


def test_memory_figures_not_needed_without_overcommit():
    host = {"page_size": "4096", "hugepage_size_kb": "2048"}
    assert run(host=host, manage_overcommit=False)["required"]["nr_hugepages"] == 74


@pytest.mark.parametrize("clusters", [None, "9.6", {"version": "9.6"}, ("x",)])
def test_clusters_not_a_list(clusters):
    with pytest.raises(PlanError) as exc:
        run(clusters=clusters)
    assert str(exc.value).startswith("clusters")


@pytest.mark.parametrize(
    "cluster, field",
    [({"version": "9.6", "max_connections": -1}, "clusters[1].max_connections"),
     ({"version": "11", "shared_memory_type": "sysv"}, "clusters[1].shared_memory_type"),
     ({}, "clusters[1].version"),
     ({"version": "16", "shared_buffers": "128mb"}, "clusters[1].shared_buffers"),
     ("9.6", "clusters[1]")],
)
def test_bad_cluster_becomes_plan_error(cluster, field):
    with pytest.raises(PlanError) as exc:
        run(clusters=[dict(CLUSTER_96), cluster])
    assert str(exc.value).startswith(field)


def test_no_clusters():
    result = run(clusters=[], current={})
    req = result["required"]
    assert (req["semmni"], req["shmmax"], req["shmall"], req["shmmni"], req["nr_hugepages"]) == (0, 0, 0, 0, 0)
    assert list(result["proposed"]) == ["vm.overcommit_ratio", "vm.overcommit_memory"]
    assert result["warnings"] == []          # nothing required, so no unknown value matters


@pytest.mark.parametrize("key", ["kernel.shmmax", "vm.nr_hugepages", "vm.overcommit_kbytes"])
@pytest.mark.parametrize("blank", ["", " ", "\n"])
def test_blank_current_value_is_unknown(key, blank):
    # a blank value is unknown, not an IndexError; an unknown limit is warned about
    result = run(current={key: blank, "vm.overcommit_ratio": "90", "vm.overcommit_memory": "2"})
    assert key not in result["proposed"]
    if key == "vm.overcommit_kbytes":
        # unknown kbytes might override the ratio: the ratio is written to be sure
        assert [k for k in result["proposed"] if k.startswith("vm.overcommit")] == ["vm.overcommit_ratio"]
    else:
        assert warned_unknown(result["warnings"], key, EXAMPLE_LIMITS[key])


@pytest.mark.parametrize("kw, field", [({"host": dict(HOST, page_size="\u00b2")}, "host.page_size"),
                                       ({"overcommit_ratio": "\u00b2"}, "overcommit_ratio"),
                                       ({"commit_headroom_pct": "\u00b2"}, "commit_headroom_pct"),
                                       ({"host": dict(HOST, page_size="--4096")}, "host.page_size"),
                                       ({"overcommit_ratio": "--50"}, "overcommit_ratio"),
                                       ({"commit_headroom_pct": "\u0661\u0660"}, "commit_headroom_pct"),
                                       ({"clusters": [{"version": "16", "max_connections": "\u00b2"}]},
                                        "clusters[0].max_connections")])
def test_unicode_digits_raise_plan_error(kw, field):
    with pytest.raises(PlanError) as exc:
        run(**kw)
    assert str(exc.value).startswith(field)


@pytest.mark.parametrize(
    "cluster, field, since",
    [({"version": "11", "shared_memory_type": "mmap"}, "clusters[0].shared_memory_type", "12"),
     ({"version": "9.3", "dynamic_shared_memory_type": "posix"}, "clusters[0].dynamic_shared_memory_type", "9.4"),
     ({"version": "9.3", "huge_pages": "try"}, "clusters[0].huge_pages", "9.4"),
     ({"version": "13", "huge_page_size": "2MB"}, "clusters[0].huge_page_size", "14")],
)
def test_setting_the_version_lacks_is_a_plan_error(cluster, field, since):
    with pytest.raises(PlanError) as exc:
        run(clusters=[cluster])
    assert str(exc.value).startswith(field)
    assert since in str(exc.value)


def test_huge_pages_on_with_sysv_is_a_plan_error():
    with pytest.raises(PlanError) as exc:
        run(clusters=[{"version": "15", "shared_memory_type": "sysv", "huge_pages": "on"}])
    assert str(exc.value).startswith("clusters[0].huge_pages")


@pytest.mark.parametrize("name", ["kernel.shmmax", "kernel.shmall", "kernel.shmmni", "vm.nr_hugepages"])
def test_integer_zero_is_a_known_current_value(name):
    current = dict(LINUX_LOW, **{name: 0})
    assert run(current=current)["proposed"] == LINUX_LOW_PROPOSED


@pytest.mark.parametrize("name", ["kernel.shmmax", "kernel.shmall", "kernel.shmmni", "vm.nr_hugepages"])
@pytest.mark.parametrize("value", [1, "1", "1\n", " 1 "])
def test_current_values_as_int_or_text(name, value):
    current = dict(LINUX_LOW, **{name: value})
    expected = dict(LINUX_LOW_PROPOSED)
    if EXAMPLE_LIMITS[name][0] <= 1:
        del expected[name]                   # 1 already covers a requirement of 1
    assert run(current=current)["proposed"] == expected


# --- property: proposals never lower a limit --------------------------------

ALL_VERSIONS = ["9.2", "9.3", "9.4", "9.5", "9.6", "10", "11", "12", "13", "14", "15", "16", "17", "18"]
AT_LEAST_94 = set(ALL_VERSIONS[2:])
AT_LEAST_12 = set(ALL_VERSIONS[7:])
AT_LEAST_15 = set(ALL_VERSIONS[10:])


@st.composite
def cluster_raw(draw):
    version = draw(st.sampled_from(ALL_VERSIONS))
    raw = {"version": version}
    for setting, top in (("max_connections", 5000), ("autovacuum_max_workers", 50),
                         ("max_worker_processes", 300), ("max_wal_senders", 100)):
        if draw(st.booleans()):
            raw[setting] = draw(st.integers(0, top))
    if draw(st.booleans()):
        raw["shared_buffers"] = draw(st.one_of(st.sampled_from(["32MB", "128MB", "1GB", "8GB", "1.5GB", "64 MB"]),
                                               st.integers(16, 4 * 1024 * 1024)))
    if version in AT_LEAST_12 and draw(st.booleans()):
        raw["shared_memory_type"] = draw(st.sampled_from(["mmap", "sysv"]))
    if version in AT_LEAST_94 and draw(st.booleans()):
        raw["dynamic_shared_memory_type"] = draw(st.sampled_from(["posix", "sysv", "mmap"]))
    if version in AT_LEAST_94 and draw(st.booleans()):
        modes = ["try", "on", "off", True, False]
        if raw.get("shared_memory_type") == "sysv":
            modes = ["try", "off", False]        # 'on' with sysv is refused (docs/postgres-kernel-facts.md §1), tested above
        raw["huge_pages"] = draw(st.sampled_from(modes))
    if version in AT_LEAST_15:
        if draw(st.booleans()):
            raw["shared_memory_size_mb"] = draw(st.integers(1, 200000))
        if draw(st.booleans()):
            raw["shared_memory_size_in_huge_pages"] = draw(st.integers(-1, 100000))
    if version == "18" and draw(st.booleans()):
        raw["num_os_semaphores"] = draw(st.integers(0, 10000))
    return raw


NUMBER = st.one_of(
    st.integers(0, 300),
    st.integers(0, 10 ** 7),
    st.integers(2 ** 31, 2 ** 64 - 1),
    st.sampled_from([0, 1, 16, 17, 56, 2 ** 63 - 1, 18446744073692774399]),
)


def sysctl_value(near):
    """(value as the host would report it, the number it means or None); numbers
    are drawn at random or right at the requirement's edge (near - 1, near, near + 1)."""
    numbers = st.one_of(NUMBER, st.sampled_from([max(near - 1, 0), near, near + 1]))
    as_int = numbers.map(lambda n: (n, n))
    as_str = numbers.map(lambda n: (str(n), n))
    as_line = numbers.map(lambda n: ("%d\n" % n, n))
    garbage = st.sampled_from(["unknown", "1.5", "0x10", "abc 12", "", " ", "\u00b2", "--5"]).map(lambda g: (g, None))
    return st.one_of(as_int, as_str, as_line, garbage)


def sem_value(want):
    """kernel.sem as 'SEMMSL SEMMNS SEMOPM SEMMNI', each field random or at the edge."""
    def field(near):
        return st.one_of(NUMBER, st.sampled_from([max(near - 1, 0), near, near + 1]))

    def show(parts):
        fields, sep = parts
        return sep.join(str(f) for f in fields), list(fields)

    good = st.tuples(st.tuples(*[field(w) for w in want]), st.sampled_from([" ", "\t", "  "])).map(show)
    bad = st.sampled_from(["x", "1 2 3", "1 2 3 4 5", "", "1.5 2 3 4"]).map(lambda g: (g, None))
    return st.one_of(good, good, good, bad)


LINUX_LIMITS = {"kernel.shmmax": "shmmax", "kernel.shmall": "shmall", "kernel.shmmni": "shmmni"}
FREEBSD_LIMITS = {"kern.ipc.shmmax": "shmmax", "kern.ipc.shmall": "shmall", "kern.ipc.shmmni": "shmmni",
                  "kern.ipc.semmni": "semmni", "kern.ipc.semmns": "semmns", "kern.ipc.semmsl": "semmsl"}
OTHER_KEYS = {"vm.nr_hugepages": "nr_hugepages", "vm.overcommit_memory": None, "vm.overcommit_ratio": None,
              "vm.overcommit_kbytes": None}
EDGE = {"vm.overcommit_memory": 2, "vm.overcommit_ratio": 90, "vm.overcommit_kbytes": 0}


@st.composite
def scenario(draw):
    platform = draw(st.sampled_from(["linux", "freebsd"]))
    clusters = draw(st.lists(cluster_raw(), max_size=4))
    mem = draw(st.integers(1024 * 1024, 1024 ** 3))              # 1 GiB .. 1 TiB in kB
    host = {"mem_total_kb": mem, "swap_total_kb": draw(st.integers(0, 64 * 1024 * 1024)),
            "hugepage_size_kb": draw(st.sampled_from([2048, 1048576, 16384, 0])),
            "page_size": draw(st.sampled_from([4096, 16384, 65536])),
            "committed_as_kb": draw(st.integers(0, mem // 2))}
    if draw(st.booleans()):
        host["hugepages_total"] = draw(st.integers(0, 1000))
    if draw(st.booleans()):
        host["hugetlb_kb"] = draw(st.integers(0, mem // 2))      # meminfo Hugetlb, all pools
    options = {"manage_overcommit": draw(st.booleans()), "manage_hugepages": draw(st.booleans()),
               "overcommit_ratio": draw(st.one_of(st.just("auto"), st.integers(50, 100)))}

    # what the clusters need does not depend on the current values: plan once
    # without them to find the edges, then draw current values around them
    base = plan(platform, host, clusters, manage_overcommit=False, current={})["required"]
    if platform == "linux":
        names = dict(LINUX_LIMITS, **OTHER_KEYS)
    else:
        names = FREEBSD_LIMITS
    current, meaning = {}, {}
    for name, field in names.items():
        if draw(st.booleans()):
            near = base[field] if field else EDGE[name]
            current[name], meaning[name] = draw(sysctl_value(near))
    if platform == "linux" and draw(st.booleans()):
        want = [base["semmsl"], base["semmns"], 32, base["semmni"]]
        current["kernel.sem"], meaning["kernel.sem"] = draw(sem_value(want))
    via_host = draw(st.booleans())
    return platform, clusters, current, meaning, host, options, via_host


def check_raise_only(name, required, proposed, now, warnings):
    if name in proposed:
        value = proposed[name]
        assert value == required > 0
        assert now is not None                          # never proposed without the current value
        assert value > now and required > now           # raised only because required is higher
    elif required > 0 and now is None:
        assert warned_unknown(warnings, name, [required]), (name, required, warnings)
    else:
        assert required <= 0 or now >= required, (name, required, now)


def expected_commit_limit(host, meaning, planned_pages, ratio):
    """The test's own CommitLimit: huge pages of the default pool as they will
    be plus the other pools (Hugetlb beyond the current default pool), then the
    kernel's formula in whole pages (docs/postgres-kernel-facts.md §4, mm/util.c vm_commit_limit)."""
    pool = meaning.get("vm.nr_hugepages")
    if pool is None:
        pool = host.get("hugepages_total") or 0
    page_kb = host["hugepage_size_kb"]
    huge = max(planned_pages, pool) * page_kb + max(0, host.get("hugetlb_kb", 0) - pool * page_kb)
    size_kb = host["page_size"] // 1024
    pages = (host["mem_total_kb"] - huge) // size_kb * ratio // 100 + host["swap_total_kb"] // size_kb
    return pages * size_kb


@settings(max_examples=200, deadline=None, database=None)
@given(scenario())
def test_proposals_never_lower_a_limit(case):
    platform, clusters, current, meaning, host, options, via_host = case
    if via_host:
        host = dict(host, sysctl=current)
        kwargs = dict(options)
    else:
        kwargs = dict(options, current=current)
    need = -(-host["committed_as_kb"] * 110 // 100)
    try:
        result = plan(platform, host, clusters, **kwargs)
    except GuardError:
        # refusing is allowed only where overcommit is planned, and only when even the
        # highest ratio allowed falls short; then plan without it
        assert platform == "linux" and options["manage_overcommit"]
        kwargs["manage_overcommit"] = False
        result = plan(platform, host, clusters, **kwargs)
        options = dict(options, manage_overcommit=False)
        top = 100 if options["overcommit_ratio"] == "auto" else options["overcommit_ratio"]
        planned = result["required"]["nr_hugepages"]
        assert expected_commit_limit(host, meaning, planned, top) < need
    required, proposed, warnings = result["required"], result["proposed"], result["warnings"]
    linux = platform == "linux"

    limits = LINUX_LIMITS if linux else FREEBSD_LIMITS
    for name, field in limits.items():
        check_raise_only(name, required[field], proposed, meaning.get(name), warnings)

    allowed = set(limits) | ({"kernel.sem"} | set(OTHER_KEYS) - {"vm.overcommit_kbytes"} if linux else set())
    assert set(proposed) <= allowed

    assert required["semmsl"] == (17 if required["semmni"] else 0)
    assert required["semmns"] == required["semaphores"] == 17 * required["semmni"]

    if linux:
        want = [required["semmsl"], required["semmns"], 0, required["semmni"]]
        now = meaning.get("kernel.sem")
        if not required["semmni"]:
            assert "kernel.sem" not in proposed
        elif "kernel.sem" in proposed:
            new = [int(f) for f in proposed["kernel.sem"].split()]
            assert len(new) == 4
            assert now is not None                  # never proposed without the current value
            for i in range(4):
                assert new[i] >= now[i]
                assert new[i] == max(want[i], now[i])   # > now only where required is higher
            assert new != now
        elif now is None:
            assert warned_unknown(warnings, "kernel.sem", [want[0], want[1], want[3]])
        else:
            assert now[0] >= want[0] and now[1] >= want[1] and now[3] >= want[3]

        if options["manage_hugepages"]:
            now = meaning.get("vm.nr_hugepages")
            if now is None:
                now = host.get("hugepages_total")
            check_raise_only("vm.nr_hugepages", required["nr_hugepages"], proposed, now, warnings)
        else:
            assert "vm.nr_hugepages" not in proposed
            assert required["nr_hugepages"] == 0

        assert "vm.overcommit_kbytes" not in proposed           # never: writing the ratio clears it
        if options["manage_overcommit"]:
            ratio = required["overcommit_ratio"]
            if options["overcommit_ratio"] != "auto":
                assert ratio == options["overcommit_ratio"]
            # policy keys: proposed whenever they differ, known or not
            assert ("vm.overcommit_memory" in proposed) == (meaning.get("vm.overcommit_memory") != 2)
            assert proposed.get("vm.overcommit_memory", 2) == 2
            # an unknown kbytes might be set and override the ratio: the ratio is written then too
            kbytes = meaning.get("vm.overcommit_kbytes")
            assert ("vm.overcommit_ratio" in proposed) == (
                meaning.get("vm.overcommit_ratio") != ratio or kbytes is None or bool(kbytes))
            assert proposed.get("vm.overcommit_ratio", ratio) == ratio
            assert policy_after_limits(proposed)
            assert required["commit_limit_kb"] >= need
            assert required["commit_limit_kb"] == expected_commit_limit(host, meaning, required["nr_hugepages"], ratio)
        else:
            assert not any(k.startswith("vm.overcommit") for k in proposed)
            assert required["overcommit_ratio"] is None
    else:
        assert required["nr_hugepages"] == 0 and required["overcommit_ratio"] is None
