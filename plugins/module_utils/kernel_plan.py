# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a host's facts and its clusters to what the kernel must allow and
what to set: the single place where pg_kernel_params' answer is assembled.

Limits are only ever raised: a value already at or above the requirement is
left alone, whoever set it. Policy values (overcommit) are set to what the
policy says, behind the commit-limit guard.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import ClusterError, cluster_spec, whole_number
from ansible_collections.pghost.hardening.plugins.module_utils.hugepages import host_hugepages
from ansible_collections.pghost.hardening.plugins.module_utils.kernel_keys import (
    FREEBSD_LOADER_TUNABLES, PROPOSED_BY_CONCERN, SYSV_SYSCTLS)
from ansible_collections.pghost.hardening.plugins.module_utils.overcommit import plan_overcommit
from ansible_collections.pghost.hardening.plugins.module_utils.sysv import PLATFORMS, host_sysv_needs


class PlanError(ValueError):
    """Bad input to the plan; the message names the field, value and what is accepted."""


# kernel.sem is "SEMMSL SEMMNS SEMOPM SEMMNI" (proc(5)); PostgreSQL sizes
# all but SEMOPM.
SEM_FIELDS = ("semmsl", "semmns", "semopm", "semmni")

POLICY_KEYS = ("vm.overcommit_memory", "vm.overcommit_ratio")


def _stable_reasons(platform, sysv, nr_hugepages, hugepage_kb, page_size, ratio, ratio_asked):
    names = SYSV_SYSCTLS[platform]
    why = {
        names["shmmax"]: "largest SysV segment of the PostgreSQL clusters: %d bytes (docs/postgres-kernel-facts.md §1)" % sysv.shmmax,
        names["shmall"]: "SysV shared memory of all clusters: %d pages of %d bytes (docs/postgres-kernel-facts.md §1)" % (sysv.shmall, page_size),
        names["shmmni"]: "SysV segment ids of all clusters: %d (docs/postgres-kernel-facts.md §1)" % sysv.shmmni,
        "vm.nr_hugepages": "huge pages of %d kB for the clusters' shared memory: %d (docs/postgres-kernel-facts.md §3)" % (hugepage_kb, nr_hugepages),
        "vm.overcommit_memory": "strict accounting: a backend gets 'out of memory' instead of the OOM killer (docs/postgres-kernel-facts.md §4)",
        "vm.overcommit_ratio": "%s, within the CommitLimit guard (docs/postgres-kernel-facts.md §4)" % (
            "automatic policy: RAM outside huge pages less a 10% reserve of at least 1 GiB"
            if ratio_asked == "auto" else "set by the user to %s" % ratio),
    }
    sem = "SysV semaphores for the clusters: %d sets of 17 (docs/postgres-kernel-facts.md §2)" % sysv.semmni
    if platform == "linux":
        why["kernel.sem"] = sem
    else:
        for key in ("semmni", "semmns", "semmsl"):
            why[names[key]] = sem
    return why


def _host_number(host, field, required):
    value = host.get(field)
    if value is None:
        if required:
            raise PlanError("host.%s: missing; give it in kB (bytes for page_size) or let the module read the target" % field)
        return None
    number = whole_number(value)
    if number is None or number < 0:
        raise PlanError("host.%s: %r is not accepted; expected a whole number 0 or more" % (field, value))
    if field == "page_size" and number == 0:
        raise PlanError("host.page_size: 0 is not a page size; expected the size in bytes, e.g. 4096")
    return number


def _current_int(current, name):
    """The current value of a single-number sysctl, or None when unknown."""
    value = current.get(name)
    parts = str(value).split() if value is not None else []
    return whole_number(parts[0]) if parts else None


def _current_sem(current):
    parts = str(current.get("kernel.sem") or "").split()
    numbers = [whole_number(p) for p in parts]
    if len(numbers) != 4 or None in numbers:
        return None
    return numbers


def _raise_only(proposed, reasons, warnings, name, required, current, why):
    """Propose `required` for `name` only when it raises what is set now.

    Without the current value nothing is proposed: the kernel's default may
    well be higher, and a limit is never lowered (docs/design.md).
    """
    if required <= 0:
        return
    if current is None:
        warnings.append("%s: current value unknown, so %d (required) is not proposed; pass `current` or let "
                        "the module read the target" % (name, required))
        return
    if current >= required:
        reasons.append("%s = %d already covers the %d required (%s); left as it is" % (name, current, required, why))
        return
    proposed[name] = required
    reasons.append("%s = %d (now %d): %s" % (name, required, current, why))


