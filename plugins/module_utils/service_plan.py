# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What pg_service_units writes for each cluster's unit, and its restart verdict.

Pure: the module reads the unit files, the drop-ins, Debian's environment
file, `systemctl show` and /proc, and hands them here as plain data; it
writes what plan_unit() and file_changes() return and reloads systemd.
The drop-ins' content and the comparisons come from service_units.py.
"""

from __future__ import annotations

import os
from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils import service_units as su
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import ClusterError, cluster_spec
from ansible_collections.pghost.hardening.plugins.module_utils.host_limits import LIMITS, show_limits, show_property
from ansible_collections.pghost.hardening.plugins.module_utils.hugepages import hugepage_lock_bytes

# The properties the drop-ins manage, as systemd's merged unit gives them.
SHOW_VERIFY = ("OOMScoreAdjust", "OOMPolicy", "KillMode", "KillSignal", "TimeoutStopUSec") + tuple(
    show_property(name, soft) for name, dummy, dummy2 in LIMITS for soft in (False, True))
# How a unit ends when its main process was killed (systemd.exec(5) $SERVICE_RESULT) ...
CRASH_RESULTS = ("signal", "core-dump")
# ... and how systemd records it when an ExecStop= that fails afterwards sets
# Result=exit-code (Debian's pg_ctlcluster stop exits 2 for a dead cluster):
# the main process's si_code, CLD_KILLED = 2, CLD_DUMPED = 3 (waitid(2)).
KILLED_CODES = ("2", "3")

# desired: [(path, text)] to have; limits: {name: (soft, hard)} written; oom_source: the file that sets
# PG_OOM_ADJUST_*; warnings: lines for module.warn.
UnitPlan = namedtuple("UnitPlan", ["desired", "limits", "oom_source", "warnings"])
# files: {path: "changed"|"unchanged"}; changed: settings written; diffs; writes: [(path, text)] that differ.
FileChanges = namedtuple("FileChanges", ["files", "changed", "diffs", "writes"])


def new_result(cluster):
    """The cluster's entry of RV(clusters) before anything is known."""
    return dict(name=cluster.get("name"), unit=cluster.get("unit"), data_directory=cluster.get("data_directory"),
                files={}, changed=[], restart="not needed", reasons=[], limits={}, clamped={}, live={},
                unit_properties={})


def dropin_dir(unit_dir, unit):
    return "%s/%s.d" % (unit_dir, unit)


def own_files(unit_info, unit_dir, unit):
    """The unit file and its drop-ins in systemd's order (FragmentPath, DropInPaths), the collection's left out."""
    ours = set("%s/%s" % (dropin_dir(unit_dir, unit), name) for name in su.DROPINS)
    paths = [unit_info.get("FragmentPath")] + (unit_info.get("DropInPaths") or "").split()
    return [path for path in paths if path and path not in ours]


def debian_env_file(cluster):
    """The `environment` file pg_ctlcluster reads for this cluster (PgCommon cluster_conf_filename)."""
    config = cluster.get("config_file") or ""
    if config.startswith("/etc/postgresql/"):
        return os.path.join(os.path.dirname(config), "environment")
    return "/etc/postgresql/%s/environment" % cluster.get("name")


def managed_paths(params, cluster):
    """Every file plan_unit may write for the cluster: the three drop-ins and Debian's environment file."""
    directory = dropin_dir(params["unit_dir"], cluster["unit"])
    return ["%s/%s" % (directory, name) for name in su.DROPINS] + [debian_env_file(cluster)]


def memlock_want(cluster, index, setting, hugepage_kb):
    """(LimitMEMLOCK bytes or None, reason or None, warning or None) for the limit_memlock option."""
    if setting == "infinity":
        return su.INFINITY, None, None
    if setting != "auto":
        return int(setting), None, None
    try:
        size, reason = hugepage_lock_bytes(cluster_spec(cluster, index), hugepage_kb)
    except ClusterError as exc:
        return None, None, "%s: LimitMEMLOCK left to the unit: %s" % (cluster.get("name"), exc)
    return (size or None), (reason if size else None), None


