# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, IPC (Linux): logind's RemoveIPC against the server users, and
the shared memory a dead cluster leaves behind.

Reads the result of pg_service_units: `logind` (its RemoveIPC verdict,
logind.remove_ipc_verdict), `server_users`, and per cluster `restart` and
`reasons`. A dead cluster is found by pg_service_units' "crashed" verdict:
after an unclean stop its segment and DSM files stay (docs/postgres-kernel-facts.md
§1, §6). For such a cluster pg_service_units also returns `stale_ipc`, what
pg_ipc_cleanup would remove, read live (ipc_cleanup_run.survey); the finding
lists those objects, so the report shows which segment and files are left.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.audit_process import service_entries, service_problem
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import Check, finding, not_verifiable, passed
from ansible_collections.pghost.hardening.plugins.module_utils.ipc_cleanup import describe

LOGIND_REMOVE_IPC = Check(
    "ipc.logind_remove_ipc", "high",
    "with RemoveIPC=yes logind deletes a non-system server user's shared memory and semaphores when the user's last "
    "session ends, and every new connection fails until a restart (docs/postgres-kernel-facts.md §5)",
    "role pg_service (pg_service_logind: true) writes RemoveIPC=no")
STALE_LEFTOVERS = Check(
    "ipc.stale_leftovers", "high",
    "a cluster that was killed, not stopped, leaves its SysV segment and DSM files behind, and its next start runs "
    "crash recovery (docs/postgres-kernel-facts.md §1, §6)",
    "role pg_service (pg_service_restart: if_needed) stops the cluster, removes its stale IPC as pg_ipc_cleanup "
    "does and starts it")
CHECKS = (LOGIND_REMOVE_IPC, STALE_LEFTOVERS)


def check_logind(service):
    logind = service.get("logind") or {}
    users = service.get("server_users") or {}
    evidence = {"remove_ipc": logind.get("remove_ipc"), "verdict": logind.get("verdict"),
                "non_system_users": sorted(name for name, info in users.items() if not info.get("system"))}
    if logind.get("needs_remove_ipc_no") is None:
        return not_verifiable(LOGIND_REMOVE_IPC, None, "pg_service_units gave no logind verdict", evidence)
    if logind["needs_remove_ipc_no"]:
        return finding(LOGIND_REMOVE_IPC, None, evidence)
    return passed(LOGIND_REMOVE_IPC, None, evidence)


def leftover_objects(stale_ipc):
    """The evidence lines for the objects a crashed cluster left: one per object, with
    its id or path and size, and the ones the cleanup would leave alone marked so."""
    lines = [describe(obj) for obj in stale_ipc.get("objects") or []]
    lines += ["left alone by the cleanup: " + describe(obj) for obj in stale_ipc.get("unattributed") or []]
    return lines


def check_leftovers(entry, cluster):
    if entry.get("restart") == "no unit":
        return not_verifiable(STALE_LEFTOVERS, cluster, "no systemd unit is known for this cluster")
    evidence = {"restart": entry.get("restart"), "reasons": list(entry.get("reasons") or [])}
    if entry.get("restart") != "crashed":
        return passed(STALE_LEFTOVERS, cluster, evidence)
    stale_ipc = entry.get("stale_ipc")
    if stale_ipc is None:
        evidence["objects"] = "not listed: pg_service_units returned no stale_ipc for this cluster"
    else:
        evidence.update(objects=leftover_objects(stale_ipc), ipc_state=stale_ipc.get("state"),
                        ipc_read=stale_ipc.get("msg"))
    # Crashed is the finding even when nothing is left: its next start runs crash recovery.
    return finding(STALE_LEFTOVERS, cluster, evidence)


def audit(facts, policy):
    """IPC records for one Linux host (`policy` is not needed)."""
    problem = service_problem(facts.get("host") or {}, facts.get("service"))
    if problem:
        return [not_verifiable(LOGIND_REMOVE_IPC, None, problem)] + [
            not_verifiable(STALE_LEFTOVERS, cluster, problem) for cluster in facts.get("clusters") or []]
    return [check_logind(facts["service"])] + [check_leftovers(entry, cluster) for entry, cluster in service_entries(facts)]
