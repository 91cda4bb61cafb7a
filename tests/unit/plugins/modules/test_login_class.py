# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""login_class: main() run the way Ansible runs a module (arguments in
basic._ANSIBLE_ARGS, result on stdout, SystemExit), on copies of the
hand-written FreeBSD login.conf fixtures under tmp_path, with cap_mkdb
answered by a fake.
"""

from __future__ import annotations

import os
import shutil
import stat

import pytest
from fake_module import run_main

from ansible_collections.pghost.hardening.plugins.module_utils.login_conf import HEADER
from ansible_collections.pghost.hardening.plugins.modules import login_class

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "freebsd-files")
CAP_MKDB = "/usr/bin/cap_mkdb"
ASKED = {"openfiles": 65536, "maxproc": 2048, "memorylocked": "256M", "datasize": "unlimited"}
NEW_CLASS = "\n" + HEADER % "postgres" + "postgres|PostgreSQL Server:\\\n\t:memorylocked=256M:\\\n\t:tc=default:\n"


def read(path):
    with open(str(path), encoding="utf-8", newline="") as handle:
        return handle.read()


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A login.conf (FreeBSD 14's default) and a fake cap_mkdb that records its calls."""
    calls = {"commands": [], "warned": [], "rc": 0, "bins": {"cap_mkdb": CAP_MKDB}, "looked_up": []}
    path = tmp_path / "login.conf"
    shutil.copy(os.path.join(FIXTURES, "login.conf"), str(path))
    os.chmod(str(path), 0o644)

    def run_command(self, argv, **kwargs):
        calls["commands"].append(list(argv))
        if calls["rc"]:
            return calls["rc"], "", "cap_mkdb: %s: Permission denied" % argv[-1]
        return 0, "", ""

    def get_bin_path(self, name, required=False, opt_dirs=None):
        calls["looked_up"].append(name)
        found = calls["bins"].get(name)
        if found is None and required:
            self.fail_json(msg="Failed to find required executable \"%s\" in paths" % name)
        return found

    monkeypatch.setattr(login_class.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(login_class.AnsibleModule, "get_bin_path", get_bin_path)
    monkeypatch.setattr(login_class.AnsibleModule, "warn", lambda self, msg: calls["warned"].append(msg))
    calls["path"] = str(path)
    calls["tmp"] = tmp_path
    calls["original"] = read(path)
    return calls


def run_module(args, monkeypatch, capsys):
    return run_main(login_class.main, args, monkeypatch, capsys)


def args_for(host, **extra):
    args = {"path": host["path"], "name": "postgres", "capabilities": dict(ASKED), "description": "PostgreSQL Server"}
    args.update(extra)
    return args


def test_first_run_creates_the_class_and_runs_cap_mkdb(host, monkeypatch, capsys):
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert read(host["path"]) == host["original"] + NEW_CLASS
    assert stat.S_IMODE(os.stat(host["path"]).st_mode) == 0o644
    assert sorted(os.listdir(str(host["tmp"]))) == ["login.conf"]   # no temporary file left
    assert host["commands"] == [[CAP_MKDB, host["path"]]]
    assert result["cap_mkdb"] == [CAP_MKDB, host["path"]]
    assert result["msg"] == "class postgres added to %s" % host["path"]
    assert result["class"] == {"names": ["postgres", "PostgreSQL Server"], "line": 168, "created": True,
                               "capabilities": {"memorylocked": "256M", "tc": "default"}}
    assert result["lines"] == [
        "postgres: memorylocked=256M (soft and hard; was 64K (memorylocked=64K, line 35 in class default, "
        "through tc=)): asked memorylocked=256M"]
    assert result["diff"]["before"] == host["original"]
    assert result["diff"]["after"] == host["original"] + NEW_CLASS
    kept = [r for r in result["limits"] if r["resource"] == "openfiles"]
    assert [(r["limit"], r["after"], r["changed"]) for r in kept] == [
        ("soft", "unlimited", False), ("hard", "unlimited", False)]
    assert result["backup_file"] is None


def test_second_run_changes_nothing(host, monkeypatch, capsys):
    code, first = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0 and first["changed"] is True
    host["commands"][:] = []
    code, second = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0, second
    assert second["changed"] is False and second["msg"] == "no change"
    assert second["cap_mkdb"] is None and host["commands"] == []
    assert second["lines"] == [] and second["class"]["created"] is False


def test_check_mode_writes_nothing_and_runs_nothing(host, monkeypatch, capsys):
    code, result = run_module(args_for(host, _ansible_check_mode=True, _ansible_diff=True), monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert read(host["path"]) == host["original"]
    assert host["commands"] == []
    assert result["cap_mkdb"] == [CAP_MKDB, host["path"]]
    assert result["diff"]["after"] == host["original"] + NEW_CLASS


def test_check_mode_without_cap_mkdb_warns(host, monkeypatch, capsys):
    host["bins"] = {}
    code, result = run_module(args_for(host, _ansible_check_mode=True), monkeypatch, capsys)
    assert code == 0, result
    assert host["warned"] == ["cap_mkdb was not found on this host; a real run would fail before writing %s"
                              % host["path"]]
    assert result["cap_mkdb"] == ["cap_mkdb", host["path"]]


def test_missing_cap_mkdb_fails_before_writing(host, monkeypatch, capsys):
    host["bins"] = {}
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 1
    assert "cap_mkdb" in result["msg"]
    assert read(host["path"]) == host["original"]
    assert host["commands"] == []


def test_malformed_file_is_reported_and_left_alone(host, monkeypatch, capsys):
    shutil.copy(os.path.join(FIXTURES, "login.conf-malformed"), host["path"])
    before = read(host["path"])
    code, result = run_module(args_for(host, backup=True), monkeypatch, capsys)
    assert code == 1
    assert result["msg"].startswith("%s:61: the line starts with white space but does not continue a record"
                                    % host["path"])
    assert result["msg"].endswith("; nothing was changed")
    assert result["line"] == 61
    assert read(host["path"]) == before
    assert host["commands"] == [] and host["looked_up"] == []
    assert sorted(os.listdir(str(host["tmp"]))) == ["login.conf"]   # no backup either


def test_bad_value_names_class_capability_and_value(host, monkeypatch, capsys):
    code, result = run_module(args_for(host, capabilities={"openfiles": "64k"}), monkeypatch, capsys)
    assert code == 1
    assert result["msg"] == ("class 'postgres': capability openfiles: value '64k' is not accepted; expected a whole "
                             "number, e.g. 8192, without a suffix; or unlimited / infinity (login_getcapnum would "
                             "read only the leading number of '64k'); nothing was changed")
    assert read(host["path"]) == host["original"] and host["commands"] == []


def test_existing_class_by_alias_with_backup(host, monkeypatch, capsys):
    shutil.copy(os.path.join(FIXTURES, "login.conf-postgres"), host["path"])
    before = read(host["path"])
    code, result = run_module(args_for(host, name="pgsql", backup=True), monkeypatch, capsys)
    assert code == 0, result
    after = before.replace("\t:openfiles-cur=8192:\\\n\t:openfiles-max=16384:\\\n",
                           "\t:openfiles-cur=65536:\\\n\t:openfiles-max=65536:\\\n"
                           ).replace("\t:memorylocked@:\\\n", "\t:memorylocked=256M:\\\n"
                                     ).replace("\t:datasize=8g:\\\n", "\t:datasize=unlimited:\\\n")
    assert read(host["path"]) == after
    assert result["msg"] == "4 capability(ies) of class pgsql changed in %s" % host["path"]
    assert result["class"]["names"] == ["postgres", "pgsql", "PostgreSQL Server"]
    assert result["lines"][2] == ("pgsql: openfiles-cur=65536 (soft; was 8192 (openfiles-cur=8192, line 96)): "
                                  "asked openfiles=65536")
    backup = result["backup_file"]
    assert backup and os.path.dirname(backup) == str(host["tmp"]) and read(backup) == before
    assert host["commands"] == [[CAP_MKDB, host["path"]]]


def test_exact_values_with_never_lower_false(host, monkeypatch, capsys):
    shutil.copy(os.path.join(FIXTURES, "login.conf-postgres"), host["path"])
    before = read(host["path"])
    code, result = run_module(args_for(host, capabilities={"datasize": "4G"}, never_lower=False), monkeypatch, capsys)
    assert code == 0, result
    assert read(host["path"]) == before.replace("\t:datasize=8g:\\\n", "\t:datasize=4G:\\\n")
    assert result["limits"][0]["reason"] == "asked datasize=4G (lowered from 8G: never_lower is false)"


def test_database_rebuilt_just_after_the_write_is_current(host, monkeypatch, capsys):
    """cap_mkdb's file time may lag the file's (Python's clock) by a tick: not stale."""
    code, first = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0 and first["changed"] is True
    written = os.stat(host["path"]).st_mtime
    with open(host["path"] + ".db", "w") as handle:   # what cap_mkdb makes, 4 ms "before" the file
        handle.write("db")
    os.utime(host["path"] + ".db", (written - 0.004, written - 0.004))
    host["commands"][:] = []
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0 and result["changed"] is False, result
    assert host["commands"] == []


def test_stale_database_is_rebuilt(host, monkeypatch, capsys):
    code, first = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0 and first["changed"] is True
    db = host["path"] + ".db"
    with open(db, "w") as handle:
        handle.write("old")
    os.utime(db, (1000000, 1000000))
    host["commands"][:] = []
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert result["msg"] == "class postgres unchanged; %s.db was older than the file and is rebuilt" % host["path"]
    assert host["commands"] == [[CAP_MKDB, host["path"]]]
    assert result["diff"]["before"] == result["diff"]["after"]


def test_cap_mkdb_failure_is_reported(host, monkeypatch, capsys):
    host["rc"] = 1
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 1
    assert result["msg"] == ("%s was written but %s %s failed (rc 1): cap_mkdb: %s: Permission denied; getcap still "
                             "reads the old database" % (host["path"], CAP_MKDB, host["path"], host["path"]))


def test_missing_file_is_created(host, monkeypatch, capsys):
    path = str(host["tmp"] / "etc" / "login.conf")
    code, result = run_module(args_for(host, path=path, inherit="", capabilities={"openfiles": 8192}),
                              monkeypatch, capsys)
    assert code == 0, result
    assert read(path) == HEADER % "postgres" + "postgres|PostgreSQL Server:\\\n\t:openfiles=8192:\n"


def test_not_utf8_is_refused(host, monkeypatch, capsys):
    with open(host["path"], "ab") as handle:
        handle.write(b"# \xe0\xf5\n")
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 1
    assert result["msg"].startswith("%s is not UTF-8 text" % host["path"])
    assert host["commands"] == []
