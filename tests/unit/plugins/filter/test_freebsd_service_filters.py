# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of pg_service's FreeBSD tasks: thin shells over module_utils."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.filter import (
    oom_protection_plan,
    rc_flags_plan,
    rc_flags_variables,
    rc_service_report,
    summary_by_name,
)


def only_filter(plugin, name):
    filters = plugin.FilterModule().filters()
    assert set(filters) == {name}
    return filters[name]


def test_rc_flags_variables():
    names = only_filter(rc_flags_variables, "rc_flags_variables")
    assert names([{"name": "postgresql:main"}]) == ["postgresql_flags", "postgresql_main_flags"]


def test_rc_flags_plan_reads_registered_results():
    plan = only_filter(rc_flags_plan, "rc_flags_plan")
    results = [{"item": "postgresql_flags", "stdout": "-w -s -m smart"}, {"item": "postgresql_x_flags"}]
    assert [(p["name"], p["after"], p["changed"]) for p in plan(results, "/etc/rc.conf")] == [
        ("postgresql_flags", "-w -s -m fast", True), ("postgresql_x_flags", "", False)]


def test_rc_flags_plan_error_names_the_variable_as_pg_ctl_fast_flags_did():
    plan = only_filter(rc_flags_plan, "rc_flags_plan")
    with pytest.raises(AnsibleFilterError) as exc:
        plan([{"item": "postgresql_flags", "stdout": "-w -x"}], "/etc/rc.conf")
    message = str(exc.value)
    assert message.startswith("postgresql_flags in /etc/rc.conf is '-w -x': ")
    assert message.endswith("; expected flags pg_ctl accepts, e.g. '-w -s -m fast'")


def test_oom_protection_plan_reads_registered_results():
    plan = only_filter(oom_protection_plan, "oom_protection_plan")
    results = [{"item": {"name": "a", "pid": 1}, "rc": 0, "stdout": "100000\n"},
               {"item": {"name": "b", "pid": 2}, "skipped": True}]
    assert plan(results) == {"a": {"name": "a", "pid": 1, "state": "protected", "flags": "100000"}}


def test_rc_service_report_defaults():
    report = only_filter(rc_service_report, "rc_service_report")
    entry, = report([{"name": "postgresql", "rc_name": "postgresql", "running": False, "pid": None}])
    assert entry["summary"] == ("rc postgresql: no change; shutdown fast (the rc script default, -w -s -m fast); "
                                "OOM not running; run the role again after it starts to protect it; restart not needed")


def test_summary_by_name():
    summary = only_filter(summary_by_name, "summary_by_name")
    entries = [{"name": "a", "summary": "one"}, {"name": "b", "summary": "two"}]
    assert summary(entries, "service ") == {"service a": "one", "service b": "two"}
    assert summary([]) == {}
