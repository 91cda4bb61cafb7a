# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, FreeBSD: pg_jail_facts' result, and the login class and the
protect(1) flag pg_host_facts reads per cluster (docs/postgres-kernel-facts.md §1, §8).

The jails are those of tests/unit/plugins/modules/test_pg_jail_facts.py's
host: FreeBSD 13.2, pg3 and pg5 share the host's IPC and run PostgreSQL as
UID 770, the host's own server user is 770 too. The clusters come from
audit_inputs.freebsd_cluster: freebsd_server's readers over ps and pw
answers and the login.conf fixtures."""

from __future__ import annotations

import os

import pytest
from audit_inputs import FREEBSD_FILES, POLICY, by_id, cluster, freebsd_cluster, freebsd_facts

from ansible_collections.pghost.hardening.plugins.module_utils import audit_freebsd, login_conf
from ansible_collections.pghost.hardening.plugins.module_utils.login_class_plan import class_capabilities

INHERIT = {"sysvshm": "inherit", "sysvsem": "inherit", "sysvmsg": "inherit"}
NEW = {"sysvshm": "new", "sysvsem": "new", "sysvmsg": "new"}


def jail(name, ipc, shares_uid_with_host=False):
    mode = ipc["sysvshm"]
    return {"name": name, "jid": 3, "running": True, "configured": True, "config_file": "/etc/jail.conf",
            "path": "/jails/%s" % name, "ipc": dict(ipc), "ipc_source": "jls", "ipc_config": dict(ipc),
            "ipc_mode": mode, "shares_host_ipc": mode == "inherit", "has_postgresql": True,
            "postgresql_enabled": True, "postgresql_evidence": ["postgresql_enable=YES in /etc/rc.conf"],
            "data_directories": ["/var/db/postgres/data16"], "server_user": "postgres", "uid": 770, "gid": 770,
            "shares_uid_with_host": shares_uid_with_host}


def jail_facts(jails, collisions, host_postgresql=False):
    """pg_jail_facts' result (its RETURN), warnings already shown by Ansible."""
    result = {"freebsd_release": "13.2-RELEASE-p4", "supports_sysvshm_new": True, "isolation_default": "new",
              "host": {"server_user": "postgres", "uid": 770, "gid": 770, "has_postgresql": host_postgresql},
              "jails": jails, "collisions": collisions, "uid_plan_input": {}, "changed": False}
    result["ansible_facts"] = {"pghost_jails": dict(result)}
    return result


COLLISION = {"jails": ["pg3", "pg5"], "uid": 770,
             "message": "jails pg3, pg5 share the host's SysV IPC and run PostgreSQL as UID 770"}


def run(jails, clusters=()):
    return audit_freebsd.audit({"host": {"platform": "freebsd"}, "clusters": list(clusters), "jails": jails}, POLICY)


def test_jails_sharing_ipc_as_one_uid_are_critical():
    facts = jail_facts([jail("pg3", INHERIT), jail("pg5", INHERIT), jail("pg2", NEW)], [COLLISION])
    [record] = by_id(run(facts), "freebsd.jail_ipc_collision")
    assert (record["status"], record["severity"], record["cluster"]) == ("finding", "critical", None)
    assert record["evidence"]["jails"] == ["pg3", "pg5"]
    assert record["evidence"]["uid"] == 770
    assert record["evidence"]["isolation_default"] == "new"


def test_a_jail_sharing_the_host_servers_uid_is_a_collision_too():
    facts = jail_facts([jail("pg3", INHERIT, shares_uid_with_host=True), jail("pg2", NEW)], [], host_postgresql=True)
    [record] = by_id(run(facts), "freebsd.jail_ipc_collision")
    assert record["status"] == "finding"
    assert record["evidence"]["jails"] == ["pg3"]
    assert "as the host server's UID 770" in record["evidence"]["message"]


def test_isolated_jails_pass():
    [record] = by_id(run(jail_facts([jail("pg2", NEW), jail("pg4", NEW)], [])), "freebsd.jail_ipc_collision")
    assert record["status"] == "pass"
    assert record["evidence"]["jails"] == ["pg2", "pg4"]


