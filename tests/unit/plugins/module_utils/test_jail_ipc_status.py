# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail_ipc_status: pg_jail's sysvipc_new status per jail."""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.filter.jail_ipc_status import FilterModule
from ansible_collections.pghost.hardening.plugins.module_utils.jail_ipc_status import ALL_NEW, ipc_status

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
