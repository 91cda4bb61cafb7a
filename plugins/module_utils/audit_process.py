# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, processes (systemd hosts): the postmaster's OOM score, its
backends' scores, how the unit stops, the live limits and pending restarts.

Reads the result of pg_service_units in check mode, per cluster: `live`
(`oom_score_adj`, `environ`, `limits` as "soft:hard", `backends` as
{pid: score}), `unit_properties` (systemctl show), `restart`, `reasons`,
`files`. Call it for the audit with oom, shutdown and limits false: then it
would write nothing, so it reports the unit's properties as systemd has
them now and judges the restart against the unit as it is (with a drop-in
still to write, check mode leaves `unit_properties` empty and the restart
verdict compares with files not yet written; both are then not verifiable).
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils import service_units as su
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import (
    Check,
    finding,
    not_verifiable,
    passed,
    policy_value,
    result_problem,
)
from ansible_collections.pghost.hardening.plugins.module_utils.host_limits import LIMITS, show_limits
from ansible_collections.pghost.hardening.plugins.module_utils.service_plan import memlock_want

POSTMASTER_UNPROTECTED = Check(
    "process.postmaster_unprotected", "high",
    "a postmaster above the protected oom_score_adj can be chosen by the OOM killer, which ends every connection "
    "(docs/postgres-kernel-facts.md §4)",
    "role pg_service (pg_service_oom: true, pg_service_oom_score_adjust), then a restart")
BACKENDS_PROTECTED = Check(
    "process.backends_protected", "high",
    "backends that inherited the postmaster's negative oom_score_adj are spared by the OOM killer, so a runaway "
    "backend survives and everything else on the host is killed (docs/postgres-kernel-facts.md §4)",
    "role pg_service (pg_service_oom: true) sets PG_OOM_ADJUST_FILE and PG_OOM_ADJUST_VALUE, then a restart")
SHUTDOWN_SIGTERM = Check(
    "process.shutdown_sigterm", "medium",
    "a unit stopping with SIGTERM and KillMode=control-group asks for a smart shutdown and SIGKILLs what is left "
    "at the timeout: crash recovery at the next start and empty unlogged tables (docs/postgres-kernel-facts.md §6)",
    "role pg_service (pg_service_shutdown: true, pg_service_timeout_stop_sec)")
LIMITS_BELOW_NEED = Check(
    "process.limits_below_need", "medium",
    "a running postmaster with fewer open files, processes or locked memory than configured fails connections "
    "or its huge page mapping under load (docs/postgres-kernel-facts.md §3)",
    "role pg_service (pg_service_limits: true, pg_service_limit_nofile, pg_service_limit_nproc, "
    "pg_service_limit_memlock), then a restart")
RESTART_PENDING = Check(
    "process.restart_pending", "low",
    "the running postmaster lacks what its unit now gives a new one, until it is restarted",
    "role pg_service (pg_service_restart: if_needed) restarts one cluster at a time")
CHECKS = (POSTMASTER_UNPROTECTED, BACKENDS_PROTECTED, SHUTDOWN_SIGTERM, LIMITS_BELOW_NEED, RESTART_PENDING)

SIGTERM = ("15", "SIGTERM", "TERM")
NO_PROPERTIES = ("pg_service_units reported no unit properties (in check mode it reads them only when no drop-in "
                 "would change: call it with oom, shutdown and limits false)")
NEGATIVE_REFUSED = ("containers refuse a negative oom_score_adj without CAP_SYS_RESOURCE, so the protected score "
                    "cannot show here (docs/postgres-kernel-facts.md §4)")


def service_problem(host, service):
    """Why pg_service_units' answer is missing for this host, or None."""
    if host.get("service_mgr") not in (None, "systemd"):
        return "the service manager is %s: pg_service_units reads systemd units only" % host.get("service_mgr")
    return result_problem(service, "pg_service_units")


def _unit_problem(entry):
    if entry.get("restart") == "no unit":
        return "no systemd unit is known for this cluster"
    return None


def _live_problem(entry):
    return _unit_problem(entry) or (None if entry.get("live") else "the postmaster is not running (%s)" % entry.get("restart"))


def check_postmaster(host, entry, cluster, policy):
    problem = _live_problem(entry)
    if problem:
        return not_verifiable(POSTMASTER_UNPROTECTED, cluster, problem)
    want = policy_value(policy, "pg_service_oom_score_adjust")
    score = entry["live"].get("oom_score_adj")
    evidence = {"pid": entry["live"].get("pid"), "oom_score_adj": score, "pg_service_oom_score_adjust": want}
    if score is None:
        return not_verifiable(POSTMASTER_UNPROTECTED, cluster, "/proc shows no oom_score_adj", evidence)
    if score <= want:
        return passed(POSTMASTER_UNPROTECTED, cluster, evidence)
    if want < 0 and (host.get("container") or {}).get("is_container"):
        return not_verifiable(POSTMASTER_UNPROTECTED, cluster, NEGATIVE_REFUSED, evidence)
    return finding(POSTMASTER_UNPROTECTED, cluster, evidence)