@pytest.mark.parametrize("jails, reason", [
    (None, "pg_jail_facts did not run for this host"),
    ({"changed": False, "skipped": True, "skip_reason": "Conditional result was False"},
     "pg_jail_facts did not run for this host"),
    ({"failed": True, "msg": "jail pg9 is not defined"}, "pg_jail_facts failed: jail pg9 is not defined"),
])
def test_without_jail_facts_the_collision_is_not_verifiable(jails, reason):
    [record] = by_id(run(jails), "freebsd.jail_ipc_collision")
    assert record["reason"] == "not verifiable here: " + reason


# ------------------------------------------------------------- login class

def login_record(item, **policy):
    facts = freebsd_facts([item])
    [record] = by_id(audit_freebsd.audit(facts, dict(POLICY, **policy)), "freebsd.login_class_missing")
    return record


def test_the_default_class_giving_what_pg_limits_asks_passes():
    # default gives unlimited open files and processes; memlock auto asks for nothing on FreeBSD
    record = login_record(freebsd_cluster())
    assert (record["status"], record["severity"], record["cluster"]["name"]) == ("pass", "medium", "postgresql")
    evidence = record["evidence"]
    assert (evidence["user"], evidence["class"], evidence["found"], evidence["effective"]) == (
        "postgres", "default", True, "default")
    assert evidence["asked"] == {"openfiles": "65536", "maxproc": "65536"}
    assert evidence["below"] == [] and evidence["database_stale"] is False
    assert evidence["limits"]["openfiles"] == {"soft": "unlimited", "hard": "unlimited"}


@pytest.mark.parametrize("fixture, policy", [
    ("login.conf", {}),
    ("login.conf", {"pg_limits_memlock": 1048576, "pg_limits_nofile": 200000}),
    ("login.conf-postgres", {}),
    ("login.conf-postgres", {"pg_limits_memlock": "unlimited", "pg_limits_nproc": 4096}),
])
def test_the_class_pg_limits_writes_passes(fixture, policy):
    # what role pg_limits writes (login_conf.plan of class_capabilities) and assigns to the user
    asked = dict(POLICY, **policy)
    with open(os.path.join(FREEBSD_FILES, fixture)) as handle:
        text = login_conf.plan(handle.read(), "postgres", class_capabilities(
            asked["pg_limits_nofile"], asked["pg_limits_nproc"], asked["pg_limits_memlock"])).text
    record = login_record(freebsd_cluster(user_class="postgres", login_conf_text=text), **policy)
    assert record["status"] == "pass", record["evidence"]
    assert record["evidence"]["effective"] == "postgres"


@pytest.mark.parametrize("item, policy, below", [
    # the hand-made class: 8192 soft, 16384 hard open files against 65536
    (freebsd_cluster(user_class="postgres", login_conf="login.conf-postgres"), {},
     [{"capability": "openfiles", "limit": "soft", "has": "8192", "wants": "65536"},
      {"capability": "openfiles", "limit": "hard", "has": "16384", "wants": "65536"}]),
    # a locked-memory limit asked for: default's 64K is below 1 GiB
    (freebsd_cluster(), {"pg_limits_memlock": 1048576},
     [{"capability": "memorylocked", "limit": "soft", "has": "64K", "wants": "1G"},
      {"capability": "memorylocked", "limit": "hard", "has": "64K", "wants": "1G"}]),
    # memorylocked@ in the class cancels default's: not set, so pg_limits would write it
    (freebsd_cluster(user_class="postgres", login_conf="login.conf-postgres"),
     {"pg_limits_nofile": 0, "pg_limits_memlock": "unlimited"},
     [{"capability": "memorylocked", "limit": "soft", "has": None, "wants": "unlimited"},
      {"capability": "memorylocked", "limit": "hard", "has": None, "wants": "unlimited"}]),
])
def test_a_limit_below_what_pg_limits_writes_is_a_finding(item, policy, below):
    record = login_record(item, **policy)
    assert record["status"] == "finding"
    assert record["evidence"]["below"] == below


def test_a_class_login_conf_lacks_is_a_finding_even_with_defaults_limits():
    # login_getclassbyname falls back to default: enough here, but not the class the user was given
    record = login_record(freebsd_cluster(user_class="postgres"))
    assert record["status"] == "finding"
    assert (record["evidence"]["class"], record["evidence"]["found"], record["evidence"]["effective"]) == (
        "postgres", False, "default")
    assert record["evidence"]["below"] == []


def test_a_stale_login_conf_db_is_a_finding():
    # getcap reads login.conf.db: what the file says is not what the server gets
    record = login_record(freebsd_cluster(stale=True))
    assert record["status"] == "finding"
    assert record["evidence"]["database_stale"] is True and record["evidence"]["below"] == []


