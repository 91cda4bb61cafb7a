# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the PostgreSQL clusters of a host and read the settings that size the kernel.

Entry point: discover_clusters(module, declared=None) -> (clusters, warnings).

Sources, merged by data directory (first source wins a field):
  declared clusters (pghost_clusters) > Debian /etc/postgresql/<ver>/<name>
  > systemd unit files (PGDG postgresql-NN.service and user-written units)
  > FreeBSD rc.conf (postgresql_data, postgresql_profiles).
Everything is read from files; commands run only to read settings (pg_settings.py:
one psql query per running cluster, `postgres -C NAME` per setting for a
stopped one) and, on FreeBSD, what only ps and pw say (below). The file
formats have their own parsers: pg_conf.py (postgresql.conf),
shell_assign.py (rc.conf, EnvironmentFile),
server_command.py (unit files, ExecStart), postmaster.py (postmaster.pid and
whether its postmaster is alive). On FreeBSD, freebsd_server.py then reads
each postmaster's protect(1) flag and its server user's login class (ps and
pw once each per postmaster and user, /etc/login.conf once).

Facts: docs/postgres-kernel-facts.md, cited by section number.
"""

from __future__ import annotations

import os
import pwd
import re

from ansible_collections.pghost.hardening.plugins.module_utils.freebsd_server import read_servers
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles, current_platform
from ansible_collections.pghost.hardening.plugins.module_utils.pg_conf import read_pg_conf
from ansible_collections.pghost.hardening.plugins.module_utils.pg_settings import RELEASE_KEYS, SETTING_KEYS, read_settings
from ansible_collections.pghost.hardening.plugins.module_utils.postmaster import postmaster_alive, read_pid_file
from ansible_collections.pghost.hardening.plugins.module_utils.server_command import merge_unit_texts, parse_server_command, split_exec
from ansible_collections.pghost.hardening.plugins.module_utils.shell_assign import expand_vars, parse_env_file, parse_rc_conf, shell_words
from ansible_collections.pghost.hardening.plugins.module_utils.versions import version_tuple

# oom_protection and login_class: FreeBSD only (freebsd_server.py), None elsewhere.
CLUSTER_KEYS = ("name", "version", "data_directory", "config_file", "unit", "rc_name", "owner", "port",
                "running", "pid", "settings_source") + SETTING_KEYS + RELEASE_KEYS + (
                    "oom_protection", "login_class", "errors")

DEBIAN_CONF_ROOT = "/etc/postgresql"
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
             "/lib/systemd/system", "/usr/lib/systemd/system")
FREEBSD_RC_CONFS = ("/etc/rc.conf", "/etc/rc.conf.local", "/etc/rc.conf.d/postgresql",
                    "/usr/local/etc/rc.conf.d/postgresql")
FREEBSD_RC_SCRIPT = "/usr/local/etc/rc.d/postgresql"
DEFAULT_PORT = 5432


def parse_start_conf(text):
    """Debian start.conf -> auto | manual | disabled (auto when unset)."""
    for line in (text or "").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            return word
    return "auto"


# ---------------------------------------------------------------------------
# Discovery sources -> candidate dicts (cluster keys plus private "_" hints)
# ---------------------------------------------------------------------------

def new_cluster(data_directory):
    cluster = dict((key, None) for key in CLUSTER_KEYS)
    cluster.update(data_directory=data_directory, running=False, errors=[])
    return cluster


def _resolve_data_dir(files, directory):
    """A -D argument is either a data directory (has PG_VERSION) or a config
    directory whose postgresql.conf names data_directory (Debian style).
    Returns (data_directory, config_dir or None)."""
    directory = directory.rstrip("/") or "/"
    if files.exists(directory + "/PG_VERSION"):
        return directory, None
    conf, dummy = read_pg_conf(files, directory + "/postgresql.conf", required=False)
    if conf.get("data_directory"):
        return conf["data_directory"].rstrip("/") or "/", directory
    return directory, None


def debian_clusters(files):
    """/etc/postgresql/<ver>/<name>/postgresql.conf (postgresql-common layout)."""
    found = []
    versions = [v for v in files.listdir(DEBIAN_CONF_ROOT) if version_tuple(v)]
    for version in sorted(versions, key=version_tuple):
        for name in files.listdir("%s/%s" % (DEBIAN_CONF_ROOT, version)):
            conf_dir = "%s/%s/%s" % (DEBIAN_CONF_ROOT, version, name)
            conf_file = conf_dir + "/postgresql.conf"
            if not files.isfile(conf_file):
                continue
            conf, dummy = read_pg_conf(files, conf_file)
            data = conf.get("data_directory")
            if not data:
                # pg_lsclusters falls back to the pgdata link, then the default path.
                data = files.readlink(conf_dir + "/pgdata") or "/var/lib/postgresql/%s/%s" % (version, name)
            cluster = new_cluster(data.rstrip("/") or "/")
            cluster.update(
                name="%s/%s" % (version, name),
                config_file=conf_file,
                unit="postgresql@%s-%s.service" % (version, name),
                _config_dir=conf_dir,
                _version_hint=version,
                _conf=conf,
                _start=parse_start_conf(files.read(conf_dir + "/start.conf")),
                _bindirs=["/usr/lib/postgresql/%s/bin" % version],
            )
            found.append(cluster)
    return found


def unit_exists(files, unit):
    """Whether systemd has a unit file for `unit` (a template instance counts
    when its template exists); a name without a suffix is a .service."""
    name = unit if "." in unit else unit + ".service"
    template = re.sub(r"@[^.]*\.", "@.", name) if "@" in name else None
    return any(files.exists(directory + "/" + candidate)
               for directory in UNIT_DIRS for candidate in (name, template) if candidate)


def _unit_texts(files, unit):
    """Main file (first unit dir that has it) and drop-ins (by name, earlier dir wins)."""
    main = None
    for directory in UNIT_DIRS:
        if files.exists(directory + "/" + unit):
            main = directory + "/" + unit
            break
    if main is None or files.realpath(main) == "/dev/null":
        return None
    texts = [files.read(main, "")]
    dropins = {}
    for directory in UNIT_DIRS:
        for name in files.listdir("%s/%s.d" % (directory, unit)):
            if name.endswith(".conf") and name not in dropins:
                dropins[name] = "%s/%s.d/%s" % (directory, unit, name)
    for name in sorted(dropins):
        texts.append(files.read(dropins[name], ""))
    return texts


def systemd_clusters(files, warnings):
    """Service units whose ExecStart runs postgres/postmaster/pg_ctl with a data
    directory (-D or Environment=PGDATA), e.g. PGDG's postgresql-15.service.
    Templates (postgresql@.service) and pg_ctlcluster units are the Debian layout's."""
    units = set()
    for directory in UNIT_DIRS:
        for name in files.listdir(directory):
            if name.endswith(".service") and "@" not in name:
                units.add(name)
    found = []
    for unit in sorted(units):
        texts = _unit_texts(files, unit)
        if not texts or not any(("postgres" in text or "pg_ctl" in text or "postmaster" in text) for text in texts):
            continue
        service = merge_unit_texts(texts)
        env = {}
        for item in service["environment_files"]:
            env.update(parse_env_file(files.read(item.lstrip("-"), "")))
        env.update(service["environment"])
        command = parse_server_command(split_exec(service["exec_start"], env))
        if command is None:
            continue
        data = command.get("data") or env.get("PGDATA")
        if not data:
            warnings.append("unit %s starts PostgreSQL without a data directory (-D or PGDATA); skipped" % unit)
            continue
        data, config_dir = _resolve_data_dir(files, data)
        if not files.exists(data + "/PG_VERSION"):
            warnings.append("unit %s: %s has no PG_VERSION (not initialised?); skipped" % (unit, data))
            continue
        cluster = new_cluster(data)
        cluster.update(
            name=unit[:-len(".service")],
            unit=unit,
            _config_dir=config_dir,
            _config_file=command.get("config_file"),
            _port_hint=command.get("port") or env.get("PGPORT"),
            _bindirs=[os.path.dirname(command["exe"])] if command["exe"].startswith("/") else [],
        )
        found.append(cluster)
    return found


