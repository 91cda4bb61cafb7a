# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FreeBSD, per cluster: how its server is guarded, as only the host can say.

pg_host_facts reads these with the clusters (cluster_discovery.discover), so
that the fleet audit (audit_freebsd.py) judges them without a module call
of its own:

- oom_protection: whether the running postmaster carries protect(1)'s flag,
  read with the command and verdict role pg_service uses
  (oom_protect.read_protection: `ps -o flags= -p PID`);
- login_class: the class the server's OS user gets and the limits it gives
  of the resources role pg_limits manages - the user's class read as
  pg_limits reads it (`pw usershow -n USER`, login_class_plan.passwd_class),
  the limits from /etc/login.conf with the parser pg_limits writes it with
  (login_conf.class_limits), and whether login.conf.db, which getcap reads
  instead, is older than the file.

  read_servers(module, clusters, files) -> sets both keys on each cluster

Reads only; a command or file that cannot be read leaves its reason in the
key's `error` (the audit says "not verifiable here" with it) rather than in
the cluster's errors, which would warn on every site run.
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils import login_conf
from ansible_collections.pghost.hardening.plugins.module_utils.login_class_plan import MANAGED_RESOURCES, passwd_class
from ansible_collections.pghost.hardening.plugins.module_utils.oom_protect import read_protection

# login_cap(3) reads this file (through its .db) and no other for a user's class.
LOGIN_CONF = "/etc/login.conf"


def _mtime(files, path):
    st = files.stat(path)
    return st.st_mtime if st is not None else None


def user_class(module, user):
    """(the class master.passwd gives `user`, `default` when it names none; error or None)."""
    pw = module.get_bin_path("pw")
    if not pw:
        return None, "pw was not found on this host"
    argv = [pw, "usershow", "-n", user]
    rc, out, err = module.run_command(argv)
    name = passwd_class(rc, out)
    if name is None:
        return None, "%s found no such user (rc %d): %s" % (" ".join(argv), rc, (err or out or "").strip())
    return name or login_conf.DEFAULT_CLASS, None


def login_class(module, user, text, stale):
    """The login_class entry for a server user; text: /etc/login.conf (None when unreadable)."""
    entry = {"user": user, "name": None, "found": None, "effective": None, "limits": None,
             "database_stale": stale, "error": None}
    if not user:
        entry["error"] = "the cluster's owner is not known, so neither is its login class"
        return entry
    entry["name"], entry["error"] = user_class(module, user)
    if entry["error"]:
        return entry
    if text is None:
        entry["error"] = "cannot read %s" % LOGIN_CONF
        return entry
    try:
        entry.update(login_conf.class_limits(text, entry["name"], MANAGED_RESOURCES))
    except login_conf.LoginConfError as exc:
        where = "%s:%d: " % (LOGIN_CONF, exc.line_no) if exc.line_no else "%s: " % LOGIN_CONF
        entry["error"] = where + exc.message
    return entry


def read_servers(module, clusters, files):
    """Set each cluster's oom_protection (None unless its postmaster runs) and login_class."""
    if not clusters:
        return clusters
    text = files.read(LOGIN_CONF)
    stale = login_conf.database_stale(_mtime(files, LOGIN_CONF), _mtime(files, LOGIN_CONF + ".db"))
    by_user = {}
    for cluster in clusters:
        running = cluster.get("running") and cluster.get("pid")
        cluster["oom_protection"] = read_protection(module, cluster["pid"]) if running else None
        owner = cluster.get("owner")
        if owner not in by_user:
            by_user[owner] = login_class(module, owner, text, stale)
        cluster["login_class"] = dict(by_user[owner])
    return clusters
