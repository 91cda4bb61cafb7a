# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Distinct PostgreSQL server UIDs/GIDs across FreeBSD jails, and the audit.

Before FreeBSD 11.0 (or with pg_jail_isolation: distinct_uid) jails that
share the host's SysV IPC must not run their postmasters as the same UID:
PostgreSQL 9.2/9.3 judged a segment stale with kill(creatorPID, 0), which
cannot see processes in another jail, and removed a live neighbour's
segment (docs/postgres-kernel-facts.md §1, §8). The fix is a server user whose UID, and a group
whose GID, no other jail and no host account uses.

  plan(jails, host_users, reserved_range, ...)  -> the target uid/gid per jail
  collisions(jails, ...)                          -> jails at risk, grouped
  parse_passwd(text), parse_group(text)           -> {name: id}

A jail is a dict: name, path, users {name: uid}, groups {name: gid},
has_postgresql (bool), ipc ("new" | "inherit" | "disable", or the
{"sysvshm", "sysvsem", "sysvmsg"} dict of jail_conf.effective_ipc).

The plan is deterministic (jails are taken in name order, whatever order
they come in) and stable: ids that are already unique are kept, so applying
a plan and planning again gives no change.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import ipc_mode


class PlanError(ValueError):
    """Input that cannot give a plan: the message names the jail or the numbers."""


class RangeTooSmall(PlanError):
    """The range has fewer free ids than jails that need one; `needed` says how many."""

    def __init__(self, message, needed):
        super(RangeTooSmall, self).__init__(message)
        self.needed = needed


def _int_id(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, bool) or str(value).strip() == "":
                raise ValueError
            value = int(str(value).strip())
        except ValueError:
            raise PlanError("%s is %r, not a numeric id" % (what, value))
    if value < 0:
        raise PlanError("%s is %r, a negative id" % (what, value))
    return value


def _ids(mapping, what):
    return dict((str(k), _int_id(v, "%s %r" % (what, k))) for k, v in (mapping or {}).items())


def _normalize(jails):
    if not isinstance(jails, (list, tuple)):
        raise PlanError("jails must be a list of jail dicts, got %s" % type(jails).__name__)
    out, seen = [], set()
    for index, jail in enumerate(jails):
        if not isinstance(jail, dict) or not jail.get("name"):
            raise PlanError("jail number %d has no name: %r" % (index + 1, jail))
        name = str(jail["name"])
        if name in seen:
            raise PlanError("jail %r is listed twice" % name)
        seen.add(name)
        out.append({
            "name": name,
            "path": jail.get("path"),
            "users": _ids(jail.get("users"), "jail %r user" % name),
            "groups": _ids(jail.get("groups"), "jail %r group" % name),
            "has_postgresql": bool(jail.get("has_postgresql")),
            "ipc": ipc_mode(jail.get("ipc") or "disable"),
        })
    return sorted(out, key=lambda j: j["name"])


def _range(reserved_range):
    try:
        lo, hi = (_int_id(v, "reserved_range bound") for v in reserved_range)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, PlanError):
            raise
        raise PlanError("reserved_range must be [low, high], got %r" % (reserved_range,))
    if lo > hi:
        raise PlanError("reserved_range %d-%d is empty: the low end is above the high end" % (lo, hi))
    return lo, hi


def _assign(kind, wanted, others, pg_jails, lo, hi):
    """{jail: (current, target, reason)} for one kind of id ("uid" or "gid").

    wanted: {jail: current id of the server account}
    others: {jail or "host": {account name: id}} without the server
            account of PostgreSQL jails (every other account everywhere).
    """
    used_elsewhere = {}  # id -> [where] of accounts that are not a PG server account
    for where, accounts in others.items():
        for account, value in accounts.items():
            used_elsewhere.setdefault(value, []).append((where, account))
    result, taken = {}, set(used_elsewhere)
    holders = {}
    for jail in pg_jails:
        holders.setdefault(wanted[jail], []).append(jail)
    pending = []
    for jail in pg_jails:
        current = wanted[jail]
        clash = used_elsewhere.get(current, [])
        if clash:
            where = ", ".join("%s %r" % ("host" if w == "host" else "jail %s" % w, a) for w, a in sorted(clash)[:5])
            pending.append((jail, "%s %d is also used by %s" % (kind, current, where)))
        elif holders[current][0] != jail:
            pending.append((jail, "%s %d is also the server %s in jail %s" % (kind, current, kind, holders[current][0])))
        else:
            result[jail] = (current, current, "kept: %s %d is used nowhere else" % (kind, current))
            taken.add(current)
    if not pending:
        return result
    free_count = (hi - lo + 1) - len([v for v in taken if lo <= v <= hi])
    if free_count < len(pending):
        raise RangeTooSmall(
            "%s range %d-%d is too small: %d jail(s) need a new %s (%s) but only %d id(s) in the range are free"
            % (kind.upper(), lo, hi, len(pending), kind, ", ".join(j for j, dummy in pending), free_count),
            len(pending))
    value = lo
    for jail, why in pending:
        while value in taken:
            value += 1
        result[jail] = (wanted[jail], value, "%s; lowest free %s in %d-%d" % (why, kind, lo, hi))
        taken.add(value)
    return result


