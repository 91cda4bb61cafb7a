# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role pg_jail's sysvipc_new path: which jails to configure, and per jail what was
written and whether it waits for a restart (docs/postgres-kernel-facts.md §8).

jail(8) reads sysvshm/sysvsem/sysvmsg when it creates the jail: a running
jail keeps the namespace it was created with, so it is pending when it runs,
has a stanza to write to, and its live modes (jls) are not all new - whether
this run wrote the file or someone did before without restarting the jail.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import IPC_PARAMS

# From jail_conf's list, so that the role and this file never restate the keys.
ALL_NEW = dict((param, "new") for param in IPC_PARAMS)


def _action(target, written, check_mode, jail_conf, jail_conf_d):
    if written:
        return "sysvshm=new %s %s" % ("would be written to" if check_mode else "written to", target["config_file"])
    if _configured(target):
        return "sysvshm=new already in %s" % target["config_file"]
    return ("not defined in %s or %s/*.conf, left alone; set sysvshm=new where it is configured"
            % (jail_conf, jail_conf_d))


def _configured(target):
    return isinstance(target.get("config_file"), str) and len(target["config_file"]) > 0


def _state(target, pending, live_new):
    if pending:
        return "jail restart pending (running with %s)" % target.get("ipc_mode")
    if live_new:
        return "running with new"
    if target.get("running"):
        return "running with %s" % target.get("ipc_mode")
    return "not running; new from its next start"


def to_configure(targets):
    """The names of the jails whose configuration (a stanza pg_jail_ipc can write
    to) does not yet give them all three IPC params as new."""
    return [target["name"] for target in targets if _configured(target) and target.get("ipc_config") != ALL_NEW]


def ipc_status(targets, written_jails, jail_conf, jail_conf_d, check_mode):
    """{jail name: file, written, ipc_config, ipc_config_before, restart_pending, restart, line}.

    targets: the role's pg_jail_targets; written_jails: pg_jail_ipc's jails
    (each with name and changed), empty when it did not run.
    """
    written = dict((jail["name"], jail) for jail in written_jails or ())
    out = {}
    for target in targets:
        changed = bool(written.get(target["name"], {}).get("changed", False))
        configured = _configured(target)
        live_new = bool(target.get("running")) and target.get("ipc") == ALL_NEW
        pending = bool(target.get("running")) and configured and not live_new
        out[target["name"]] = {
            "file": target.get("config_file"),
            "written": changed,
            "ipc_config": dict(ALL_NEW) if configured else target.get("ipc_config"),
            "ipc_config_before": target.get("ipc_config"),
            "restart_pending": pending,
            "restart": "pending" if pending else "not needed",
            "line": "jail %s: %s; %s" % (target["name"], _action(target, changed, check_mode, jail_conf, jail_conf_d),
                                         _state(target, pending, live_new)),
        }
    return out