def _home_of(user, default):
    try:
        return pwd.getpwnam(user).pw_dir
    except KeyError:
        return default


def freebsd_clusters(files, warnings, home_of=None):
    """The port's rc script: postgresql_data (default ~postgres/data<ver>, taken
    from the installed rc script), or one cluster per postgresql_profiles entry
    (postgresql_<profile>_data); postgresql_user defaults to postgres (docs/postgres-kernel-facts.md §8)."""
    home_of = home_of or _home_of
    env = {}
    for path in FREEBSD_RC_CONFS:
        if files.isdir(path):
            for name in files.listdir(path):
                parse_rc_conf(files.read(path + "/" + name, ""), env)
        else:
            parse_rc_conf(files.read(path, ""), env)
    script = files.read(FREEBSD_RC_SCRIPT)
    if script is None and not any(key.startswith("postgresql_") for key in env):
        return []
    user = env.get("postgresql_user") or "postgres"
    home = home_of(user, "/var/db/postgres")
    flags = env.get("postgresql_flags", "")

    entries = []
    profiles = env.get("postgresql_profiles", "").split()
    if profiles:
        for profile in profiles:
            data = env.get("postgresql_%s_data" % profile)
            if not data:
                warnings.append("rc.conf: postgresql_profiles lists %s but postgresql_%s_data is not set" % (profile, profile))
                continue
            entries.append(("postgresql:%s" % profile, data, env.get("postgresql_%s_flags" % profile, flags)))
    else:
        data = env.get("postgresql_data")
        if not data:
            # eval postgresql_data=${postgresql_data:-"~${postgresql_user}/data16"}
            match = re.search(r'postgresql_data:-(?:"([^"]*)"|([^"}\s]+))', script or "")
            data = (match.group(1) or match.group(2)) if match else None
            if data:
                data = expand_vars(data, {"postgresql_user": user})
                if data.startswith("~"):
                    dummy, dummy, rest = data.partition("/")
                    data = home.rstrip("/") + "/" + rest
        if not data:
            # No rc script to take the default from: the newest ~postgres/data*.
            candidates = [name for name in files.listdir(home) if re.match(r"^data\d", name)
                          and files.exists("%s/%s/PG_VERSION" % (home, name))]
            candidates.sort(key=lambda n: version_tuple(n[4:]) or (0,))
            data = "%s/%s" % (home, candidates[-1]) if candidates else None
        if data:
            entries.append(("postgresql", data, flags))

    found = []
    for name, data, flags_value in entries:
        data = data.rstrip("/") or "/"
        if not files.exists(data + "/PG_VERSION"):
            warnings.append("%s: %s has no PG_VERSION (not initialised?); skipped" % (name, data))
            continue
        command = parse_server_command(["pg_ctl"] + shell_words(flags_value)) or {}
        cluster = new_cluster(data)
        cluster.update(name=name, rc_name="postgresql", _user_hint=user,
                       _port_hint=command.get("port"), _bindirs=["/usr/local/bin"])
        found.append(cluster)
    return found