def plan_unit(params, cluster, index, unit_texts, current, manager):
    """UnitPlan for one cluster's unit.

    unit_texts: the texts of own_files(); current: {path: text} of
    managed_paths() ("" when missing); manager: systemd's DefaultLimit*
    (host_limits.manager_limits). Raises su.UnitValueError, its message
    naming the file, when Debian's environment file cannot be edited.
    """
    directory = dropin_dir(params["unit_dir"], cluster["unit"])
    base = su.unit_baseline(unit_texts, manager)
    desired, oom_source, warnings = [], su.OOM_DROPIN, []
    if params["oom"]:
        env_file = debian_env_file(cluster) if su.uses_pg_ctlcluster(base["exec_start"]) else None
        desired.append((directory + "/" + su.OOM_DROPIN, su.oom_dropin(
            params["oom_score_adjust"], params["backend_oom_score_adjust"], base["exec_start"], env_file,
            params["oom_policy"])))
        if env_file:
            try:
                desired.append((env_file, su.env_block(current.get(env_file, ""), params["backend_oom_score_adjust"])))
            except su.UnitValueError as exc:
                raise su.UnitValueError("%s: %s; nothing was written" % (env_file, exc))
            oom_source = env_file
    if params["shutdown"]:
        desired.append((directory + "/" + su.SHUTDOWN_DROPIN,
                        su.shutdown_dropin(params["timeout_stop_sec"], base["timeout_stop"])))
    limits = {}
    if params["limits"]:
        memlock, memlock_reason, warning = memlock_want(cluster, index, params["limit_memlock"],
                                                        params["hugepage_size_kb"])
        warnings += [warning] if warning else []
        wanted = {"nofile": params["limit_nofile"], "nproc": params["limit_nproc"], "memlock": memlock}
        limits = su.limits_values(wanted, base["limits"])
        notes = ["LimitMEMLOCK: " + memlock_reason] if memlock_reason else []
        desired.append((directory + "/" + su.LIMITS_DROPIN, su.limits_dropin(limits, notes)))
    return UnitPlan(desired, limits, oom_source, warnings)


def file_changes(desired, current, backend_score):
    """FileChanges of writing `desired` over `current` ({path: text}, "" when missing)."""
    files, changed, diffs, writes = {}, [], [], []
    for path, text in desired:
        before = current.get(path, "")
        if before == text:
            files[path] = "unchanged"
            continue
        files[path] = "changed"
        if path.endswith(".conf"):
            changed.extend(su.changed_settings(before, text))
        else:
            changed.append("%s: PG_OOM_ADJUST_VALUE=%d" % (path, backend_score))
        diffs.append(dict(before=before, after=text, before_header=path, after_header=path))
        writes.append((path, text))
    return FileChanges(files, changed, diffs, writes)


def verify(params, unit, limits, shown, systemd_version):
    """(unit_properties, the unit's effective limits or {}, warnings): what systemd's merged unit gives
    (`systemctl show`, read after the daemon-reload), and where it is not what the drop-ins write."""
    properties = dict((k, shown[k]) for k in SHOW_VERIFY if k in shown)
    effective = show_limits(shown)
    if not effective:
        return properties, {}, []
    warnings = ["%s: %s" % (unit, line) for line in su.overridden(limits, effective)]
    if params["oom"] and shown.get("OOMPolicy", "") != params["oom_policy"]:
        warnings.append("%s: OOMPolicy is %r, not %s as 60-pghost-oom.conf writes: %s" % (
            unit, shown.get("OOMPolicy", ""), params["oom_policy"],
            "systemd %s predates OOMPolicy= (%d); a backend killed by the OOM killer stops the whole unit"
            % (systemd_version, su.OOM_POLICY_SINCE) if systemd_version and systemd_version < su.OOM_POLICY_SINCE
            else "a later drop-in overrides it"))
    return properties, effective, warnings


def crashed_reason(pid_file, unit, unit_info):
    """Why a not-running cluster looks crashed, or None.

    pid_file: postmaster.pid_file_liveness (None without postmaster.pid,
    else the pid it names and whether that is still this cluster's
    postmaster, so a pid reused by another program counts as gone). Its postmaster.pid outlived the postmaster, or - Debian's
    ExecStop (pg_ctlcluster) deletes a stale pid file - its unit failed
    because the main process was killed by a signal. A unit whose server
    failed to start or exited with an error is not a crash and is not
    restarted by the role.
    """
    if pid_file is not None:
        first, alive = pid_file
        if not alive:
            return "postmaster.pid is left by PID %s, which no longer runs: the last stop was unclean" % (first or "?")
    if unit_info.get("ActiveState") != "failed":
        return None
    if unit_info.get("Result") in CRASH_RESULTS or unit_info.get("ExecMainCode") in KILLED_CODES:
        return "unit %s failed (Result=%s, main process killed by signal %s): the postmaster was killed, not stopped" % (
            unit, unit_info.get("Result"), unit_info.get("ExecMainStatus") or "?")
    return None


def restart_verdict(params, live, judged, crash):
    """(restart, reasons) for the cluster.

    live: the running postmaster's state from /proc ({} when none runs);
    judged: (limits the unit gives, where they come from, oom_source, caps,
    can_raise); crash: crashed_reason() for a cluster that does not run.
    """
    if not live:
        return ("crashed", [crash]) if crash else ("not running", [])
    limits, limits_source, oom_source, caps, can_raise = judged
    reasons = su.restart_reasons(
        params["oom"], params["backend_oom_score_adjust"], limits, live["environ"], live["limits_raw"], caps,
        oom_source, limits_source, score=params["oom_score_adjust"], live_score=live["oom_score_adj"],
        can_lower_score=can_raise)
    return ("pending" if reasons else "not needed"), reasons


def summary_line(result):
    """The cluster's line of RV(msg)."""
    return "%s (%s): %s; restart %s%s" % (
        result["name"], result["unit"], ", ".join(result["changed"]) or "no change", result["restart"],
        ": " + "; ".join(result["reasons"]) if result["reasons"] else "")
