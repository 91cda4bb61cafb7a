# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_ipc_cleanup: main() run the way Ansible runs a module (arguments in
basic._ANSIBLE_ARGS, result on stdout, SystemExit) on the recordings of
tests/unit/fixtures/ipc, laid out as a fake root by FakeTree and with the
kernel calls answered by FakeIpc (both from
tests/unit/plugins/module_utils/test_ipc_cleanup.py).
"""

from __future__ import annotations

import errno
import importlib.util
import json
import os

import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.pghost.hardening.plugins.module_utils import ipc_cleanup, linux_ipc
from ansible_collections.pghost.hardening.plugins.modules import pg_ipc_cleanup


def _load_helpers():
    path = os.path.join(os.path.dirname(__file__), "..", "module_utils", "test_ipc_cleanup.py")
    spec = importlib.util.spec_from_file_location("ipc_cleanup_helpers", path)
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    return helpers


helpers = _load_helpers()


class Host:
    """One fake host: the tree, the IPC fake and what the module warned."""

    def __init__(self, tmp_path, monkeypatch, name, sems=None, **tree_args):
        self.rec = helpers.recording(name)
        self.tree = helpers.FakeTree(tmp_path, self.rec, **tree_args)
        self.ipc = helpers.FakeIpc(self.tree, self.tree.headers, sems)
        self.warned = []
        monkeypatch.setattr(pg_ipc_cleanup, "HostFiles", lambda: self.tree.files)
        monkeypatch.setattr(linux_ipc, "LinuxIpc", lambda: self.ipc)
        monkeypatch.setattr(ipc_cleanup, "_user_name", lambda uid: helpers.USERS.get(uid, str(uid)))
        monkeypatch.setattr(pg_ipc_cleanup, "current_platform", lambda: "linux")
        monkeypatch.setattr(pg_ipc_cleanup.AnsibleModule, "warn", lambda module, msg: self.warned.append(msg))
        self.monkeypatch = monkeypatch

    def run(self, capsys, **args):
        args.setdefault("data_directory", self.rec["data_directory"])
        self.monkeypatch.setattr(basic, "_ANSIBLE_ARGS",
                                 json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8"))
        self.monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
        with pytest.raises(SystemExit) as exit_info:
            pg_ipc_cleanup.main()
        return exit_info.value.code, json.loads(capsys.readouterr().out)

    def exists(self, path):
        return os.path.exists(self.tree.path(path))


@pytest.fixture
def host(tmp_path, monkeypatch):
    return lambda name, **tree_args: Host(tmp_path, monkeypatch, name, **tree_args)


BOOKWORM_PATHS = ["/dev/shm/PostgreSQL.2955568080", "/dev/shm/PostgreSQL.4035623576"]
BOOKWORM_STALE = [
    "posix_shm /dev/shm/PostgreSQL.2955568080 (dsm segment, 1048576 bytes, owner postgres)",
    "posix_shm /dev/shm/PostgreSQL.4035623576 (dsm control segment, 26976 bytes, owner postgres)",
    "sysv_shm key 2081270 shmid 3 (interlock segment, 56 bytes, owner postgres)",
]


def test_documentation_matches_the_argument_spec():
    doc = yaml.safe_load(pg_ipc_cleanup.DOCUMENTATION)
    assert doc["module"] == "pg_ipc_cleanup"
    assert doc["author"] == ["pghost.hardening developers (!UNKNOWN)"]
    assert str(doc["version_added"]) == "0.1.0"
    assert set(doc["options"]) == {"data_directory", "version"}
    yaml.safe_load(pg_ipc_cleanup.EXAMPLES)
    returned = yaml.safe_load(pg_ipc_cleanup.RETURN)
    assert {"state", "removed", "unattributed", "notes", "msg", "postmaster_pid"} <= set(returned)


def test_clean_stop(host, capsys):
    """No postmaster.pid and only another cluster's (attached) segment: nothing is touched."""
    rec = helpers.recording("bookworm-pg15-killed-all-with-other")
    shm = "\n".join(line for line in rec["proc_sysvipc_shm"].splitlines() if "2081270" not in line) + "\n"
    h = host("bookworm-pg15-killed-all-with-other", pid_file=None, shm=shm)
    code, result = h.run(capsys)
    assert code == 0
    assert result["changed"] is False and result["state"] == "clean_stop"
    assert result["msg"].endswith("the last stop was clean, nothing to do")
    assert result["removed"] == [] and result["unattributed"] == [] and result["postmaster_pid"] is None
    assert result["diff"]["before"] == result["diff"]["after"] == ""
    assert h.ipc.calls == []