def plan(platform, host, clusters, overcommit_ratio="auto", commit_headroom_pct=10,
         manage_overcommit=True, manage_hugepages=True, current=None):
    """Required minima and proposed sysctl values for one host.

    Raises PlanError (bad input) or GuardError (overcommit refused). Returns
    a dict with required, proposed, reasons, warnings and per-cluster detail.
    """
    if platform not in PLATFORMS:
        raise PlanError("platform: %r is not supported; expected one of %s" % (platform, ", ".join(PLATFORMS)))
    if not isinstance(host, dict):
        raise PlanError("host: %r is not a mapping of host facts" % (host,))
    if overcommit_ratio != "auto":
        ratio_number = whole_number(overcommit_ratio)
        if ratio_number is None or not 1 <= ratio_number <= 100:
            raise PlanError("overcommit_ratio: %r is not accepted; expected auto or a whole number from 1 to 100" % (overcommit_ratio,))
        overcommit_ratio = ratio_number
    headroom = whole_number(commit_headroom_pct)
    if headroom is None or not 0 <= headroom <= 100:
        raise PlanError("commit_headroom_pct: %r is not accepted; expected a whole number from 0 to 100" % (commit_headroom_pct,))
    if not isinstance(clusters, list):
        raise PlanError("clusters: %r is not a list of clusters" % (clusters,))
    try:
        specs = [cluster_spec(raw, i) for i, raw in enumerate(clusters)]
    except ClusterError as exc:
        raise PlanError(str(exc))

    linux = platform == "linux"
    overcommit_on = linux and manage_overcommit
    page_size = _host_number(host, "page_size", required=True)
    mem_total = _host_number(host, "mem_total_kb", required=overcommit_on)
    swap_total = _host_number(host, "swap_total_kb", required=overcommit_on)
    committed = _host_number(host, "committed_as_kb", required=overcommit_on)
    # Needed for overcommit too: huge pages are outside CommitLimit, and a
    # pool of unknown page size would make the limit look larger than it is.
    hugepage_kb = _host_number(host, "hugepage_size_kb", required=linux and (manage_hugepages or overcommit_on)) or 0
    current = dict(current if current is not None else host.get("sysctl") or {})

    reasons, warnings, proposed = [], [], {}
    for spec in specs:
        if spec.defaulted:
            warnings.append("%s: %s not given; PostgreSQL %s defaults used" % (spec.name, ", ".join(spec.defaulted), spec.info.major))

    sysv = host_sysv_needs(specs, platform, page_size)
    detail = list(sysv.reasons)

    nr_hugepages, huge_warnings = 0, []
    pool_now = _current_int(current, "vm.nr_hugepages")
    if pool_now is None:
        pool_now = _host_number(host, "hugepages_total", required=False)
    if linux and manage_hugepages:
        nr_hugepages, huge_reasons, huge_warnings = host_hugepages(specs, hugepage_kb)
        detail += huge_reasons

    oc = None
    if overcommit_on:
        # Huge pages are outside the commit limit: the default pool as it will
        # be, plus pools of other sizes the host already has (meminfo Hugetlb).
        default_pool_kb = max(nr_hugepages if manage_hugepages else 0, pool_now or 0) * hugepage_kb
        other_pools_kb = max(0, (_host_number(host, "hugetlb_kb", False) or 0) - (pool_now or 0) * hugepage_kb)
        oc = plan_overcommit(mem_total, swap_total, default_pool_kb + other_pools_kb, committed,
                             overcommit_ratio, headroom, page_size)
    ratio, limit = (oc.ratio, oc.commit_limit_kb) if oc else (None, None)

    # Every proposal below takes its reason from here, the one text per key.
    why = _stable_reasons(platform, sysv, nr_hugepages, hugepage_kb, page_size, ratio, overcommit_ratio)
    names = SYSV_SYSCTLS[platform]
    for key in ("shmmax", "shmall", "shmmni"):
        _raise_only(proposed, reasons, warnings, names[key], getattr(sysv, key), _current_int(current, names[key]),
                    why[names[key]])

    if sysv.semmni:
        if linux:
            now = _current_sem(current)
            want = {"semmsl": sysv.semmsl, "semmns": sysv.semmns, "semmni": sysv.semmni, "semopm": 0}
            if now is None:
                warnings.append("kernel.sem: current value unknown, so SEMMSL %d, SEMMNS %d, SEMMNI %d (required) are "
                                "not proposed; pass `current` or let the module read the target"
                                % (sysv.semmsl, sysv.semmns, sysv.semmni))
                new = None
            else:
                new = [max(want[f], now[i]) for i, f in enumerate(SEM_FIELDS)]
            if now is not None and now != new:
                proposed["kernel.sem"] = " ".join(str(v) for v in new)
                reasons.append("kernel.sem = %s (now %s): SEMMSL >= 17, SEMMNS >= %d, SEMMNI >= %d; %s" % (
                    proposed["kernel.sem"], " ".join(map(str, now)), sysv.semmns, sysv.semmni, why["kernel.sem"]))
            elif now is not None:
                reasons.append("kernel.sem = %s already covers SEMMSL 17, SEMMNS %d, SEMMNI %d" % (
                    " ".join(map(str, now)), sysv.semmns, sysv.semmni))
        else:
            for key in ("semmni", "semmns", "semmsl"):
                _raise_only(proposed, reasons, warnings, names[key], getattr(sysv, key), _current_int(current, names[key]),
                            why[names[key]])

    if linux and manage_hugepages:
        warnings += huge_warnings
        _raise_only(proposed, reasons, warnings, "vm.nr_hugepages", nr_hugepages, pool_now, why["vm.nr_hugepages"])

    if oc:
        reasons.append(oc.reason)
        kbytes_now = _current_int(current, "vm.overcommit_kbytes")
        # Order matters when applying: the ratio first (writing it also
        # clears vm.overcommit_kbytes, docs/postgres-kernel-facts.md §4), then strict mode, so strict
        # accounting never starts under the old, unguarded limit.
        # An unknown kbytes might be set and override the ratio: write the
        # ratio to be sure.
        if _current_int(current, "vm.overcommit_ratio") != ratio or kbytes_now is None or kbytes_now:
            proposed["vm.overcommit_ratio"] = ratio
            if kbytes_now is None:
                reasons.append("vm.overcommit_kbytes is unknown and would override any ratio if set; writing "
                               "vm.overcommit_ratio clears it (docs/postgres-kernel-facts.md §4)")
            elif kbytes_now:
                reasons.append("vm.overcommit_kbytes = %d overrides any ratio; writing vm.overcommit_ratio clears it "
                               "(docs/postgres-kernel-facts.md §4), so it is not proposed" % kbytes_now)
        if _current_int(current, "vm.overcommit_memory") != 2:
            proposed["vm.overcommit_memory"] = 2
            reasons.append("vm.overcommit_memory = 2 (now %s): %s" % (
                current.get("vm.overcommit_memory", "unknown"), why["vm.overcommit_memory"]))

    return {
        "platform": platform,
        "required": {
            "semaphores": sysv.semaphores,
            "semmni": sysv.semmni,
            "semmns": sysv.semmns,
            "semmsl": sysv.semmsl,
            "shmmax": sysv.shmmax,
            "shmall": sysv.shmall,
            "shmmni": sysv.shmmni,
            "nr_hugepages": nr_hugepages,
            "overcommit_ratio": ratio,
            "commit_limit_kb": limit,
        },
        "proposed": proposed,
        "proposed_by_concern": dict(
            (concern, dict((name, proposed[name]) for name in names if name in proposed))
            for concern, names in PROPOSED_BY_CONCERN[platform].items()),
        # FreeBSD loader tunables: /boot/loader.conf, effective at next boot (docs/postgres-kernel-facts.md §8).
        # The host's own answer when pg_host_facts read it (sysctl -N -W).
        "boot_only": [name for name in proposed if name in host.get("loader_only", FREEBSD_LOADER_TUNABLES)],
        "reasons": reasons + detail,
        # One line per key that depends only on the clusters and the policy,
        # never on the values in force, so a file commented with it stays
        # the same from run to run.
        "why": dict((name, why[name]) for name in why if name in proposed or name in POLICY_KEYS),
        "warnings": warnings,
        "clusters": [
            {"name": s.name, "version": s.info.major, "defaulted": list(s.defaulted)} for s in specs
        ],
    }
