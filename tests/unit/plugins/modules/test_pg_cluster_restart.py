# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_cluster_restart: main() run the way Ansible runs a module, against a
fake host under tmp_path. FakeSystemd answers systemctl as a unit would: a
stop ends the postmaster (its /proc entry and, after a clean shutdown, its
postmaster.pid), a start writes a new postmaster.pid and /proc entry. The
crashed cluster is tests/unit/fixtures/ipc's bookworm recording (FakeTree,
FakeIpc from test_ipc_cleanup.py), so the cleanup between stop and start is
the real one. The clock moves only when the module sleeps. Live behaviour is
proven by the Molecule scenarios service (restart_fault.yml) and faults.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
import yaml
from fake_module import run_main

from ansible_collections.pghost.hardening.plugins.module_utils import cluster_restart, ipc_cleanup, linux_ipc
from ansible_collections.pghost.hardening.plugins.modules import pg_cluster_restart


def _load_helpers():
    path = os.path.join(os.path.dirname(__file__), "..", "module_utils", "test_ipc_cleanup.py")
    spec = importlib.util.spec_from_file_location("ipc_cleanup_helpers_restart", path)
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    return helpers


helpers = _load_helpers()

SYSTEMCTL = "/bin/systemctl"
CRASHED = "/var/lib/postgresql/15/main"     # the recording's data directory
SECOND = "/var/lib/postgresql/15/second"
THIRD = "/var/lib/postgresql/15/third"


def pid_text(pid, data_directory, status):
    return "%d\n%s\n1795616998\n5432\n/var/run/postgresql\nlocalhost\n  2081270         3\n%s\n" % (
        pid, data_directory, status)


class FakeSystemd:
    """One fake host: the recorded crashed cluster 15/main plus running clusters, units that act on them."""

    def __init__(self, tmp_path, monkeypatch):
        self.tree = helpers.FakeTree(tmp_path, helpers.recording("bookworm-pg15-killed-pidfile"))
        self.ipc = helpers.FakeIpc(self.tree, self.tree.headers)
        self.units = {"postgresql@15-main.service": CRASHED}
        self.pids = {}                  # data directory -> pid of its running postmaster
        self.status = {}                # data directory -> what a start writes ("ready" unless set)
        self.answers = {}               # (verb, unit) -> (rc, out, err) instead of acting
        self.calls = []
        self.warned = []
        self.clock = [1000.0]
        self.next_pid = 900
        for name, path in (("second", SECOND), ("third", THIRD)):
            self.units["postgresql@15-%s.service" % name] = path
            self.tree.write(path + "/PG_VERSION", "15\n")
            self.tree.overrides[path] = dict(st_uid=101)
            self.run_postmaster(path)
        module = pg_cluster_restart.AnsibleModule
        monkeypatch.setattr(pg_cluster_restart, "HostFiles", lambda: self.tree.files)
        monkeypatch.setattr(pg_cluster_restart, "current_platform", lambda: "linux")
        monkeypatch.setattr(module, "get_bin_path", lambda m, name, required=False, opt_dirs=None: SYSTEMCTL)
        monkeypatch.setattr(module, "run_command", lambda m, argv, **kwargs: self.systemctl(argv))
        monkeypatch.setattr(module, "warn", lambda m, msg: self.warned.append(msg))
        monkeypatch.setattr(linux_ipc, "LinuxIpc", lambda: self.ipc)
        monkeypatch.setattr(ipc_cleanup, "_user_name", lambda uid: helpers.USERS.get(uid, str(uid)))
        monkeypatch.setattr(cluster_restart.SystemdHost, "now", lambda host: self.clock[0])
        monkeypatch.setattr(cluster_restart.SystemdHost, "sleep", lambda host, seconds: self.sleep(seconds))
        self.monkeypatch = monkeypatch

    def sleep(self, seconds):
        self.calls.append(("sleep", seconds))
        self.clock[0] += seconds

    def run_postmaster(self, data_directory):
        pid = self.next_pid
        self.next_pid += 1
        self.tree.write(data_directory + "/postmaster.pid",
                        pid_text(pid, data_directory, self.status.get(data_directory, "ready")))
        self.tree.write("/proc/%d/comm" % pid, "postgres\n")
        os.symlink(data_directory, self.tree.path("/proc/%d/cwd" % pid))
        self.pids[data_directory] = pid

    def systemctl(self, argv):
        assert argv[0] == SYSTEMCTL and len(argv) == 3, argv
        verb, unit = argv[1], argv[2]
        self.calls.append((verb, unit))
        self.clock[0] += 1
        if (verb, unit) in self.answers:
            return self.answers[(verb, unit)]
        data_directory = self.units[unit]
        if verb == "stop" and data_directory in self.pids:      # a clean fast shutdown
            pid = self.pids.pop(data_directory)
            os.unlink(self.tree.path("/proc/%d/cwd" % pid))
            os.unlink(self.tree.path("/proc/%d/comm" % pid))
            os.rmdir(self.tree.path("/proc/%d" % pid))
            os.unlink(self.tree.path(data_directory + "/postmaster.pid"))
        elif verb == "start":
            self.run_postmaster(data_directory)
        return 0, "", ""

    def run(self, capsys, clusters, **args):
        args["clusters"] = clusters
        return run_main(pg_cluster_restart.main, args, self.monkeypatch, capsys)

    def postmaster_pid_file(self, data_directory):
        return self.tree.files.read(data_directory + "/postmaster.pid")


