# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, kernel: SysV limits, overcommit, swappiness, THP and huge pages.

Reads pghost_host (`sysctl`, `thp`, `namespaced`, `container`, meminfo
figures) and the result of pg_kernel_params run on it (`required`,
`proposed`, `boot_only`; `failed` and `msg` when it refused). What the
clusters need is pg_kernel_params' answer (kernel_plan.py); nothing is
computed again here.

Global kernel values (vm.*, THP) seen from inside a container are the
machine's, which the container can neither choose nor set (docs/design.md,
rule 6): their checks are not verifiable there.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import (
    Check,
    finding,
    not_verifiable,
    passed,
    policy_value,
    result_problem,
)
from ansible_collections.pghost.hardening.plugins.module_utils.kernel_keys import SYSV_SYSCTLS
from ansible_collections.pghost.hardening.plugins.module_utils.overcommit import required_commit_kb

SYSV_BELOW_NEED = Check(
    "kernel.sysv_below_need", "high",
    "the SysV shared memory or semaphore limits are below what the clusters need, so the next start or restart "
    "fails to get its segment or semaphores (docs/postgres-kernel-facts.md §1, §2, §8)",
    "role pg_kernel (pg_kernel_sysv_ipc: true) raises them; FreeBSD loader tunables take effect at the next boot")
OVERCOMMIT_NOT_STRICT = Check(
    "kernel.overcommit_not_strict", "medium",
    "with heuristic overcommit the OOM killer ends memory shortages and may kill the postmaster or leave the "
    "unit stopped, where strict accounting gives the query 'out of memory' (docs/postgres-kernel-facts.md §4)",
    "role pg_kernel (pg_kernel_overcommit: true, pg_kernel_overcommit_ratio: auto)")
COMMIT_LIMIT_SHORT = Check(
    "kernel.commit_limit_short", "high",
    "under vm.overcommit_memory = 2 a CommitLimit below Committed_AS plus headroom makes new allocations and forks "
    "fail at once (docs/postgres-kernel-facts.md §4)",
    "role pg_kernel (pg_kernel_overcommit_ratio: auto) sets the ratio from RAM and what is committed")
SWAPPINESS_HIGH = Check(
    "kernel.swappiness_high", "low",
    "a vm.swappiness above the chosen value lets the kernel swap out the server's memory in favour of the page "
    "cache",
    "role pg_kernel (pg_kernel_swappiness: true, pg_kernel_swappiness_value)")
THP_ALWAYS = Check(
    "kernel.thp_always", "low",
    "transparent huge pages in `always` mode stall the server in page compaction; common practice for databases, "
    "and this collection, is `never` (docs/postgres-kernel-facts.md §3)",
    "role pg_kernel (pg_kernel_thp: true) installs pghost-thp.service")
HUGEPAGES_SHORT_ON = Check(
    "kernel.hugepages_short_on", "critical",
    "with huge_pages = on the server refuses to start when too few huge pages are reserved, so the next restart "
    "fails (docs/postgres-kernel-facts.md §3)",
    "role pg_kernel (pg_kernel_hugepages: true) reserves vm.nr_hugepages")
HUGEPAGES_SHORT_TRY = Check(
    "kernel.hugepages_short_try", "medium",
    "with huge_pages = try and too few huge pages reserved the server falls back to normal pages without saying so "
    "(docs/postgres-kernel-facts.md §3)",
    "role pg_kernel (pg_kernel_hugepages: true) reserves vm.nr_hugepages")
CHECKS = (SYSV_BELOW_NEED, OVERCOMMIT_NOT_STRICT, COMMIT_LIMIT_SHORT, SWAPPINESS_HIGH, THP_ALWAYS,
          HUGEPAGES_SHORT_ON, HUGEPAGES_SHORT_TRY)
LINUX_ONLY = (OVERCOMMIT_NOT_STRICT, COMMIT_LIMIT_SHORT, SWAPPINESS_HIGH, THP_ALWAYS,
              HUGEPAGES_SHORT_ON, HUGEPAGES_SHORT_TRY)

THP_ENABLED = "transparent_hugepage.enabled"


def unreadable(host, key, values):
    """Why the live value of `key` cannot judge this host, or None.

    values: the dict of pghost_host it is read from (`sysctl` or `thp`)."""
    container = host.get("container") or {}
    if container.get("is_container") and not (host.get("namespaced") or {}).get(key):
        return ("%s is global to the kernel: this %s container shows the machine's value and cannot set it "
                "(docs/design.md)" % (key, container.get("type") or "unknown"))
    if values.get(key) is None:
        return "the kernel does not show %s here" % key
    return None


def plan_problem(kernel):
    """Why pg_kernel_params' answer is not there to compare with, or None."""
    return result_problem(kernel, "pg_kernel_params", refused="refused to plan")


def _number(text):
    parts = str(text).split() if text is not None else []
    return int(parts[0]) if parts and parts[0].isdigit() else None


