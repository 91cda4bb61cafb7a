# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The FreeBSD jail audit behind pghost.hardening.pg_jail_facts.

Builds on jail_conf (parsing, effective IPC modes, `jls -n`) and jail_uids
(collisions, the uid plan's input shape); this file only gathers: which
jails exist, where their roots are, whether PostgreSQL lives there and as
which UID. Files are read through a HostFiles so tests run on a fake tree.

  parse_release(text)            -> (major, minor) of "13.2-RELEASE-p4", or None
  supports_sysvshm_new(release)  -> jail sysvshm/sysvsem/sysvmsg exist (11.0+)
  dropin_paths(files, dir)       -> the jail.conf.d files that can define jails (the one listing)
  config_sources(...)            -> the file each configured jail is read from
  config_value(conf, jail, name) -> a parameter as jail(8) sees it ($vars resolved)
  postgresql_in_root(files, ...) -> whether a root (host or jail) runs PostgreSQL
  audit(...)                     -> the module's result

Facts relied on (docs/postgres-kernel-facts.md §1, §8):
- jail sysvshm/sysvsem/sysvmsg (and so sysvshm=new) exist from FreeBSD 11.0;
  before that the only isolation is a distinct server UID per jail.
- /etc/rc.d/jail starts jail NAME from /etc/jail.NAME.conf, else
  /etc/jail.conf.d/NAME.conf, else jail_conf (/etc/jail.conf): a jail in
  jail.conf.d/NAME.conf is read from that file alone.
- The PostgreSQL port's rc script: postgresql_enable, postgresql_user
  (default postgres), postgresql_data (default ~postgres/data<major>).
"""

from __future__ import annotations

import re

from ansible_collections.pghost.hardening.plugins.module_utils.cluster_discovery import FREEBSD_RC_CONFS, freebsd_clusters
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import (
    JailConfError,
    effective_ipc,
    effective_params,
    found_vars,
    ipc_mode,
    jls_ipc,
    parse,
    parse_jls_n,
    resolve_variables,
)
from ansible_collections.pghost.hardening.plugins.module_utils.jail_uids import collisions, parse_group, parse_passwd
from ansible_collections.pghost.hardening.plugins.module_utils.shell_assign import parse_rc_conf

# A FreeBSD release threshold, not a PostgreSQL one: it stays beside its
# parser (versions.py holds the PostgreSQL ones).
SYSVSHM_NEW_SINCE = (11, 0)
DEFAULT_HOME = "/var/db/postgres"
_YES = ("yes", "true", "on", "1")


class AuditError(ValueError):
    """Input the audit cannot answer for; the message names the file or the jail."""


def _in_file(path, exc):
    """The JailConfError `exc` with the file named first: "<path>: line N: ..."."""
    error = JailConfError("%s: %s" % (path, exc))
    error.line = exc.line
    return error


# ---------------------------------------------------------------- pure parts


def parse_release(text):
    """(major, minor) from `freebsd-version -u` / `uname -r` output
    ("13.2-RELEASE-p4", "10.3-RELEASE-p29", "15.0-CURRENT"); None if unreadable."""
    match = re.match(r"\s*(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def supports_sysvshm_new(release):
    """Whether the jail parameters sysvshm/sysvsem/sysvmsg exist (11.0+); None when unknown."""
    if release is None:
        return None
    return tuple(release) >= SYSVSHM_NEW_SINCE


def is_yes(value):
    """rc.subr checkyesno: YES, TRUE, ON or 1 in any case."""
    return str(value or "").strip().lower() in _YES


def dropin_paths(files, jail_conf_d):
    """The jail.conf.d files that can define jails: regular *.conf files, by name
    (rc.d/jail reads jail.conf.d/NAME.conf; jail.conf reaches the others by .include)."""
    directory = jail_conf_d.rstrip("/")
    paths = ("%s/%s" % (directory, name) for name in files.listdir(jail_conf_d) if name.endswith(".conf"))
    return [path for path in paths if files.isfile(path)]


def config_sources(main_path, main_text, dropins):
    """{jail: (path, JailConf)}: the file each configured jail is started from.

    main_path/main_text: jail.conf (text None when absent); dropins:
    [(path, text)] of jail.conf.d/*.conf. A jail defined in
    jail.conf.d/<jail>.conf is read from that file (rc.d/jail); otherwise
    from jail.conf; otherwise from the first other jail.conf.d file that
    defines it (reachable through an `.include` in jail.conf).
    JailConfError carries "<path>: line N: ..." for a malformed file.
    """
    parsed = []
    for path, text in ([(main_path, main_text)] if main_text is not None else []) + list(dropins):
        try:
            parsed.append((path, parse(text)))
        except JailConfError as exc:
            raise _in_file(path, exc)
    sources = {}
    own = {}
    for path, conf in parsed[1 if main_text is not None else 0:]:
        stem = path.rsplit("/", 1)[-1][:-len(".conf")]
        if stem in conf.jails():
            own[stem] = (path, conf)
    for name, source in own.items():
        sources[name] = source
    for path, conf in parsed:
        for name in conf.jails():
            sources.setdefault(name, (path, conf))
    return sources


def config_value(conf, jail, name):
    """The last value of parameter `name` that reaches `jail` (wildcards and
    top-level settings merged as jail(8) does), variables resolved; None if unset."""
    params = effective_params(conf, jail)
    lookup = {"name": jail}
    for param in params:
        lookup[param.name.lstrip("$")] = param
    found = None
    for param in params:
        if param.name == name:
            found = param
    if found is None or found.value is None:
        return None
    try:
        return resolve_variables(found.value, found_vars(found), lookup)
    except JailConfError as exc:
        raise JailConfError("jail %r: %s: %s" % (jail, name, exc), found.line)


def collision_message(group, uid, server_user):
    names = list(group)
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return ("jails %s share the host's SysV IPC namespace and run PostgreSQL as %s with the same UID %s: "
            "a postmaster can take a live neighbour's shared memory for stale and remove it "
            "(PostgreSQL 9.2/9.3); give each jail sysvshm=new (FreeBSD 11.0+) or a distinct UID"
            % (listed, server_user, uid))


# ---------------------------------------------------------------- reading a root


def read_rc_conf(files):
    """(env, setters): the variables after reading every rc.conf file in
    order (later files win), and {variable: the last file that sets it}."""
    env = {}
    setters = {}
    paths = []
    for path in FREEBSD_RC_CONFS:
        if files.isdir(path):
            paths.extend(path + "/" + name for name in files.listdir(path))
        elif files.exists(path):
            paths.append(path)
    for path in paths:
        text = files.read(path, "")
        parse_rc_conf(text, env)
        for name in parse_rc_conf(text, {}):
            setters[name] = path
    return env, setters


def postgresql_in_root(files, server_user, homes):
    """What says PostgreSQL runs under this root.

    homes: {user: home directory} from the root's /etc/passwd. Returns
    {"has_postgresql", "enabled", "enabled_in", "rc_user", "data_directories",
    "evidence": [sentences], "warnings": [..]}.
    """
    env, setters = read_rc_conf(files)
    enabled = is_yes(env.get("postgresql_enable"))
    enabled_in = setters.get("postgresql_enable") if enabled else None
    warnings = []
    evidence = []
    if enabled:
        evidence.append("postgresql_enable=%s in %s" % (env.get("postgresql_enable"), enabled_in))
    rc_user = env.get("postgresql_user")
    data = []
    for cluster in freebsd_clusters(files, warnings, home_of=homes.get):
        if cluster["data_directory"] not in data:
            data.append(cluster["data_directory"])
    # Without rc.conf settings or the port's rc script: ~user/data<NN>.
    home = (homes.get(rc_user or server_user) or DEFAULT_HOME).rstrip("/") or "/"
    for name in files.listdir(home):
        path = "%s/%s" % (home.rstrip("/"), name)
        if re.match(r"^data\d+$", name) and files.isdir(path) and path not in data:
            data.append(path)
    for path in data:
        evidence.append("data directory %s" % path)
    return {
        "has_postgresql": bool(enabled or data),
        "enabled": enabled,
        "enabled_in": enabled_in,
        "rc_user": rc_user,
        "data_directories": data,
        "evidence": evidence,
        "warnings": warnings,
    }


def _homes(passwd_text):
    homes = {}
    for line in (passwd_text or "").splitlines():
        fields = line.strip().split(":")
        if len(fields) >= 7 and not line.startswith("#"):
            homes.setdefault(fields[0], fields[-2])
    return homes


def read_accounts(files):
    """(users, groups, homes, readable) of a root's /etc/passwd and /etc/group."""
    passwd = files.read("/etc/passwd")
    group = files.read("/etc/group")
    return parse_passwd(passwd), parse_group(group), _homes(passwd), passwd is not None


# ---------------------------------------------------------------- the audit


def audit(files, jls_text, release_text, server_user="postgres", only=None,
          jail_conf="/etc/jail.conf", jail_conf_d="/etc/jail.conf.d"):
    """The jail audit of a host whose files are `files` (HostFiles).

    jls_text: `jls -n` output; release_text: `freebsd-version -u` output.
    only: jail names to limit the report to (AuditError naming an unknown
    one). JailConfError, with the file and line, for a malformed jail.conf.
    """
    main_text = files.read(jail_conf)
    warnings = []
    if main_text is None and files.exists(jail_conf) and not files.isdir(jail_conf):
        warnings.append("%s exists but cannot be read (use become)" % jail_conf)
    dropins = []
    for path in dropin_paths(files, jail_conf_d):
        text = files.read(path)
        if text is None:
            warnings.append("%s cannot be read (use become)" % path)
        else:
            dropins.append((path, text))
    sources = config_sources(jail_conf, main_text, dropins)
    running = {}
    for entry in parse_jls_n(jls_text):
        name = entry.get("name") or str(entry.get("jid"))
        running[name] = entry

    names = sorted(set(sources) | set(running))
    selected = names
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise AuditError("jail%s %s not found; jails on this host: %s" % (
                "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(names) or "none"))
        selected = [n for n in names if n in only]

    release = parse_release(release_text)
    supports_new = supports_sysvshm_new(release)
    if release is None:
        warnings.append("cannot read the FreeBSD release from %r; assuming sysvshm=new is not available"
                        % (release_text or "").strip())

    host_users, host_groups, host_homes, host_readable = read_accounts(files)
    host_pg = postgresql_in_root(files, server_user, host_homes)

    jails = []
    plan_jails = []
    for name in names:
        entry = running.get(name)
        source = sources.get(name)
        record = {"name": name, "running": entry is not None, "configured": source is not None,
                  "config_file": source[0] if source else None, "jid": None, "path": None}
        config_ipc = None
        if source:
            path, conf = source
            try:
                config_ipc = effective_ipc(conf, name)
                record["path"] = config_value(conf, name, "path")
            except JailConfError as exc:
                raise _in_file(path, exc)
        if entry is not None:
            jid = entry.get("jid")
            record["jid"] = int(jid) if isinstance(jid, str) and jid.isdigit() else None
            if isinstance(entry.get("path"), str) and entry["path"]:
                record["path"] = entry["path"]
            record["ipc"] = jls_ipc(entry)
            record["ipc_source"] = "jls"
        else:
            record["ipc"] = config_ipc
            record["ipc_source"] = "config"
        record["ipc_config"] = config_ipc
        record["ipc_mode"] = ipc_mode(record["ipc"])
        record["shares_host_ipc"] = record["ipc_mode"] == "inherit"

        root = record["path"]
        users, groups, homes, readable = ({}, {}, {}, False)
        pg = {"has_postgresql": False, "enabled": False, "enabled_in": None, "rc_user": None,
              "data_directories": [], "evidence": [], "warnings": []}
        if root and root != "/":
            jail_files = HostFiles(files.path(root))
            users, groups, homes, readable = read_accounts(jail_files)
            pg = postgresql_in_root(jail_files, server_user, homes)
        elif name in selected:
            warnings.append("jail %s: no path (root directory) known; PostgreSQL and accounts not read" % name)
        record.update(
            has_postgresql=pg["has_postgresql"],
            postgresql_enabled=pg["enabled"],
            postgresql_evidence=pg["evidence"],
            data_directories=pg["data_directories"],
            server_user=server_user,
            uid=users.get(server_user),
            gid=groups.get(server_user),
        )
        if name in selected:
            for warning in pg["warnings"]:
                warnings.append("jail %s: %s" % (name, warning))
            if pg["rc_user"] and pg["rc_user"] != server_user:
                warnings.append("jail %s: rc.conf sets postgresql_user=%s but server_user is %s"
                                % (name, pg["rc_user"], server_user))
            if pg["has_postgresql"] and not readable:
                warnings.append("jail %s runs PostgreSQL but %s/etc/passwd cannot be read (use become); "
                                "its server UID is unknown" % (name, root.rstrip("/")))
            elif pg["has_postgresql"] and record["uid"] is None:
                warnings.append("jail %s runs PostgreSQL but has no user %s in %s/etc/passwd"
                                % (name, server_user, root.rstrip("/")))
            jails.append(record)
        plan_jails.append({
            "name": name, "path": root, "users": users, "groups": groups,
            # A jail left out by `jails` keeps its accounts in the input
            # (their ids are taken) but gets no plan of its own.
            "has_postgresql": pg["has_postgresql"] and name in selected,
            "ipc": record["ipc"], "selected": name in selected,
        })

    by_name = dict((j["name"], j) for j in jails)
    found = []
    for group in collisions([j for j in plan_jails if j["selected"]], server_user):
        uid = by_name[group[0]]["uid"]
        message = collision_message(group, uid, server_user)
        found.append({"jails": group, "uid": uid, "message": message})
        warnings.append(message)

    host_uid = host_users.get(server_user)
    for jail in jails:
        jail["shares_uid_with_host"] = bool(
            jail["has_postgresql"] and jail["shares_host_ipc"] and host_uid is not None and jail["uid"] == host_uid)
        if jail["shares_uid_with_host"] and host_pg["has_postgresql"]:
            warnings.append("jail %s shares the host's SysV IPC namespace and runs PostgreSQL as UID %s, "
                            "the UID of the host's own PostgreSQL server" % (jail["name"], host_uid))
    if not host_readable:
        warnings.append("/etc/passwd of the host cannot be read")

    return {
        "freebsd_release": (release_text or "").strip(),
        "supports_sysvshm_new": supports_new,
        "isolation_default": "new" if supports_new else "distinct_uid",
        "host": {"server_user": server_user, "uid": host_uid, "gid": host_groups.get(server_user),
                 "has_postgresql": host_pg["has_postgresql"]},
        "jails": jails,
        "collisions": found,
        "uid_plan_input": {
            "jails": [dict((k, v) for k, v in j.items() if k != "selected") for j in plan_jails],
            "host_users": host_users,
            "host_groups": host_groups,
            "server_user": server_user,
            "server_group": server_user,
        },
        "warnings": warnings,
    }
