# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail_uid_outcome: pg_jail's distinct_uid plan as data, its lines and what blocks it."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils.jail_uid_outcome import (
    applied_status, failure_reason, plan_outcome, target_plan)


def jail(name, uid, gid=None, has_postgresql=True):
    return {"name": name, "path": "/jails/%s" % name, "users": {"postgres": uid}, "groups": {"postgres": gid or uid},
            "has_postgresql": has_postgresql, "ipc": "inherit"}


def target(name, path=None, data_directories=("/var/db/postgres/data15",)):
    return {"name": name, "path": path or "/jails/%s" % name, "jid": 1, "running": True,
            "data_directories": list(data_directories)}


def test_a_plan_is_ok():
    outcome = plan_outcome([jail("a", 770), jail("b", 770)], {"root": 0}, [5000, 5009])
    assert (outcome["ok"], outcome["error"], outcome["needed"]) == (True, None, None)
    assert [(j["name"], j["target_uid"]) for j in outcome["plan"]["jails"]] == [("a", 770), ("b", 5000)]


def test_a_too_small_range_says_how_many_ids_are_needed():
    outcome = plan_outcome([jail("a", 770), jail("b", 770), jail("c", 770)], {"root": 0}, [5000, 5000])
    assert outcome["ok"] is False and outcome["plan"] is None
    assert outcome["needed"] == 2
    assert outcome["error"].startswith("UID range 5000-5000 is too small: 2 jail(s) need a new uid (b, c)")


def test_other_errors_have_no_needed_count():
    outcome = plan_outcome([{"name": "a", "users": {}, "groups": {}, "has_postgresql": True}], {}, [5000, 5009])
    assert outcome == {"ok": False, "plan": None, "needed": None,
                       "error": "jail a has PostgreSQL but no user 'postgres' (its users: none)"}


def test_with_postgresql_plans_a_jail_the_audit_did_not_see_postgresql_in():
    jails = [jail("a", 770), jail("b", 770, has_postgresql=False)]
    assert [j["name"] for j in plan_outcome(jails, {}, [5000, 5009])["plan"]["jails"]] == ["a"]
    planned = plan_outcome(jails, {}, [5000, 5009], with_postgresql=["b"])["plan"]["jails"]
    assert [(j["name"], j["change_uid"]) for j in planned] == [("a", False), ("b", True)]


def test_target_plan_lines_status_and_blocked():
    result = plan_outcome([jail("a", 770), jail("b", 770), jail("c", 771)], {}, [5000, 5009])["plan"]
    out = target_plan(result, [target("a"), target("b", path="/")], apply=False, check_mode=True)
    assert (out["range"], out["changed"], out["apply"]) == ([5000, 5009], True, False)
    assert out["lines"] == [
        "jail a: postgres keeps uid 770 (unique), keeps gid 770 (unique)",
        "jail b: postgres uid 770 -> 5000 (uid 770 is also the server uid in jail a; lowest free uid in 5000-5009), "
        "gid 770 -> 5000 (gid 770 is also the server gid in jail a; lowest free gid in 5000-5009); "
        "not applied (check mode)"]
    assert [j["name"] for j in out["jails"]] == ["a", "b"]
    assert out["jails"][1]["path"] == "/" and out["jails"][1]["change"] is True
    assert out["status"]["a"] == {"uid_target": 770, "gid_target": 770,
                                  "uid_reason": "kept: uid 770 is used nowhere else",
                                  "gid_reason": "kept: gid 770 is used nowhere else",
                                  "restart_pending": False, "restart": "not needed", "line": out["lines"][0]}
    assert out["status"]["b"]["restart"] == "pending"
    assert out["blocked"] == [{"name": "b", "missing": "its root (path) is not known"}]


def test_target_plan_applied_and_missing_data_directory():
    result = plan_outcome([jail("a", 770), jail("b", 770)], {}, [5000, 5009])["plan"]
    out = target_plan(result, [target("b", data_directories=())], apply=True, check_mode=False)
    assert out["lines"][0].endswith("lowest free gid in 5000-5009)")
    assert out["blocked"] == [{"name": "b", "missing": "no data directory was found in it"}]
    not_applied = target_plan(result, [target("b")], apply=False, check_mode=False)
    assert not_applied["lines"][0].endswith("; not applied (pg_jail_restart is false)")
    assert not_applied["blocked"] == []