def check_sysv(host, kernel):
    """kernel.sysv_below_need: a SysV key pg_kernel_params would raise (it proposes only raises)."""
    problem = plan_problem(kernel)
    if problem:
        return [not_verifiable(SYSV_BELOW_NEED, None, problem)]
    required = kernel.get("required") or {}
    current = host.get("sysctl") or {}
    evidence = {}
    for field, name in sorted(SYSV_SYSCTLS[host.get("platform")].items()):
        if field.startswith("sem"):
            if not required.get("semmni"):
                continue  # POSIX semaphores: no SysV semaphore limit matters (docs/postgres-kernel-facts.md §2)
            need = dict((f, required.get(f)) for f in ("semmsl", "semmns", "semmni")) if field == "sem" else required.get(field)
        elif required.get(field):
            need = required[field]
        else:
            continue
        evidence[name] = {"current": current.get(name), "required": need,
                          "proposed": (kernel.get("proposed") or {}).get(name)}
    below = sorted(name for name, item in evidence.items() if item["proposed"] is not None)
    unknown = sorted(name for name, item in evidence.items() if item["current"] is None)
    evidence = {"limits": evidence, "below": below, "boot_only": list(kernel.get("boot_only") or [])}
    if below:
        return [finding(SYSV_BELOW_NEED, None, evidence)]
    if unknown:
        return [not_verifiable(SYSV_BELOW_NEED, None, "the kernel does not show %s here" % ", ".join(unknown),
                               evidence)]
    return [passed(SYSV_BELOW_NEED, None, evidence)]


def check_overcommit(host):
    key = "vm.overcommit_memory"
    problem = unreadable(host, key, host.get("sysctl") or {})
    if problem:
        return [not_verifiable(OVERCOMMIT_NOT_STRICT, None, problem)]
    evidence = {key: host["sysctl"][key]}
    strict = _number(evidence[key]) == 2
    return [passed(OVERCOMMIT_NOT_STRICT, None, evidence) if strict else finding(OVERCOMMIT_NOT_STRICT, None, evidence)]


def check_commit_limit(host, policy):
    sysctl = host.get("sysctl") or {}
    problem = unreadable(host, "vm.overcommit_memory", sysctl)
    if problem:
        return [not_verifiable(COMMIT_LIMIT_SHORT, None, problem)]
    mode = _number(sysctl["vm.overcommit_memory"])
    evidence = {"vm.overcommit_memory": sysctl["vm.overcommit_memory"], "commit_limit_kb": host.get("commit_limit_kb"),
                "committed_as_kb": host.get("committed_as_kb")}
    if mode != 2:
        return [passed(COMMIT_LIMIT_SHORT, None, evidence)]  # CommitLimit is not enforced outside mode 2
    if evidence["commit_limit_kb"] is None or evidence["committed_as_kb"] is None:
        return [not_verifiable(COMMIT_LIMIT_SHORT, None, "/proc/meminfo shows no CommitLimit or Committed_AS", evidence)]
    headroom = policy_value(policy, "pg_kernel_commit_headroom_pct")
    evidence.update(headroom_pct=headroom, required_kb=required_commit_kb(evidence["committed_as_kb"], headroom))
    if evidence["commit_limit_kb"] < evidence["required_kb"]:
        return [finding(COMMIT_LIMIT_SHORT, None, evidence)]
    return [passed(COMMIT_LIMIT_SHORT, None, evidence)]


def check_swappiness(host, policy):
    key = "vm.swappiness"
    problem = unreadable(host, key, host.get("sysctl") or {})
    if problem:
        return [not_verifiable(SWAPPINESS_HIGH, None, problem)]
    chosen = policy_value(policy, "pg_kernel_swappiness_value")
    evidence = {key: host["sysctl"][key], "pg_kernel_swappiness_value": chosen}
    value = _number(evidence[key])
    if value is not None and value > chosen:
        return [finding(SWAPPINESS_HIGH, None, evidence)]
    return [passed(SWAPPINESS_HIGH, None, evidence)]


def check_thp(host):
    problem = unreadable(host, THP_ENABLED, host.get("thp") or {})
    if problem:
        return [not_verifiable(THP_ALWAYS, None, problem)]
    evidence = {THP_ENABLED: host["thp"][THP_ENABLED]}
    return [finding(THP_ALWAYS, None, evidence) if evidence[THP_ENABLED] == "always" else passed(THP_ALWAYS, None, evidence)]


def check_hugepages(host, kernel, clusters):
    """One record per cluster with huge_pages on or try: the reserved pool against what all clusters need."""
    by_setting = {"on": HUGEPAGES_SHORT_ON, "try": HUGEPAGES_SHORT_TRY}
    concerned = [(c, by_setting[c.get("huge_pages")]) for c in clusters if c.get("huge_pages") in by_setting]
    problem = plan_problem(kernel) or unreadable(host, "vm.nr_hugepages", host.get("sysctl") or {})
    if problem:
        return [not_verifiable(check, cluster, problem) for cluster, check in concerned]
    pool = _number(host["sysctl"]["vm.nr_hugepages"])
    need = (kernel.get("required") or {}).get("nr_hugepages") or 0
    records = []
    for cluster, check in concerned:
        evidence = {"huge_pages": cluster.get("huge_pages"), "vm.nr_hugepages": pool, "required": need,
                    "hugepage_size_kb": host.get("hugepage_size_kb")}
        records.append(finding(check, cluster, evidence) if pool < need else passed(check, cluster, evidence))
    return records


def audit(facts, policy):
    """Kernel records for one host."""
    host, kernel = facts.get("host") or {}, facts.get("kernel")
    records = check_sysv(host, kernel)
    if host.get("platform") == "linux":
        records += check_overcommit(host)
        records += check_commit_limit(host, policy)
        records += check_swappiness(host, policy)
        records += check_thp(host)
        records += check_hugepages(host, kernel, facts.get("clusters") or [])
    return records
