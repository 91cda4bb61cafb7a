# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""login_class_plan: pg_limits on FreeBSD - users, their classes, capabilities and the report."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.filter import (
    login_class_capabilities,
    login_class_plan,
    login_class_report,
    login_class_users,
)
from ansible_collections.pghost.hardening.plugins.module_utils.login_class_plan import (
    class_capabilities,
    class_changes,
    class_limits,
    class_plan,
    class_shortfalls,
    class_users,
    passwd_class,
)


def test_users_owners_first_then_named_each_once():
    clusters = [{"name": "postgresql", "owner": "postgres"}, {"name": "x", "owner": None},
                {"name": "y", "owner": "postgres"}]
    assert class_users(clusters, ["backup", "postgres"]) == [
        {"user": "postgres", "from": "the owner of cluster postgresql"}, {"user": "backup", "from": "pg_limits_users"}]
    assert class_users([], []) == [{"user": "postgres", "from": "default"}]


def test_plan_reads_pw_usershow():
    reads = [
        {"item": {"user": "postgres", "from": "default"}, "rc": 0,
         "stdout": "postgres:*:770:770::0:0:PostgreSQL:/var/db/postgres:/bin/sh\n", "stderr": ""},
        {"item": {"user": "pgsql", "from": "pg_limits_users"}, "rc": 0,
         "stdout": "pgsql:*:70:70:postgres:0:0:x:/home:/bin/sh", "stderr": ""},
        {"item": {"user": "nobody2", "from": "pg_limits_users"}, "rc": 67, "stdout": "",
         "stderr": "pw: no such user `nobody2'\n"},
    ]
    plan = class_plan(reads, "postgres")
    assert [(p["user"], p["exists"], p["now"], p["assign"]) for p in plan] == [
        ("postgres", True, "", True), ("pgsql", True, "postgres", False), ("nobody2", False, None, False)]
    assert plan[2]["error"] == "pw: no such user `nobody2'"
    assert plan[0]["from"] == "default"


@pytest.mark.parametrize("rc, text, expected", [
    (0, "postgres:*:770:770::0:0:PostgreSQL Daemon:/var/db/postgres:/bin/sh\n", ""),
    (0, "pgsql:*:70:70:postgres:0:0:x:/home:/bin/sh", "postgres"),
    (67, "", None),
    # not a master.passwd line (a passwd line has 7 fields)
    (0, "postgres:*:770:770:PostgreSQL Daemon:/var/db/postgres:/bin/sh", None),
    (0, "postgres:*:770:770:postgres:0:0:x:/home:/bin/sh", "postgres"),
    (1, "postgres:*:770:770:postgres:0:0:x:/home:/bin/sh", None),
])
def test_passwd_class(rc, text, expected):
    assert passwd_class(rc, text) == expected


UNLIMITED = {"soft": "unlimited", "hard": "unlimited"}


