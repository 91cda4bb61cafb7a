# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""unit_service_report: pg_service's per-cluster report on systemd hosts."""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.filter.unit_service_report import FilterModule
from ansible_collections.pghost.hardening.plugins.module_utils.unit_service_report import service_report

PENDING = {"name": "15/main", "unit": "postgresql@15-main.service", "changed": ["60-pghost-oom.conf"],
           "restart": "pending", "reasons": ["OOMScoreAdjust -1000, running 0"], "live": {"oom": 0}}
QUIET = {"name": "16/main", "unit": None, "changed": [], "restart": "not needed", "reasons": [], "live": {}}


def test_not_restarted():
    first, second = service_report([PENDING, QUIET], [], {})
    assert first["summary"] == ("postgresql@15-main.service: 60-pghost-oom.conf; "
                                "restart pending: OOMScoreAdjust -1000, running 0")
    assert (first["restart"], first["live"], first["still_pending"]) == ("pending", {"oom": 0}, [])
    assert second["summary"] == "no unit: no change; restart not needed"


def test_restarted_shows_the_new_server_and_what_still_differs():
    after = [dict(PENDING, live={"oom": -1000}, reasons=["LimitNOFILE 65536, running 1024"])]
    first = service_report([PENDING], after, {"15/main": "done in 3 s"})[0]
    assert first["restart"] == "done"
    assert first["live"] == {"oom": -1000}
    assert first["still_pending"] == ["LimitNOFILE 65536, running 1024"]
    assert first["summary"] == ("postgresql@15-main.service: 60-pghost-oom.conf; restart done in 3 s; "
                                "still differs after it: LimitNOFILE 65536, running 1024")
    clean = service_report([PENDING], [dict(PENDING, reasons=[])], {"15/main": "done"})[0]
    assert clean["summary"].endswith("; restart done")


def test_filter_shell():
    report = FilterModule().filters()
    assert set(report) == {"unit_service_report"}
    assert report["unit_service_report"]([QUIET])[0]["restart"] == "not needed"
