# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role pg_jail's distinct_uid path around jail_uids.plan: the plan as data
(also when it cannot be made), one line per jail, and what blocks applying it.

  plan_outcome(jails, ..., with_postgresql)  -> {ok, plan, error, needed}
  target_plan(plan, targets, apply, check_mode) -> {range, changed, apply, jails, lines, status, blocked}
    built from target_lines (plan entries + where + one line), status_entries
    (report fields by jail) and missing_location (jails that cannot be changed)
  applied_status(jail, reown, others)       -> the report fields once a jail's ids are changed
  failure_reason(ansible_failed_result)     -> what the failed step said, for the rescue
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.jail_uids import PlanError, RangeTooSmall, plan


def plan_outcome(jails, host_users, reserved_range, server_user="postgres", server_group=None, host_groups=None,
                 with_postgresql=()):
    """jail_uids.plan as a result, not an exception, so the role words the failure from fields.

    with_postgresql: jails to plan as having PostgreSQL whatever the audit
    found (jails acted on, named with a data_directory). needed is the number
    of free ids the range lacks room for when it is too small, else None.
    """
    names = set(with_postgresql or ())
    jails = [dict(jail, has_postgresql=True) if jail.get("name") in names else jail for jail in jails]
    try:
        result = plan(jails, host_users, reserved_range, server_user=server_user,
                      server_group=server_group, host_groups=host_groups)
    except RangeTooSmall as exc:
        return {"ok": False, "plan": None, "error": str(exc), "needed": exc.needed}
    except PlanError as exc:
        return {"ok": False, "plan": None, "error": str(exc), "needed": None}
    return {"ok": True, "plan": result, "error": None, "needed": None}


def _id_line(kind, entry):
    if entry["change_" + kind]:
        return "%s %s -> %s (%s)" % (kind, entry[kind], entry["target_" + kind], entry["reason_" + kind])
    return "keeps %s %s (unique)" % (kind, entry[kind])


def target_lines(plan_jails, targets, apply, check_mode):
    """The plan entries of the jails acted on, with where each jail is and one line.

    targets (the role's pg_jail_targets) give path, jid, running and
    data_directories, which may override what the audit found.
    """
    by_name = dict((target["name"], target) for target in targets)
    out = []
    for entry in plan_jails:
        target = by_name.get(entry["name"])
        if target is None:
            continue
        change = entry["change_uid"] or entry["change_gid"]
        state = ""
        if change and not apply:
            state = "; not applied (%s)" % ("check mode" if check_mode else "pg_jail_restart is false")
        out.append(dict(entry, path=target.get("path"), jid=target.get("jid"), running=target.get("running"),
                        data_directories=target.get("data_directories"), change=change,
                        line="jail %s: %s %s, %s%s" % (entry["name"], entry["user"], _id_line("uid", entry),
                                                       _id_line("gid", entry), state)))
    return out


def status_entries(jails):
    """{jail name: the report fields} of target_lines' entries."""
    return dict((jail["name"], {
        "uid_target": jail["target_uid"], "gid_target": jail["target_gid"],
        "uid_reason": jail["reason_uid"], "gid_reason": jail["reason_gid"],
        "restart_pending": jail["change"], "restart": "pending" if jail["change"] else "not needed",
        "line": jail["line"],
    }) for jail in jails)


def missing_location(jails):
    """Jails to change whose files cannot be found: no root (path) or no data directory."""
    out = []
    for jail in jails:
        if not jail["change"]:
            continue
        path = jail.get("path")
        if not isinstance(path, str) or path in ("", "/"):
            out.append({"name": jail["name"], "missing": "its root (path) is not known"})
        elif not jail.get("data_directories"):
            out.append({"name": jail["name"], "missing": "no data directory was found in it"})
    return out


def target_plan(result, targets, apply, check_mode):
    """The plan of the jails acted on (pg_jail_uid_plan): jails with their lines,
    the report fields per jail (status) and the jails whose files cannot be found (blocked)."""
    jails = target_lines(result["jails"], targets, apply, check_mode)
    return {
        "range": result["range"],
        "changed": any(jail["change"] for jail in jails),
        "apply": apply,
        "jails": jails,
        "lines": [jail["line"] for jail in jails],
        "status": status_entries(jails),
        "blocked": missing_location(jails),
    }


def _applied_ids(kind, jail):
    if jail["change_" + kind]:
        return "%s %s -> %s" % (kind, jail[kind], jail["target_" + kind])
    return "keeps %s %s" % (kind, jail[kind])


def applied_status(jail, reown, others=None):
    """The report fields of a jail whose ids were just changed (tasks/apply_uid.yml):
    restart_pending, restart, reowned and line.

    jail: an entry of target_plan's jails; reown: pg_reown's result; others:
    the registered `pgrep -l` of processes still running as the old uid
    (skipped when the jail is not running or keeps its uid). They are named
    because they keep the old uid until someone restarts them.
    """
    totals = reown["totals"]
    running = bool(jail.get("running"))
    line = "jail %s: %s %s, %s; applied, %s owner/group changes on %s entries; %s" % (
        jail["name"], jail["user"], _applied_ids("uid", jail), _applied_ids("gid", jail),
        totals["uid_changed"] + totals["gid_changed"], totals["dirs"] + totals["files"],
        "PostgreSQL restarted and accepts connections" if running
        else "the jail is not running, PostgreSQL starts with the new ids with it")
    still = (others or {}).get("stdout_lines") or []
    if still:
        line += "; still running as uid %s until restarted: %s" % (jail["uid"], ", ".join(still))
    return {"restart_pending": False, "restart": "done" if running else "not needed", "reowned": totals,
            "line": line}


def _said(result):
    return str(result.get("stdout") or result.get("stderr") or result.get("msg") or "").strip()


def failure_reason(failed):
    """What the failed task of apply_uid.yml said (its ansible_failed_result).

    A loop's own msg is only "One or more items failed", so the failed items'
    output is named first, one after the other.
    """
    items = [_said(result) for result in failed.get("results") or () if result.get("failed")]
    return "; ".join(items) or str(failed.get("msg") or failed.get("stderr") or "").strip()