@pytest.fixture
def host(tmp_path, monkeypatch):
    return FakeSystemd(tmp_path, monkeypatch)


def cluster(name, reason="pending", **extra):
    entry = {"name": "15/" + name, "unit": "postgresql@15-%s.service" % name,
             "data_directory": "/var/lib/postgresql/15/" + name, "restart": reason,
             "reasons": ["running postmaster has LimitNOFILE 1024"], "files": {}, "live": {}}
    entry.update(extra)
    return entry


def systemctl_calls(host):
    return [c for c in host.calls if c[0] != "sleep"]


def test_documentation_matches_the_argument_spec():
    doc = yaml.safe_load(pg_cluster_restart.DOCUMENTATION)
    assert doc["module"] == "pg_cluster_restart"
    assert doc["author"] == ["pghost.hardening developers (!UNKNOWN)"]
    assert set(doc["options"]) == {"clusters", "timeout"}
    assert doc["options"]["timeout"]["default"] == 300
    yaml.safe_load(pg_cluster_restart.EXAMPLES)
    returned = yaml.safe_load(pg_cluster_restart.RETURN)
    assert set(returned) == {"clusters", "restarted", "failure", "msg"}
    assert set(returned["clusters"]["contains"]) == {
        "name", "unit", "data_directory", "reason", "outcome", "removed", "ipc_cleanup", "seconds"}


def test_restarts_in_order_and_recovers_the_crashed_one(host, capsys):
    old = dict(host.pids)
    code, result = host.run(capsys, [cluster("second"), cluster("main", "crashed"), cluster("third")],
                            _ansible_diff=True)
    assert code == 0 and result["changed"] is True
    assert systemctl_calls(host) == [
        ("stop", "postgresql@15-second.service"), ("start", "postgresql@15-second.service"),
        ("stop", "postgresql@15-main.service"), ("start", "postgresql@15-main.service"),
        ("stop", "postgresql@15-third.service"), ("start", "postgresql@15-third.service")]
    assert result["restarted"] == {"15/second": "done", "15/main": "recovered (stale IPC removed: 3 objects)",
                                   "15/third": "done"}
    main = result["clusters"][1]
    assert (main["name"], main["reason"], main["outcome"]) == ("15/main", "crashed", "recovered")
    assert main["removed"] == main["ipc_cleanup"]["removed"] and len(main["removed"]) == 3
    assert main["ipc_cleanup"]["state"] == "removed" and main["ipc_cleanup"]["postmaster_pid"] == 540
    assert host.ipc.removed() == [("unlink", "/dev/shm/PostgreSQL.2955568080"),
                                  ("unlink", "/dev/shm/PostgreSQL.4035623576"), ("shm_remove", 3)]
    assert [c["ipc_cleanup"]["state"] for c in result["clusters"]] == ["clean_stop", "removed", "clean_stop"]
    assert [c["seconds"] for c in result["clusters"]] == [2.0, 2.0, 2.0]
    assert host.pids[SECOND] != old[SECOND] and host.pids[THIRD] != old[THIRD]
    assert "15/main (postgresql@15-main.service): recovered (stale IPC removed: 3 objects)\n" in result["diff"]["after"]
    assert result["msg"] == "restarted 15/second, 15/main, 15/third one at a time"


def test_check_mode_touches_nothing(host, capsys):
    code, result = host.run(capsys, [cluster("second"), cluster("main", "crashed")],
                            _ansible_check_mode=True, _ansible_diff=True)
    assert code == 0 and result["changed"] is True
    assert host.calls == [] and host.ipc.calls == []
    assert result["clusters"] == [] and result["restarted"] == {}
    assert result["diff"]["after"] == ("15/second (postgresql@15-second.service): would be restarted\n"
                                       "15/main (postgresql@15-main.service): would be restarted\n")


