# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, FreeBSD: pg_jail_facts' result (docs/postgres-kernel-facts.md §1, §8).

The jails are those of tests/unit/plugins/modules/test_pg_jail_facts.py's
host: FreeBSD 13.2, pg3 and pg5 share the host's IPC and run PostgreSQL as
UID 770, the host's own server user is 770 too."""

from __future__ import annotations

import pytest
from audit_inputs import by_id, cluster

from ansible_collections.pghost.hardening.plugins.module_utils import audit_freebsd

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
    return audit_freebsd.audit({"host": {"platform": "freebsd"}, "clusters": list(clusters), "jails": jails}, {})


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


def test_login_class_and_protection_are_not_read_by_any_fact_module():
    records = run(jail_facts([], []), [cluster(version="16", name="/var/db/postgres/data16")])
    [login] = by_id(records, "freebsd.login_class_missing")
    [protect] = by_id(records, "freebsd.postmaster_unprotected")
    assert login["status"] == protect["status"] == "not_verifiable"
    assert "no fact module reads login.conf" in login["reason"]
    assert "no fact module reads the postmaster's process flags" in protect["reason"]
    assert protect["cluster"]["name"] == "/var/db/postgres/data16"
