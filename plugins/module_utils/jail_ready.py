# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role pg_jail's wait for PostgreSQL in a jail (tasks/jail_postgresql_ready.yml):
from the postmaster.pid of each data directory, read inside the jail, which
data directories have no complete one yet and the pg_isready call per server.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.postmaster import (
    PidFileError, parse_pid_file, pg_isready_args)

PG_ISREADY = "/usr/local/bin/pg_isready"
# Lines 4-6 (port, socket directory, listen address) say where to connect;
# the postmaster writes them one by one while it starts.
COMPLETE_LINES = 6


def _pid_file(result):
    """The PidFile of one `cat postmaster.pid` result; None while it is missing or incomplete."""
    if result.get("rc") != 0:
        return None
    text = result.get("stdout") or ""
    if len(text.splitlines()) < COMPLETE_LINES:
        return None
    try:
        pid_file = parse_pid_file(text)
    except PidFileError:
        return None
    # Without a port there is nothing to ask pg_isready for.
    return pid_file if pid_file.port is not None else None


def _data_directory(result):
    return result.get(result.get("ansible_loop_var") or "item")


def ready_checks(results, jail):
    """{missing: data directories without a complete postmaster.pid, checks: [{label, argv}]}.

    results: the registered results of the `jexec JAIL cat DIR/postmaster.pid`
    loop, each naming its data directory by the loop variable. Without any
    (no data directory is known), one check with pg_isready's defaults (port
    5432, the socket in /tmp).
    """
    missing, checks = [], []
    for result in results or ():
        pid_file = _pid_file(result)
        if pid_file is None:
            missing.append(_data_directory(result))
            continue
        checks.append({"label": "port %d" % pid_file.port,
                       "argv": ["jexec", jail, PG_ISREADY] + pg_isready_args(pid_file)})
    if not results:
        checks.append({"label": "default port", "argv": ["jexec", jail, PG_ISREADY]})
    return {"missing": missing, "checks": checks}
