# -*- coding: utf-8 -*-
"""service_plan: what pg_service_units writes and how it judges a cluster, from plain data (the module's
reading and writing are covered by tests/unit/plugins/modules/test_pg_service_units.py)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils import service_plan
from ansible_collections.pghost.hardening.plugins.module_utils import service_units as su

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "systemd")
INF = su.INFINITY
MANAGER = {"nofile": (1024, 524288), "nproc": (32768, 32768), "memlock": (8388608, 8388608)}
PARAMS = dict(unit_dir="/etc/systemd/system", oom=True, oom_score_adjust=-1000, backend_oom_score_adjust=0,
              oom_policy="continue", shutdown=True, timeout_stop_sec=3600, limits=True, limit_nofile=65536,
              limit_nproc=65536, limit_memlock="auto", hugepage_size_kb=2048)
DEBIAN = {"name": "15/main", "version": "15", "unit": "postgresql@15-main.service",
          "config_file": "/etc/postgresql/15/main/postgresql.conf", "shared_memory_size_in_huge_pages": 72}
PGDG = {"name": "16", "version": "16", "unit": "postgresql-16.service", "shared_memory_size_in_huge_pages": 0}
ENV = "/etc/postgresql/15/main/environment"


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


def names(plan):
    return [path.rsplit("/", 1)[-1] for path, dummy in plan.desired]


@pytest.mark.parametrize("cluster, unit, switches, files, oom_source", [
    (DEBIAN, "postgresql@.service", {},
     ["60-pghost-oom.conf", "environment", "60-pghost-shutdown.conf", "60-pghost-limits.conf"], ENV),
    (PGDG, "postgresql-16.service", {}, ["60-pghost-oom.conf", "60-pghost-shutdown.conf", "60-pghost-limits.conf"],
     "60-pghost-oom.conf"),
    (DEBIAN, "postgresql@.service", {"oom": False, "limits": False}, ["60-pghost-shutdown.conf"], "60-pghost-oom.conf"),
])
def test_plan_unit_files_per_concern(cluster, unit, switches, files, oom_source):
    plan = service_plan.plan_unit(dict(PARAMS, **switches), cluster, 0, [fixture(unit)], {}, MANAGER)
    assert names(plan) == files
    assert plan.oom_source == oom_source
    assert plan.warnings == []


def test_plan_unit_limits_never_below_the_units_own():
    plan = service_plan.plan_unit(PARAMS, DEBIAN, 0, [fixture("postgresql@.service"), "[Service]\nLimitNPROC=200000\n"],
                                  {}, MANAGER)
    assert plan.limits == {"nofile": (65536, 524288), "nproc": (200000, 200000), "memlock": (150994944, 150994944)}


@pytest.mark.parametrize("setting, want", [
    ("infinity", (INF, None, None)),
    ("1048576", (1048576, None, None)),
])
def test_memlock_want_given(setting, want):
    assert service_plan.memlock_want(DEBIAN, 0, setting, 2048) == want


def test_memlock_want_auto_without_huge_pages_writes_none_and_a_bad_cluster_is_a_warning():
    assert service_plan.memlock_want(PGDG, 0, "auto", 2048) == (None, None, None)
    size, reason, warning = service_plan.memlock_want({"name": "x", "version": "nine"}, 3, "auto", 2048)
    assert (size, reason) == (None, None) and warning.startswith("x: LimitMEMLOCK left to the unit: ")


def test_a_broken_environment_block_names_the_file():
    broken = {ENV: "# BEGIN pghost.hardening (role pg_service): OOM split for the backends, "
                   "docs/postgres-kernel-facts.md §4\nPG_OOM_ADJUST_VALUE = '0'\n"}
    with pytest.raises(su.UnitValueError, match="^%s: .*; nothing was written$" % ENV):
        service_plan.plan_unit(PARAMS, DEBIAN, 0, [fixture("postgresql@.service")], broken, MANAGER)


def test_file_changes():
    desired = [("/a.d/60-pghost-limits.conf", "[Service]\nLimitNOFILE=65536:65536\n"), (ENV, "X = '1'\n"),
               ("/a.d/60-pghost-shutdown.conf", "[Service]\nKillMode=mixed\n")]
    current = {"/a.d/60-pghost-shutdown.conf": "[Service]\nKillMode=mixed\n"}
    changes = service_plan.file_changes(desired, current, 0)
    assert changes.files == {"/a.d/60-pghost-limits.conf": "changed", ENV: "changed",
                             "/a.d/60-pghost-shutdown.conf": "unchanged"}
    assert changes.changed == ["LimitNOFILE=65536:65536", "%s: PG_OOM_ADJUST_VALUE=0" % ENV]
    assert [w[0] for w in changes.writes] == ["/a.d/60-pghost-limits.conf", ENV]
    assert [d["before"] for d in changes.diffs] == ["", ""]


@pytest.mark.parametrize("pid_file, info, words", [
    (None, {"ActiveState": "inactive"}, None),
    (("4242", True), {"ActiveState": "inactive"}, None),
    (("999999", False), {}, "postmaster.pid is left by PID 999999"),
    (("", False), {}, "postmaster.pid is left by PID ?"),
    (None, {"ActiveState": "failed", "Result": "signal", "ExecMainStatus": "9"}, "failed (Result=signal"),
    (None, {"ActiveState": "failed", "Result": "exit-code", "ExecMainCode": "2"}, "killed by signal ?"),
    (None, {"ActiveState": "failed", "Result": "exit-code", "ExecMainCode": "1"}, None),
])
def test_crashed_reason(pid_file, info, words):
    why = service_plan.crashed_reason(pid_file, "u.service", info)
    assert (why is None) is (words is None)
    if words:
        assert words in why


@pytest.mark.parametrize("live, crash, verdict", [
    ({}, None, ("not running", [])),
    ({}, "dead", ("crashed", ["dead"])),
    ({"environ": {"PG_OOM_ADJUST_FILE": su.OOM_FILE, "PG_OOM_ADJUST_VALUE": "0"}, "limits_raw": {"nofile": (65536, 65536)},
      "oom_score_adj": -1000}, None, ("not needed", [])),
    ({"environ": {}, "limits_raw": {"nofile": (1024, 4096)}, "oom_score_adj": -1000}, None,
     ("pending", ["running postmaster has PG_OOM_ADJUST_FILE=(unset), 60-pghost-oom.conf gives /proc/self/oom_score_adj",
                  "running postmaster has PG_OOM_ADJUST_VALUE=(unset), 60-pghost-oom.conf gives 0",
                  "running postmaster has LimitNOFILE 1024:4096, unit u gives 65536:65536"])),
])
def test_restart_verdict(live, crash, verdict):
    judged = ({"nofile": (65536, 65536)}, "unit u", su.OOM_DROPIN, {}, True)
    assert service_plan.restart_verdict(PARAMS, live, judged, crash) == verdict


@pytest.mark.parametrize("shown, version, warned", [
    ({"LimitNOFILE": "65536", "LimitNOFILESoft": "65536", "OOMPolicy": "continue"}, 252, []),
    ({"LimitNOFILE": "4096", "OOMPolicy": "continue"}, 252,
     ["u: LimitNOFILE: 60-pghost-limits.conf writes 65536:65536, the unit gives 4096:4096 (a later drop-in overrides it)"]),
    ({"LimitNOFILE": "65536", "OOMPolicy": "stop"}, 252,
     ["u: OOMPolicy is 'stop', not continue as 60-pghost-oom.conf writes: a later drop-in overrides it"]),
    ({"LimitNOFILE": "65536"}, 239,
     ["u: OOMPolicy is '', not continue as 60-pghost-oom.conf writes: systemd 239 predates OOMPolicy= (243); "
      "a backend killed by the OOM killer stops the whole unit"]),
    ({}, 252, []),
])
def test_verify(shown, version, warned):
    properties, effective, warnings = service_plan.verify(PARAMS, "u", {"nofile": (65536, 65536)}, shown, version)
    assert warnings == warned
    assert properties == dict((k, v) for k, v in shown.items() if k in service_plan.SHOW_VERIFY)


@pytest.mark.parametrize("cluster, path", [
    (DEBIAN, ENV),
    ({"name": "15/main"}, ENV),
    ({"name": "15/main", "config_file": "/srv/pg/postgresql.conf"}, ENV),
])
def test_debian_env_file(cluster, path):
    assert service_plan.debian_env_file(cluster) == path


def test_own_files_leave_ours_out():
    info = {"FragmentPath": "/lib/systemd/system/u.service",
            "DropInPaths": "/etc/systemd/system/u.service.d/10-site.conf /etc/systemd/system/u.service.d/60-pghost-oom.conf"}
    assert service_plan.own_files(info, "/etc/systemd/system", "u.service") == [
        "/lib/systemd/system/u.service", "/etc/systemd/system/u.service.d/10-site.conf"]
