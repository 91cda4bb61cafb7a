# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The jail_uid_plan_outcome and jail_uid_target_plan filters: thin shells over jail_uid_outcome."""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.filter import (
    jail_uid_applied_status,
    jail_uid_failure_reason,
    jail_uid_plan_outcome,
    jail_uid_target_plan,
)

OUTCOME = jail_uid_plan_outcome.FilterModule().filters()
TARGET = jail_uid_target_plan.FilterModule().filters()


def jail(name, uid):
    return {"name": name, "path": "/jails/" + name, "users": {"pgsql": uid}, "groups": {"pgsql": uid},
            "has_postgresql": False}


def test_registered_names():
    assert set(OUTCOME) == {"jail_uid_plan_outcome"}
    assert set(TARGET) == {"jail_uid_target_plan"}


def test_outcome_then_target_plan():
    outcome = OUTCOME["jail_uid_plan_outcome"]([jail("a", 70), jail("b", 70)], {}, [9, 9], server_user="pgsql",
                                               with_postgresql=["a", "b"])
    assert outcome["ok"] is True
    planned = TARGET["jail_uid_target_plan"](outcome["plan"], [{"name": "b", "path": "/jails/b"}], 1)
    assert planned["apply"] is True
    assert planned["lines"] == ["jail b: pgsql uid 70 -> 9 (uid 70 is also the server uid in jail a; lowest free uid "
                                "in 9-9), gid 70 -> 9 (gid 70 is also the server gid in jail a; lowest free gid in 9-9)"]
    assert planned["blocked"] == [{"name": "b", "missing": "no data directory was found in it"}]


def test_outcome_failure_is_data():
    outcome = OUTCOME["jail_uid_plan_outcome"]([jail("a", 70)], {}, [9, 8], with_postgresql=["a"])
    assert outcome["ok"] is False
    assert outcome["error"] == "reserved_range 9-8 is empty: the low end is above the high end"


def test_applied_status_and_failure_reason_filters():
    applied = jail_uid_applied_status.FilterModule().filters()
    reason = jail_uid_failure_reason.FilterModule().filters()
    assert set(applied) == {"jail_uid_applied_status"}
    assert set(reason) == {"jail_uid_failure_reason"}
    entry = {"name": "b", "user": "pgsql", "uid": 70, "gid": 70, "target_uid": 9, "target_gid": 9,
             "change_uid": True, "change_gid": False, "running": False}
    totals = {"uid_changed": 2, "gid_changed": 0, "dirs": 1, "files": 1}
    assert applied["jail_uid_applied_status"](entry, {"totals": totals})["line"] == (
        "jail b: pgsql uid 70 -> 9, keeps gid 70; applied, 2 owner/group changes on 2 entries; "
        "the jail is not running, PostgreSQL starts with the new ids with it")
    assert reason["jail_uid_failure_reason"]({"msg": "One or more items failed",
                                              "results": [{"failed": True, "stderr": "no"}]}) == "no"
