# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restarting clusters one at a time (module_utils/cluster_restart.py).

FakeHost stands in for SystemdHost: systemctl answers, cleanup results and
postmaster.pid contents are scripted per unit and data directory, every call
is logged in order, and the clock moves only when the code sleeps, so the
waits are exact and instant.
"""

from __future__ import annotations

import pytest
from fake_module import FakeModule

from ansible_collections.pghost.hardening.plugins.module_utils import cluster_restart as cr
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.ipc_cleanup_run import Cleanup

STALE = [{"kind": "posix_shm", "path": "/dev/shm/PostgreSQL.1", "handle": 1, "size": 8, "owner": "postgres",
          "role": "dsm segment"},
         {"kind": "sysv_shm", "id": 3, "key": 7, "size": 56, "owner": "postgres", "role": "interlock segment"}]


def pid_text(pid, status):
    lines = [str(pid), "/srv/pg", "1795616998", "5432", "/var/run/postgresql", "localhost", "  2081270         3"]
    return "\n".join(lines + ([status] if status is not None else [])) + "\n"


def cleaned(state="clean_stop", removed=(), failed=False, msg="nothing to do", warning=None):
    return Cleanup(failed, dict(changed=bool(removed), state=state, removed=list(removed), unattributed=[], notes=[],
                                postmaster_pid=None, msg=msg, diff={"before": "", "after": ""}), warning)


class FakeHost:
    def __init__(self, stop=None, start=None, cleanups=None, pid_files=None, alive=None, missing=()):
        self.stop_rc = stop or {}           # unit -> (rc, said)
        self.start_rc = start or {}
        self.cleanups = cleanups or {}      # data directory -> Cleanup
        self.pid_files = pid_files or {}    # data directory -> [text, ...] read after the start, last one repeats
        self.alive = alive                  # set of live postmaster pids; None: every pid
        self.missing = set(missing)
        self.clock = 100.0
        self.calls = []
        self.reads = {}

    def systemctl(self, verb, unit):
        self.calls.append((verb, unit))
        return (self.stop_rc if verb == "stop" else self.start_rc).get(unit, (0, "no output"))

    def cleanup(self, data_directory, version):
        self.calls.append(("cleanup", data_directory, version))
        return self.cleanups.get(data_directory, cleaned())

    def read_pid_file(self, data_directory):
        texts = self.pid_files.get(data_directory, [pid_text(900, "ready")])
        index = self.reads.get(data_directory, 0)
        self.reads[data_directory] = index + 1
        self.calls.append(("read", data_directory))
        return texts[min(index, len(texts) - 1)]

    def postmaster_alive(self, pid, data_directory):
        return self.alive is None or pid in self.alive

    def is_directory(self, path):
        return path not in self.missing

    def now(self):
        return self.clock

    def sleep(self, seconds):
        self.calls.append(("sleep", seconds))
        self.clock += seconds


def target(name="15/main", reason="pending", version=None):
    cluster = name.split("/")[1]
    return cr.Target(name=name, unit="postgresql@15-%s.service" % cluster,
                     data_directory="/var/lib/postgresql/15/%s" % cluster, reason=reason, version=version)


THREE = [target("15/main"), target("15/second", "crashed"), target("15/third")]


# --- input ------------------------------------------------------------------


@pytest.mark.parametrize("cluster, expected", [
    # an entry of pg_service_units' RV clusters, extra keys and all
    ({"name": "15/main", "unit": "postgresql@15-main.service", "data_directory": "/var/lib/postgresql/15/main",
      "restart": "crashed", "reasons": ["stale postmaster.pid"], "files": {}, "live": {}},
     cr.Target("15/main", "postgresql@15-main.service", "/var/lib/postgresql/15/main", "crashed", None)),
    # an item of pghost_clusters_found: no restart reason, a version
    ({"name": "17/main", "unit": "postgresql@17-main.service", "data_directory": "/var/lib/postgresql/17/main/",
      "version": 17, "running": False},
     cr.Target("17/main", "postgresql@17-main.service", "/var/lib/postgresql/17/main", None, "17")),
    # no name: the unit names it
    ({"unit": "postgresql-16.service", "data_directory": "/srv/pg16", "version": ""},
     cr.Target("postgresql-16.service", "postgresql-16.service", "/srv/pg16", None, None)),
])
def test_restart_targets(cluster, expected):
    assert cr.restart_targets([cluster]) == [expected]


@pytest.mark.parametrize("cluster, text", [
    ({"name": "15/main", "data_directory": "/srv/pg"}, "clusters[0] (15/main): no systemd unit"),
    ({"name": "15/main", "unit": "", "data_directory": "/srv/pg"}, "clusters[0] (15/main): no systemd unit"),
    ({"unit": "pg.service"}, "clusters[0]: data_directory None is not an absolute path"),
    ({"unit": "pg.service", "data_directory": "srv/pg"}, "clusters[0]: data_directory 'srv/pg' is not an absolute"),
])
def test_restart_targets_refuses(cluster, text):
    with pytest.raises(cr.RestartInputError) as info:
        cr.restart_targets([cluster])
    assert str(info.value).startswith(text)


@pytest.mark.parametrize("missing, expected", [
    ((), None),
    (("/var/lib/postgresql/15/second",),
     "data directory missing or not a directory: 15/second (/var/lib/postgresql/15/second); no cluster was stopped"),
])
def test_missing_directories(missing, expected):
    assert cr.missing_directories(THREE, FakeHost(missing=missing).is_directory) == expected


# --- the pure report --------------------------------------------------------


@pytest.mark.parametrize("reason, removed, text", [
    ("pending", [], "done"),
    (None, [], "done"),
    ("crashed", [], "recovered"),
    ("crashed", STALE, "recovered (stale IPC removed: 2 objects)"),
    ("pending", STALE[:1], "done (stale IPC removed: 1 objects)"),
])
def test_restarted_text(reason, removed, text):
    assert cr.restarted_text({"outcome": cr.outcome(reason), "removed": removed}) == text


PATH = "/srv/pg/postmaster.pid"


@pytest.mark.parametrize("text, alive, started, seen", [
    (None, {900}, False, "/srv/pg/postmaster.pid is missing"),
    ("garbage\n", {900}, False, "/srv/pg/postmaster.pid cannot be understood (first line 'garbage' is not a process id)"),
    (pid_text(900, None), {900}, False, "/srv/pg/postmaster.pid has no status line yet (servers before 10 never write one)"),
    (pid_text(900, "starting"), {900}, False, "/srv/pg/postmaster.pid says 'starting' (postmaster pid 900)"),
    (pid_text(900, "stopping"), {900}, False, "/srv/pg/postmaster.pid says 'stopping' (postmaster pid 900)"),
    (pid_text(900, "ready   "), {900}, True, "/srv/pg/postmaster.pid says 'ready' (postmaster pid 900)"),
    (pid_text(900, "standby "), {900}, True, "/srv/pg/postmaster.pid says 'standby' (postmaster pid 900)"),
    (pid_text(900, "ready"), set(), False,
     "/srv/pg/postmaster.pid says 'ready' but its postmaster pid 900 is not running (a stale file)"),
])
def test_start_state(text, alive, started, seen):
    assert cr.start_state(PATH, text, lambda pid: pid in alive) == (started, seen)


def test_start_state_asks_liveness_only_for_a_ready_file():
    asked = []
    cr.start_state(PATH, pid_text(900, "starting"), asked.append)
    assert asked == []


# --- the run ----------------------------------------------------------------


def test_restarts_every_cluster_in_order_one_at_a_time():
    host = FakeHost(cleanups={"/var/lib/postgresql/15/second": cleaned("removed", STALE, msg="removed 2")})
    run = cr.restart_clusters(THREE, host, timeout=300)
    assert run.failure is None and run.warnings == []
    steps = [c for c in host.calls if c[0] != "sleep"]
    assert steps == [
        ("stop", "postgresql@15-main.service"), ("cleanup", "/var/lib/postgresql/15/main", None),
        ("start", "postgresql@15-main.service"), ("read", "/var/lib/postgresql/15/main"),
        ("stop", "postgresql@15-second.service"), ("cleanup", "/var/lib/postgresql/15/second", None),
        ("start", "postgresql@15-second.service"), ("read", "/var/lib/postgresql/15/second"),
        ("stop", "postgresql@15-third.service"), ("cleanup", "/var/lib/postgresql/15/third", None),
        ("start", "postgresql@15-third.service"), ("read", "/var/lib/postgresql/15/third"),
    ]
    assert [(r["name"], r["outcome"], len(r["removed"])) for r in run.results] == [
        ("15/main", "done", 0), ("15/second", "recovered", 2), ("15/third", "done", 0)]
    assert run.results[1]["ipc_cleanup"] == {"state": "removed", "msg": "removed 2", "removed": STALE,
                                             "unattributed": [], "notes": [], "postmaster_pid": None}
    assert cr.restarted_report(run.results) == {
        "15/main": "done", "15/second": "recovered (stale IPC removed: 2 objects)", "15/third": "done"}


def test_the_version_given_reaches_the_cleanup():
    host = FakeHost()
    cr.restart_clusters([target(version="9.6")], host, timeout=5)
    assert ("cleanup", "/var/lib/postgresql/15/main", "9.6") in host.calls


def test_waits_until_ready_and_counts_the_seconds():
    dd = "/var/lib/postgresql/15/main"
    host = FakeHost(pid_files={dd: [None, pid_text(900, "starting"), pid_text(900, "starting"), pid_text(900, "ready")]})
    run = cr.restart_clusters([target()], host, timeout=300, interval=0.5)
    assert run.failure is None
    assert [c for c in host.calls if c[0] == "sleep"] == [("sleep", 0.5)] * 3
    assert run.results[0]["seconds"] == 1.5


def test_a_stale_ready_file_is_not_a_start():
    """A crash leaves postmaster.pid saying 'ready' (the cleanup keeps it); only the new postmaster's counts."""
    dd = "/var/lib/postgresql/15/main"
    host = FakeHost(pid_files={dd: [pid_text(540, "ready"), pid_text(901, "starting"), pid_text(901, "ready")]},
                    alive={901})
    run = cr.restart_clusters([target(reason="crashed")], host, timeout=300, interval=1)
    assert run.failure is None and run.results[0]["outcome"] == "recovered"
    assert host.reads[dd] == 3


