# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rc_flags_plan: the FreeBSD pg_ctl flags variables and the fast-shutdown plan."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils.rc_flags_plan import (
    FlagsPlanError,
    flags_plan,
    flags_variables,
    profile_variable,
)


@pytest.mark.parametrize("name, expected", [
    ("postgresql:main", "postgresql_main_flags"),
    ("postgresql:a_1", "postgresql_a_1_flags"),
    ("postgresql", None),
    ("postgresql:bad-name", None),
    ("/var/db/postgres/data15", None),
    (None, None),
])
def test_profile_variable(name, expected):
    assert profile_variable(name) == expected


def test_flags_variables_default_first_each_once():
    clusters = [{"name": "postgresql:main"}, {"name": "postgresql"}, {"name": "postgresql:main"},
                {"name": "postgresql:two"}]
    assert flags_variables(clusters) == ["postgresql_flags", "postgresql_main_flags", "postgresql_two_flags"]
    assert flags_variables([]) == ["postgresql_flags"]
    assert flags_variables(None) == ["postgresql_flags"]


def test_plan_changes_a_slow_mode_and_keeps_a_fast_one():
    plan = flags_plan([("postgresql_flags", "-w -s -m smart"), ("postgresql_main_flags", "-m fast")], "/etc/rc.conf")
    assert [(p["name"], p["before"], p["after"], p["changed"]) for p in plan] == [
        ("postgresql_flags", "-w -s -m smart", "-w -s -m fast", True),
        ("postgresql_main_flags", "-m fast", "-m fast", False)]
    assert plan[0]["verdict"].startswith('postgresql_flags="-w -s -m smart" becomes "-w -s -m fast": stop and restart')
    assert plan[1]["verdict"] == 'postgresql_main_flags="-m fast" stops fast already'


@pytest.mark.parametrize("name, verdict", [
    ("postgresql_flags", "postgresql_flags is unset or empty: the rc script uses its default, -w -s -m fast"),
    ("postgresql_main_flags", "postgresql_main_flags is unset or empty: the clusters of this profile use postgresql_flags"),
])
@pytest.mark.parametrize("value", ["", "  "])
def test_plan_leaves_an_unset_variable_alone(name, verdict, value):
    assert flags_plan([(name, value)], "/etc/rc.conf") == [
        {"name": name, "before": value, "after": value, "changed": False, "verdict": verdict}]


def test_plan_refuses_flags_pg_ctl_would_refuse_naming_the_variable_and_file():
    with pytest.raises(FlagsPlanError) as exc:
        flags_plan([("postgresql_flags", "-w -x")], "/etc/rc.conf")
    assert exc.value.variable == "postgresql_flags in /etc/rc.conf"
    assert exc.value.value == "-w -x"
    assert str(exc.value).startswith("postgresql_flags in /etc/rc.conf is '-w -x': ")
