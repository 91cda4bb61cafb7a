# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, FreeBSD: jails whose servers share the host's IPC as one UID,
the login class, and the postmaster's OOM protection.

Reads the result of pg_jail_facts (`collisions`, `jails[]` with
`shares_uid_with_host`, `isolation_default`) and, per cluster of
pg_host_facts, `login_class` and `oom_protection` (module_utils/
freebsd_server.py). The kern.ipc limits are kernel.sysv_below_need
(audit_kernel.py), the same check as on Linux.

The login class is judged against what role pg_limits would write
(login_class_plan.class_capabilities of pg_limits_nofile, _nproc and
_memlock): a class login.conf lacks, a soft or hard limit below the asked
value or not set, or a login.conf.db older than the file is a finding.
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
from ansible_collections.pghost.hardening.plugins.module_utils.login_class_plan import class_capabilities, class_shortfalls

JAIL_IPC_COLLISION = Check(
    "freebsd.jail_ipc_collision", "critical",
    "PostgreSQL servers that share one SysV IPC namespace as the same UID can judge each other's segment stale and "
    "remove it (docs/postgres-kernel-facts.md §1, §8)",
    "role pg_jail (pg_jail_isolation: auto gives each jail sysvshm=new from FreeBSD 11.0, distinct UIDs before; "
    "pg_jail_restart: true applies it)")
LOGIN_CLASS_MISSING = Check(
    "freebsd.login_class_missing", "medium",
    "the server starts with the limits of its user's login class: a class login.conf lacks gives the default "
    "class's, and one below the configured open files, processes or locked memory fails connections under load "
    "(docs/postgres-kernel-facts.md §8)",
    "role pg_limits (pg_limits_freebsd: true, pg_limits_login_class, pg_limits_nofile, pg_limits_nproc, "
    "pg_limits_memlock; it rebuilds a stale login.conf.db), then a restart of the server")
POSTMASTER_UNPROTECTED = Check(
    "freebsd.postmaster_unprotected", "high",
    "a postmaster without protect(1) can be killed when the system runs out of swap, which ends every connection "
    "(docs/postgres-kernel-facts.md §8)",
    "role pg_service (pg_service_oom: true) runs protect -p on each postmaster")
CHECKS = (JAIL_IPC_COLLISION, LOGIN_CLASS_MISSING, POSTMASTER_UNPROTECTED)

NO_FACT = "pg_host_facts did not report the cluster's %s (it reads it with the clusters on FreeBSD)"
JAIL_FIX = ("protect(1) is refused inside a jail, and role pg_service leaves it alone there: protect the postmaster "
            "from the jail's host (protect -p with the pid the host sees)")


def check_jails(jails):
    """One finding per colliding group and per jail sharing the host's server UID; else one pass."""
    problem = result_problem(jails, "pg_jail_facts")
    if problem:
        return [not_verifiable(JAIL_IPC_COLLISION, None, problem)]
    base = {"freebsd_release": jails.get("freebsd_release"), "isolation_default": jails.get("isolation_default")}
    records = [finding(JAIL_IPC_COLLISION, None, dict(base, jails=list(group.get("jails") or []), uid=group.get("uid"),
                                                      message=group.get("message")))
               for group in jails.get("collisions") or []]
    host_uid = (jails.get("host") or {}).get("uid")
    records += [finding(JAIL_IPC_COLLISION, None, dict(base, jails=[jail.get("name")], uid=jail.get("uid"),
                                                       message="jail %s runs PostgreSQL in the host's IPC namespace "
                                                               "as the host server's UID %s" % (jail.get("name"), host_uid)))
                for jail in jails.get("jails") or [] if jail.get("shares_uid_with_host")]
    if records:
        return records
    return [passed(JAIL_IPC_COLLISION, None, dict(base, jails=sorted(j.get("name") for j in jails.get("jails") or [])))]


def check_login_class(cluster, policy):
    """The server user's class against what pg_limits would write of it."""
    entry = cluster.get("login_class") or {}
    asked = class_capabilities(policy_value(policy, "pg_limits_nofile"), policy_value(policy, "pg_limits_nproc"),
                               policy_value(policy, "pg_limits_memlock"))
    evidence = {"user": entry.get("user"), "class": entry.get("name"), "found": entry.get("found"),
                "effective": entry.get("effective"), "limits": entry.get("limits"),
                "database_stale": entry.get("database_stale"),
                "asked": dict((cap, str(value)) for cap, value in asked.items()), "below": []}
    if not entry:
        return not_verifiable(LOGIN_CLASS_MISSING, cluster, NO_FACT % "login_class", evidence)
    if entry.get("error"):
        return not_verifiable(LOGIN_CLASS_MISSING, cluster, entry["error"], evidence)
    evidence["below"] = class_shortfalls(entry.get("limits"), asked)
    if entry.get("found") and not evidence["below"] and not entry.get("database_stale"):
        return passed(LOGIN_CLASS_MISSING, cluster, evidence)
    return finding(LOGIN_CLASS_MISSING, cluster, evidence)


def check_postmaster(host, cluster):
    """protect(1)'s flag on the running postmaster."""
    protection = cluster.get("oom_protection")
    evidence = {"pid": cluster.get("pid"), "state": None, "flags": None}
    if not cluster.get("running"):
        return not_verifiable(POSTMASTER_UNPROTECTED, cluster, "the server is not running: protect(1) protects a "
                              "running process, and its protection ends with it", evidence)
    if not protection:
        return not_verifiable(POSTMASTER_UNPROTECTED, cluster, NO_FACT % "oom_protection", evidence)
    evidence.update(state=protection.get("state"), flags=protection.get("flags"))
    if protection.get("error"):
        return not_verifiable(POSTMASTER_UNPROTECTED, cluster, protection["error"], evidence)
    if protection.get("state") == "protected":
        return passed(POSTMASTER_UNPROTECTED, cluster, evidence)
    if protection.get("state") == "unprotected":
        jailed = (host.get("container") or {}).get("type") == "jail"
        return finding(POSTMASTER_UNPROTECTED, cluster, evidence, fix=JAIL_FIX if jailed else None)
    return not_verifiable(POSTMASTER_UNPROTECTED, cluster, "ps found no process %s: the postmaster exited after "
                          "pg_host_facts read postmaster.pid" % cluster.get("pid"), evidence)


def audit(facts, policy):
    """FreeBSD records for one host: the jails, then per cluster the login class and the postmaster."""
    host = facts.get("host") or {}
    clusters = facts.get("clusters") or []
    records = check_jails(facts.get("jails"))
    records += [check_login_class(cluster, policy) for cluster in clusters]
    records += [check_postmaster(host, cluster) for cluster in clusters]
    return records
