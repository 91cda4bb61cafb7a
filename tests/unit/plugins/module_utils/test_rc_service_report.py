# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rc_service_report: pg_service's per-cluster report on FreeBSD."""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.rc_service_report import service_report

RUNNING = {"name": "postgresql", "rc_name": "postgresql", "data_directory": "/var/db/postgres/data15",
           "pid": 42, "running": True}
PROFILE = {"name": "postgresql:main", "rc_name": "postgresql", "data_directory": "/srv/main", "pid": None,
           "running": False}
SLOW = {"name": "postgresql_flags", "before": "-m smart", "after": "-m fast", "changed": True}
FAST_PROFILE = {"name": "postgresql_main_flags", "before": "-m fast", "after": "-m fast", "changed": False}


def report(**kw):
    args = dict(clusters=[RUNNING, PROFILE], flags_plan=[SLOW, FAST_PROFILE],
                oom_plan={"postgresql": {"name": "postgresql", "pid": 42, "state": "unprotected", "flags": "0"}},
                manage_shutdown=True, manage_oom=True, in_jail=False, check_mode=False)
    args.update(kw)
    return service_report(**args)


def test_changes_are_named_in_the_summary():
    first, second = report()
    assert first["flags_variable"] == "postgresql_flags"
    assert first["changed"] == ["postgresql_flags=-m fast", "protect -p 42"]
    assert first["summary"] == ("rc postgresql: postgresql_flags=-m fast, protect -p 42; shutdown fast from the next "
                                "stop (postgresql_flags changed); OOM protected now (pid 42); restart not needed")
    assert (first["restart"], first["reasons"]) == ("not needed", [])
    # A set profile variable is the one the profile's cluster stops through.
    assert second["flags_variable"] == "postgresql_main_flags"
    assert second["shutdown"] == "fast (postgresql_main_flags)"
    assert second["oom"] == "not running; run the role again after it starts to protect it"
    assert second["summary"].startswith("rc postgresql: no change; ")


def test_check_mode_says_would():
    first = report(check_mode=True)[0]
    assert first["shutdown"] == "fast from the next stop (postgresql_flags would change)"
    assert first["oom"] == "would be protected (pid 42)"


def test_unset_profile_variable_falls_back_to_postgresql_flags():
    unset = dict(FAST_PROFILE, before="", after="")
    second = report(flags_plan=[dict(SLOW, before="", after="", changed=False), unset])[1]
    assert second["flags_variable"] == "postgresql_flags"
    assert second["shutdown"] == "fast (the rc script default, -w -s -m fast)"


def test_not_managed_in_a_jail_and_gone():
    first = report(manage_shutdown=False, manage_oom=False)[0]
    assert (first["shutdown"], first["oom"], first["changed"]) == (
        "not managed (pg_service_shutdown is false)", "not managed (pg_service_oom is false)", [])
    assert report(in_jail=True)[0]["oom"] == "not protected: protect(1) is refused inside a jail"
    assert report(oom_plan={})[0]["oom"] == "pid 42 exited since the clusters were read; run the role again"
    assert report(oom_plan={"postgresql": {"state": "protected"}})[0]["oom"] == "protected (pid 42)"
    assert report(clusters=[dict(RUNNING, rc_name=None)])[0]["summary"].startswith("rc none: ")
