# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit of one host: every check of its platform, as records.

Input - what the read-only fact modules already return for the host, and
the values the roles are configured with:

    facts = {
      "read":     pg_host_facts' result,    # as registered, kept when it failed or the host was unreachable
      "host":     pghost_host,              # pg_host_facts (`host`)
      "clusters": pghost_clusters_found,    # pg_host_facts (`clusters`)
      "kernel":   pg_kernel_params' result, # run on the controller from the two above
      "service":  pg_service_units' result, # Linux/systemd, check mode, oom/shutdown/limits false
      "jails":    pg_jail_facts' result,    # FreeBSD
    }
    policy = {"pg_kernel_swappiness_value": 1, "pg_kernel_commit_headroom_pct": 10,
              "pg_service_oom_score_adjust": -1000, "pg_service_limit_nofile": 65536,
              "pg_service_limit_nproc": 65536, "pg_service_limit_memlock": "auto",
              "pg_limits_nofile": 65536, "pg_limits_nproc": 65536, "pg_limits_memlock": "auto"}

A module result that is missing, or that failed (`failed`, `msg`), makes
the checks that need it not verifiable, naming why. The read itself is
different: when `read` says the host was unreachable or pg_host_facts failed,
the host's only record is the finding host.unread with Ansible's message
(audit_read.py), and the other keys are ignored - with fact caching,
ansible_facts may still hold an earlier run's pghost_host. Without `read`
(or with a good one) the host was read and every check of its platform
answers. Output - a list of records (audit_record.py documents the shape),
each with `host` set. The checks, one concern per file:

    audit_read.py     host.unread (not a platform's check: only a host that was not read answers it)
    audit_fsync.py    fsync.minor_unfixed, fsync.no_fixed_release, fsync.data_sync_retry_on
    audit_kernel.py   kernel.sysv_below_need, kernel.overcommit_not_strict, kernel.commit_limit_short,
                      kernel.swappiness_high, kernel.thp_always, kernel.hugepages_short_on,
                      kernel.hugepages_short_try
    audit_process.py  process.postmaster_unprotected, process.backends_protected,
                      process.shutdown_sigterm, process.limits_below_need, process.restart_pending
    audit_ipc.py      ipc.logind_remove_ipc, ipc.stale_leftovers
    audit_freebsd.py  freebsd.jail_ipc_collision, freebsd.login_class_missing,
                      freebsd.postmaster_unprotected
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils import (
    audit_freebsd,
    audit_fsync,
    audit_ipc,
    audit_kernel,
    audit_process,
    audit_read,
)
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import AuditInputError
from ansible_collections.pghost.hardening.plugins.module_utils.sysv import PLATFORMS

# Per platform, the concerns whose checks it has, in report order.
CONCERNS = {
    "linux": (audit_fsync, audit_kernel, audit_process, audit_ipc),
    "freebsd": (audit_fsync, audit_kernel, audit_freebsd),
}
FACT_KEYS = ("read", "host", "clusters", "kernel", "service", "jails")


def all_checks():
    """Every check (audit_record.Check) of every concern, each once, host.unread first."""
    seen, checks = set(), list(audit_read.CHECKS)
    for concerns in CONCERNS.values():
        for concern in concerns:
            for check in concern.CHECKS:
                if check.id not in seen:
                    seen.add(check.id)
                    checks.append(check)
    return checks


def platform_checks(platform):
    """The ids of the checks a host of `platform` answers."""
    return [check.id for concern in CONCERNS[platform] for check in concern.CHECKS
            if platform == "linux" or check not in getattr(concern, "LINUX_ONLY", ())]


def audit_host(host_name, facts, policy):
    """Records of every check for one host (see the module docstring)."""
    if not isinstance(facts, dict):
        raise AuditInputError("facts: %r is not a mapping of the fact modules' results" % (facts,))
    unknown = sorted(set(facts) - set(FACT_KEYS))
    if unknown:
        raise AuditInputError("facts: unknown key(s) %s; expected %s" % (", ".join(unknown), ", ".join(FACT_KEYS)))
    records = audit_read.check_read(facts.get("read"))
    if records:
        return _with_host(records, host_name)
    platform = (facts.get("host") or {}).get("platform")
    if platform not in PLATFORMS:
        raise AuditInputError("facts.host.platform: %r is not one of %s; pass pg_host_facts' host"
                              % (platform, ", ".join(PLATFORMS)))
    records = []
    for concern in CONCERNS[platform]:
        records += concern.audit(facts, policy)
    return _with_host(records, host_name)


def _with_host(records, host_name):
    for record in records:
        record["host"] = host_name
    return records
