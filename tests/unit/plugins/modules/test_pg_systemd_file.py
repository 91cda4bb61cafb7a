# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_systemd_file: main() run the way Ansible runs a module (arguments in
basic._ANSIBLE_ARGS, result on stdout, SystemExit) against files under
tmp_path, with systemctl answered by FakeSystemd through the module's one
seam (systemd_file.Systemctl)."""

from __future__ import annotations

import os
import stat

import pytest
import yaml
from fake_module import run_main

from ansible_collections.pghost.hardening.plugins.module_utils import systemd_file
from ansible_collections.pghost.hardening.plugins.modules import pg_systemd_file

UNIT = "pghost-thp.service"
LOGIND = "systemd-logind.service"
THP_TEXT = "[Unit]\nDescription=THP off\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n\n[Install]\nWantedBy=basic.target\n"
DROP_IN = "[Login]\nRemoveIPC=no\n"
CHANGING = ("daemon-reload", "enable", "start", "restart")


class FakeSystemd:
    """A small systemd: a unit exists when its file is in unit_dir; enable,
    start and restart change its state; fail={verb: (rc, stderr)} makes a verb fail."""

    def __init__(self, unit_dir, enabled=False, active=False, masked=False, fail=None):
        self.unit_dir = unit_dir
        self.enabled, self.active, self.masked = enabled, active, masked
        self.fail = fail or {}
        self.calls = []

    def run(self, *args):
        self.calls.append(args)
        argv = ["/usr/bin/systemctl"] + list(args)
        verb, unit = args[0], args[1] if len(args) > 1 else None
        if verb in self.fail:
            rc, err = self.fail[verb]
            return argv, rc, "", err
        exists = unit is not None and os.path.exists(os.path.join(self.unit_dir, unit))
        if verb == "is-enabled":
            if self.masked:
                return argv, 1, "masked\n", ""
            if unit != UNIT or not exists:
                return argv, 1, "", "Failed to get unit file state for %s: No such file or directory\n" % unit
            return argv, 0 if self.enabled else 1, "enabled\n" if self.enabled else "disabled\n", ""
        if verb == "is-active":
            return argv, 0 if self.active else 3, "active\n" if self.active else "inactive\n", ""
        if verb == "enable":
            self.enabled = True
        elif verb in ("start", "restart") and unit == UNIT:
            self.active = True
        return argv, 0, "", ""

    def changing(self):
        return [call for call in self.calls if call[0] in CHANGING]


@pytest.fixture
def host(tmp_path, monkeypatch, capsys):
    class Host:
        unit_dir = str(tmp_path / "etc" / "systemd" / "system")
        unit_path = os.path.join(unit_dir, UNIT)
        logind_dir = str(tmp_path / "etc" / "systemd" / "logind.conf.d")
        drop_in = os.path.join(logind_dir, "60-pghost-removeipc.conf")
        systemd = None

        def __init__(self):
            os.makedirs(self.unit_dir)
            self.use(FakeSystemd(self.unit_dir))

        def use(self, systemd):
            self.systemd = systemd
            monkeypatch.setattr(systemd_file, "Systemctl", lambda module: self.systemd)

        def run(self, check=False, diff=False, **args):
            args.setdefault("owner", str(os.getuid()))
            args.setdefault("group", str(os.getgid()))
            args["_ansible_check_mode"] = check
            args["_ansible_diff"] = diff
            return run_main(pg_systemd_file.main, args, monkeypatch, capsys)

        def thp(self, start=True, **args):
            return self.run(path=self.unit_path, content=THP_TEXT, daemon_reload=True, unit=UNIT, enable=True,
                            start=start, **args)

        def logind(self, **args):
            args.setdefault("content", DROP_IN)
            return self.run(path=self.drop_in, restart_on_change=LOGIND, **args)

    return Host()


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_documentation_matches_the_argument_spec():
    doc = yaml.safe_load(pg_systemd_file.DOCUMENTATION)
    assert doc["module"] == "pg_systemd_file"
    assert set(doc["options"]) == {"path", "content", "owner", "group", "mode", "daemon_reload", "unit", "enable",
                                   "start", "restart_on_change"}
    assert "speed" in " ".join(doc["description"]) and "safety" in " ".join(doc["description"])
    yaml.safe_load(pg_systemd_file.EXAMPLES)
    returned = yaml.safe_load(pg_systemd_file.RETURN)
    assert set(returned) == {"written", "directories_created", "attributes_changed", "daemon_reloaded", "enabled",
                             "started", "restarted", "unit_state", "commands", "msg", "cmd", "rc", "stdout", "stderr"}


# ---------------------------------------------------------------- the THP unit


def test_thp_unit_first_run_writes_reloads_enables_starts_then_nothing(host):
    code, result = host.thp()
    assert code == 0 and result["changed"] is True
    with open(host.unit_path) as handle:
        assert handle.read() == THP_TEXT
    assert mode_of(host.unit_path) == 0o644
    assert (result["written"], result["daemon_reloaded"], result["enabled"], result["started"], result["restarted"]) == (
        True, True, True, True, False)
    assert result["unit_state"] == {"is_enabled": "disabled", "is_active": "inactive"}  # read after the write
    assert result["commands"] == ["systemctl daemon-reload", "systemctl enable %s" % UNIT, "systemctl start %s" % UNIT]
    assert host.systemd.changing() == [("daemon-reload",), ("enable", UNIT), ("start", UNIT)]
    assert result["msg"] == ("wrote %s; ran systemctl daemon-reload; ran systemctl enable %s; ran systemctl start %s"
                             % (host.unit_path, UNIT, UNIT))

    host.systemd.calls = []
    code, second = host.thp()
    assert code == 0 and second["changed"] is False
    assert second["unit_state"] == {"is_enabled": "enabled", "is_active": "active"}
    assert host.systemd.calls == [("is-enabled", UNIT), ("is-active", UNIT)]
    assert second["commands"] == [] and second["msg"] == "%s is as asked; nothing to do" % host.unit_path


def test_thp_unit_in_a_container_is_enabled_not_started(host):
    code, result = host.thp(start=False)
    assert code == 0 and result["enabled"] is True and result["started"] is False
    assert result["unit_state"] == {"is_enabled": "disabled", "is_active": None}
    assert ("start", UNIT) not in host.systemd.calls and ("is-active", UNIT) not in host.systemd.calls


def test_thp_check_mode_on_a_fresh_host_would_do_everything_and_changes_nothing(host):
    code, result = host.thp(check=True, diff=True)
    assert code == 0 and result["changed"] is True
    assert not os.path.exists(host.unit_path)
    # the unit file is not there yet: systemd cannot know the unit, which is no failure
    assert result["unit_state"] == {"is_enabled": "not-found", "is_active": "inactive"}
    assert (result["written"], result["daemon_reloaded"], result["enabled"], result["started"]) == (True, True, True, True)
    assert host.systemd.changing() == []
    assert result["msg"].startswith("would write %s; run systemctl daemon-reload; run systemctl enable" % host.unit_path)
    assert result["diff"] == [{"before": "", "after": THP_TEXT,
                               "before_header": host.unit_path, "after_header": host.unit_path}]


def test_thp_check_mode_on_a_converged_host_is_unchanged(host):
    host.thp()
    host.systemd.calls = []
    code, result = host.thp(check=True)
    assert code == 0 and result["changed"] is False and result["commands"] == []
    assert host.systemd.changing() == []


def test_changed_unit_is_reloaded_not_restarted(host):
    host.thp()
    host.systemd.calls = []
    new = THP_TEXT.replace("THP off", "THP off, v2")
    code, result = host.run(path=host.unit_path, content=new, daemon_reload=True, unit=UNIT, enable=True, start=True,
                            _ansible_diff=True)
    assert code == 0 and result["changed"] is True
    assert host.systemd.changing() == [("daemon-reload",)]
    assert result["diff"][0]["before"] == THP_TEXT and result["diff"][0]["after"] == new


def test_a_stopped_and_disabled_unit_is_put_back_without_a_reload(host):
    host.thp()
    host.systemd.enabled = host.systemd.active = False
    host.systemd.calls = []
    code, result = host.thp()
    assert code == 0 and result["changed"] is True and result["written"] is False
    assert host.systemd.changing() == [("enable", UNIT), ("start", UNIT)]


def test_masked_unit_is_refused_in_check_mode_and_for_real(host):
    host.use(FakeSystemd(host.unit_dir, masked=True))
    code, result = host.thp(check=True)
    assert code == 1 and "pghost-thp.service is masked" in result["msg"]
    assert result["changed"] is False and not os.path.exists(host.unit_path)
    code, result = host.thp()
    assert code == 1 and result["msg"].startswith("pghost-thp.service is masked (linked to /dev/null)")
    assert "no systemctl command was run" in result["msg"]
    assert host.systemd.changing() == []


def test_a_unit_systemd_cannot_find_after_the_write_fails_naming_the_path_rule(host):
    other = os.path.join(host.unit_dir, "other-name.service")
    code, result = host.run(path=other, content=THP_TEXT, daemon_reload=True, unit="other.service", enable=True)
    assert code == 1
    assert "systemd finds no unit file for other.service" in result["msg"]
    # refused as a whole: not even the daemon-reload ran
    assert host.systemd.changing() == []
    assert "a later run sees no change and will not repeat" not in result["msg"]


def test_a_failing_systemctl_command_names_command_rc_stderr_and_what_is_left(host):
    host.use(FakeSystemd(host.unit_dir, fail={"daemon-reload": (1, "Failed to reload daemon: Access denied\n")}))
    code, result = host.thp()
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("`/usr/bin/systemctl daemon-reload` failed (rc 1): "
                                    "Failed to reload daemon: Access denied; ")
    assert "a later run sees no change and will not repeat `systemctl daemon-reload`: run it by hand" in result["msg"]
    assert result["cmd"] == ["/usr/bin/systemctl", "daemon-reload"] and result["rc"] == 1
    assert result["stderr"] == "Failed to reload daemon: Access denied\n"
    assert result["daemon_reloaded"] is False and result["enabled"] is False
    assert os.path.exists(host.unit_path)


def test_a_failing_start_after_enable_reports_what_ran(host):
    host.use(FakeSystemd(host.unit_dir, fail={"start": (1, "Job for pghost-thp.service failed.\n")}))
    code, result = host.thp()
    assert code == 1
    assert result["daemon_reloaded"] is True and result["enabled"] is True and result["started"] is False
    assert result["commands"] == ["systemctl daemon-reload", "systemctl enable %s" % UNIT]
    # start is judged again next run, so nothing is lost
    assert "run it by hand" not in result["msg"]


def test_unreadable_systemd_state_fails_with_the_command(host):
    host.use(FakeSystemd(host.unit_dir, fail={"is-enabled": (1, "Failed to connect to bus: No medium found\n")}))
    code, result = host.thp(check=True)
    assert code == 1
    assert result["msg"] == ("`/usr/bin/systemctl is-enabled pghost-thp.service` failed (rc 1): "
                             "Failed to connect to bus: No medium found")


# ---------------------------------------------------------------- the logind drop-in


def test_logind_drop_in_creates_its_directory_and_restarts_logind_once(host):
    old = os.umask(0o077)
    try:
        code, result = host.logind()
    finally:
        os.umask(old)
    assert code == 0 and result["changed"] is True
    assert result["directories_created"] == [host.logind_dir]
    assert mode_of(host.logind_dir) == 0o755 and mode_of(host.drop_in) == 0o644
    assert result["restarted"] is True and host.systemd.changing() == [("restart", LOGIND)]
    assert result["unit_state"] == {"is_enabled": None, "is_active": None}
    host.systemd.calls = []
    code, second = host.logind()
    assert code == 0 and second["changed"] is False and second["restarted"] is False
    assert host.systemd.calls == [] and second["directories_created"] == []


def test_logind_check_mode_would_restart_and_creates_nothing(host):
    code, result = host.logind(check=True)
    assert code == 0 and result["changed"] is True and result["restarted"] is True
    assert result["directories_created"] == [host.logind_dir]
    assert not os.path.exists(host.logind_dir) and host.systemd.calls == []


def test_logind_restart_failure_says_to_restart_by_hand(host):
    host.use(FakeSystemd(host.unit_dir, fail={"restart": (1, "Job for systemd-logind.service failed.\n")}))
    code, result = host.logind()
    assert code == 1 and result["changed"] is True
    assert "will not repeat `systemctl restart systemd-logind.service`: run it by hand" in result["msg"]
    with open(host.drop_in) as handle:
        assert handle.read() == DROP_IN


def test_no_systemctl_is_needed_when_nothing_is_asked_of_systemd(host, monkeypatch):
    def no_systemctl(module):
        raise AssertionError("systemctl looked up")

    monkeypatch.setattr(systemd_file, "Systemctl", no_systemctl)
    code, result = host.run(path=host.drop_in, content=DROP_IN)
    assert code == 0 and result["written"] is True
    code, result = host.logind()  # unchanged: no restart, so no systemctl either
    assert code == 0 and result["changed"] is False


# ---------------------------------------------------------------- attributes and refusals


def test_attributes_alone_change_the_file_not_the_unit(host):
    host.thp()
    os.chmod(host.unit_path, 0o600)
    host.systemd.calls = []
    code, result = host.thp(diff=True)
    assert code == 0 and result["changed"] is True and result["written"] is False
    assert result["attributes_changed"] == ["mode"] and mode_of(host.unit_path) == 0o644
    assert host.systemd.changing() == []
    assert result["diff"][1]["before"] == {"mode": "0600"} and result["diff"][1]["after"] == {"mode": "0644"}
    assert result["msg"] == "set the mode of %s" % host.unit_path


def test_attributes_in_check_mode_are_reported_not_set(host):
    host.thp()
    os.chmod(host.unit_path, 0o600)
    code, result = host.thp(check=True)
    assert code == 0 and result["changed"] is True and result["attributes_changed"] == ["mode"]
    assert mode_of(host.unit_path) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_owner_and_group_are_set_on_a_new_file_and_put_back_on_an_old_one(host):
    code, result = host.thp(owner="65534", group="65534")
    assert code == 0 and (os.lstat(host.unit_path).st_uid, os.lstat(host.unit_path).st_gid) == (65534, 65534)
    assert result["attributes_changed"] == []  # a new file: "written" says it all
    code, result = host.thp(owner="0", group="root")
    assert code == 0 and result["attributes_changed"] == ["owner", "group"] and result["written"] is False
    assert (os.lstat(host.unit_path).st_uid, os.lstat(host.unit_path).st_gid) == (0, 0)


@pytest.mark.parametrize("mode, says", [(420, "quoted octal string"), ("rw-r--r--", "not an octal mode")])
def test_an_unquoted_or_symbolic_mode_is_refused(host, mode, says):
    code, result = host.thp(mode=mode)
    assert code == 1 and says in result["msg"]
    assert not os.path.exists(host.unit_path) and host.systemd.calls == []


@pytest.mark.parametrize("option", ["owner", "group"])
def test_an_unknown_owner_or_group_is_refused_before_writing(host, option):
    code, result = host.thp(**{option: "no-such-pghost-principal"})
    assert code == 1 and "no-such-pghost-principal" in result["msg"] and "nothing was written" in result["msg"]
    assert not os.path.exists(host.unit_path)


def test_a_symlink_is_refused_not_replaced(host):
    os.symlink("/dev/null", host.unit_path)
    code, result = host.thp()
    assert code == 1 and "is a symbolic link (to /dev/null)" in result["msg"]
    assert os.readlink(host.unit_path) == "/dev/null" and host.systemd.calls == []


def test_a_directory_at_path_is_refused(host):
    os.makedirs(host.unit_path)
    code, result = host.thp()
    assert code == 1 and result["msg"] == "%s exists and is not a regular file; nothing was written" % host.unit_path


def test_enable_without_unit_is_refused_by_the_argument_spec(host):
    code, result = host.run(path=host.unit_path, content=THP_TEXT, enable=True)
    assert code == 1 and "unit" in result["msg"]
    assert not os.path.exists(host.unit_path)
