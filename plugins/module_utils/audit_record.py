# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit's unit of result: one record per host, check and subject.

A check is a hazard the roles fix, named by a stable id ("fsync.minor_unfixed")
with one severity. Every check the host's platform has answers with records,
so a report can show a pass as well as a failure:

    {
      "host":       "db1",                       # inventory name, set by audit_findings.audit_host
                                                 # (audit_read.fleet for a host never judged)
      "id":         "fsync.minor_unfixed",       # the check; stable across releases
      "severity":   "high",                      # the check's, also on pass and not_verifiable records
      "status":     "finding" | "pass" | "not_verifiable",
      "verifiable": true,                        # false exactly when status is not_verifiable
      "reason":     null,                        # why it is not verifiable (a sentence), else null
      "cluster":    {"name": "15/main", "version": "15", "data_directory": "/var/lib/..."} | null,
      "evidence":   {...},                       # the live numbers the verdict rests on
      "risk":       "...",                       # what goes wrong, citing its fact (one sentence)
      "fix":        "..."                        # the role and variable, or "upgrade to 9.6.12 ..."
    }

`cluster` is null for a host-level check, such as host.unread, the one
record of a host the audit could not read (audit_read.py). A cluster-level
check answers once per cluster it concerns (a check that does not concern a
cluster, such as data_sync_retry on a release without it, gives that cluster
no record).
"not_verifiable" is for what the input says could not be read here - a
container showing the machine's vm.* values, which it cannot set; a server
that is not running; a fact no module reads yet - so that nothing passes or
fails silently. The JSON Schema of the report (docs/audit-report.schema.json)
types the same record.
"""

from __future__ import annotations

from collections import namedtuple

# Most severe first; fail_on thresholds and report columns follow this order.
SEVERITIES = ("critical", "high", "medium", "low", "info")
FINDING, PASS, NOT_VERIFIABLE = "finding", "pass", "not_verifiable"
STATUSES = (FINDING, PASS, NOT_VERIFIABLE)

# id, severity, risk (one sentence, citing its fact), fix (role and variable).
Check = namedtuple("Check", ["id", "severity", "risk", "fix"])


class AuditInputError(ValueError):
    """Input the audit cannot use; the message names the key."""


def subject(cluster):
    """The record's `cluster` for a pg_host_facts cluster dict; None for the host."""
    if cluster is None:
        return None
    return {"name": cluster.get("name"), "version": cluster.get("version"),
            "data_directory": cluster.get("data_directory")}


def _record(check, status, cluster, evidence, reason=None, fix=None):
    if check.severity not in SEVERITIES:
        raise AuditInputError("check %s: severity %r is not one of %s" % (check.id, check.severity, ", ".join(SEVERITIES)))
    return {
        "id": check.id,
        "severity": check.severity,
        "status": status,
        "verifiable": status != NOT_VERIFIABLE,
        "reason": reason,
        "cluster": subject(cluster),
        "evidence": dict(evidence or {}),
        "risk": check.risk,
        "fix": fix or check.fix,
    }


def finding(check, cluster, evidence, fix=None):
    """The hazard is present; `fix` replaces the check's own where it depends on the evidence."""
    return _record(check, FINDING, cluster, evidence, fix=fix)


def passed(check, cluster, evidence):
    return _record(check, PASS, cluster, evidence)


def not_verifiable(check, cluster, reason, evidence=None):
    """`reason`: why this host cannot show it, a sentence ending without a period."""
    return _record(check, NOT_VERIFIABLE, cluster, evidence, reason="not verifiable here: " + reason)


def at_or_above(severity, threshold):
    """Whether `severity` is `threshold` or more severe."""
    return SEVERITIES.index(severity) <= SEVERITIES.index(threshold)


def policy_value(policy, name):
    """The role variable `name` from the audit's policy (the values the roles would apply).

    The audit compares with what the roles are configured to give, so the
    thresholds stay with their owners (the roles' defaults and inventory)."""
    if name not in (policy or {}):
        raise AuditInputError("policy.%s: missing; pass the role variable's value (its default is in the role's "
                              "defaults/main.yml)" % name)
    return policy[name]


def result_problem(result, module, refused="failed"):
    """Why a module's registered result cannot be judged, or None: it did not
    run for this host (absent, or a task skipped by its condition), the host
    was unreachable (`unreachable`, `msg`: Ansible sets no `failed` then), or
    it failed (`failed`, `msg`); `refused` is the verb."""
    if not result or result.get("skipped"):
        return "%s did not run for this host" % module
    if result.get("unreachable"):
        return "%s could not reach the host: %s" % (module, result.get("msg"))
    if result.get("failed"):
        return "%s %s: %s" % (module, refused, result.get("msg"))
    return None