@pytest.mark.parametrize("limits, capabilities, expected", [
    # default's unlimited openfiles and maxproc: nothing to write
    ({"openfiles": UNLIMITED, "maxproc": UNLIMITED, "memorylocked": {"soft": "64K", "hard": "64K"}},
     {"openfiles": 65536, "maxproc": 65536}, []),
    # a hand-made class: soft and hard open files below, each named
    ({"openfiles": {"soft": "8192", "hard": "16384"}, "maxproc": UNLIMITED},
     {"openfiles": 65536, "maxproc": 65536},
     [{"capability": "openfiles", "limit": "soft", "has": "8192", "wants": "65536"},
      {"capability": "openfiles", "limit": "hard", "has": "16384", "wants": "65536"}]),
    # exactly the value asked is enough
    ({"openfiles": {"soft": "65536", "hard": "65536"}}, {"openfiles": 65536}, []),
    # a limit the class does not set is what pg_limits would write
    ({"openfiles": {"soft": None, "hard": "unlimited"}}, {"openfiles": 65536},
     [{"capability": "openfiles", "limit": "soft", "has": None, "wants": "65536"}]),
    ({}, {"maxproc": 100}, [{"capability": "maxproc", "limit": "soft", "has": None, "wants": "100"},
                            {"capability": "maxproc", "limit": "hard", "has": None, "wants": "100"}]),
    (None, {"maxproc": 100}, [{"capability": "maxproc", "limit": "soft", "has": None, "wants": "100"},
                              {"capability": "maxproc", "limit": "hard", "has": None, "wants": "100"}]),
    # sizes compare in bytes: 64K is below 1048576 KiB, 2G above 1048576k
    ({"memorylocked": {"soft": "64K", "hard": "2G"}}, {"memorylocked": "1048576k"},
     [{"capability": "memorylocked", "limit": "soft", "has": "64K", "wants": "1G"}]),
    ({"memorylocked": UNLIMITED}, {"memorylocked": "unlimited"}, []),
    ({"memorylocked": {"soft": "1T", "hard": "unlimited"}}, {"memorylocked": "unlimited"},
     [{"capability": "memorylocked", "limit": "soft", "has": "1T", "wants": "unlimited"}]),
    # nothing asked (0 and auto leave the limits alone): nothing short
    ({"openfiles": {"soft": "10", "hard": "10"}}, {}, []),
    # a value no reader takes does not show the class gives enough
    ({"openfiles": {"soft": "lots", "hard": "65536"}}, {"openfiles": 65536},
     [{"capability": "openfiles", "limit": "soft", "has": "lots", "wants": "65536"}]),
])
def test_shortfalls_against_what_pg_limits_asks(limits, capabilities, expected):
    assert class_shortfalls(limits, capabilities) == expected


def test_shortfalls_of_the_roles_defaults():
    asked = class_capabilities(65536, 65536, "auto")
    assert [(s["capability"], s["limit"]) for s in class_shortfalls({"openfiles": {"soft": "1024", "hard": "1024"},
                                                                     "maxproc": UNLIMITED}, asked)] == [
        ("openfiles", "soft"), ("openfiles", "hard")]


@pytest.mark.parametrize("nofile, nproc, memlock, expected", [
    (65536, 65536, "auto", {"openfiles": 65536, "maxproc": 65536}),
    ("1024", 0, "unlimited", {"openfiles": 1024, "memorylocked": "unlimited"}),
    (0, 0, 4096, {"memorylocked": "4096k"}),
    (0, "0", "0", {}),
    (0, 0, "UNLIMITED", {"memorylocked": "unlimited"}),
])
def test_capabilities(nofile, nproc, memlock, expected):
    assert class_capabilities(nofile, nproc, memlock) == expected


def test_limits_and_changes():
    limits = [{"resource": "openfiles", "limit": "soft", "after": "65536"},
              {"resource": "openfiles", "limit": "hard", "after": "65536"},
              {"resource": "maxproc", "limit": "soft", "after": "4000"}]
    assert class_limits(limits) == {"openfiles": {"soft": "65536", "hard": "65536"}, "maxproc": {"soft": "4000"}}
    plan = [{"user": "postgres", "assign": True, "now": ""}, {"user": "pgsql", "assign": False, "now": "postgres"}]
    assert class_changes(["openfiles 65536"], plan, "postgres", "/etc/rc.conf", True) == [
        "openfiles 65536", "user postgres: login class postgres (was default)",
        "/etc/rc.conf: postgresql_login_class=postgres"]
    assert class_changes([], plan[1:], "postgres", "/etc/rc.conf", False) == []


def test_filter_shells():
    assert login_class_users.FilterModule().filters()["login_class_users"]([])[0]["user"] == "postgres"
    assert login_class_plan.FilterModule().filters()["login_class_plan"]([], "postgres") == []
    assert login_class_capabilities.FilterModule().filters()["login_class_capabilities"](1, 2, "3") == {
        "openfiles": 1, "maxproc": 2, "memorylocked": "3k"}
    assert login_class_report.FilterModule().filters()["login_class_report"]([], [], [], "c", "/r", False) == {
        "limits": {}, "changes": []}