def declared_clusters(declared, warnings):
    """pghost_clusters entries -> candidates; settings given there are kept for
    when the server cannot be asked."""
    found = []
    for index, item in enumerate(declared or []):
        if not isinstance(item, dict) or not item.get("data_directory"):
            warnings.append("pghost_clusters[%d] has no data_directory; skipped" % index)
            continue
        data = str(item["data_directory"]).rstrip("/") or "/"
        cluster = new_cluster(data)
        for key in ("name", "unit", "owner"):
            if item.get(key) is not None:
                cluster[key] = str(item[key])
        if item.get("version") is not None:
            cluster["_version_hint"] = str(item["version"])
        if item.get("port") is not None:
            try:
                cluster["_declared_port"] = int(item["port"])
            except (TypeError, ValueError):
                cluster["errors"].append("declared port %r is not an integer" % (item["port"],))
        if item.get("config_dir"):
            cluster["_config_dir"] = str(item["config_dir"]).rstrip("/")
        declared_settings = dict((key, item[key]) for key in SETTING_KEYS if item.get(key) is not None)
        if declared_settings:
            cluster["_declared_settings"] = declared_settings
        found.append(cluster)
    return found


def merge_candidates(groups, files):
    """One cluster per data directory (symlinks resolved); earlier candidates
    win each field, later ones only fill what is still missing."""
    merged = []
    by_dir = {}
    for group in groups:
        for candidate in group:
            key = files.realpath(candidate["data_directory"])
            current = by_dir.get(key)
            if current is None:
                by_dir[key] = candidate
                merged.append(candidate)
                continue
            for field, value in candidate.items():
                if field == "errors":
                    current["errors"].extend(value)
                elif current.get(field) in (None, [], {}) and value not in (None, [], {}):
                    current[field] = value
    return merged


# ---------------------------------------------------------------------------
# Completing a cluster: version, owner, config, port, running state, settings
# ---------------------------------------------------------------------------

def _owner_of(files, path):
    st = files.stat(path)
    if st is None:
        return None
    passwd = files.read("/etc/passwd") if files.root not in ("/", "") else None
    if passwd is not None:
        # Files under another root belong to that root's accounts (the
        # integration test's FreeBSD tree), not to this machine's.
        for line in passwd.splitlines():
            fields = line.split(":")
            if len(fields) > 2 and not line.startswith("#") and fields[2] == str(st.st_uid):
                return fields[0]
        return str(st.st_uid)
    try:
        return pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        return str(st.st_uid)


def _int_or_none(value):
    try:
        return int(str(value).strip().strip("'"))
    except (TypeError, ValueError):
        return None


