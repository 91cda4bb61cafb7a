"""Commit limit, the automatic ratio and the guard (module_utils/overcommit.py).

docs/postgres-kernel-facts.md §4: CommitLimit = (MemTotal - hugetlb) * overcommit_ratio / 100 + SwapTotal;
a CommitLimit below the current Committed_AS makes allocations and forks fail
at once, so the guard demands Committed_AS * (1 + headroom / 100).
The kernel counts in whole pages (mm/util.c vm_commit_limit): with P kB pages
CommitLimit = (floor((MemTotal - hugetlb) / P) * ratio // 100 + floor(SwapTotal / P)) * P,
so at 4 kB pages 16 GiB at ratio 90 is 3774873 pages = 15099492 kB, not the
15099494 kB that kB arithmetic gives.
Policy (module docstring): reserve 10% of the RAM outside huge pages, at least
1 GiB, at most half; ratio = the rest in percent, never below 50.
"""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils.overcommit import (
    GuardError,
    commit_limit_kb,
    plan_overcommit,
    policy_ratio,
    smallest_safe_ratio,
)

GiB_KB = 1024 * 1024  # 1 GiB in kB
PROPERTY = settings(max_examples=200, deadline=None, database=None)


def kernel_limit(mem, huge, swap, ratio, page_kb=4):
    """The test's own CommitLimit in kB, page by page as vm_commit_limit counts."""
    ram_pages = (mem - huge) // page_kb
    swap_pages = swap // page_kb
    return (ram_pages * ratio // 100 + swap_pages) * page_kb


@pytest.mark.parametrize(
    "mem, huge, swap, ratio, expected",
    [
        (16777216, 0, 0, 50, 8388608),                       # 4194304 pages * 50% = 2097152 pages
        (16777216, 0, 0, 100, 16777216),
        # 16625664 kB = 4156416 pages; * 90 / 100 = 3740774.4 -> 3740774 pages = 14963096 kB
        # (kB arithmetic would give 14963097)
        (16777216, 151552, 0, 90, 14963096),
        # 4194304 pages * 80% = 3355443.2 -> 3355443 pages = 13421772 kB, + 2 GiB swap
        (16777216, 0, 2097152, 80, 13421772 + 2097152),
        # 16 GiB at 90: 3774873.6 -> 3774873 pages = 15099492 kB
        (16777216, 0, 0, 90, 15099492),
        # 250 pages * 33% = 82.5 -> 82 pages = 328 kB (kB arithmetic: 330)
        (1000, 0, 0, 33, 328),
        # sizes that are not whole pages lose their part page: 1000 kB = 250 pages,
        # 5 kB of swap = 1 page -> 251 pages = 1004 kB
        (1001, 1, 5, 100, 1004),
        (8388608, 4194304, 1048576, 75, 3145728 + 1048576),  # (8 - 4) GiB * 75% + 1 GiB
        (0, 0, 4096, 50, 4096),
        (0, 0, 4095, 50, 4092),                              # 1023 whole pages of swap
    ],
)
def test_commit_limit(mem, huge, swap, ratio, expected):
    assert commit_limit_kb(mem, huge, swap, ratio) == expected
    assert commit_limit_kb(mem, huge, swap, ratio, 4096) == expected
    assert commit_limit_kb(mem, huge, swap, ratio) == kernel_limit(mem, huge, swap, ratio)


@pytest.mark.parametrize(
    "mem, huge, swap, ratio, page_size, expected",
    [
        # 64 kB pages: 262144 pages * 90% = 235929.6 -> 235929 pages = 15099456 kB
        (16777216, 0, 0, 90, 65536, 15099456),
        # 16 kB pages: 1048576 pages * 90% = 943718.4 -> 943718 pages = 15099488 kB
        (16777216, 0, 0, 90, 16384, 15099488),
        # 64 kB pages: swap 100 kB is one whole page (64 kB); 4096 kB of RAM = 64 pages * 50% = 32 pages
        (4096, 0, 100, 50, 65536, 32 * 64 + 64),
        (16777216, 0, 0, 100, 65536, 16777216),
    ],
)
def test_commit_limit_other_page_sizes(mem, huge, swap, ratio, page_size, expected):
    assert commit_limit_kb(mem, huge, swap, ratio, page_size) == expected


@pytest.mark.parametrize(
    "mem, huge, ratio",
    [
        # 2 GiB: 10% = 0.2 GiB < 1 GiB minimum; 1 GiB = half -> (2 - 1) / 2 = 50%
        (2 * GiB_KB, 0, 50),
        # 4 GiB: reserve 1 GiB -> 3 / 4 = 75%
        (4 * GiB_KB, 0, 75),
        # 8 GiB: reserve 1 GiB -> 7 / 8 = 87.5% -> 87
        (8 * GiB_KB, 0, 87),
        # 16 GiB: 10% = 1.6 GiB -> 90%
        (16 * GiB_KB, 0, 90),
        (256 * GiB_KB, 0, 90),
        # 16 GiB with 8 GiB of huge pages: usable 8 GiB, reserve 1 GiB -> 87
        (16 * GiB_KB, 8 * GiB_KB, 87),
        # 256 GiB with 128 GiB of huge pages: usable 128 GiB -> 90
        (256 * GiB_KB, 128 * GiB_KB, 90),
        # 4 GiB with 2 GiB of huge pages: usable 2 GiB -> 50
        (4 * GiB_KB, 2 * GiB_KB, 50),
        # 16 GiB with 14 GiB of huge pages: usable 2 GiB -> 50
        (16 * GiB_KB, 14 * GiB_KB, 50),
        # 6 GiB with 1 GiB of huge pages: usable 5 GiB, reserve 1 GiB -> 80
        (6 * GiB_KB, GiB_KB, 80),
        # 1 GiB: half = 0.5 GiB -> 50; 512 MiB -> 50
        (GiB_KB, 0, 50),
        (GiB_KB // 2, 0, 50),
        # exactly 10 GiB: 10% = 1 GiB -> 90
        (10 * GiB_KB, 0, 90),
        # no RAM outside huge pages: the lowest automatic ratio, not a division by zero
        (0, 0, 50),
        (GiB_KB, GiB_KB, 50),
        (GiB_KB, 2 * GiB_KB, 50),
    ],
)
def test_policy_ratio(mem, huge, ratio):
    assert policy_ratio(mem, huge) == ratio


def expected_policy(usable):
    """The policy worked out by cases: up to 2 GiB the reserve is half (50%);
    up to 10 GiB it is the 1 GiB minimum; above, 10% (90%)."""
    if usable <= 2 * GiB_KB:
        return 50
    if usable <= 10 * GiB_KB:
        return (100 * (usable - GiB_KB)) // usable
    return 90


@PROPERTY
@given(usable=st.integers(64 * 1024, 4096 * GiB_KB), huge=st.integers(0, 1024 * GiB_KB))
def test_policy_ratio_property(usable, huge):
    ratio = policy_ratio(usable + huge, huge)
    assert 50 <= ratio <= 90
    assert ratio == expected_policy(usable)


# --- the guard at its edge --------------------------------------------------
#
# The limit moves in whole 4 kB pages, so the edge cases use sizes in whole
# pages: the limit then lands exactly on the need, and one kB more of need is
# refused.

@pytest.mark.parametrize(
    "mem, swap, ratio, committed, headroom, limit",
    [
        # need = 1000000 * 1.10 = 1100000; CommitLimit = 500000 pages * 50% + 25000 pages = 275000 pages = 1100000
        (2000000, 100000, 50, 1000000, 10, 1100000),
        # need = ceil(1000003 * 1.10) = ceil(1100003.3) = 1100004; CommitLimit 1000000 + 100004 (25001 pages)
        (2000000, 100004, 50, 1000003, 10, 1100004),
        # headroom 0: need = Committed_AS = 1234568; CommitLimit 1000000 + 234568 (58642 pages)
        (2000000, 234568, 50, 1234568, 0, 1234568),
        # headroom 100: need = 2 * Committed_AS = 1000000; 125000 pages + 125000 pages = 1000000
        (1000000, 500000, 50, 500000, 100, 1000000),
        # part pages of swap do not count: 500003 kB of swap is still 125000 pages
        (1000000, 500003, 50, 500000, 100, 1000000),
        # 16 GiB at ratio 90 -> 3774873 pages = 15099492 kB; need 12582910 * 1.2 = 15099492
        (16777216, 0, 90, 12582910, 20, 15099492),
        (16777216, 0, 90, 15099492, 0, 15099492),
    ],
)
def test_guard_accepts_exactly_at_the_edge(mem, swap, ratio, committed, headroom, limit):
    oc = plan_overcommit(mem, swap, 0, committed, ratio=ratio, headroom_pct=headroom)
    assert oc.ratio == ratio
    assert oc.commit_limit_kb == limit
    assert oc.required_kb == limit


@pytest.mark.parametrize(
    "mem, swap, ratio, committed, headroom, limit, need",
    [
        # the accepted cases above with one kB more of need
        (2000000, 100000, 50, 1100001, 0, 1100000, 1100001),
        (2000000, 100004, 50, 1000004, 10, 1100004, 1100005),    # ceil(1100004.4) = 1100005
        (2000000, 234568, 50, 1234569, 0, 1234568, 1234569),
        (16777216, 0, 90, 15099493, 0, 15099492, 15099493),
        # 13726811 * 1.1 = 15099492.1 -> 15099493, one kB above the page-rounded limit
        # (kB arithmetic, 15099494, would have accepted it)
        (16777216, 0, 90, 13726811, 10, 15099492, 15099493),
        # headroom 100 makes the need even, so one page less of swap instead: 499999 kB
        # of swap is 124999 whole pages, CommitLimit 999996 (kB arithmetic: 999999)
        (1000000, 499999, 50, 500000, 100, 999996, 1000000),
        (1000000, 499996, 50, 500000, 100, 999996, 1000000),
    ],
)
def test_guard_refuses_one_kb_below(mem, swap, ratio, committed, headroom, limit, need):
    with pytest.raises(GuardError) as exc:
        plan_overcommit(mem, swap, 0, committed, ratio=ratio, headroom_pct=headroom)
    message = str(exc.value)
    assert "CommitLimit" in message and "Committed_AS" in message
    assert re.search(r"\b%d\b" % limit, message)
    assert re.search(r"\b%d\b" % committed, message)
    assert re.search(r"\b%d\b" % need, message)
    assert "%d%%" % headroom in message
    assert "vm.overcommit_ratio=%d" % ratio in message


@pytest.mark.parametrize(
    "page_size, committed, accepted, limit",
    [
        # 64 kB pages: 16 GiB at 90 is 235929 pages = 15099456 kB
        (65536, 15099456, True, 15099456),
        (65536, 15099457, False, 15099456),
        # the same need is fine with 4 kB pages (15099492 kB)
        (4096, 15099457, True, 15099492),
        (4096, 15099492, True, 15099492),
        (4096, 15099493, False, 15099492),
    ],
)
def test_guard_edge_depends_on_the_page_size(page_size, committed, accepted, limit):
    if accepted:
        oc = plan_overcommit(16777216, 0, 0, committed, ratio=90, headroom_pct=0, page_size=page_size)
        assert (oc.ratio, oc.commit_limit_kb, oc.required_kb) == (90, limit, committed)
    else:
        with pytest.raises(GuardError) as exc:
            plan_overcommit(16777216, 0, 0, committed, ratio=90, headroom_pct=0, page_size=page_size)
        assert re.search(r"\b%d\b" % limit, str(exc.value))


def test_hugetlb_reduces_the_limit():
    # (16777216 - 151552) kB = 4156416 pages * 90 / 100 = 3740774 pages = 14963096 kB; need 2000000 * 1.1 = 2200000
    oc = plan_overcommit(16777216, 0, 151552, 2000000, ratio="auto", headroom_pct=10)
    assert (oc.ratio, oc.commit_limit_kb, oc.required_kb) == (90, 14963096, 2200000)


def test_all_ram_in_huge_pages():
    # nothing outside huge pages: policy 50 (no division by zero), CommitLimit is the swap alone
    oc = plan_overcommit(4 * GiB_KB, 1048576, 4 * GiB_KB, 500000, ratio="auto", headroom_pct=10)
    assert (oc.ratio, oc.commit_limit_kb, oc.required_kb) == (50, 1048576, 550000)


# --- automatic ratio --------------------------------------------------------

@pytest.mark.parametrize(
    "mem, swap, huge, committed, headroom, ratio, limit",
    [
        (16777216, 0, 0, 2000000, 10, 90, 15099492),          # policy ratio covers it
        (4194304, 0, 0, 1000000, 10, 75, 3145728),
        (2097152, 0, 0, 500000, 10, 50, 1048576),
        # 16 GiB: need 15000000 * 1.1 = 16500000; r = 98 gives 4110417 pages = 16441668,
        # 99 gives 4152360 pages = 16609440 -> 99
        (16777216, 0, 0, 15000000, 10, 99, 16609440),
        # 4 GiB + 1 GiB swap: need 4400000; 1048576 pages * 80% = 838860 pages = 3355440 + 1048576
        # = 4404016 (79: 828375 pages = 3313500 + 1048576 = 4362076) -> 80
        (4194304, 1048576, 0, 4000000, 10, 80, 4404016),
        # policy 90 gives 15099492 exactly = need (headroom 0): no raise
        (16777216, 0, 0, 15099492, 0, 90, 15099492),
        # one kB more: 91 -> 3816816 pages = 15267264
        (16777216, 0, 0, 15099493, 0, 91, 15267264),
        # kB arithmetic would have kept 90 for 15099494 (its 15099494); in pages it is 91
        (16777216, 0, 0, 15099494, 0, 91, 15267264),
        # ratio 100 exactly enough
        (16777216, 0, 0, 16777216, 0, 100, 16777216),
        # with 8 GiB of huge pages: usable 2097152 pages, policy 87 -> 7298088; need 7500000
        # -> 90 (1887436 pages = 7549744; 89 -> 1866465 pages = 7465860)
        (16777216, 0, 8388608, 7500000, 0, 90, 7549744),
    ],
)
def test_auto_ratio(mem, swap, huge, committed, headroom, ratio, limit):
    oc = plan_overcommit(mem, swap, huge, committed, ratio="auto", headroom_pct=headroom)
    assert oc.ratio == ratio
    assert oc.commit_limit_kb == limit
    assert oc.commit_limit_kb >= oc.required_kb


@pytest.mark.parametrize(
    "mem, swap, huge, committed, headroom, best",
    [
        (16777216, 0, 0, 16777217, 0, 16777216),           # 100% of 16 GiB is one kB short
        (16777216, 0, 0, 16000000, 10, 16777216),          # need 17600000
        (16777216, 1000, 8388608, 8000000, 5, 8389608),    # need 8400000
    ],
)
def test_auto_refused_when_even_100_is_too_low(mem, swap, huge, committed, headroom, best):
    with pytest.raises(GuardError) as exc:
        plan_overcommit(mem, swap, huge, committed, ratio="auto", headroom_pct=headroom)
    message = str(exc.value)
    assert "100" in message
    assert re.search(r"\b%d\b" % best, message)
    assert re.search(r"\b%d\b" % committed, message)
    assert "Committed_AS" in message and "CommitLimit" in message


@pytest.mark.parametrize(
    "ratio, limit",
    [
        # 4194304 pages of 4 kB * ratio / 100, whole pages, * 4
        (1, 167772),          # 41943.04 -> 41943 pages
        (30, 5033164),        # 1258291.2 -> 1258291
        (50, 8388608),
        (60, 10066328),       # 2516582.4 -> 2516582 (kB arithmetic: 10066329)
        (89, 14931720),       # 3732930.56 -> 3732930 (kB arithmetic: 14931722)
        (91, 15267264),       # 3816816.64 -> 3816816
        (95, 15938352),       # 3984588.8 -> 3984588
        (100, 16777216),
        ("70", 11744048),     # 2936012.8 -> 2936012
    ],
)
def test_explicit_ratio_is_kept(ratio, limit):
    oc = plan_overcommit(16777216, 0, 0, 100000, ratio=ratio, headroom_pct=10)
    assert oc.ratio == int(ratio)
    assert oc.commit_limit_kb == limit


@pytest.mark.parametrize("ratio", [50, 90, 98])
def test_explicit_ratio_too_low_is_refused_not_raised(ratio):
    # need 16500000 (see above); auto would pick 99
    with pytest.raises(GuardError) as exc:
        plan_overcommit(16777216, 0, 0, 15000000, ratio=ratio, headroom_pct=10)
    assert "vm.overcommit_ratio=%d" % ratio in str(exc.value)


@pytest.mark.parametrize(
    "need, page_size, ratio",
    [
        (15099492, 4096, 90),      # 90 -> 15099492 kB with 4 kB pages
        (15099493, 4096, 91),
        (15099456, 65536, 90),     # 90 -> 15099456 kB with 64 kB pages
        (15099457, 65536, 91),
        (167772, 4096, 1),
        (0, 4096, 1),
        (16777216, 4096, 100),
        (16777217, 4096, None),    # not even 100 is enough
    ],
)
def test_smallest_safe_ratio(need, page_size, ratio):
    assert smallest_safe_ratio(16777216, 0, 0, need, page_size) == ratio


def test_guard_error_is_a_value_error():
    assert issubclass(GuardError, ValueError)


PAGE_SIZES = st.sampled_from([(4096, 4), (16384, 16), (65536, 64)])


@PROPERTY
@given(mem_pages=st.integers(64 * 1024, 256 * GiB_KB), swap_pages=st.integers(0, 16 * GiB_KB),
       huge_share=st.integers(0, 100), committed=st.integers(0, 2048 * GiB_KB), headroom=st.integers(0, 100),
       explicit=st.one_of(st.just("auto"), st.integers(1, 100)), page=PAGE_SIZES, swap_part=st.integers(0, 63))
def test_guard_property(mem_pages, swap_pages, huge_share, committed, headroom, explicit, page, swap_part):
    page_size, page_kb = page
    # MemTotal and huge pages come in whole pages; SwapTotal may carry a part page
    mem = mem_pages * page_kb
    huge = mem_pages * huge_share // 100 * page_kb
    swap = swap_pages * page_kb + swap_part % page_kb
    # the test's own need: smallest whole kB >= committed * (100 + headroom) / 100
    need = (committed * (100 + headroom) + 99) // 100

    def limit_at(ratio):
        return kernel_limit(mem, huge, swap, ratio, page_kb)

    try:
        oc = plan_overcommit(mem, swap, huge, committed, ratio=explicit, headroom_pct=headroom, page_size=page_size)
    except GuardError:
        if explicit == "auto":
            assert limit_at(100) < need          # not even 100% is enough
        else:
            assert limit_at(explicit) < need
        return
    limit = limit_at(oc.ratio)
    assert oc.commit_limit_kb == limit >= need == oc.required_kb
    assert limit % page_kb == 0
    if explicit != "auto":
        assert oc.ratio == explicit
    else:
        policy = expected_policy(mem - huge) if mem > huge else 50
        if limit_at(policy) >= need:
            assert oc.ratio == policy
        else:
            # raised, to the smallest ratio that is enough
            assert oc.ratio > policy
            assert limit_at(oc.ratio - 1) < need
