# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit of one host: every check answers, records keep their shape, and a
fresh Debian host's findings are gone once the roles' settings are in force."""

from __future__ import annotations

import pytest
from audit_inputs import POLICY, cluster, container_host, converged_debian, fresh_debian

from ansible_collections.pghost.hardening.plugins.module_utils.audit_findings import all_checks, audit_host, platform_checks
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import SEVERITIES, STATUSES, AuditInputError

RECORD_KEYS = {"host", "id", "severity", "status", "verifiable", "reason", "cluster", "evidence", "risk", "fix"}


def findings(records):
    return sorted((r["id"], r["severity"]) for r in records if r["status"] == "finding")


def test_a_fresh_debian_host_has_the_hazards_the_roles_fix():
    assert findings(audit_host("db1", fresh_debian(), POLICY)) == [
        ("kernel.hugepages_short_try", "medium"),
        ("kernel.overcommit_not_strict", "medium"),
        ("kernel.swappiness_high", "low"),
        ("kernel.thp_always", "low"),
        ("process.limits_below_need", "medium"),
        ("process.postmaster_unprotected", "high"),
        ("process.shutdown_sigterm", "medium"),
    ]


def test_the_converged_host_has_no_finding_and_every_check_answers():
    records = audit_host("db1", converged_debian(), POLICY)
    assert findings(records) == []
    # every Linux check answers; huge_pages=on concerns no cluster here
    assert set(r["id"] for r in records) == set(platform_checks("linux")) - {"kernel.hugepages_short_on"}
    assert [r["id"] for r in records if r["status"] == "not_verifiable"] == []


def test_a_converged_container_says_what_it_cannot_show():
    facts = converged_debian()
    facts["host"] = container_host(**facts["host"]["sysctl"])
    records = audit_host("ct1", facts, POLICY)
    assert findings(records) == []
    assert sorted(r["id"] for r in records if r["status"] == "not_verifiable") == [
        "kernel.commit_limit_short", "kernel.hugepages_short_try", "kernel.overcommit_not_strict",
        "kernel.swappiness_high", "kernel.thp_always"]


def test_records_keep_their_shape():
    records = audit_host("db1", fresh_debian(), POLICY)
    for record in records:
        assert set(record) == RECORD_KEYS
        assert record["host"] == "db1"
        assert record["severity"] in SEVERITIES
        assert record["status"] in STATUSES
        assert record["verifiable"] is (record["status"] != "not_verifiable")
        assert (record["reason"] is None) is record["verifiable"]
        assert record["risk"] and record["fix"]


def test_check_ids_are_unique_and_dotted():
    ids = [check.id for check in all_checks()]
    assert len(ids) == len(set(ids)) == 21
    assert all(check_id.split(".")[0] in ("host", "fsync", "kernel", "process", "ipc", "freebsd") for check_id in ids)
    assert ids[0] == "host.unread"


def test_freebsd_hosts_answer_only_their_checks():
    host = {"platform": "freebsd", "sysctl": {}, "container": {"is_container": False, "type": None}}
    records = audit_host("bsd1", {"host": host, "clusters": [cluster(version="16")]}, POLICY)
    assert set(r["id"] for r in records) <= set(platform_checks("freebsd"))
    assert "freebsd.jail_ipc_collision" in set(r["id"] for r in records)
    assert not [r for r in records if r["id"].startswith(("process.", "ipc."))]


@pytest.mark.parametrize("facts, words", [
    ([], "facts: [] is not a mapping"),
    ({"host": {"platform": "linux"}, "services": {}}, "facts: unknown key(s) services; expected read, host, "),
    ({"host": {}}, "facts.host.platform: None is not one of linux, freebsd"),
])
def test_bad_input_names_the_key(facts, words):
    with pytest.raises(AuditInputError) as error:
        audit_host("db1", facts, POLICY)
    assert words in str(error.value)