@pytest.mark.parametrize("timeout, interval, sleeps", [
    (3, 1, [1, 1, 1]),
    (2, 0.75, [0.75, 0.75, 0.5]),
    (0, 1, []),
])
def test_wait_gives_up_at_the_timeout(timeout, interval, sleeps):
    dd = "/var/lib/postgresql/15/main"
    host = FakeHost(pid_files={dd: [pid_text(900, "starting")]})
    run = cr.restart_clusters([target()], host, timeout=timeout, interval=interval)
    assert [c[1] for c in host.calls if c[0] == "sleep"] == sleeps
    assert run.results == [] and run.failure.step == "wait"
    assert run.failure.error == ("/var/lib/postgresql/15/main/postmaster.pid says 'starting' (postmaster pid 900); "
                                 "ready or standby was expected")


@pytest.mark.parametrize("host_args, step, error, cleanup_kept", [
    ({"stop": {"postgresql@15-second.service": (1, "Job for postgresql@15-second.service failed.")}},
     "stop", "systemctl stop postgresql@15-second.service exited 1: Job for postgresql@15-second.service failed.",
     False),
    ({"cleanups": {"/var/lib/postgresql/15/second": cleaned("running", failed=True, msg="PostgreSQL is running")}},
     "ipc cleanup", "PostgreSQL is running", True),
    ({"start": {"postgresql@15-second.service": (1, "Job failed. See journalctl")}},
     "start", "systemctl start postgresql@15-second.service exited 1: Job failed. See journalctl", True),
    ({"pid_files": {"/var/lib/postgresql/15/second": [None]}},
     "wait", "/var/lib/postgresql/15/second/postmaster.pid is missing; ready or standby was expected", True),
])
def test_the_first_failure_ends_the_run(host_args, step, error, cleanup_kept):
    host = FakeHost(**host_args)
    run = cr.restart_clusters(THREE, host, timeout=2)
    assert [r["name"] for r in run.results] == ["15/main"]
    assert (run.failure.target.name, run.failure.step, run.failure.error) == ("15/second", step, error)
    assert (run.failure.ipc_cleanup is not None) is cleanup_kept
    assert not any("postgresql@15-third.service" in c or "/var/lib/postgresql/15/third" in c for c in host.calls)


