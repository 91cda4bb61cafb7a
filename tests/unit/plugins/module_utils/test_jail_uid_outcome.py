# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail_uid_outcome: pg_jail's distinct_uid plan as data, its lines and what blocks it."""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.jail_uid_outcome import plan_outcome, target_plan


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