def test_clean_stop_without_pg_version(host, capsys):
    h = host("bookworm-pg15-killed-systemd", pid_file=None)
    os.unlink(h.tree.path(h.tree.data + "/PG_VERSION"))
    code, result = h.run(capsys)
    assert code == 0 and result["state"] == "clean_stop"
    assert "stale SysV segments were not looked for" in result["notes"][0]


def test_running_is_refused(host, capsys):
    rec = helpers.recording("trixie-pg17-running")
    h = host("trixie-pg17-running", procs={308: helpers.proc(rec["data_directory"])})
    code, result = h.run(capsys)
    assert code == 1 and result["failed"] is True
    assert result["state"] == "running" and result["postmaster_pid"] == 308
    assert result["msg"] == ("PostgreSQL is running in /var/lib/postgresql/17/main: postmaster pid 308 (postgres) "
                             "works in /var/lib/postgresql/17/main; refusing to touch its IPC")
    assert h.ipc.removed() == []


def test_check_mode_lists_and_removes_nothing(host, capsys):
    h = host("bookworm-pg15-killed-pidfile")
    code, result = h.run(capsys, _ansible_check_mode=True, _ansible_diff=True)
    assert code == 0 and result["changed"] is True and result["state"] == "removed"
    assert [o.get("path", o.get("id")) for o in result["removed"]] == [
        "/dev/shm/PostgreSQL.2955568080", "/dev/shm/PostgreSQL.4035623576", 3]
    assert result["removed"][2] == {"kind": "sysv_shm", "id": 3, "key": 2081270, "size": 56, "owner": "postgres",
                                    "role": "interlock segment"}
    assert result["diff"]["before"] == "".join(line + "\n" for line in BOOKWORM_STALE)
    assert result["diff"]["after"] == ""
    assert result["diff"]["before_header"] == "IPC objects of /var/lib/postgresql/15/main"
    assert result["msg"].startswith("would remove 3 stale IPC object(s) of /var/lib/postgresql/15/main "
                                    "(dead postmaster pid 540)")
    assert h.ipc.removed() == []
    assert h.exists("/dev/shm/PostgreSQL.4035623576") and h.exists(h.tree.data + "/postmaster.pid")


def test_removes_then_second_run_finds_nothing(host, capsys):
    h = host("bookworm-pg15-killed-pidfile")
    code, result = h.run(capsys)
    assert code == 0 and result["changed"] is True and result["state"] == "removed"
    assert h.ipc.removed() == [("unlink", "/dev/shm/PostgreSQL.2955568080"),
                               ("unlink", "/dev/shm/PostgreSQL.4035623576"), ("shm_remove", 3)]
    assert result["msg"] == ("removed 3 stale IPC object(s) of /var/lib/postgresql/15/main (dead postmaster pid 540); "
                             "postmaster.pid stays (PostgreSQL replaces a stale one)")
    assert h.exists(h.tree.data + "/postmaster.pid")

    code, second = h.run(capsys)
    assert code == 0 and second["changed"] is False and second["state"] == "nothing_stale"
    assert second["removed"] == [] and second["unattributed"] == []
    assert "SysV segment shmid 3 (key 2081270) is already gone" in second["notes"]


def test_killed_under_systemd_then_clean_stop(host, capsys):
    h = host("trixie-pg17-killed-systemd")
    code, result = h.run(capsys)
    assert code == 0 and result["state"] == "removed" and len(result["removed"]) == 3
    assert result["postmaster_pid"] is None and "postmaster.pid stays" not in result["msg"]
    assert any("pg_ctlcluster" in note for note in result["notes"])
    code, second = h.run(capsys)
    assert code == 0 and second["state"] == "clean_stop" and second["changed"] is False


def test_other_cluster_is_not_touched(host, capsys):
    h = host("trixie-pg17-killed-all-with-other")
    code, result = h.run(capsys)
    assert code == 0 and len(result["removed"]) == 7
    for name in ("PostgreSQL.3735562404", "PostgreSQL.3471760786", "PostgreSQL.1885032906", "PostgreSQL.2076399332"):
        assert h.exists("/dev/shm/" + name)
    assert ("shm_remove", 7) not in h.ipc.calls


