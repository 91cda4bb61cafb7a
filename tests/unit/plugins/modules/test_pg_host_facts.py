# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_host_facts: argument validation, result shape, facts and warnings.

The probes themselves are tested in tests/unit/plugins/module_utils; here
they are replaced by recorders so only the module shell is exercised.
"""

from __future__ import annotations

import json

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.pghost.hardening.plugins.modules import pg_host_facts

HOST = {"platform": "linux", "mem_total_kb": 1024}
CLUSTER = {"name": "15/main", "data_directory": "/var/lib/postgresql/15/main"}


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            pg_host_facts.main()
    result = json.loads(capsys.readouterr().out)
    return exit_info.value.code, result


@pytest.fixture
def probes(monkeypatch):
    calls = {"host": 0, "clusters": [], "warned": []}

    def gather_host(module, platform=None):
        calls["host"] += 1
        return dict(HOST)

    def discover_clusters(module, declared=None):
        calls["clusters"].append(declared)
        return [dict(CLUSTER)], ["cluster 15/main: psql as postgres failed: boom"]

    monkeypatch.setattr(pg_host_facts, "gather_host", gather_host)
    monkeypatch.setattr(pg_host_facts, "discover_clusters", discover_clusters)
    # Where a warning ends up (module result or, once controller code is
    # imported in the same process, the display) is ansible-core's business;
    # the module's part is to call warn().
    monkeypatch.setattr(pg_host_facts.AnsibleModule, "warn", lambda self, msg: calls["warned"].append(msg))
    return calls


def test_gathers_both_by_default(probes, capsys):
    code, result = run_module({}, capsys)
    assert code == 0
    assert result["changed"] is False
    assert result["host"] == HOST
    assert result["clusters"] == [CLUSTER]
    assert result["ansible_facts"] == {"pghost_host": HOST, "pghost_clusters_found": [CLUSTER]}
    assert probes == {"host": 1, "clusters": [None], "warned": ["cluster 15/main: psql as postgres failed: boom"]}


@pytest.mark.parametrize("gather, facts, host_calls, cluster_calls", [
    (["host"], ["pghost_host"], 1, 0),
    (["clusters"], ["pghost_clusters_found"], 0, 1),
    (["host", "clusters"], ["pghost_clusters_found", "pghost_host"], 1, 1),
])
def test_gather_selects_parts(probes, capsys, gather, facts, host_calls, cluster_calls):
    code, result = run_module({"gather": gather}, capsys)
    assert code == 0
    assert sorted(result["ansible_facts"]) == facts
    assert probes["host"] == host_calls
    assert len(probes["clusters"]) == cluster_calls
    assert ("host" in gather) == (result["host"] != {})
    assert ("clusters" in gather) == (result["clusters"] != [])


def test_check_mode_is_the_same(probes, capsys):
    code, result = run_module({"_ansible_check_mode": True}, capsys)
    assert code == 0 and result["changed"] is False
    assert result["ansible_facts"]["pghost_host"] == HOST


def test_declared_clusters_are_passed_without_unset_options(probes, capsys):
    declared = [{"data_directory": "/srv/pg/", "port": "5433", "max_connections": 300}]
    code, dummy = run_module({"clusters": declared, "gather": ["clusters"]}, capsys)
    assert code == 0
    assert probes["clusters"] == [[{"data_directory": "/srv/pg/", "port": 5433, "max_connections": 300}]]


def test_empty_clusters_means_discover(probes, capsys):
    code, dummy = run_module({"clusters": []}, capsys)
    assert code == 0
    assert probes["clusters"] == [None]


@pytest.mark.parametrize("args, message", [
    ({"gather": ["host", "disks"]}, "value of gather must be one or more of: host, clusters"),
    ({"clusters": [{"port": 5432}]}, "missing required arguments: data_directory"),
    ({"clusters": [{"data_directory": "/x", "colour": "blue"}]}, "colour"),
    ({"clusters": [{"data_directory": "/x", "port": "fivefour"}]}, "port"),
    ({"unknown": 1}, "Unsupported parameters"),
])
def test_bad_input_fails_early(probes, capsys, args, message):
    code, result = run_module(args, capsys)
    assert code == 1
    assert result["failed"] is True
    assert message in result["msg"]
    assert probes == {"host": 0, "clusters": [], "warned": []}


def test_documentation_matches_argument_spec():
    doc = yaml.safe_load(pg_host_facts.DOCUMENTATION)
    assert doc["author"] == ["pghost.hardening developers (!UNKNOWN)"]
    assert doc["version_added"] == "0.1.0"
    assert set(doc["options"]) == set(pg_host_facts.ARGUMENT_SPEC)
    assert "pghost.hardening.clusters.declared" in doc["extends_documentation_fragment"]
    returned = yaml.safe_load(pg_host_facts.RETURN)
    from ansible_collections.pghost.hardening.plugins.module_utils.cluster_discovery import CLUSTER_KEYS
    assert set(returned["clusters"]["contains"]) == set(CLUSTER_KEYS)
    yaml.safe_load(pg_host_facts.EXAMPLES)


@pytest.mark.parametrize("found, problem", [
    ({"errors": ["data directory /srv/pg does not exist"], "settings_source": None},
     "pghost_clusters[0] (data_directory /srv/pg): data directory /srv/pg does not exist; expected"),
    # Settings given in the item do not make a missing directory acceptable.
    ({"errors": ["/srv/pg has no PG_VERSION (not initialised?)"], "settings_source": "declared"},
     "/srv/pg has no PG_VERSION"),
    ({"errors": ["unit pg.service does not exist (no unit file in /etc/systemd/system)"], "settings_source": "pg_settings"},
     "unit pg.service does not exist"),
    ({"errors": ["postgres -C: FATAL: syntax error in file"], "settings_source": None}, "syntax error"),
])
def test_a_declared_cluster_that_cannot_be_used_fails_the_module(monkeypatch, capsys, found, problem):
    cluster = dict(found, data_directory="/srv/pg", name="pg")
    monkeypatch.setattr(pg_host_facts, "gather_host", lambda module, platform=None: dict(HOST))
    monkeypatch.setattr(pg_host_facts, "discover_clusters", lambda module, declared=None: ([cluster], []))
    code, result = run_module({"clusters": [{"data_directory": "/srv/pg/"}]}, capsys)
    assert code == 1 and problem in result["msg"] and result["msg"].endswith("Nothing was written.")


def test_a_declared_cluster_read_despite_errors_is_only_warned_about(monkeypatch, capsys):
    # A stopped cluster whose postgres -C missed one setting: sized from what was read.
    cluster = {"data_directory": "/srv/pg", "name": "pg", "errors": ["postgres -C huge_page_size: unknown"],
               "settings_source": "postgres -C"}
    monkeypatch.setattr(pg_host_facts, "gather_host", lambda module, platform=None: dict(HOST))
    monkeypatch.setattr(pg_host_facts, "discover_clusters", lambda module, declared=None: ([cluster], []))
    code, result = run_module({"clusters": [{"data_directory": "/srv/pg"}]}, capsys)
    assert code == 0 and result["clusters"] == [cluster]
