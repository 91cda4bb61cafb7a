# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Huge pages PostgreSQL clusters need on Linux (docs/postgres-kernel-facts.md §3)."""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils.sysv import main_area_bytes, main_area_in_sysv
from ansible_collections.pghost.hardening.plugins.module_utils.units import ceil_div

HugeNeed = namedtuple("HugeNeed", ["pages", "page_size_kb", "reason"])


def hugepage_need(c, default_hugepage_kb):
    """Huge pages of one cluster; page_size_kb says which pool they come from."""
    if not c.info.has_huge_pages:
        return HugeNeed(0, default_hugepage_kb, "%s: PostgreSQL %s has no huge_pages setting (9.4+)" % (c.name, c.info.major))
    if c.huge_pages == "off":
        return HugeNeed(0, default_hugepage_kb, "%s: huge_pages=off" % c.name)
    if main_area_in_sysv(c):
        return HugeNeed(0, default_hugepage_kb, "%s: shared_memory_type=sysv does not use huge pages" % c.name)
    page_kb = c.huge_page_size_bytes // 1024 if c.huge_page_size_bytes else default_hugepage_kb
    if not page_kb:
        return HugeNeed(0, 0, "%s: the kernel reports no huge page size; no huge pages" % c.name)
    # The reasons end up in the comments of the files the roles write, so
    # they name only what the number depends on: `try` and `on` need the same
    # pages, and a running server reports `try` until the restart that makes
    # a new `on` take effect - naming it would rewrite the file once more.
    reported = c.shared_memory_size_in_huge_pages
    if reported is not None and reported >= 0:
        return HugeNeed(reported, page_kb, "%s: server-reported shared_memory_size_in_huge_pages %d (%d kB pages)"
                        % (c.name, reported, page_kb))
    size, source = main_area_bytes(c)
    pages = ceil_div(size, page_kb * 1024)
    return HugeNeed(pages, page_kb, "%s: ceil(%d bytes / %d kB) = %d pages, main area %s"
                    % (c.name, size, page_kb, pages, source))


def host_hugepages(clusters, default_hugepage_kb):
    """(pages of the default size, reasons, warnings) summed over clusters.

    vm.nr_hugepages only sizes the default pool; a cluster with another
    huge_page_size needs /sys/kernel/mm/hugepages/hugepages-<size>kB, which
    is reported as a warning rather than folded into the wrong pool.
    """
    total, reasons, warnings = 0, [], []
    for c in clusters:
        need = hugepage_need(c, default_hugepage_kb)
        reasons.append(need.reason)
        if need.pages and need.page_size_kb != default_hugepage_kb:
            warnings.append("%s needs %d huge pages of %d kB, which is not the kernel's default size (%d kB); "
                            "set /sys/kernel/mm/hugepages/hugepages-%dkB/nr_hugepages yourself"
                            % (c.name, need.pages, need.page_size_kb, default_hugepage_kb, need.page_size_kb))
            continue
        total += need.pages
    return total, reasons, warnings


def hugepage_lock_bytes(c, default_hugepage_kb):
    """(bytes, reason): memory in huge pages one cluster maps, the floor for its memlock limit.

    The PostgreSQL docs name `ulimit -l` (memlock) beside vm.nr_hugepages for
    huge pages (docs/postgres-kernel-facts.md §3); sizing it to the pages the cluster maps makes the
    limit enough whatever the kernel's accounting. 0 when it uses none.
    """
    need = hugepage_need(c, default_hugepage_kb)
    size = need.pages * need.page_size_kb * 1024
    if not size:
        return 0, need.reason
    return size, "%s; memlock >= %d pages x %d kB = %d bytes" % (need.reason, need.pages, need.page_size_kb, size)
