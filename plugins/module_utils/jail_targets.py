# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role pg_jail's jails: the pg_jail_jails variable checked and put in one shape,
and the PostgreSQL jails the role acts on.

An item of pg_jail_jails is a jail name, or a dict with name and optionally
path (the jail's root) and data_directory (inside the jail), both absolute.

  bad_items(jails)             -> the items that are neither
  jail_items(jails)            -> [{name, ...}] with names trimmed
  jail_targets(audit, items)   -> the jails acted on, with the items' overrides
"""

from __future__ import annotations

ITEM_KEYS = ("name", "path", "data_directory")


def _blank(value):
    return not isinstance(value, str) or value.strip() == ""


def _absolute(item, key):
    return key not in item or (isinstance(item[key], str) and item[key].startswith("/"))


def bad_items(jails):
    """The items that are not a jail name or a {name, path, data_directory} dict."""
    bad = []
    for item in jails or ():
        if isinstance(item, str):
            ok = not _blank(item)
        elif isinstance(item, dict):
            ok = (not _blank(item.get("name")) and not set(item) - set(ITEM_KEYS)
                  and _absolute(item, "path") and _absolute(item, "data_directory"))
        else:
            ok = False
        if not ok:
            bad.append(item)
    return bad


def jail_items(jails):
    """Every item as a dict with a trimmed name."""
    return [dict(item, name=item["name"].strip()) if isinstance(item, dict) else {"name": item.strip()}
            for item in jails or ()]


def jail_targets(audit_jails, items):
    """The jails of pg_jail_facts' audit that have PostgreSQL, or whose item gives
    a data_directory; an item's path and data_directory override what the audit
    found. A later item for the same name wins."""
    overrides = dict((item["name"], item) for item in items or ())
    out = []
    for jail in audit_jails:
        override = overrides.get(jail["name"], {})
        if not (jail.get("has_postgresql") or "data_directory" in override):
            continue
        out.append({
            "name": jail["name"], "jid": jail.get("jid"), "running": jail.get("running"),
            "path": override["path"] if "path" in override else jail.get("path"),
            "data_directories": ([override["data_directory"]] if "data_directory" in override
                                 else jail.get("data_directories")),
            "ipc": jail.get("ipc"), "ipc_config": jail.get("ipc_config"), "ipc_mode": jail.get("ipc_mode"),
            "uid": jail.get("uid"), "gid": jail.get("gid"), "config_file": jail.get("config_file"),
        })
    return out
