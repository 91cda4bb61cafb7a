# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restart PostgreSQL clusters one at a time through their systemd units.

Role pg_service's restart path (pg_service_restart: if_needed) as one module
call per host (pg_cluster_restart) instead of four module round trips per
cluster. Per cluster, in the order given:

  stop         `systemctl stop UNIT`: the unit's own shutdown, fast with the
               collection's drop-in (KillSignal=SIGINT) and Debian's
               pg_ctlcluster (-m fast) (docs/postgres-kernel-facts.md §6)
  ipc cleanup  ipc_cleanup_run.cleanup, the one pg_ipc_cleanup runs: what an
               unclean stop left of this data directory only
  start        `systemctl start UNIT`
  wait         postmaster.pid (postmaster.parse_pid_file) polled until its
               status line says ready, or standby for a warm standby that
               never accepts connections (pg_ctl counts both as started;
               src/include/utils/pidfile.h), and its pid is this data
               directory's live postmaster (postmaster.postmaster_alive), so
               that a stale file left by a crash never counts

The first cluster that fails at any step ends the run: the clusters after it
keep their running postmasters, as the role promised when it restarted them
with one include per cluster.

restart_clusters() holds the order and the stop-at-the-first-failure
bookkeeping; everything it does to the host goes through a host object
(SystemdHost on a real host, a fake in the unit tests). The per-cluster
outcome, the `restarted` report, the diff and the failure message are pure.
"""

from __future__ import annotations

import os
import time
from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils import ipc_cleanup_run, postmaster

READY = ("ready", "standby")
# How often postmaster.pid is read while waiting: one small file, so often
# enough that a ready server is seen within half a second.
POLL_SECONDS = 0.5
# The result of pg_ipc_cleanup a restart keeps per cluster (not its diff).
CLEANUP_KEYS = ("state", "msg", "removed", "unattributed", "notes", "postmaster_pid")


class RestartInputError(ValueError):
    """A cluster that cannot be restarted as given; the message names it."""


Target = namedtuple("Target", ["name", "unit", "data_directory", "reason", "version"])
Failure = namedtuple("Failure", ["target", "step", "error", "ipc_cleanup"])
# step: "stop", "ipc cleanup", "start" or "wait"; ipc_cleanup: the cleanup's
# result once it ran, else None.
Run = namedtuple("Run", ["results", "failure", "warnings"])


def restart_targets(clusters):
    """The Targets of the clusters given, in order. An item may be an entry of
    pg_service_units' RV clusters or of pghost_clusters_found as it is; only
    name, unit, data_directory, restart (the reason) and version are read."""
    targets = []
    for index, cluster in enumerate(clusters):
        label = "clusters[%d]%s" % (index, " (%s)" % cluster["name"] if cluster.get("name") else "")
        unit = cluster.get("unit")
        if not unit or not isinstance(unit, str):
            raise RestartInputError("%s: no systemd unit; restarts go through the unit, give `unit`" % label)
        data_directory = cluster.get("data_directory")
        if not data_directory or not isinstance(data_directory, str) or not data_directory.startswith("/"):
            raise RestartInputError("%s: data_directory %r is not an absolute path" % (label, data_directory))
        version = cluster.get("version")
        targets.append(Target(name=cluster.get("name") or unit, unit=unit,
                              data_directory=data_directory.rstrip("/") or "/", reason=cluster.get("restart"),
                              version=str(version) if version not in (None, "") else None))
    return targets


def missing_directories(targets, is_directory):
    """A message naming the targets whose data directory is not a directory, or None.
    Checked before the first stop, so a wrong path stops no cluster."""
    missing = ["%s (%s)" % (t.name, t.data_directory) for t in targets if not is_directory(t.data_directory)]
    if not missing:
        return None
    return "data directory missing or not a directory: %s; no cluster was stopped" % ", ".join(missing)


def outcome(reason):
    """'recovered' for a cluster whose postmaster had died ('crashed'), else 'done'."""
    return "recovered" if reason == "crashed" else "done"


def restarted_text(result):
    """One cluster's entry of `restarted`, as role pg_service has always reported it."""
    count = len(result["removed"])
    return result["outcome"] + (" (stale IPC removed: %d objects)" % count if count else "")


def restarted_report(results):
    """{cluster name: 'done' / 'recovered', with the stale IPC removed} of the clusters restarted."""
    return dict((r["name"], restarted_text(r)) for r in results)


def start_state(path, text, alive):
    """(started, what postmaster.pid says) after a start. text is the file's
    content (None: missing); alive(pid) tells whether that pid is this data
    directory's postmaster, asked only once the status is ready or standby."""
    if text is None:
        return False, "%s is missing" % path
    try:
        pid_file = postmaster.parse_pid_file(text)
    except postmaster.PidFileError as exc:
        return False, "%s cannot be understood (%s)" % (path, exc)
    if pid_file.status is None:
        return False, "%s has no status line yet (servers before 10 never write one)" % path
    if pid_file.status not in READY:
        return False, "%s says %r (postmaster pid %d)" % (path, pid_file.status, pid_file.pid)
    if not alive(pid_file.pid):
        return False, "%s says %r but its postmaster pid %d is not running (a stale file)" % (
            path, pid_file.status, pid_file.pid)
    return True, "%s says %r (postmaster pid %d)" % (path, pid_file.status, pid_file.pid)