def complete_cluster(cluster, files, platform):
    """Fill version, config_file, owner, port, running and pid from the data
    directory; problems go to cluster["errors"]."""
    data = cluster["data_directory"]
    version = (files.read(data + "/PG_VERSION") or "").strip()
    cluster["_initialised"] = bool(version)
    if version:
        cluster["version"] = version
    else:
        cluster["version"] = cluster.get("_version_hint")
        if files.isdir(data) and not files.access(data, os.R_OK | os.X_OK):
            cluster["errors"].append("no permission to read data directory %s (use become); running state and "
                                     "settings unknown" % data)
        elif files.isdir(data):
            cluster["errors"].append("%s has no PG_VERSION (not initialised?)" % data)
        else:
            cluster["errors"].append("data directory %s does not exist" % data)

    # A unit given in pghost_clusters that systemd does not know would get
    # drop-ins nobody reads and restarts that fail.
    if platform == "linux" and cluster.get("unit") and files.isdir("/run/systemd/system") \
            and not unit_exists(files, cluster["unit"]):
        cluster["errors"].append("unit %s does not exist (no unit file in %s)" % (cluster["unit"], ", ".join(UNIT_DIRS)))

    config_dir = cluster.get("_config_dir")
    if cluster.get("_config_file"):
        cluster["config_file"] = cluster["_config_file"]
    elif config_dir and not cluster.get("config_file"):
        cluster["config_file"] = config_dir + "/postgresql.conf"
    elif not cluster.get("config_file"):
        cluster["config_file"] = data + "/postgresql.conf"

    if not cluster.get("owner"):
        cluster["owner"] = _owner_of(files, data) or _owner_of(files, cluster["config_file"]) or cluster.get("_user_hint")

    if not cluster.get("name"):
        cluster["name"] = (cluster["unit"][:-len(".service")] if (cluster.get("unit") or "").endswith(".service")
                           else cluster.get("unit") or data)

    pidinfo = read_pid_file(files, data)
    if pidinfo and postmaster_alive(files, platform, pidinfo.pid, data):
        cluster["running"] = True
        cluster["pid"] = pidinfo.pid
        cluster["_socket_dir"] = pidinfo.socket_dir
        cluster["_single_user"] = pidinfo.single_user

    # Port: the running server's own word, then what was declared, the
    # command line, postgresql.auto.conf (ALTER SYSTEM), the config files.
    port = None
    if cluster["running"] and pidinfo.port:
        port = pidinfo.port
    if port is None:
        port = cluster.get("_declared_port") or _int_or_none(cluster.get("_port_hint"))
    if port is None:
        auto, dummy = read_pg_conf(files, data + "/postgresql.auto.conf", required=False)
        port = _int_or_none(auto.get("port"))
    if port is None:
        conf = cluster.get("_conf")
        if conf is None:
            conf, dummy = read_pg_conf(files, cluster["config_file"], required=False)
        port = _int_or_none(conf.get("port"))
    cluster["port"] = port or DEFAULT_PORT
    return cluster


def public(cluster):
    """The cluster dict without the private hints."""
    return dict((key, cluster.get(key)) for key in CLUSTER_KEYS)


def discover(module, declared=None, files=None, platform=None, home_of=None):
    """discover_clusters with the file root and platform injectable (tests)."""
    files = files or HostFiles()
    platform = (platform or current_platform()).lower()
    warnings = []
    if platform == "freebsd":
        found = [freebsd_clusters(files, warnings, home_of)]
    else:
        found = [debian_clusters(files), systemd_clusters(files, warnings)]
    if declared:
        # Only the declared clusters are returned; what discovery knows about
        # the same data directories (unit, config dir, name) fills the gaps.
        wanted = declared_clusters(declared, warnings)
        warnings = [w for w in warnings if w.startswith("pghost_clusters")]
        keys = set(files.realpath(c["data_directory"]) for c in wanted)
        found = [[c for c in group if files.realpath(c["data_directory"]) in keys] for group in found]
        candidates = merge_candidates([wanted] + found, files)
    else:
        candidates = merge_candidates(found, files)
        if not candidates:
            warnings.append("no PostgreSQL cluster found; declare them in pghost_clusters if they live elsewhere")

    clusters = []
    for cluster in candidates:
        complete_cluster(cluster, files, platform)
        read_settings(module, cluster, files, platform)
        if cluster.get("_start") == "disabled":
            warnings.append("cluster %s is disabled in start.conf; counted anyway" % cluster["name"])
        for error in cluster["errors"]:
            warnings.append("cluster %s: %s" % (cluster["name"], error))
        clusters.append(public(cluster))
    if platform == "freebsd":
        read_servers(module, clusters, files)
    return clusters, warnings


def discover_clusters(module, declared=None):
    """(clusters, warnings) for the host the module runs on; read-only.

    declared: the pghost_clusters list; when given only those are returned.
    One cluster that cannot be read gets entries in its "errors" and a
    warning; nothing raises.
    """
    return discover(module, declared)