def test_orphans_are_refused(host, capsys):
    rec = helpers.recording("bookworm-pg15-killed-pidfile")
    maps = "7f-7f rw-s 00000000 00:01 3 /SYSV001fc1f6 (deleted)\n"
    h = host("bookworm-pg15-killed-pidfile", shm=rec["proc_sysvipc_shm"].replace("  0   101", "  1   101"),
             procs={566: {"maps": maps}})
    code, result = h.run(capsys)
    assert code == 1 and result["state"] == "in_use"
    assert "nattch 1 (pids 566)" in result["msg"]
    assert h.ipc.removed() == []


def test_unattributed_is_warned_and_kept(host, capsys):
    rec = helpers.recording("bookworm-pg15-killed-pidfile")
    h = host("bookworm-pg15-killed-pidfile", shm=rec["proc_sysvipc_shm"].splitlines()[0] + "\n")
    code, result = h.run(capsys, _ansible_diff=True)
    assert code == 0 and result["changed"] is False and result["state"] == "nothing_stale"
    assert sorted(o["path"] for o in result["unattributed"]) == [
        "/dev/shm/PostgreSQL.2955568080", "/dev/shm/PostgreSQL.4035623576"]
    assert result["diff"]["before"] == result["diff"]["after"]
    assert len(h.warned) == 1 and "2 IPC object(s)" in h.warned[0]
    assert h.ipc.removed() == []


def test_version_option_selects_the_layout(host, capsys):
    """Told 13, the 15 control segment does not fit the 24-byte items: left alone, the SysV segment goes."""
    h = host("bookworm-pg15-killed-pidfile")
    code, result = h.run(capsys, version="13")
    assert code == 0 and [o["kind"] for o in result["removed"]] == ["sysv_shm"]
    assert len(result["unattributed"]) == 2
    assert any("not sane" in note for note in result["notes"])


@pytest.mark.parametrize("version, text", [
    ("8.4", "not supported"),
    ("fifteen", "is not a PostgreSQL version"),
])
def test_bad_version_fails_early(host, capsys, version, text):
    h = host("bookworm-pg15-killed-pidfile")
    code, result = h.run(capsys, version=version)
    assert code == 1 and text in result["msg"] and result["msg"].startswith("version:")
    assert h.ipc.calls == []


def test_garbled_pid_file(host, capsys):
    h = host("bookworm-pg15-killed-pidfile", pid_file="garbage\n")
    code, result = h.run(capsys)
    assert code == 1 and "first line 'garbage' is not a process id; nothing was removed" in result["msg"]


def test_unreadable_pid_file(host, capsys):
    h = host("bookworm-pg15-killed-pidfile", pid_file=None)
    os.makedirs(h.tree.path(h.tree.data + "/postmaster.pid"))
    code, result = h.run(capsys)
    assert code == 1 and "exists but cannot be read" in result["msg"]


def test_missing_data_directory(host, capsys):
    h = host("bookworm-pg15-killed-pidfile")
    code, result = h.run(capsys, data_directory="/nowhere")
    assert code == 1 and result["msg"] == "data_directory: /nowhere does not exist or is not a directory"


def test_not_linux(host, capsys, monkeypatch):
    h = host("bookworm-pg15-killed-pidfile")
    monkeypatch.setattr(pg_ipc_cleanup, "current_platform", lambda: "freebsd")
    code, result = h.run(capsys)
    assert code == 1 and "Linux only" in result["msg"]
    os.unlink(h.tree.path(h.tree.data + "/postmaster.pid"))
    code, result = h.run(capsys)
    assert code == 0 and result["state"] == "clean_stop"


def test_removal_error_fails_with_what_was_done(host, capsys):
    h = host("bookworm-pg15-killed-pidfile")
    h.ipc.fail[("shm_remove", 3)] = errno.EPERM
    code, result = h.run(capsys, _ansible_diff=True)
    assert code == 1 and result["changed"] is True
    assert result["msg"] == ("could not remove all stale IPC of /var/lib/postgresql/15/main: " + BOOKWORM_STALE[2]
                             + ": shm_remove(3): Operation not permitted")
    assert [o["path"] for o in result["removed"]] == BOOKWORM_PATHS
    assert result["diff"]["after"] == BOOKWORM_STALE[2] + "\n"


def test_semaphores_in_the_result(host, capsys):
    sems = {0: (537, 540), 1: (0, 0)}
    h = host("bookworm-pg15-killed-pidfile", sem=helpers.sem_text(), sems=sems)
    code, result = h.run(capsys)
    assert code == 0
    assert result["removed"][-1] == {"kind": "sysv_sem", "id": 0, "key": 2081271, "size": 17, "owner": "postgres",
                                     "role": "semaphore set"}
    assert h.ipc.removed()[-1] == ("sem_remove", 0)
