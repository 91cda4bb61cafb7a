# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cleanup both pg_ipc_cleanup and pg_cluster_restart run
(module_utils/ipc_cleanup_run.py), called directly on the recordings of
tests/unit/fixtures/ipc through test_ipc_cleanup.py's FakeTree and FakeIpc.
The module's own behaviour is pinned in tests/unit/plugins/modules/test_pg_ipc_cleanup.py;
these pin what a caller other than that module relies on: nothing is failed
or warned for it, it only says so."""

from __future__ import annotations

import errno
import importlib.util
import os

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils import ipc_cleanup, ipc_cleanup_run


def _load_helpers():
    path = os.path.join(os.path.dirname(__file__), "test_ipc_cleanup.py")
    spec = importlib.util.spec_from_file_location("ipc_cleanup_helpers_run", path)
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    return helpers


helpers = _load_helpers()


@pytest.fixture(autouse=True)
def users(monkeypatch):
    monkeypatch.setattr(ipc_cleanup, "_user_name", lambda uid: helpers.USERS.get(uid, str(uid)))


def tree(tmp_path, name, **tree_args):
    t = helpers.FakeTree(tmp_path, helpers.recording(name), **tree_args)
    return t, helpers.FakeIpc(t, t.headers)


def run(t, fake_ipc, **kwargs):
    kwargs.setdefault("platform", "linux")
    return ipc_cleanup_run.cleanup(kwargs.pop("data_directory", t.data), files=t.files, ipc=fake_ipc, **kwargs)


@pytest.mark.parametrize("check_mode, changed, calls", [
    (False, True, [("unlink", "/dev/shm/PostgreSQL.2955568080"), ("unlink", "/dev/shm/PostgreSQL.4035623576"),
                   ("shm_remove", 3)]),
    (True, True, []),
])
def test_removes_or_only_lists(tmp_path, check_mode, changed, calls):
    t, fake = tree(tmp_path, "bookworm-pg15-killed-pidfile")
    outcome = run(t, fake, check_mode=check_mode)
    assert outcome.failed is False and outcome.warning is None
    assert outcome.result["state"] == "removed" and outcome.result["changed"] is changed
    assert [o.get("path", o.get("id")) for o in outcome.result["removed"]] == [
        "/dev/shm/PostgreSQL.2955568080", "/dev/shm/PostgreSQL.4035623576", 3]
    assert fake.removed() == calls


@pytest.mark.parametrize("name, tree_args, data_directory, platform, text", [
    ("trixie-pg17-running", lambda rec: {"procs": {308: helpers.proc(rec["data_directory"])}}, None, "linux",
     "PostgreSQL is running in /var/lib/postgresql/17/main"),
    ("bookworm-pg15-killed-pidfile", lambda rec: {}, "/nowhere", "linux",
     "data_directory: /nowhere does not exist or is not a directory"),
    ("bookworm-pg15-killed-pidfile", lambda rec: {"pid_file": "garbage\n"}, None, "linux", "first line 'garbage'"),
    ("bookworm-pg15-killed-pidfile", lambda rec: {}, None, "freebsd", "Linux only"),
])
def test_refusals_are_returned_not_raised(tmp_path, name, tree_args, data_directory, platform, text):
    t, fake = tree(tmp_path, name, **tree_args(helpers.recording(name)))
    outcome = run(t, fake, platform=platform, data_directory=data_directory or t.data)
    assert outcome.failed is True and outcome.warning is None
    assert text in outcome.result["msg"]
    assert outcome.result["removed"] == [] and fake.removed() == []


def test_removal_error_fails_with_what_was_removed(tmp_path):
    t, fake = tree(tmp_path, "bookworm-pg15-killed-pidfile")
    fake.fail[("shm_remove", 3)] = errno.EPERM
    outcome = run(t, fake)
    assert outcome.failed is True and outcome.result["changed"] is True
    assert [o["path"] for o in outcome.result["removed"]] == [
        "/dev/shm/PostgreSQL.2955568080", "/dev/shm/PostgreSQL.4035623576"]
    assert outcome.result["msg"].startswith("could not remove all stale IPC of /var/lib/postgresql/15/main: ")


def test_unattributed_objects_are_a_warning_line(tmp_path):
    rec = helpers.recording("bookworm-pg15-killed-pidfile")
    t, fake = tree(tmp_path, "bookworm-pg15-killed-pidfile", shm=rec["proc_sysvipc_shm"].splitlines()[0] + "\n")
    outcome = run(t, fake)
    assert outcome.failed is False and outcome.result["state"] == "nothing_stale"
    assert outcome.warning.startswith("2 IPC object(s) near /var/lib/postgresql/15/main were left alone: ")


@pytest.mark.parametrize("pg_version, note", [
    (True, None),
    (False, "no PG_VERSION and no version given: stale SysV segments were not looked for"),
])
def test_clean_stop(tmp_path, pg_version, note):
    t, fake = tree(tmp_path, "bookworm-pg15-killed-systemd", pid_file=None, shm="")
    if not pg_version:
        os.unlink(t.path(t.data + "/PG_VERSION"))
    outcome = run(t, fake, data_directory=t.data + "/")
    assert outcome.failed is False and outcome.result["state"] == "clean_stop"
    assert outcome.result["changed"] is False and outcome.result["diff"]["before"] == ""
    assert (outcome.result["notes"][0] if note else None) == note


@pytest.mark.parametrize("objects, public", [
    ([{"kind": "sysv_shm", "id": 3, "key": 7, "size": 56, "owner": "postgres", "role": "interlock segment",
       "uid": 101}],
     [{"kind": "sysv_shm", "id": 3, "key": 7, "size": 56, "owner": "postgres", "role": "interlock segment"}]),
    ([], []),
])
def test_public_drops_private_keys(objects, public):
    assert ipc_cleanup_run.public(objects) == public


def survey(t, fake_ipc, **kwargs):
    kwargs.setdefault("platform", "linux")
    return ipc_cleanup_run.survey(kwargs.pop("data_directory", t.data), files=t.files, ipc=fake_ipc, **kwargs)


def test_survey_lists_what_a_crash_left_and_removes_nothing(tmp_path):
    t, fake = tree(tmp_path, "bookworm-pg15-killed-pidfile")
    found = survey(t, fake)
    assert found["state"] == "removed" and found["unattributed"] == []
    assert [(o["kind"], o.get("path", o.get("id"))) for o in found["objects"]] == [
        ("posix_shm", "/dev/shm/PostgreSQL.2955568080"), ("posix_shm", "/dev/shm/PostgreSQL.4035623576"),
        ("sysv_shm", 3)]
    assert found["msg"].startswith("would remove ")
    assert fake.removed() == []


def test_survey_of_an_unreadable_directory_says_unread(tmp_path):
    t, fake = tree(tmp_path, "bookworm-pg15-killed-pidfile")
    found = survey(t, fake, data_directory="/nowhere")
    assert found == {"state": "unread", "objects": [], "unattributed": [],
                     "msg": "data_directory: /nowhere does not exist or is not a directory"}


def test_survey_of_a_segment_still_attached_keeps_the_refusal_state(tmp_path):
    name = "trixie-pg17-running"
    t, fake = tree(tmp_path, name, procs={308: helpers.proc(helpers.recording(name)["data_directory"])})
    found = survey(t, fake)
    assert found["state"] == "running" and found["objects"] == []
    assert "PostgreSQL is running in /var/lib/postgresql/17/main" in found["msg"]