def test_cleanup_warnings_name_the_cluster():
    host = FakeHost(cleanups={"/var/lib/postgresql/15/main": cleaned(warning="2 IPC object(s) near x were left alone")})
    run = cr.restart_clusters([target()], host, timeout=5)
    assert run.warnings == ["15/main: 2 IPC object(s) near x were left alone"]


# --- the failure message and the diff ---------------------------------------


DONE_MAIN = {"name": "15/main", "outcome": "done", "removed": []}
RECOVERED = {"name": "15/x", "outcome": "recovered", "removed": STALE}


@pytest.mark.parametrize("step, results, expected", [
    ("wait", [],
     "15/second (postgresql@15-second.service) did not come back within 15 s after the restart (step wait): "
     "/var/lib/postgresql/15/second/postmaster.pid says 'starting' (postmaster pid 9). "
     "See `journalctl -u postgresql@15-second.service` and the server log. Restarted before it: none. "
     "No other cluster was restarted after it."),
    ("start", [DONE_MAIN, RECOVERED],
     "15/second (postgresql@15-second.service): the restart failed at step start: "
     "/var/lib/postgresql/15/second/postmaster.pid says 'starting' (postmaster pid 9). "
     "See `journalctl -u postgresql@15-second.service` and the server log. "
     "Restarted before it: 15/main: done; 15/x: recovered (stale IPC removed: 2 objects). "
     "No other cluster was restarted after it."),
    ("ipc cleanup", [DONE_MAIN],
     "15/second (postgresql@15-second.service): the restart failed at step ipc cleanup: "
     "/var/lib/postgresql/15/second/postmaster.pid says 'starting' (postmaster pid 9). "
     "The cluster was stopped and is left stopped. "
     "See `journalctl -u postgresql@15-second.service` and the server log. Restarted before it: 15/main: done. "
     "No other cluster was restarted after it."),
])
def test_failure_message(step, results, expected):
    failure = cr.Failure(target("15/second"), step,
                         "/var/lib/postgresql/15/second/postmaster.pid says 'starting' (postmaster pid 9)", None)
    assert cr.failure_message(failure, results, 15) == expected


