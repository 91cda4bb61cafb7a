# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail_ipc_status: pg_jail's sysvipc_new status per jail."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.filter import jail_ipc_to_configure
from ansible_collections.pghost.hardening.plugins.filter.jail_ipc_status import FilterModule
from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import IPC_PARAMS
from ansible_collections.pghost.hardening.plugins.module_utils.jail_ipc_status import ALL_NEW, ipc_status, to_configure

INHERIT = {"sysvshm": "inherit", "sysvsem": "inherit", "sysvmsg": "inherit"}


def target(name, running=True, ipc=None, config_file="/etc/jail.conf"):
    return {"name": name, "config_file": config_file, "running": running, "ipc": ipc or INHERIT,
            "ipc_mode": "new" if ipc == ALL_NEW else "inherit", "ipc_config": INHERIT}


def status(targets, written=(), check_mode=False):
    return ipc_status(targets, list(written), "/etc/jail.conf", "/etc/jail.conf.d", check_mode)


def test_written_running_jail_waits_for_a_restart():
    out = status([target("db1")], [{"name": "db1", "changed": True}])["db1"]
    assert out == {"file": "/etc/jail.conf", "written": True, "ipc_config": ALL_NEW, "ipc_config_before": INHERIT,
                   "restart_pending": True, "restart": "pending",
                   "line": "jail db1: sysvshm=new written to /etc/jail.conf; jail restart pending (running with inherit)"}
    assert status([target("db1")], [{"name": "db1", "changed": True}], check_mode=True)["db1"]["line"].startswith(
        "jail db1: sysvshm=new would be written to /etc/jail.conf; ")


def test_already_new_stopped_and_unconfigured():
    out = status([target("a", ipc=ALL_NEW), target("b", running=False), target("c", config_file=None)])
    assert out["a"]["line"] == "jail a: sysvshm=new already in /etc/jail.conf; running with new"
    assert out["a"]["restart"] == "not needed"
    assert out["b"]["line"] == "jail b: sysvshm=new already in /etc/jail.conf; not running; new from its next start"
    assert out["c"]["line"] == ("jail c: not defined in /etc/jail.conf or /etc/jail.conf.d/*.conf, left alone; "
                                "set sysvshm=new where it is configured; running with inherit")
    assert (out["c"]["ipc_config"], out["c"]["restart_pending"]) == (INHERIT, False)


def test_filter_shell():
    filters = FilterModule().filters()
    assert set(filters) == {"jail_ipc_status"}
    assert filters["jail_ipc_status"]([target("a")], [], "/j", "/j.d")["a"]["restart"] == "pending"


def configured(name, ipc_config, config_file="/etc/jail.conf"):
    return dict(target(name, config_file=config_file), ipc_config=ipc_config)


def test_all_new_is_every_ipc_param_of_jail_conf():
    assert ALL_NEW == {"sysvshm": "new", "sysvsem": "new", "sysvmsg": "new"}
    assert sorted(ALL_NEW) == sorted(IPC_PARAMS)


@pytest.mark.parametrize("ipc_config, expected", [
    (INHERIT, ["a"]),
    ({"sysvshm": "new", "sysvsem": "new", "sysvmsg": "new"}, []),
    ({"sysvshm": "new", "sysvsem": "new", "sysvmsg": "disable"}, ["a"]),   # one param short of its own IPC
    ({"sysvshm": "new", "sysvsem": "new"}, ["a"]),                         # a missing param is not new
    (None, ["a"]),
])
def test_to_configure_a_jail_with_a_stanza_unless_all_three_are_new(ipc_config, expected):
    assert to_configure([configured("a", ipc_config)]) == expected


@pytest.mark.parametrize("config_file", [None, ""])
def test_to_configure_leaves_a_jail_without_a_stanza_alone(config_file):
    assert to_configure([configured("c", INHERIT, config_file=config_file)]) == []


def test_to_configure_keeps_the_order_and_agrees_with_ipc_status():
    targets = [configured("b", INHERIT), configured("a", dict(ALL_NEW)), configured("c", INHERIT, config_file=None),
               configured("d", {"sysvshm": "disable", "sysvsem": "disable", "sysvmsg": "disable"})]
    assert to_configure(targets) == ["b", "d"]
    # What it writes to is what ipc_status then calls configured.
    status = ipc_status(targets, [], "/etc/jail.conf", "/etc/jail.conf.d", False)
    assert [name for name in to_configure(targets) if status[name]["ipc_config"] != ALL_NEW] == []


def test_to_configure_filter_shell():
    filters = jail_ipc_to_configure.FilterModule().filters()
    assert set(filters) == {"jail_ipc_to_configure"}
    assert filters["jail_ipc_to_configure"]([configured("a", INHERIT), configured("b", dict(ALL_NEW))]) == ["a"]
