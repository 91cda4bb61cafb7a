# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What role pg_service did per FreeBSD cluster: the entries of pghost_service.clusters.

Each cluster stops through the pg_ctl flags of its profile variable when that
is set, else postgresql_flags (rc_flags_plan); its postmaster's OOM protection
comes from oom_protect. A FreeBSD cluster never waits for a restart: the rc
script reads the flags at each stop and protect(1) acts on the running
postmaster.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.rc_flags_plan import (
    DEFAULT_VARIABLE,
    is_given,
    profile_variable,
)


def _shutdown(flags, variable, manage, check_mode, changed):
    if not manage:
        return "not managed (pg_service_shutdown is false)"
    entry = flags.get(variable, {})
    if entry.get("changed"):
        changed.append("%s=%s" % (variable, entry["after"]))
        return "fast from the next stop (%s%s" % (variable, " would change)" if check_mode else " changed)")
    if is_given(entry.get("before")):
        return "fast (%s)" % variable
    return "fast (the rc script default, -w -s -m fast)"


def _oom(cluster, plan, manage, in_jail, check_mode, changed):
    pid = cluster.get("pid")
    state = plan.get("state", "")
    if not manage:
        return "not managed (pg_service_oom is false)"
    if in_jail:
        return "not protected: protect(1) is refused inside a jail"
    if not cluster.get("running") or not pid:
        return "not running; run the role again after it starts to protect it"
    if state == "protected":
        return "protected (pid %s)" % pid
    if state == "unprotected":
        changed.append("protect -p %s" % pid)
        return "%s (pid %s)" % ("would be protected" if check_mode else "protected now", pid)
    return "pid %s exited since the clusters were read; run the role again" % pid


def service_report(clusters, flags_plan, oom_plan, manage_shutdown, manage_oom, in_jail, check_mode):
    """One entry per cluster: its flags variable, what changed, shutdown, OOM and a summary line."""
    flags = dict((entry["name"], entry) for entry in flags_plan or ())
    out = []
    for cluster in clusters or ():
        profile = profile_variable(cluster.get("name"))
        variable = profile if profile and is_given(flags.get(profile, {}).get("before")) else DEFAULT_VARIABLE
        changed = []
        shutdown = _shutdown(flags, variable, manage_shutdown, check_mode, changed)
        oom = _oom(cluster, (oom_plan or {}).get(cluster.get("name"), {}), manage_oom, in_jail, check_mode, changed)
        out.append({
            "name": cluster.get("name"), "rc_name": cluster.get("rc_name"),
            "data_directory": cluster.get("data_directory"), "pid": cluster.get("pid"),
            "flags_variable": variable, "changed": changed, "shutdown": shutdown, "oom": oom,
            "restart": "not needed", "reasons": [],
            "summary": "rc %s: %s; shutdown %s; OOM %s; restart not needed"
                       % (cluster.get("rc_name") or "none", ", ".join(changed) if changed else "no change",
                          shutdown, oom),
        })
    return out
