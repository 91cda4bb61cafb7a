# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What role pg_jail found and did per jail: the entries of pghost_jail_isolation.jails.

The isolation path fills the status per jail (sysvipc_new: file, written,
ipc_config, restart_pending, restart, line; distinct_uid: the uid/gid targets
and reasons, restart, line) and the restarts done; what a path does not set
comes from the audit.
"""

from __future__ import annotations

import re

_PENDING = re.compile(r"jail restart pending \(running with [a-z]+\)$")


def _config_line(target, jail_conf, jail_conf_d):
    config = target.get("ipc_config") or {}
    if config:
        return "sysvshm=%s, sysvsem=%s, sysvmsg=%s" % (config.get("sysvshm"), config.get("sysvsem"), config.get("sysvmsg"))
    return "nothing (not defined in %s or %s)" % (jail_conf, jail_conf_d)


def isolation_report(targets, status, restarted, jail_conf, jail_conf_d):
    """One entry per jail acted on, with a line and its summary (the line without 'jail NAME: ')."""
    out = []
    for target in targets:
        name = target["name"]
        found = (status or {}).get(name, {})
        done = (restarted or {}).get(name) == "done"
        if target.get("running"):
            base = "jail %s: running with %s" % (name, target.get("ipc_mode"))
        else:
            base = "jail %s: not running" % name
        line = found["line"] if "line" in found else "%s; configuration gives %s" % (
            base, _config_line(target, jail_conf, jail_conf_d))
        if done:
            line = _PENDING.sub("jail restarted, running with new", line)
        entry = {
            "name": name, "jid": target.get("jid"), "running": target.get("running"), "path": target.get("path"),
            "config_file": target.get("config_file"), "data_directories": target.get("data_directories"),
            "uid": target.get("uid"), "gid": target.get("gid"),
            "ipc_before": target.get("ipc"), "ipc_mode_before": target.get("ipc_mode"),
            "ipc_config": target.get("ipc_config"), "restart_pending": False, "restart": "not needed",
        }
        entry.update(found)
        if done:
            entry.update(restart_pending=False, restart="done")
        entry.update(line=line, summary=line.split(": ", 1)[1])
        out.append(entry)
    return out
