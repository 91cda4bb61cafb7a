# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd_file: the decisions of pg_systemd_file (what to run given the file
change, systemd's answers, the options and check mode) and its systemctl
seam, answered by a recorded-output fake."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils import systemd_file
from ansible_collections.pghost.hardening.plugins.module_utils.systemd_file import Action, PlanError, SystemctlError

UNIT = "pghost-thp.service"
SYSTEMCTL = "/usr/bin/systemctl"
# systemd 252 (bookworm) for a unit without a file: nothing on stdout.
NO_FILE_252 = (1, "", "Failed to get unit file state for %s: No such file or directory\n" % UNIT)
NO_BUS = (1, "", "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
                 "Failed to connect to bus: Host is down\n")


class FakeSystemctl:
    """Answers systemctl from {args: (rc, out, err)}; an unlisted command succeeds silently."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []

    def run(self, *args):
        self.calls.append(args)
        rc, out, err = self.answers.get(args, (0, "", ""))
        return [SYSTEMCTL] + list(args), rc, out, err


# ---------------------------------------------------------------- parse_mode


@pytest.mark.parametrize("given, mode", [("0644", 0o644), ("644", 0o644), ("0600", 0o600), ("0755", 0o755)])
def test_parse_mode_octal_strings(given, mode):
    assert systemd_file.parse_mode(given) == mode


@pytest.mark.parametrize("given, says", [
    (420, "quoted octal string"),       # YAML's reading of an unquoted 0644
    (644, "quoted octal string"),
    (True, "quoted octal string"),
    ("u=rw,g=r,o=r", "not an octal mode"),
    ("0648", "not an octal mode"),
    ("04755", "not an octal mode"),      # setuid on a systemd file is never meant
    ("", "not an octal mode"),
])
def test_parse_mode_refuses(given, says):
    with pytest.raises(ValueError, match=says):
        systemd_file.parse_mode(given)


# ---------------------------------------------------------------- missing_directories


@pytest.mark.parametrize("existing, path, missing", [
    ({"/etc", "/etc/systemd"}, "/etc/systemd/logind.conf.d/60-pghost-removeipc.conf", ["/etc/systemd/logind.conf.d"]),
    ({"/etc", "/etc/systemd", "/etc/systemd/system"}, "/etc/systemd/system/pghost-thp.service", []),
    ({"/etc"}, "/etc/systemd/logind.conf.d/x.conf", ["/etc/systemd", "/etc/systemd/logind.conf.d"]),
    (set(), "/x.conf", []),
])
def test_missing_directories_outermost_first(existing, path, missing):
    assert systemd_file.missing_directories(path, lambda p: p in existing) == missing


# ---------------------------------------------------------------- attributes


@pytest.mark.parametrize("current, wanted, changes", [
    (None, (0, 0, 0o644), []),
    ((0, 0, 0o644), (0, 0, 0o644), []),
    ((0, 0, 0o600), (0, 0, 0o644), [("mode", 0o600, 0o644)]),
    ((1000, 0, 0o644), (0, 0, 0o644), [("owner", 1000, 0)]),
    ((1000, 1000, 0o664), (0, 0, 0o644), [("owner", 1000, 0), ("group", 1000, 0), ("mode", 0o664, 0o644)]),
])
def test_attribute_changes(current, wanted, changes):
    assert systemd_file.attribute_changes(current, wanted) == changes


def test_attribute_diff_shows_the_mode_in_octal():
    diff = systemd_file.attribute_diff("/etc/x.conf", [("owner", 1000, 0), ("mode", 0o600, 0o644)])
    assert diff["before"] == {"owner": 1000, "mode": "0600"}
    assert diff["after"] == {"owner": 0, "mode": "0644"}
    assert diff["before_header"] == "/etc/x.conf (attributes)"
    assert systemd_file.attribute_diff("/etc/x.conf", []) is None


# ---------------------------------------------------------------- parsing systemctl's answers


@pytest.mark.parametrize("rc, out, err, state", [
    (0, "enabled\n", "", "enabled"),
    (1, "disabled\n", "", "disabled"),
    (0, "static\n", "", "static"),
    (1, "masked\n", "", "masked"),
    (1, "not-found\n", "", "not-found"),  # systemd 257 (trixie)
    NO_FILE_252 + ("not-found",),
])
def test_parse_is_enabled(rc, out, err, state):
    assert systemd_file.parse_is_enabled([SYSTEMCTL, "is-enabled", UNIT], rc, out, err) == state


@pytest.mark.parametrize("answer", [NO_BUS, (1, "", ""), (1, "", "Access denied\n")])
def test_parse_is_enabled_without_an_answer_is_an_error(answer):
    with pytest.raises(SystemctlError) as info:
        systemd_file.parse_is_enabled([SYSTEMCTL, "is-enabled", UNIT], *answer)
    assert str(info.value).startswith("`/usr/bin/systemctl is-enabled pghost-thp.service` failed (rc 1): ")
    assert info.value.rc == 1 and info.value.argv == [SYSTEMCTL, "is-enabled", UNIT]


@pytest.mark.parametrize("rc, out, state", [(0, "active\n", "active"), (3, "inactive\n", "inactive"),
                                            (3, "failed\n", "failed"), (3, "activating\n", "activating")])
def test_parse_is_active(rc, out, state):
    assert systemd_file.parse_is_active([SYSTEMCTL, "is-active", UNIT], rc, out, "") == state


def test_parse_is_active_without_an_answer_is_an_error():
    with pytest.raises(SystemctlError, match="Failed to connect to bus"):
        systemd_file.parse_is_active([SYSTEMCTL, "is-active", UNIT], *NO_BUS)


def test_systemctl_error_says_stdout_when_stderr_is_empty():
    error = SystemctlError([SYSTEMCTL, "start", UNIT], 5, "odd\n", "")
    assert str(error) == "`/usr/bin/systemctl start pghost-thp.service` failed (rc 5): odd"
    assert str(SystemctlError(["systemctl", "daemon-reload"], 1, "", "")).endswith("(rc 1): no output")


# ---------------------------------------------------------------- read_unit


@pytest.mark.parametrize("enable, start, calls, state", [
    (False, False, [], {"is_enabled": None, "is_active": None}),
    (True, False, [("is-enabled", UNIT)], {"is_enabled": "disabled", "is_active": None}),
    # a masked unit cannot be started either, so start alone asks is-enabled too
    (False, True, [("is-enabled", UNIT), ("is-active", UNIT)], {"is_enabled": "disabled", "is_active": "inactive"}),
    (True, True, [("is-enabled", UNIT), ("is-active", UNIT)], {"is_enabled": "disabled", "is_active": "inactive"}),
])
def test_read_unit_asks_only_what_the_options_need(enable, start, calls, state):
    fake = FakeSystemctl({("is-enabled", UNIT): (1, "disabled\n", ""), ("is-active", UNIT): (3, "inactive\n", "")})
    assert systemd_file.read_unit(fake, UNIT, enable, start) == state
    assert fake.calls == calls


def test_read_unit_without_unit_asks_nothing():
    fake = FakeSystemctl()
    assert systemd_file.read_unit(fake, None, True, True) == {"is_enabled": None, "is_active": None}
    assert fake.calls == []


# ---------------------------------------------------------------- plan

RELOAD = Action("daemon-reload", None)
ENABLE = Action("enable", UNIT)
START = Action("start", UNIT)
LOGIND = "systemd-logind.service"
RESTART_LOGIND = Action("restart", LOGIND)
THP = dict(daemon_reload=True, unit=UNIT, enable=True)


@pytest.mark.parametrize("changed, check, options, is_enabled, is_active, actions", [
    # the THP unit, first run: written, reloaded, enabled, started (VM) or not (container)
    (True, False, dict(THP, start=True), "disabled", "inactive", [RELOAD, ENABLE, START]),
    (True, False, dict(THP, start=False), "disabled", None, [RELOAD, ENABLE]),
    # second run: nothing
    (False, False, dict(THP, start=True), "enabled", "active", []),
    (False, False, dict(THP, start=False), "enabled", None, []),
    # changed unit, already enabled and running: reload only; start never restarts
    (True, False, dict(THP, start=True), "enabled", "active", [RELOAD]),
    # someone disabled or stopped it since: put back without a reload
    (False, False, dict(THP, start=True), "disabled", "active", [ENABLE]),
    (False, False, dict(THP, start=True), "enabled", "failed", [START]),
    (False, False, dict(THP, start=True), "enabled", "inactive", [START]),
    (False, False, dict(THP, start=True), "enabled", "activating", []),
    # is-enabled states that leave enable nothing to do, and those that do not
    (False, False, THP, "static", None, []),
    (False, False, THP, "indirect", None, []),
    (False, False, THP, "generated", None, []),
    (False, False, THP, "enabled-runtime", None, [ENABLE]),
    (False, False, THP, "linked", None, [ENABLE]),
    # daemon_reload off: a changed file alone runs nothing
    (True, False, dict(unit=UNIT, enable=True), "enabled", None, []),
    (True, False, dict(daemon_reload=True), None, None, [RELOAD]),
    (False, False, dict(daemon_reload=True), None, None, []),
    # check mode, unit file not installed yet: would reload, enable and start
    (True, True, dict(THP, start=True), "not-found", "inactive", [RELOAD, ENABLE, START]),
    (True, True, dict(THP, start=False), "not-found", None, [RELOAD, ENABLE]),
    # check mode, the file on disk is bad now but is being replaced: judged after the write
    (True, True, dict(THP, start=True), "bad", "inactive", [RELOAD, ENABLE, START]),
    # check mode, nothing to write: systemd's answers are final
    (False, True, dict(THP, start=True), "enabled", "active", []),
    (False, True, dict(THP, start=True), "disabled", "inactive", [ENABLE, START]),
    # logind: restart only when the drop-in changed
    (True, False, dict(restart_on_change=LOGIND), None, None, [RESTART_LOGIND]),
    (True, True, dict(restart_on_change=LOGIND), None, None, [RESTART_LOGIND]),
    (False, False, dict(restart_on_change=LOGIND), None, None, []),
    # a unit both started and restarted on change: the restart starts it
    (True, False, dict(unit=UNIT, start=True, restart_on_change=UNIT), "enabled", "inactive", [Action("restart", UNIT)]),
    (False, False, dict(unit=UNIT, start=True, restart_on_change=UNIT), "enabled", "inactive", [START]),
    # restart runs last, after the unit it may depend on is in place
    (True, False, dict(THP, start=True, restart_on_change=LOGIND), "disabled", "inactive",
     [RELOAD, ENABLE, START, RESTART_LOGIND]),
])
def test_plan(changed, check, options, is_enabled, is_active, actions):
    assert systemd_file.plan(changed, check, is_enabled=is_enabled, is_active=is_active, **options) == actions


@pytest.mark.parametrize("changed, check, options, is_enabled, says", [
    (False, False, dict(THP, start=True), "masked", "is masked (linked to /dev/null)"),
    (True, True, dict(THP, start=True), "masked-runtime", "`systemctl unmask pghost-thp.service` first"),
    (False, False, dict(unit=UNIT, start=True), "masked", "neither enable nor start"),
    # after the write (not check mode) systemd must know the unit: else the path is wrong
    (True, False, THP, "not-found", "finds no unit file for pghost-thp.service"),
    (False, False, THP, "not-found", "must be in a unit directory"),
    (False, True, THP, "not-found", "named after the unit"),
    (True, False, THP, "bad", "systemd-analyze verify pghost-thp.service"),
    (False, True, THP, "bad", "as bad"),
])
def test_plan_refuses(changed, check, options, is_enabled, says):
    with pytest.raises(PlanError, match=says.replace("(", r"\(").replace(")", r"\)")):
        systemd_file.plan(changed, check, is_enabled=is_enabled, is_active="inactive", **options)


def test_plan_ignores_unit_state_when_nothing_is_asked_of_the_unit():
    # daemon_reload alone with a masked unit named: no enable/start, so no refusal
    assert systemd_file.plan(True, False, daemon_reload=True, unit=UNIT, is_enabled="masked") == [RELOAD]


# ---------------------------------------------------------------- execute and reporting


def test_execute_runs_in_order():
    fake = FakeSystemctl()
    assert systemd_file.execute(fake, [RELOAD, ENABLE, START]) == [RELOAD, ENABLE, START]
    assert fake.calls == [("daemon-reload",), ("enable", UNIT), ("start", UNIT)]


def test_execute_stops_at_the_first_failure():
    fake = FakeSystemctl({("enable", UNIT): (1, "", "Failed to enable unit: Unit file pghost-thp.service does not exist.\n")})
    with pytest.raises(SystemctlError) as info:
        systemd_file.execute(fake, [RELOAD, ENABLE, START])
    assert fake.calls == [("daemon-reload",), ("enable", UNIT)]
    assert info.value.done == [RELOAD]
    assert info.value.rc == 1 and info.value.argv == [SYSTEMCTL, "enable", UNIT]
    assert str(info.value) == ("`/usr/bin/systemctl enable pghost-thp.service` failed (rc 1): "
                               "Failed to enable unit: Unit file pghost-thp.service does not exist.")


@pytest.mark.parametrize("planned, done, lost", [
    ([RELOAD, ENABLE, START], [], [RELOAD]),
    ([RELOAD, ENABLE, START], [RELOAD], []),
    ([RESTART_LOGIND], [], [RESTART_LOGIND]),
    ([ENABLE, START], [], []),
])
def test_lost_on_rerun_is_what_only_a_content_change_triggers(planned, done, lost):
    assert systemd_file.lost_on_rerun(planned, done) == lost


@pytest.mark.parametrize("actions, flags", [
    ([], {"daemon_reloaded": False, "enabled": False, "started": False, "restarted": False}),
    ([RELOAD, ENABLE], {"daemon_reloaded": True, "enabled": True, "started": False, "restarted": False}),
    ([START, RESTART_LOGIND], {"daemon_reloaded": False, "enabled": False, "started": True, "restarted": True}),
])
def test_reported(actions, flags):
    assert systemd_file.reported(actions) == flags


@pytest.mark.parametrize("written, attributes, actions, check, msg", [
    (False, [], [], False, "/etc/x is as asked; nothing to do"),
    (False, [], [], True, "/etc/x is as asked; nothing to do"),
    (True, [], [RELOAD, ENABLE], False, "wrote /etc/x; ran systemctl daemon-reload; ran systemctl enable " + UNIT),
    (True, [], [RELOAD, ENABLE], True, "would write /etc/x; run systemctl daemon-reload; run systemctl enable " + UNIT),
    (False, ["owner", "mode"], [], False, "set the owner, mode of /etc/x"),
    (False, [], [START], True, "would run systemctl start " + UNIT),
])
def test_summary(written, attributes, actions, check, msg):
    assert systemd_file.summary("/etc/x", written, attributes, actions, check) == msg