@pytest.mark.parametrize("check_mode, results, after", [
    (True, [], "15/main (postgresql@15-main.service): would be restarted\n"
               "15/second (postgresql@15-second.service): would be restarted\n"),
    (False, [DONE_MAIN, {"name": "15/second", "outcome": "recovered", "removed": STALE}],
     "15/main (postgresql@15-main.service): done\n"
     "15/second (postgresql@15-second.service): recovered (stale IPC removed: 2 objects)\n"),
])
def test_diff(check_mode, results, after):
    targets = [target("15/main", None), target("15/second", "crashed")]
    got = cr.diff(targets, results, check_mode)
    assert got["before"] == ("15/main (postgresql@15-main.service): restart asked\n"
                             "15/second (postgresql@15-second.service): restart crashed\n")
    assert got["after"] == after


# --- the real host's seam ---------------------------------------------------


def test_systemd_host_runs_systemctl_and_reads_under_its_root(tmp_path):
    data = tmp_path / "var" / "lib" / "postgresql" / "15" / "main"
    data.mkdir(parents=True)
    (data / "postmaster.pid").write_text(pid_text(900, "ready"))
    module = FakeModule(outputs={
        ("/bin/systemctl", "stop", "pg.service"): (0, "", ""),
        ("/bin/systemctl", "start", "pg.service"): (1, "", "Job for pg.service failed.\nSee \"journalctl -xeu\".\n"),
    })
    host = cr.SystemdHost(module.run_command, "/bin/systemctl", HostFiles(str(tmp_path)), "linux")
    assert host.systemctl("stop", "pg.service") == (0, "no output")
    assert host.systemctl("start", "pg.service") == (1, 'Job for pg.service failed. See "journalctl -xeu".')
    assert module.calls == [["/bin/systemctl", "stop", "pg.service"], ["/bin/systemctl", "start", "pg.service"]]
    assert host.read_pid_file("/var/lib/postgresql/15/main") == pid_text(900, "ready")
    assert host.is_directory("/var/lib/postgresql/15/main") and not host.is_directory("/var/lib/postgresql/15/x")
    assert host.postmaster_alive(900, "/var/lib/postgresql/15/main") is False   # no /proc/900 under the root