def applied_jail(change_uid=True, change_gid=True, running=True):
    return {"name": "pg1", "user": "postgres", "uid": 770, "gid": 771, "target_uid": 20000, "target_gid": 20001,
            "change_uid": change_uid, "change_gid": change_gid, "running": running}


REOWN = {"changed": True, "totals": {"uid_changed": 13, "gid_changed": 12, "dirs": 4, "files": 10}}
SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}


def test_applied_status_of_a_running_jail():
    out = applied_status(applied_jail(), REOWN, {"rc": 1, "stdout": "", "stdout_lines": []})
    assert out == {"restart_pending": False, "restart": "done", "reowned": REOWN["totals"],
                   "line": "jail pg1: postgres uid 770 -> 20000, gid 771 -> 20001; applied, 25 owner/group changes "
                           "on 14 entries; PostgreSQL restarted and accepts connections"}


def test_applied_status_of_a_stopped_jail_that_keeps_its_gid():
    out = applied_status(applied_jail(change_gid=False, running=False), REOWN, SKIPPED)
    assert out["restart"] == "not needed"
    assert out["line"] == ("jail pg1: postgres uid 770 -> 20000, keeps gid 771; applied, 25 owner/group changes on "
                           "14 entries; the jail is not running, PostgreSQL starts with the new ids with it")


def test_applied_status_keeping_the_uid():
    line = applied_status(applied_jail(change_uid=False), REOWN, SKIPPED)["line"]
    assert line.startswith("jail pg1: postgres keeps uid 770, gid 771 -> 20001; applied, ")


@pytest.mark.parametrize("others", [None, SKIPPED, {"rc": 1, "stdout_lines": []}])
def test_applied_status_names_no_other_process_when_there_is_none(others):
    assert "still running" not in applied_status(applied_jail(), REOWN, others)["line"]


def test_applied_status_names_the_processes_that_keep_the_old_uid():
    others = {"rc": 0, "stdout": "4001 pgbouncer\n4002 postgres_exporter",
              "stdout_lines": ["4001 pgbouncer", "4002 postgres_exporter"]}
    assert applied_status(applied_jail(), REOWN, others)["line"].endswith(
        "; PostgreSQL restarted and accepts connections; still running as uid 770 until restarted: "
        "4001 pgbouncer, 4002 postgres_exporter")


@pytest.mark.parametrize("failed, expected", [
    # A loop: only its failed items, each by stdout, else stderr, else msg, trimmed.
    ({"msg": "One or more items failed", "results": [
        {"failed": False, "stdout": "fine"},
        {"failed": True, "stdout": "  out  \n", "stderr": "err"},
        {"failed": True, "stdout": "", "stderr": "pw: user 'postgres' disappeared\n"},
        {"failed": True, "msg": "non-zero return code"},
        {"stdout": "no failed key"},
    ]}, "out; pw: user 'postgres' disappeared; non-zero return code"),
    # One task: its msg, else its stderr.
    ({"msg": "  PostgreSQL processes (pids 3001) still run  ", "stderr": "x"},
     "PostgreSQL processes (pids 3001) still run"),
    ({"msg": "", "stderr": "pw: group busy\n", "rc": 1}, "pw: group busy"),
    ({"rc": 1}, ""),
    # A loop whose items all passed (its until gave up): the task's own message.
    ({"msg": "Retries exceeded", "results": [{"failed": False, "stdout": "x"}]}, "Retries exceeded"),
])
def test_failure_reason(failed, expected):
    assert failure_reason(failed) == expected


def test_failure_reason_keeps_a_failed_item_that_said_nothing():
    # As the role's Jinja did: the empty item still takes its place in the join.
    assert failure_reason({"msg": "m", "results": [{"failed": True}, {"failed": True, "stderr": "b"}]}) == "; b"
    assert failure_reason({"msg": "m", "results": [{"failed": True}]}) == "m"