@pytest.mark.parametrize("login_class, reason", [
    (None, "pg_host_facts did not report the cluster's login_class"),
    ({"user": "postgres", "name": None, "found": None, "effective": None, "limits": None, "database_stale": False,
      "error": "/usr/sbin/pw usershow -n postgres found no such user (rc 67): pw: no such user `postgres'"},
     "/usr/sbin/pw usershow -n postgres found no such user"),
    ({"user": "postgres", "name": "default", "found": None, "effective": None, "limits": None, "database_stale": False,
      "error": "/etc/login.conf:61: the line starts with white space"}, "/etc/login.conf:61: the line starts"),
])
def test_an_unread_login_class_is_not_verifiable(login_class, reason):
    record = login_record(dict(freebsd_cluster(), login_class=login_class))
    assert record["status"] == "not_verifiable"
    assert record["reason"].startswith("not verifiable here: " + reason)
    # one evidence shape whatever the verdict
    assert set(record["evidence"]) == set(login_record(freebsd_cluster())["evidence"])


def test_a_malformed_login_conf_read_by_pg_host_facts_is_not_verifiable():
    record = login_record(freebsd_cluster(login_conf="login.conf-malformed"))
    assert record["status"] == "not_verifiable"
    assert record["reason"].startswith("not verifiable here: /etc/login.conf:")


# ------------------------------------------------------------- protect(1)

def protect_record(item, jailed=False):
    [record] = by_id(audit_freebsd.audit(freebsd_facts([item], jailed=jailed), POLICY), "freebsd.postmaster_unprotected")
    return record


def test_an_unprotected_postmaster_is_a_finding():
    record = protect_record(freebsd_cluster(flags="10004002"))
    assert (record["status"], record["severity"], record["cluster"]["name"]) == ("finding", "high", "postgresql")
    assert record["evidence"] == {"pid": 4242, "state": "unprotected", "flags": "10004002"}
    assert record["fix"] == audit_freebsd.POSTMASTER_UNPROTECTED.fix


def test_in_a_jail_the_fix_is_the_jails_host():
    record = protect_record(freebsd_cluster(flags="10004002"), jailed=True)
    assert record["status"] == "finding"
    assert "from the jail's host" in record["fix"]


def test_a_protected_postmaster_passes():
    record = protect_record(freebsd_cluster(flags="10104002"))
    assert record["status"] == "pass"
    assert record["evidence"] == {"pid": 4242, "state": "protected", "flags": "10104002"}


@pytest.mark.parametrize("item, reason", [
    (freebsd_cluster(running=False), "the server is not running"),
    (dict(freebsd_cluster(), oom_protection=None), "pg_host_facts did not report the cluster's oom_protection"),
    (dict(freebsd_cluster(), oom_protection={"state": "gone", "flags": None, "error": None}),
     "ps found no process 4242: the postmaster exited"),
    (dict(freebsd_cluster(), oom_protection={"state": None, "flags": None, "error": "ps was not found on this host"}),
     "ps was not found on this host"),
])
def test_what_shows_no_flag_is_not_verifiable(item, reason):
    record = protect_record(item)
    assert record["status"] == "not_verifiable"
    assert record["reason"].startswith("not verifiable here: " + reason)
    assert set(record["evidence"]) == {"pid", "state", "flags"}


def test_every_cluster_answers_both_checks():
    items = [freebsd_cluster(), dict(freebsd_cluster(flags="10104002"), name="postgresql:reporting")]
    records = audit_freebsd.audit(freebsd_facts(items), POLICY)
    for check in ("freebsd.login_class_missing", "freebsd.postmaster_unprotected"):
        assert [r["cluster"]["name"] for r in by_id(records, check)] == ["postgresql", "postgresql:reporting"]


def test_clusters_from_before_the_read_are_not_verifiable():
    # a cluster item without the two keys (audit_inputs.cluster gives them as None)
    records = run(jail_facts([], []), [cluster(version="16", name="/var/db/postgres/data16")])
    [login] = by_id(records, "freebsd.login_class_missing")
    [protect] = by_id(records, "freebsd.postmaster_unprotected")
    assert login["status"] == protect["status"] == "not_verifiable"
    assert protect["cluster"]["name"] == "/var/db/postgres/data16"
