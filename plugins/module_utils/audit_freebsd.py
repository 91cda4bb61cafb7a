# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, FreeBSD: jails whose servers share the host's IPC as one UID,
the login class, and the postmaster's OOM protection.

Reads the result of pg_jail_facts (`collisions`, `jails[]` with
`shares_uid_with_host`, `isolation_default`). The kern.ipc limits are
kernel.sysv_below_need (audit_kernel.py), the same check as on Linux. No
fact module reads login.conf or a process's flags: role pg_limits and
pg_service read them where they write, so those two checks are not
verifiable from the audit's read, and say so.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import (
    Check,
    finding,
    not_verifiable,
    passed,
    result_problem,
)

JAIL_IPC_COLLISION = Check(
    "freebsd.jail_ipc_collision", "critical",
    "PostgreSQL servers that share one SysV IPC namespace as the same UID can judge each other's segment stale and "
    "remove it (docs/postgres-kernel-facts.md §1, §8)",
    "role pg_jail (pg_jail_isolation: auto gives each jail sysvshm=new from FreeBSD 11.0, distinct UIDs before; "
    "pg_jail_restart: true applies it)")
LOGIN_CLASS_MISSING = Check(
    "freebsd.login_class_missing", "medium",
    "without its login class the server starts with the default class's limits on open files, processes and "
    "locked memory (docs/postgres-kernel-facts.md §8)",
    "role pg_limits (pg_limits_freebsd: true, pg_limits_login_class)")
POSTMASTER_UNPROTECTED = Check(
    "freebsd.postmaster_unprotected", "high",
    "a postmaster without protect(1) can be killed when the system runs out of swap, which ends every connection "
    "(docs/postgres-kernel-facts.md §8)",
    "role pg_service (pg_service_oom: true) runs protect -p on each postmaster")
CHECKS = (JAIL_IPC_COLLISION, LOGIN_CLASS_MISSING, POSTMASTER_UNPROTECTED)

NO_LOGIN_CLASS_READ = ("no fact module reads login.conf or the server user's class (role pg_limits reads them when "
                       "it writes)")
NO_FLAGS_READ = ("no fact module reads the postmaster's process flags (role pg_service reads them with ps -o flags "
                 "when it protects)")


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


def audit(facts, policy):
    """FreeBSD records for one host (`policy` is not needed)."""
    clusters = facts.get("clusters") or []
    records = check_jails(facts.get("jails"))
    records.append(not_verifiable(LOGIN_CLASS_MISSING, None, NO_LOGIN_CLASS_READ))
    records += [not_verifiable(POSTMASTER_UNPROTECTED, cluster, NO_FLAGS_READ,
                               {"pid": cluster.get("pid"), "running": cluster.get("running")}) for cluster in clusters]
    return records
