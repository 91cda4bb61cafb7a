# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, fsync: releases that retry a failed fsync and can lose written
data silently, and data_sync_retry = on (docs/postgres-kernel-facts.md §7, §7a).

Reads per cluster of pghost_clusters_found: `version` (PG_VERSION, the major),
`server_version` (what `SHOW server_version` prints, with the minor) and
`data_sync_retry` ("on"/"off"). Which release has the fix is versions.py's
answer (fsync_panics, fsync_fixed_release), never a comparison here.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import Check, finding, not_verifiable, passed
from ansible_collections.pghost.hardening.plugins.module_utils.versions import (
    VersionError,
    fsync_fixed_majors,
    fsync_fixed_release,
    fsync_panics,
    parse_server_version,
    parse_version,
)

MINOR_UNFIXED = Check(
    "fsync.minor_unfixed", "high",
    "this minor release retries a failed fsync, which can report success after the kernel dropped the dirty "
    "pages, so a checkpoint completes and written data is lost silently (docs/postgres-kernel-facts.md §7)",
    "upgrade to the first fixed minor release of this major or a later one")
NO_FIXED_RELEASE = Check(
    "fsync.no_fixed_release", "high",
    "no release of this major PANICs on a failed fsync: a retry can report success after the kernel dropped "
    "the dirty pages, and written data is lost silently (docs/postgres-kernel-facts.md §7)",
    "upgrade to a major release with the fix: %s" % fsync_fixed_majors())
DATA_SYNC_RETRY_ON = Check(
    "fsync.data_sync_retry_on", "medium",
    "data_sync_retry = on brings the retry back; PostgreSQL's documentation: the status of data in the "
    "kernel's page cache may be unknown after a write-back failure, and the second attempt may be reported as "
    "successful when in fact the data has been lost (docs/postgres-kernel-facts.md §7a)",
    "set data_sync_retry = off (the default) in postgresql.conf and restart the cluster; leave it on only "
    "after investigating how this operating system treats buffered data after a write-back failure")
CHECKS = (MINOR_UNFIXED, NO_FIXED_RELEASE, DATA_SYNC_RETRY_ON)

NO_MINOR = ("the server's minor release is not known: pg_host_facts could not ask the server for server_version "
            "and has only the major from PG_VERSION (the cluster's errors say why)")
NO_RETRY = ("pg_host_facts could not ask the server for data_sync_retry (the cluster's errors say why)")


def _release(cluster):
    """(VersionInfo, minor or None, error or None) of the cluster's server."""
    try:
        if cluster.get("server_version"):
            info, minor = parse_server_version(cluster["server_version"])
        else:
            info, minor = parse_version(cluster.get("version"), name="version")
    except VersionError as exc:
        return None, None, str(exc)
    return info, minor, None


def check_cluster(cluster):
    """Records of the three fsync checks for one cluster."""
    info, minor, error = _release(cluster)
    if info is None:
        return [not_verifiable(check, cluster, error) for check in CHECKS]
    evidence = {"server_version": cluster.get("server_version"), "major": info.major,
                "fixed_in": fsync_fixed_release(info)}
    panics = fsync_panics(info, minor)
    if info.fsync_panic_minor is None:
        return [finding(NO_FIXED_RELEASE, cluster, evidence)]
    records = [passed(NO_FIXED_RELEASE, cluster, evidence)]
    if panics is None:
        records.append(not_verifiable(MINOR_UNFIXED, cluster, NO_MINOR, evidence))
    elif panics:
        records.append(passed(MINOR_UNFIXED, cluster, evidence))
    else:
        records.append(finding(MINOR_UNFIXED, cluster, evidence,
                               fix="upgrade to %s or a later %s minor release" % (evidence["fixed_in"], info.major)))
        return records  # data_sync_retry does not exist before the fixed release
    retry = cluster.get("data_sync_retry")
    evidence = dict(evidence, data_sync_retry=retry)
    if retry is None:
        records.append(not_verifiable(DATA_SYNC_RETRY_ON, cluster, NO_RETRY, evidence))
    elif str(retry).lower() in ("on", "true", "yes", "1"):
        records.append(finding(DATA_SYNC_RETRY_ON, cluster, evidence))
    else:
        records.append(passed(DATA_SYNC_RETRY_ON, cluster, evidence))
    return records


def audit(facts, policy):
    """fsync records for every cluster of the host (`policy` is not needed)."""
    records = []
    for cluster in facts.get("clusters") or []:
        records += check_cluster(cluster)
    return records
