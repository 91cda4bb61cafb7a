# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, the read itself: a host the audit could not read is a finding.

An unreachable host, or one whose pg_host_facts read failed, has nothing for
the other checks to judge. Left out of the reports, it would make a fleet with
unread hosts look clean; so it answers one host-level check, host.unread, with
status "finding" and severity high: it fails a `pghost_audit_fail_on: high`
gate, counts in the Markdown summary and fails its JUnit test case.

Reads `read`: pg_host_facts' result as the audit playbook registers it, kept
even when it fails or the host is unreachable (ignore_errors,
ignore_unreachable). Ansible gives an unreachable host's result
`unreachable: true` and the connection error in `msg`, without `failed`; a
failed module gives `failed: true`, its `msg` and, when the module did not
even start (no Python on the host), `module_stderr`. A good read gives no
record: host.unread never shows for a host that was read.

A host that left the play before it was judged (its variables refused by the
argument checks, or a read the audit cannot go on without, such as an
unknown jail) has no records at all; fleet() gives it host.unread too, so the
reports cover every host the play started with.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import AuditInputError, Check, finding

UNREAD = Check(
    "host.unread", "high",
    "the audit could not read this host, so none of its checks ran: a report without it would read as if the "
    "fleet were clean while this host may have any hazard the audit looks for",
    "fix what the evidence says, then audit the host again")
CHECKS = (UNREAD,)

# evidence.cause: why the host was not read; each with the fix it needs.
UNREACHABLE, READ_FAILED, NOT_JUDGED = "unreachable", "read_failed", "not_judged"
CAUSES = (UNREACHABLE, READ_FAILED, NOT_JUDGED)
FIXES = {
    UNREACHABLE: "make the host reachable from the controller (the connection error is in the evidence: address, "
                 "SSH, credentials, become), then audit it again",
    READ_FAILED: "fix what pg_host_facts reports in the evidence (e.g. a pghost_clusters item that does not exist on "
                 "the host, or no Python there), then audit the host again",
    NOT_JUDGED: "fix the error the play's output shows for this host (e.g. a role variable its argument checks "
                "refused, or an unknown jail), then audit the host again",
}
NOT_JUDGED_MESSAGE = ("the host left the play before the audit judged it: a task failed for it (the checks of its "
                      "variables, or a read after pg_host_facts such as the jails'); the play's output names the task "
                      "and the error")
# Enough of a module's stderr to name the cause (a missing interpreter, a traceback's last lines).
STDERR_TAIL = 1000


def _unread(cause, message, **more):
    evidence = {"cause": cause, "message": message}
    evidence.update(more)
    return finding(UNREAD, None, evidence, fix=FIXES[cause])


def check_read(read):
    """[] for a good read of pg_host_facts (or no `read` given); else the host.unread finding."""
    if read is None:
        return []
    if not isinstance(read, dict):
        raise AuditInputError("facts.read: %r is not pg_host_facts' registered result" % (read,))
    if read.get("unreachable"):
        return [_unread(UNREACHABLE, read.get("msg") or "unreachable (Ansible gave no message)")]
    if read.get("skipped"):
        return [_unread(READ_FAILED, "pg_host_facts did not run for this host (%s)"
                        % (read.get("skip_reason") or "skipped"))]
    if read.get("failed"):
        more = {}
        if read.get("module_stderr"):
            more["module_stderr"] = read["module_stderr"].strip()[-STDERR_TAIL:]
        return [_unread(READ_FAILED, read.get("msg") or "pg_host_facts failed (Ansible gave no message)", **more)]
    return []


def not_judged(host_name):
    """The records of a host that left the play before it was judged."""
    record = _unread(NOT_JUDGED, NOT_JUDGED_MESSAGE)
    record["host"] = host_name
    return [record]


def fleet(hosts, judged):
    """{host: records} for every host in `hosts` (the play's hosts, ansible_play_hosts_all): the records of
    `judged` ({host: records}, the hosts still in the play when the report is written), not_judged() for the rest."""
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(host, str) for host in hosts):
        raise AuditInputError("hosts: %r is not a list of host names (pass ansible_play_hosts_all)" % (hosts,))
    if not isinstance(judged, dict):
        raise AuditInputError("judged: %r is not a mapping of host to records" % (judged,))
    stray = sorted(set(judged) - set(hosts))
    if stray:
        raise AuditInputError("judged: host(s) %s are not among the play's hosts %s"
                              % (", ".join(stray), ", ".join(hosts)))
    return dict((host, judged[host] if host in judged else not_judged(host)) for host in hosts)
