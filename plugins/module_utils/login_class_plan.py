# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role pg_limits on FreeBSD: who gets the PostgreSQL login class, what it
holds, and what the run changed (docs/postgres-kernel-facts.md §8).

  class_users(clusters, users)          -> [{user, from}] in order, each once
  passwd_class(rc, text)                -> a user's class from `pw usershow -n USER`
  class_plan(reads, login_class)        -> each user's current class and whether to assign
  class_capabilities(nofile, nproc, memlock) -> login.conf capabilities to raise
  class_shortfalls(limits, capabilities) -> the soft and hard limits a class gives below those
  class_limits(limits)                  -> {resource: {limit: value}} as written
  class_changes(lines, plan, login_class, rc_conf, rc_changed) -> one line per change
  class_report(...)                     -> {limits, changes}, the two above
"""

from __future__ import annotations

import re

from ansible_collections.pghost.hardening.plugins.module_utils import login_conf

# The port's default server user, for a host without clusters or users named.
DEFAULT_USER = "postgres"
# The login.conf resources class_capabilities() can ask for.
MANAGED_RESOURCES = ("maxproc", "memorylocked", "openfiles")


def class_users(clusters, users):
    """The owner of every cluster found, then the users named; with neither, postgres."""
    out, seen = [], set()
    for cluster in clusters or ():
        owner = cluster.get("owner")
        if owner and owner not in seen:
            seen.add(owner)
            out.append({"user": owner, "from": "the owner of cluster %s" % cluster.get("name")})
    for user in users or ():
        if user not in seen:
            seen.add(user)
            out.append({"user": user, "from": "pg_limits_users"})
    return out or [{"user": DEFAULT_USER, "from": "default"}]


def _text(result, key):
    return (result.get(key) or "").strip()


def passwd_class(rc, text):
    """The class field of `pw usershow -n USER`'s output, None when pw found no such user.

    pw prints the master.passwd line name:password:uid:gid:class:change:expire:gecos:home:shell;
    an empty class ("") means `default`.
    """
    fields = (text or "").strip().split(":") if rc == 0 else []
    return fields[4] if len(fields) >= 10 else None


def class_plan(reads, login_class):
    """reads: the results of `pw usershow -n USER` per user (item, rc, stdout, stderr, msg)."""
    out = []
    for result in reads:
        now = passwd_class(result.get("rc", 1), result.get("stdout"))
        out.append(dict(result["item"], exists=now is not None, now=now,
                        assign=now is not None and now != str(login_class),
                        error=_text(result, "stderr") or _text(result, "stdout") or result.get("msg", "")))
    return out


def _count(value):
    # As Jinja's int read it before: a number, else 0 (leave the limit alone).
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def class_capabilities(nofile, nproc, memlock):
    """openfiles, maxproc and memorylocked for the class; 0 (or memlock auto) leaves one alone.

    memlock is in KiB (limits.conf's unit), written with login.conf's k suffix.
    """
    out = {}
    if _count(nofile) > 0:
        out["openfiles"] = _count(nofile)
    if _count(nproc) > 0:
        out["maxproc"] = _count(nproc)
    text = str(memlock).lower()
    if text == "unlimited":
        out["memorylocked"] = "unlimited"
    elif re.match(r"^[0-9]+$", text) and int(text) > 0:
        out["memorylocked"] = text + "k"
    return out


def _given(resource, text):
    """A limit as login_conf.fmt wrote it, as a number (INFINITY for unlimited); None when unset."""
    if text is None:
        return None
    if login_conf.RESOURCES[resource] == login_conf.SIZE:
        return login_conf.read_size(str(text))
    return login_conf.read_number(str(text))


def class_shortfalls(limits, capabilities):
    """The soft and hard limits a class gives below what pg_limits asks of it.

    limits: {resource: {"soft": text, "hard": text}} as pg_host_facts reports a
    class (login_conf.class_limits; null when the class sets none);
    capabilities: class_capabilities(). Writing never lowers, so a limit at or
    above the asked value is kept (login_conf.plan); one the class does not
    set, or below, is what pg_limits would write. -> [{capability, limit, has,
    wants}] in login.conf's resource order.
    """
    out = []
    for resource in login_conf.RESOURCE_ORDER:
        if resource not in capabilities:
            continue
        dummy, dummy, wanted = login_conf.parse_asked("pg_limits", resource, capabilities[resource])
        for kind in ("soft", "hard"):
            has = ((limits or {}).get(resource) or {}).get(kind)
            try:
                value = _given(resource, has)
            except ValueError:
                # Nothing shows the class gives enough: pg_limits would rewrite it.
                value = None
            if value is None or value < wanted:
                out.append({"capability": resource, "limit": kind, "has": has,
                            "wants": login_conf.fmt(wanted, login_conf.RESOURCES[resource])})
    return out


def class_limits(limits):
    """login_class' limits (resource, limit, after) as {resource: {limit: after}}."""
    out = {}
    for entry in limits or ():
        out.setdefault(entry["resource"], {})[entry["limit"]] = entry["after"]
    return out


def class_changes(lines, plan, login_class, rc_conf, rc_changed):
    """The class's changed capabilities, the users given the class and the rc.conf line."""
    out = list(lines or ())
    for user in plan:
        if user["assign"]:
            out.append("user %s: login class %s (was %s)" % (user["user"], login_class, user["now"] or "default"))
    if rc_changed:
        out.append("%s: postgresql_login_class=%s" % (rc_conf, login_class))
    return out


def class_report(limits, lines, plan, login_class, rc_conf, rc_changed):
    """What the run summary shows: the class's limits and the changes."""
    return {"limits": class_limits(limits), "changes": class_changes(lines, plan, login_class, rc_conf, rc_changed)}
