# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail_targets: pg_jail_jails checked and shaped, and the jails pg_jail acts on."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.filter import jail_bad_items, jail_items, jail_targets as targets_filter
from ansible_collections.pghost.hardening.plugins.module_utils.jail_targets import bad_items, jail_items as items, jail_targets


@pytest.mark.parametrize("item", [
    "db1", {"name": "db1"}, {"name": " db1", "path": "/jails/db1", "data_directory": "/var/db/postgres/data15"},
])
def test_accepted_items(item):
    assert bad_items([item]) == []


@pytest.mark.parametrize("item", [
    "", "  ", 5, None, ["db1"], {}, {"name": ""}, {"name": 5}, {"name": "db1", "colour": "blue"},
    {"name": "db1", "path": "jails/db1"}, {"name": "db1", "path": None}, {"name": "db1", "data_directory": "data"},
])
def test_refused_items(item):
    assert bad_items(["ok", item]) == [item]


def test_items_get_one_shape():
    assert items([" db1 ", {"name": "db2 ", "path": "/j"}]) == [{"name": "db1"}, {"name": "db2", "path": "/j"}]


AUDIT = [
    {"name": "db1", "jid": 1, "running": True, "path": "/jails/db1", "has_postgresql": True,
     "data_directories": ["/var/db/postgres/data15"], "ipc": {}, "ipc_config": None, "ipc_mode": "inherit",
     "uid": 770, "gid": 770, "config_file": "/etc/jail.conf"},
    {"name": "web", "jid": 2, "running": True, "path": "/jails/web", "has_postgresql": False, "data_directories": []},
    {"name": "cold", "jid": None, "running": False, "path": "/jails/cold", "has_postgresql": False},
]


def test_targets_are_the_jails_with_postgresql_or_a_data_directory_given():
    out = jail_targets(AUDIT, [{"name": "cold", "data_directory": "/pg"}, {"name": "db1", "path": "/x"},
                               {"name": "db1", "path": "/elsewhere"}])
    assert [t["name"] for t in out] == ["db1", "cold"]
    assert out[0]["path"] == "/elsewhere"       # the later item wins
    assert out[0]["data_directories"] == ["/var/db/postgres/data15"]
    assert out[0]["config_file"] == "/etc/jail.conf"
    assert (out[1]["path"], out[1]["data_directories"], out[1]["uid"]) == ("/jails/cold", ["/pg"], None)
    assert "has_postgresql" not in out[0]


def test_filter_shells():
    assert jail_bad_items.FilterModule().filters()["jail_bad_items"]([""]) == [""]
    assert jail_items.FilterModule().filters()["jail_items"](["a"]) == [{"name": "a"}]
    assert [t["name"] for t in targets_filter.FilterModule().filters()["jail_targets"](AUDIT, [])] == ["db1"]