def _wait(target, host, timeout, interval):
    """None once the server is started, else what postmaster.pid said last when time ran out."""
    path = os.path.join(target.data_directory, postmaster.PID_FILE)
    deadline = host.now() + timeout
    while True:
        started, seen = start_state(path, host.read_pid_file(target.data_directory),
                                    lambda pid: host.postmaster_alive(pid, target.data_directory))
        if started:
            return None
        remaining = deadline - host.now()
        if remaining <= 0:
            return "%s; ready or standby was expected" % seen
        host.sleep(min(interval, remaining))


def _restart_one(target, host, timeout, interval, warnings):
    """The cluster's result, or a Failure at the first step that failed."""
    began = host.now()
    rc, said = host.systemctl("stop", target.unit)
    if rc != 0:
        return Failure(target, "stop", "systemctl stop %s exited %d: %s" % (target.unit, rc, said), None)
    cleaned = host.cleanup(target.data_directory, target.version)
    kept = dict((k, cleaned.result[k]) for k in CLEANUP_KEYS if k in cleaned.result)
    if cleaned.failed:
        return Failure(target, "ipc cleanup", cleaned.result["msg"], kept)
    if cleaned.warning:
        warnings.append("%s: %s" % (target.name, cleaned.warning))
    rc, said = host.systemctl("start", target.unit)
    if rc != 0:
        return Failure(target, "start", "systemctl start %s exited %d: %s" % (target.unit, rc, said), kept)
    error = _wait(target, host, timeout, interval)
    if error:
        return Failure(target, "wait", error, kept)
    return dict(name=target.name, unit=target.unit, data_directory=target.data_directory, reason=target.reason,
                outcome=outcome(target.reason), removed=kept["removed"], ipc_cleanup=kept,
                seconds=round(host.now() - began, 1))


def restart_clusters(targets, host, timeout, interval=POLL_SECONDS):
    """Restart targets in order, one at a time, up to the first failure -> Run.

    results: one dict per cluster restarted (name, unit, data_directory,
    reason, outcome, removed, ipc_cleanup, seconds); failure: the Failure that
    ended the run, or None; warnings: lines about IPC objects left alone.
    """
    results, warnings = [], []
    for target in targets:
        done = _restart_one(target, host, timeout, interval, warnings)
        if isinstance(done, Failure):
            return Run(results, done, warnings)
        results.append(done)
    return Run(results, None, warnings)


def failure_message(failure, results, timeout):
    """The message a failed run fails with: the cluster, its unit, the step and
    the error, what was restarted before it, and that nothing was after it."""
    target = failure.target
    if failure.step == "wait":
        head = "%s (%s) did not come back within %s s after the restart (step wait): %s." % (
            target.name, target.unit, timeout, failure.error)
    else:
        head = "%s (%s): the restart failed at step %s: %s." % (target.name, target.unit, failure.step, failure.error)
        if failure.step == "ipc cleanup":
            head += " The cluster was stopped and is left stopped."
    before = "; ".join("%s: %s" % (r["name"], restarted_text(r)) for r in results) or "none"
    return ("%s See `journalctl -u %s` and the server log. Restarted before it: %s. "
            "No other cluster was restarted after it." % (head, target.unit, before))


def diff(targets, results, check_mode):
    """before: each cluster and why it restarts; after: what its restart reported."""
    done = dict((r["name"], restarted_text(r)) for r in results)
    before = "".join("%s (%s): restart %s\n" % (t.name, t.unit, t.reason or "asked") for t in targets)
    after = "".join("%s (%s): %s\n" % (t.name, t.unit, "would be restarted" if check_mode else done.get(t.name))
                    for t in targets if check_mode or t.name in done)
    return dict(before=before, after=after, before_header="clusters to restart", after_header="clusters to restart")


class SystemdHost:
    """The real host behind restart_clusters: systemctl through the module's
    run_command, files and liveness through HostFiles, the cleanup of
    ipc_cleanup_run, and the clock."""

    def __init__(self, run_command, systemctl, files, platform):
        self._run = run_command
        self._systemctl = systemctl
        self.files = files
        self.platform = platform

    def systemctl(self, verb, unit):
        """(exit code, what systemctl said, on one line)."""
        rc, out, err = self._run([self._systemctl, verb, unit])
        return rc, " ".join((err or out or "").split()) or "no output"

    def cleanup(self, data_directory, version):
        return ipc_cleanup_run.cleanup(data_directory, version, files=self.files, platform=self.platform)

    def read_pid_file(self, data_directory):
        return self.files.read(os.path.join(data_directory, postmaster.PID_FILE))

    def postmaster_alive(self, pid, data_directory):
        return postmaster.postmaster_alive(self.files, self.platform, pid, data_directory)

    def is_directory(self, path):
        return self.files.isdir(path)

    @staticmethod
    def now():
        return time.monotonic()

    @staticmethod
    def sleep(seconds):
        time.sleep(seconds)
