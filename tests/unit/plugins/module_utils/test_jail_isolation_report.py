# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail_isolation_report: pg_jail's per-jail report."""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.filter.jail_isolation_report import FilterModule
from ansible_collections.pghost.hardening.plugins.module_utils.jail_isolation_report import isolation_report

NEW = {"sysvshm": "new", "sysvsem": "new", "sysvmsg": "new"}
DB1 = {"name": "db1", "jid": 1, "running": True, "path": "/jails/db1", "config_file": "/etc/jail.conf",
       "data_directories": ["/pg"], "uid": 770, "gid": 770, "ipc": {}, "ipc_mode": "inherit", "ipc_config": NEW}
COLD = dict(DB1, name="cold", running=False, ipc_config=None, config_file=None)


def report(status=None, restarted=None, targets=(DB1, COLD)):
    return isolation_report(list(targets), status or {}, restarted or {}, "/etc/jail.conf", "/etc/jail.conf.d")


def test_audit_only():
    db1, cold = report()
    assert db1["line"] == "jail db1: running with inherit; configuration gives sysvshm=new, sysvsem=new, sysvmsg=new"
    assert db1["summary"] == "running with inherit; configuration gives sysvshm=new, sysvsem=new, sysvmsg=new"
    assert (db1["ipc_before"], db1["ipc_mode_before"], db1["restart"], db1["restart_pending"]) == (
        {}, "inherit", "not needed", False)
    assert cold["line"] == ("jail cold: not running; configuration gives nothing "
                            "(not defined in /etc/jail.conf or /etc/jail.conf.d)")


def test_status_and_restart_done():
    line = "jail db1: sysvshm=new written to /etc/jail.conf; jail restart pending (running with inherit)"
    status = {"db1": {"written": True, "restart_pending": True, "restart": "pending", "line": line}}
    db1 = report(status, targets=[DB1])[0]
    assert (db1["line"], db1["restart"], db1["written"]) == (line, "pending", True)
    done = report(status, {"db1": "done"}, targets=[DB1])[0]
    assert done["line"] == "jail db1: sysvshm=new written to /etc/jail.conf; jail restarted, running with new"
    assert (done["restart"], done["restart_pending"]) == ("done", False)
    assert done["summary"] == "sysvshm=new written to /etc/jail.conf; jail restarted, running with new"


def test_filter_shell():
    filters = FilterModule().filters()
    assert set(filters) == {"jail_isolation_report"}
    assert filters["jail_isolation_report"]([DB1], {}, {}, "/a", "/b")[0]["name"] == "db1"