def check_backends(host, entry, cluster):
    problem = _live_problem(entry)
    if problem:
        return not_verifiable(BACKENDS_PROTECTED, cluster, problem)
    live = entry["live"]
    scores = dict((str(pid), score) for pid, score in (live.get("backends") or {}).items())
    protected = dict((pid, score) for pid, score in scores.items() if score < 0)
    evidence = {"postmaster_oom_score_adj": live.get("oom_score_adj"), "environ": dict(live.get("environ") or {}),
                "backends": len(scores), "protected_backends": protected}
    if protected:
        return finding(BACKENDS_PROTECTED, cluster, evidence)
    postmaster_protected = (live.get("oom_score_adj") or 0) < 0
    if postmaster_protected or evidence["environ"].get(su.OOM_ENV[0]) == su.OOM_FILE:
        return passed(BACKENDS_PROTECTED, cluster, evidence)
    if (host.get("container") or {}).get("is_container"):
        # Neither the postmaster's protection nor its absence in the children shows here.
        return not_verifiable(BACKENDS_PROTECTED, cluster, NEGATIVE_REFUSED + "; PG_OOM_ADJUST_FILE is not set",
                              evidence)
    return passed(BACKENDS_PROTECTED, cluster, evidence)


def check_shutdown(entry, cluster):
    problem = _unit_problem(entry)
    properties = entry.get("unit_properties") or {}
    if problem or not properties:
        return not_verifiable(SHUTDOWN_SIGTERM, cluster, problem or NO_PROPERTIES)
    evidence = dict((key, properties.get(key)) for key in ("KillMode", "KillSignal", "TimeoutStopUSec"))
    if evidence["KillMode"] == "control-group" and evidence["KillSignal"] in SIGTERM:
        return finding(SHUTDOWN_SIGTERM, cluster, evidence)
    return passed(SHUTDOWN_SIGTERM, cluster, evidence)


def limits_need(host, cluster, policy):
    """{name: least soft limit} the roles would give the server: pg_service's limits, and for
    memlock the memory the cluster maps in huge pages (service_plan.memlock_want)."""
    need = {"nofile": policy_value(policy, "pg_service_limit_nofile"),
            "nproc": policy_value(policy, "pg_service_limit_nproc")}
    memlock, dummy, dummy2 = memlock_want(cluster, 0, str(policy_value(policy, "pg_service_limit_memlock")),
                                          host.get("hugepage_size_kb") or 0)
    if memlock is not None:
        need["memlock"] = memlock
    return need


def check_limits(host, entry, cluster, policy):
    problem = _live_problem(entry)
    if problem:
        return not_verifiable(LIMITS_BELOW_NEED, cluster, problem)
    need = limits_need(host, cluster, policy)
    live = dict((name, su.parse_limit(text, sizes=True)) for name, text in (entry["live"].get("limits") or {}).items())
    unit = show_limits(entry.get("unit_properties") or {})
    below, evidence = [], {}
    for name, unit_key, dummy in LIMITS:
        if name not in need or name not in live:
            continue
        evidence[unit_key] = {"live": entry["live"]["limits"][name], "need": su.render_limit_value(need[name]),
                              "unit": su.render_limit(unit[name]) if name in unit else None}
        if live[name][0] < need[name]:
            below.append((name, unit_key))
    evidence = {"limits": evidence, "below": [key for dummy, key in below]}
    if not below:
        return passed(LIMITS_BELOW_NEED, cluster, evidence)
    granted_less = all(name in unit and unit[name][0] >= need[name] for name, dummy in below)
    if granted_less and (host.get("container") or {}).get("is_container"):
        # The unit asks for enough; a container's PID 1 without CAP_SYS_RESOURCE grants no more than its own limits.
        return not_verifiable(LIMITS_BELOW_NEED, cluster, "the unit gives enough, but this container's PID 1 grants "
                              "no more than its own hard limits", evidence)
    return finding(LIMITS_BELOW_NEED, cluster, evidence)


def check_restart(entry, cluster):
    problem = _unit_problem(entry)
    if problem:
        return not_verifiable(RESTART_PENDING, cluster, problem)
    evidence = {"restart": entry.get("restart"), "reasons": list(entry.get("reasons") or [])}
    if entry.get("restart") != "pending":
        return passed(RESTART_PENDING, cluster, evidence)
    unwritten = sorted(path for path, state in (entry.get("files") or {}).items() if state == "changed")
    if unwritten:
        return not_verifiable(RESTART_PENDING, cluster, "pg_service_units would still write %s, so its verdict "
                              "compares with files not in place" % ", ".join(unwritten), evidence)
    return finding(RESTART_PENDING, cluster, evidence)


def service_entries(facts):
    """[(pg_service_units' entry, the pghost_clusters_found cluster it is about)], matched by data directory."""
    clusters = dict((c.get("data_directory"), c) for c in facts.get("clusters") or [])
    entries = (facts.get("service") or {}).get("clusters") or []
    return [(entry, clusters.get(entry.get("data_directory"), entry)) for entry in entries]


def audit(facts, policy):
    """Process records for one Linux host, one per check and cluster."""
    host = facts.get("host") or {}
    problem = service_problem(host, facts.get("service"))
    if problem:
        return [not_verifiable(check, cluster, problem) for cluster in facts.get("clusters") or [] for check in CHECKS]
    records = []
    for entry, cluster in service_entries(facts):
        records += [check_postmaster(host, entry, cluster, policy), check_backends(host, entry, cluster),
                    check_shutdown(entry, cluster), check_limits(host, entry, cluster, policy),
                    check_restart(entry, cluster)]
    return records