def test_nothing_to_restart(host, capsys):
    code, result = host.run(capsys, [])
    assert code == 0 and result["changed"] is False and result["restarted"] == {}
    assert host.calls == []


def test_timeout_fails_naming_the_cluster_and_restarts_nothing_after_it(host, capsys):
    host.status[SECOND] = "starting"
    code, result = host.run(capsys, [cluster("third"), cluster("second"), cluster("main", "crashed")], timeout=2)
    assert code == 1 and result["failed"] is True
    assert result["msg"] == (
        "15/second (postgresql@15-second.service) did not come back within 2 s after the restart (step wait): "
        "/var/lib/postgresql/15/second/postmaster.pid says 'starting' (postmaster pid 903); "
        "ready or standby was expected. See `journalctl -u postgresql@15-second.service` and the server log. "
        "Restarted before it: 15/third: done. No other cluster was restarted after it.")
    assert result["failure"]["step"] == "wait" and result["failure"]["ipc_cleanup"]["state"] == "clean_stop"
    assert result["restarted"] == {"15/third": "done"}
    assert ("stop", "postgresql@15-main.service") not in host.calls and host.ipc.removed() == []
    assert [c[1] for c in host.calls if c[0] == "sleep"] == [0.5, 0.5, 0.5, 0.5]


def test_stale_ready_file_of_the_crash_is_not_taken_for_a_start(host, capsys):
    """The crashed cluster's postmaster.pid says 'ready' for the dead pid 540; a start that writes nothing must fail."""
    host.answers[("start", "postgresql@15-main.service")] = (0, "", "")
    code, result = host.run(capsys, [cluster("main", "crashed")], timeout=1)
    assert code == 1 and result["failure"]["step"] == "wait"
    assert "postmaster.pid says 'ready' but its postmaster pid 540 is not running (a stale file)" in result["msg"]


@pytest.mark.parametrize("verb, step", [("stop", "stop"), ("start", "start")])
def test_systemctl_failure_fails_at_its_step(host, capsys, verb, step):
    host.answers[(verb, "postgresql@15-second.service")] = (1, "", "Job for postgresql@15-second.service failed.\n")
    code, result = host.run(capsys, [cluster("second"), cluster("third")])
    assert code == 1 and result["failure"]["step"] == step
    assert ("systemctl %s postgresql@15-second.service exited 1: Job for postgresql@15-second.service failed."
            % verb) in result["msg"]
    assert result["msg"].endswith("Restarted before it: none. No other cluster was restarted after it.")
    assert ("stop", "postgresql@15-third.service") not in host.calls


def test_cleanup_refusal_leaves_the_cluster_stopped(host, capsys):
    """The unit's stop did not end the postmaster (say, it was started by hand): the cleanup refuses."""
    host.answers[("stop", "postgresql@15-second.service")] = (0, "", "")
    code, result = host.run(capsys, [cluster("second")])
    assert code == 1 and result["failure"]["step"] == "ipc cleanup"
    assert result["failure"]["ipc_cleanup"]["state"] == "running"
    assert "the restart failed at step ipc cleanup: PostgreSQL is running in /var/lib/postgresql/15/second" in result["msg"]
    assert ("start", "postgresql@15-second.service") not in host.calls


def test_missing_data_directory_stops_nothing(host, capsys):
    code, result = host.run(capsys, [cluster("second"), cluster("gone")])
    assert code == 1
    assert result["msg"] == ("data directory missing or not a directory: 15/gone (/var/lib/postgresql/15/gone); "
                             "no cluster was stopped")
    assert host.calls == []


@pytest.mark.parametrize("clusters, args, text", [
    ([{"name": "15/x", "data_directory": "/srv/x"}], {}, "clusters[0] (15/x): no systemd unit"),
    ([cluster("second")], {"timeout": -1}, "timeout: -1 is negative"),
])
def test_bad_input_fails_before_anything(host, capsys, clusters, args, text):
    code, result = host.run(capsys, clusters, **args)
    assert code == 1 and result["msg"].startswith(text)
    assert host.calls == []


def test_not_linux(host, capsys):
    host.monkeypatch.setattr(pg_cluster_restart, "current_platform", lambda: "freebsd")
    code, result = host.run(capsys, [cluster("second")])
    assert code == 1 and "Linux only (found freebsd); nothing was restarted" in result["msg"]
    assert host.calls == []
