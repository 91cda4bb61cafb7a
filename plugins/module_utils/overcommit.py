# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit limit under vm.overcommit_memory=2, the automatic ratio, and the
guard that refuses a ratio that would leave the host unable to allocate.

CommitLimit = (MemTotal - huge pages) * overcommit_ratio / 100 + SwapTotal
(docs/postgres-kernel-facts.md §4, from the kernel's Documentation/filesystems/proc.rst). If the new
CommitLimit is below the current Committed_AS, allocations and forks fail at
once, so the guard demands Committed_AS plus a headroom percentage.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils.units import ceil_div

# Automatic ratio policy: let PostgreSQL commit all RAM outside huge pages
# except a reserve for the kernel, page tables and the page cache that keeps
# the server's I/O fast: 10% of that RAM, at least 1 GiB, at most half; the
# ratio then lies between 50 (the kernel default) and 90.
RESERVE_PCT = 10
RESERVE_MIN_KB = 1024 * 1024
MIN_AUTO_RATIO = 50

Overcommit = namedtuple("Overcommit", ["ratio", "commit_limit_kb", "required_kb", "reason"])


class GuardError(ValueError):
    """The proposed ratio would put CommitLimit below Committed_AS + headroom."""


def commit_limit_kb(mem_total_kb, hugetlb_kb, swap_total_kb, ratio, page_size=4096):
    """CommitLimit as the kernel computes it, in whole pages (mm/util.c vm_commit_limit)."""
    page_kb = max(page_size // 1024, 1)
    pages = (mem_total_kb - hugetlb_kb) // page_kb * ratio // 100 + swap_total_kb // page_kb
    return pages * page_kb


def policy_ratio(mem_total_kb, hugetlb_kb):
    usable = mem_total_kb - hugetlb_kb
    if usable <= 0:
        return MIN_AUTO_RATIO
    reserve = min(max(usable * RESERVE_PCT // 100, RESERVE_MIN_KB), usable // 2)
    return max(MIN_AUTO_RATIO, (usable - reserve) * 100 // usable)


def required_commit_kb(committed_as_kb, headroom_pct):
    return ceil_div(committed_as_kb * (100 + headroom_pct), 100)


def smallest_safe_ratio(mem_total_kb, hugetlb_kb, swap_total_kb, need_kb, page_size=4096):
    """Smallest ratio whose CommitLimit reaches need_kb, or None above 100."""
    for ratio in range(1, 101):
        if commit_limit_kb(mem_total_kb, hugetlb_kb, swap_total_kb, ratio, page_size) >= need_kb:
            return ratio
    return None


def plan_overcommit(mem_total_kb, swap_total_kb, hugetlb_kb, committed_as_kb, ratio="auto", headroom_pct=10,
                    page_size=4096):
    """Overcommit for vm.overcommit_memory=2, or GuardError naming the numbers.

    ratio="auto" takes the policy ratio and, when that is too low for what
    the host has already committed, the smallest ratio that is safe; an
    explicit ratio is never changed, only accepted or refused.
    """
    need = required_commit_kb(committed_as_kb, headroom_pct)
    numbers = ("MemTotal %d kB, huge pages %d kB, SwapTotal %d kB, Committed_AS %d kB + %d%% headroom = %d kB"
               % (mem_total_kb, hugetlb_kb, swap_total_kb, committed_as_kb, headroom_pct, need))
    if ratio == "auto":
        chosen = policy_ratio(mem_total_kb, hugetlb_kb)
        how = "automatic policy (RAM outside huge pages less a 10%% reserve of at least 1 GiB) gives %d" % chosen
        if commit_limit_kb(mem_total_kb, hugetlb_kb, swap_total_kb, chosen, page_size) < need:
            safe = smallest_safe_ratio(mem_total_kb, hugetlb_kb, swap_total_kb, need, page_size)
            if safe is None:
                limit = commit_limit_kb(mem_total_kb, hugetlb_kb, swap_total_kb, 100, page_size)
                raise GuardError(
                    "vm.overcommit_memory=2 refused: even vm.overcommit_ratio=100 gives CommitLimit %d kB, below "
                    "Committed_AS %d kB + %d%% headroom (%d kB); %s" % (limit, committed_as_kb, headroom_pct, need, numbers))
            how += ", raised to %d to cover what is already committed" % safe
            chosen = safe
    else:
        chosen = int(ratio)
        how = "set explicitly"
    limit = commit_limit_kb(mem_total_kb, hugetlb_kb, swap_total_kb, chosen, page_size)
    if limit < need:
        raise GuardError(
            "vm.overcommit_ratio=%d refused: CommitLimit would be %d kB, below Committed_AS %d kB + %d%% headroom "
            "(%d kB); %s" % (chosen, limit, committed_as_kb, headroom_pct, need, numbers))
    reason = ("vm.overcommit_ratio = %d: %s; CommitLimit = (MemTotal %d - huge pages %d) * %d / 100 + SwapTotal %d "
              "= %d kB in whole pages >= %d kB needed (Committed_AS %d kB + %d%%)"
              % (chosen, how, mem_total_kb, hugetlb_kb, chosen, swap_total_kb, limit, need, committed_as_kb, headroom_pct))
    return Overcommit(chosen, limit, need, reason)
