# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, fsync (docs/postgres-kernel-facts.md §7, §7a): the boundary
releases of each patched branch, the majors without a fix, data_sync_retry.

The releases below are typed in from the facts file, not taken from versions.py."""

from __future__ import annotations

import os

import pytest
from audit_inputs import by_id, cluster

from ansible_collections.pghost.hardening.plugins.module_utils.audit_fsync import audit, check_cluster
from ansible_collections.pghost.hardening.plugins.module_utils.pg_settings import parse_pg_settings


def statuses(records):
    return dict((r["id"], r["status"]) for r in records)


@pytest.mark.parametrize("server_version, major, status, target", [
    ("9.4.20", "9.4", "finding", "upgrade to 9.4.21 or a later 9.4 minor release"),
    ("9.4.21", "9.4", "pass", None),
    ("9.5.15", "9.5", "finding", "upgrade to 9.5.16 or a later 9.5 minor release"),
    ("9.5.16", "9.5", "pass", None),
    ("9.6.11", "9.6", "finding", "upgrade to 9.6.12 or a later 9.6 minor release"),
    ("9.6.12", "9.6", "pass", None),
    ("10.6", "10", "finding", "upgrade to 10.7 or a later 10 minor release"),
    ("10.7", "10", "pass", None),
    ("11.1", "11", "finding", "upgrade to 11.2 or a later 11 minor release"),
    ("11.2", "11", "pass", None),
    ("12.0", "12", "pass", None),
    ("15.4 (Debian 15.4-2.pgdg120+1)", "15", "pass", None),
    ("18.1", "18", "pass", None),
])
def test_minor_boundaries(server_version, major, status, target):
    records = check_cluster(cluster(version=major, server_version=server_version))
    [minor] = by_id(records, "fsync.minor_unfixed")
    assert minor["status"] == status
    assert minor["severity"] == "high"
    assert minor["evidence"]["server_version"] == server_version
    if target:
        assert minor["fix"] == target
        assert minor["cluster"] == {"name": "15/main", "version": major, "data_directory": "/var/lib/postgresql/15/main"}
        # data_sync_retry does not exist before the fixed release: no record for it
        assert not by_id(records, "fsync.data_sync_retry_on")
    assert by_id(records, "fsync.no_fixed_release")[0]["status"] == "pass"


@pytest.mark.parametrize("server_version, major", [("9.3.25", "9.3"), ("9.2.24", "9.2"), (None, "9.3")])
def test_majors_before_9_4_have_no_fixed_release(server_version, major):
    records = check_cluster(cluster(version=major, server_version=server_version))
    assert statuses(records) == {"fsync.no_fixed_release": "finding"}
    assert records[0]["fix"] == ("upgrade to a major release with the fix: 9.4.21, 9.5.16, 9.6.12, 10.7, 11.2, "
                                 "every release from 12")
    assert records[0]["evidence"]["fixed_in"] is None


def test_without_the_minor_a_patched_branch_is_not_verifiable():
    records = check_cluster(cluster(version="11"))
    [minor] = by_id(records, "fsync.minor_unfixed")
    assert minor["status"] == "not_verifiable"
    assert minor["verifiable"] is False
    assert minor["reason"].startswith("not verifiable here: the server's minor release is not known")


def test_without_the_minor_a_major_from_12_is_known_to_be_fixed():
    assert by_id(check_cluster(cluster(version="16")), "fsync.minor_unfixed")[0]["status"] == "pass"


@pytest.mark.parametrize("major, server_version, value, status", [
    ("11", "11.2", "on", "finding"),
    ("11", "11.2", "off", "pass"),
    ("9.4", "9.4.21", "on", "finding"),
    ("16", "16.4", "on", "finding"),
    ("16", "16.4", "off", "pass"),
    ("16", "16.4", None, "not_verifiable"),
])
def test_data_sync_retry(major, server_version, value, status):
    records = check_cluster(cluster(version=major, server_version=server_version, data_sync_retry=value))
    [retry] = by_id(records, "fsync.data_sync_retry_on")
    assert retry["status"] == status
    assert retry["severity"] == "medium"
    assert retry["evidence"]["data_sync_retry"] == value
    assert "may be reported as successful when in fact the data has been lost" in retry["risk"]


def test_data_sync_retry_on_an_unpatched_release_is_the_minor_finding_only():
    records = check_cluster(cluster(version="10", server_version="10.6", data_sync_retry="on"))
    assert statuses(records) == {"fsync.no_fixed_release": "pass", "fsync.minor_unfixed": "finding"}


@pytest.mark.parametrize("version", ["8.4", "", None])
def test_an_unknown_version_makes_every_fsync_check_not_verifiable(version):
    records = check_cluster(cluster(version=version))
    assert len(records) == 3
    assert all(r["status"] == "not_verifiable" and "version" in r["reason"] for r in records)


def test_audit_answers_per_cluster():
    records = audit({"clusters": [cluster(version="10", name="10/old", server_version="10.6"),
                                  cluster(version="16", name="16/main", server_version="16.4", data_sync_retry="off")]},
                    {})
    assert [r["status"] for r in by_id(records, "fsync.minor_unfixed", "10/old")] == ["finding"]
    assert [r["status"] for r in by_id(records, "fsync.minor_unfixed", "16/main")] == ["pass"]
    assert [r["status"] for r in by_id(records, "fsync.data_sync_retry_on", "16/main")] == ["pass"]


@pytest.mark.parametrize("fixture, major, expected", [
    ("pg_settings-15.txt", "15", {"fsync.no_fixed_release": "pass", "fsync.minor_unfixed": "pass",
                                  "fsync.data_sync_retry_on": "pass"}),
    ("pg_settings-18.txt", "18", {"fsync.no_fixed_release": "pass", "fsync.minor_unfixed": "pass",
                                  "fsync.data_sync_retry_on": "finding"}),
    ("pg_settings-96.txt", "9.6", {"fsync.no_fixed_release": "pass", "fsync.minor_unfixed": "finding"}),
])
def test_keys_as_pg_host_facts_reads_them_from_pg_settings(fixture, major, expected):
    # The cluster keys come from pg_settings.py's parser of a pg_settings answer, not typed in here.
    path = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "commands", fixture)
    with open(path) as handle:
        settings = parse_pg_settings(handle.read())
    assert statuses(check_cluster(cluster(version=major, **settings))) == expected