def plan(jails, host_users, reserved_range, server_user="postgres", server_group=None, host_groups=None):
    """The target uid/gid of the PostgreSQL server account in every jail that has PostgreSQL.

    Keeps an id that no host account, no other account in any jail and no
    other PostgreSQL jail's server account uses (when PostgreSQL jails share
    one, the first by name keeps it: every move means a chown of the data
    directory and a restart). The rest get the lowest free ids of
    reserved_range (inclusive), in jail name order.

    Returns {"jails": [{name, path, user, group, uid, gid, target_uid,
    target_gid, change_uid, change_gid, reason_uid, reason_gid}] in name
    order, "changed": bool, "range": [low, high]}.
    """
    server_group = server_group or server_user
    lo, hi = _range(reserved_range)
    jails = _normalize(jails)
    host = {"users": _ids(host_users, "host user"), "groups": _ids(host_groups, "host group")}
    pg = [j for j in jails if j["has_postgresql"]]
    for jail in pg:
        if server_user not in jail["users"]:
            raise PlanError("jail %s has PostgreSQL but no user %r (its users: %s)"
                            % (jail["name"], server_user, ", ".join(sorted(jail["users"])) or "none"))
        if server_group not in jail["groups"]:
            raise PlanError("jail %s has PostgreSQL but no group %r (its groups: %s)"
                            % (jail["name"], server_group, ", ".join(sorted(jail["groups"])) or "none"))
    names = [j["name"] for j in pg]
    pg_names = set(names)
    results = {}
    for kind, key, account in (("uid", "users", server_user), ("gid", "groups", server_group)):
        others = {"host": host[key]}
        for jail in jails:
            accounts = dict(jail[key])
            if jail["name"] in pg_names:
                accounts.pop(account)
            others[jail["name"]] = accounts
        wanted = dict((j["name"], j[key][account]) for j in pg)
        results[kind] = _assign(kind, wanted, others, names, lo, hi)
    out = []
    for jail in pg:
        uid, target_uid, reason_uid = results["uid"][jail["name"]]
        gid, target_gid, reason_gid = results["gid"][jail["name"]]
        out.append({
            "name": jail["name"], "path": jail["path"], "user": server_user, "group": server_group,
            "uid": uid, "gid": gid, "target_uid": target_uid, "target_gid": target_gid,
            "change_uid": uid != target_uid, "change_gid": gid != target_gid,
            "reason_uid": reason_uid, "reason_gid": reason_gid,
        })
    return {
        "jails": out,
        "changed": any(j["change_uid"] or j["change_gid"] for j in out),
        "range": [lo, hi],
    }


def apply(jails, result):
    """The jails as they are after a plan is carried out (for checks and tests)."""
    targets = dict((j["name"], j) for j in result["jails"])
    out = []
    for jail in jails:
        jail = dict(jail, users=dict(jail.get("users") or {}), groups=dict(jail.get("groups") or {}))
        target = targets.get(jail["name"])
        if target:
            jail["users"][target["user"]] = target["target_uid"]
            jail["groups"][target["group"]] = target["target_gid"]
        out.append(jail)
    return out


def collisions(jails, server_user="postgres"):
    """The audit finding: [[jail names]] of PostgreSQL jails that share the
    host's IPC namespace (inherit, or allow.sysvipc) and run the server as
    the same UID; each group sorted, groups sorted by their first name."""
    groups = {}
    for jail in _normalize(jails):
        if not jail["has_postgresql"] or jail["ipc"] != "inherit":
            continue
        uid = jail["users"].get(server_user)
        if uid is None:
            continue
        groups.setdefault(uid, []).append(jail["name"])
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _parse_ids(text, fields_min):
    ids = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line[0] in "+-":
            continue
        fields = line.split(":")
        if len(fields) < fields_min or not fields[2].strip().isdigit():
            continue
        ids.setdefault(fields[0], int(fields[2]))
    return ids


def parse_passwd(text):
    """/etc/passwd or /etc/master.passwd -> {user: uid} (first entry of a name wins)."""
    return _parse_ids(text, 7)


def parse_group(text):
    """/etc/group -> {group: gid}."""
    return _parse_ids(text, 3)
