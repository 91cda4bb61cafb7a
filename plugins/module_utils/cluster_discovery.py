# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the PostgreSQL clusters of a host and read the settings that size the kernel.

Entry point: discover_clusters(module, declared=None) -> (clusters, warnings).

Sources, merged by data directory (first source wins a field):
  declared clusters (pghost_clusters) > Debian /etc/postgresql/<ver>/<name>
  > systemd unit files (PGDG postgresql-NN.service and user-written units)
  > FreeBSD rc.conf (postgresql_data, postgresql_profiles).
Everything is read from files; commands run only to read settings: one psql
query per running cluster, `postgres -C NAME` per setting for a stopped one
(the server must be stopped for runtime-computed values, docs/postgres-kernel-facts.md §3, §9).

Facts: docs/postgres-kernel-facts.md, cited by section number.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex

from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles, current_platform
from ansible_collections.pghost.hardening.plugins.module_utils.systemd_ini import parse_systemd_ini
from ansible_collections.pghost.hardening.plugins.module_utils.units import (
    UNIT_BYTES,
    UnitError,
    base_unit_bytes,
    ceil_div,
    pg_size_bytes,
)
from ansible_collections.pghost.hardening.plugins.module_utils.versions import SETTINGS_SINCE, has_setting

SETTING_NAMES = tuple(name for name, dummy in SETTINGS_SINCE)
INT_SETTINGS = ("max_connections", "autovacuum_max_workers", "max_worker_processes", "max_wal_senders",
                "shared_memory_size_in_huge_pages", "num_os_semaphores")
STR_SETTINGS = ("shared_memory_type", "dynamic_shared_memory_type", "huge_pages")
# Cluster dict keys holding settings (shared_memory_size is reported in MB).
SETTING_KEYS = ("max_connections", "autovacuum_max_workers", "max_worker_processes", "max_wal_senders",
                "shared_buffers", "shared_memory_type", "dynamic_shared_memory_type", "huge_pages",
                "huge_page_size", "shared_memory_size_mb", "shared_memory_size_in_huge_pages",
                "num_os_semaphores")
# Computed at startup: `postgres -C` reports them only while the server is
# stopped (docs/postgres-kernel-facts.md §3), so they are not asked of a running one.
RUNTIME_COMPUTED = ("shared_memory_size", "shared_memory_size_in_huge_pages", "num_os_semaphores")
# Unit of a bare number printed by `postgres -C` (PostgreSQL 15-17 print the
# raw value in the setting's base unit: shared_buffers 16384 = 16384 * 8kB).
BARE_UNITS = {"shared_buffers": "8kB", "huge_page_size": "kB", "shared_memory_size": "MB"}

CLUSTER_KEYS = ("name", "version", "data_directory", "config_file", "unit", "rc_name", "owner", "port",
                "running", "pid", "settings_source") + SETTING_KEYS + ("errors",)

DEBIAN_CONF_ROOT = "/etc/postgresql"
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
             "/lib/systemd/system", "/usr/lib/systemd/system")
FREEBSD_RC_CONFS = ("/etc/rc.conf", "/etc/rc.conf.local", "/etc/rc.conf.d/postgresql",
                    "/usr/local/etc/rc.conf.d/postgresql")
FREEBSD_RC_SCRIPT = "/usr/local/etc/rc.d/postgresql"
DEFAULT_PORT = 5432
MAX_INCLUDE_DEPTH = 10  # PostgreSQL's CONF_FILE_MAX_DEPTH
POSTMASTER_NAMES = ("postgres", "postmaster")
PSQL_ENV = {"LC_ALL": "C", "PGCONNECT_TIMEOUT": "5", "PGAPPNAME": "pghost.hardening"}
POSTGRES_ENV = {"LC_ALL": "C"}

_CONF_LINE = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?)\s*=?\s*"""
    r"""(?P<value>'(?:[^'\\\n]|\\.|'')*'|[^\s#']+)\s*(?:\#.*)?$"""
)
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


# ---------------------------------------------------------------------------
# Pure parsers (unit tested with recorded file contents and command output)
# ---------------------------------------------------------------------------

def version_tuple(version):
    """'15' -> (15,), '9.6' -> (9, 6), '16beta1' -> (16,); None when unparsable."""
    match = re.match(r"^\s*(\d+)(?:\.(\d+))?", version or "")
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def settings_for_version(version):
    """The setting names the version has; all of them when the version is unknown."""
    have = version_tuple(version)
    if have is None:
        return SETTING_NAMES
    return tuple(name for name in SETTING_NAMES if has_setting(have, name))


def _unquote_conf(value):
    if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
        body = value[1:-1].replace("''", "'")
        escapes = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
        return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body)
    return value


def parse_pg_conf(text):
    """postgresql.conf text -> [(lowercased name, value)] in file order, include directives included."""
    entries = []
    for line in (text or "").splitlines():
        match = _CONF_LINE.match(line)
        if match:
            entries.append((match.group("name").lower(), _unquote_conf(match.group("value"))))
    return entries


def read_pg_conf(files, path, settings=None, depth=0, required=True):
    """Settings of a postgresql.conf with its include, include_if_exists and
    include_dir directives followed (relative paths are relative to the file
    that names them); later entries win. Returns (settings, missing_files)."""
    settings = {} if settings is None else settings
    missing = []
    text = files.read(path)
    if text is None:
        if required:
            missing.append(path)
        return settings, missing
    if depth >= MAX_INCLUDE_DEPTH:
        return settings, missing
    base = os.path.dirname(path)
    for name, value in parse_pg_conf(text):
        if name in ("include", "include_if_exists", "include_dir"):
            target = value if value.startswith("/") else os.path.join(base, value)
            if name == "include_dir":
                for entry in files.listdir(target):
                    if entry.endswith(".conf") and not entry.startswith("."):
                        dummy, more = read_pg_conf(files, os.path.join(target, entry), settings, depth + 1)
                        missing.extend(more)
            else:
                dummy, more = read_pg_conf(files, target, settings, depth + 1, required=name == "include")
                missing.extend(more)
        else:
            settings[name] = value
    return settings, missing


def parse_postmaster_pid(text):
    """postmaster.pid -> {pid, data_directory, port, socket_dir}; None when empty.

    Lines (src/include/utils/pidfile.h): pid, data directory, start time, port,
    first socket directory, listen address, shared memory key, status.
    A negative pid marks a single-user backend.
    """
    lines = (text or "").splitlines()
    if not lines or not lines[0].strip().lstrip("-").isdigit():
        return None

    def line(index):
        return lines[index].strip() if len(lines) > index else ""

    port = line(3)
    return {
        "pid": abs(int(lines[0].strip())),
        "single_user": lines[0].strip().startswith("-"),
        "data_directory": line(1) or None,
        "port": int(port) if port.isdigit() else None,
        "socket_dir": line(4) or None,
    }


def parse_start_conf(text):
    """Debian start.conf -> auto | manual | disabled (auto when unset)."""
    for line in (text or "").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            return word
    return "auto"


def _assignments(text, comment_marks):
    """(name, raw value) of each shell-style NAME=VALUE word, skipping comment lines."""
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line[0] in comment_marks:
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        for token in tokens:
            match = _ASSIGNMENT.match(token)
            if match:
                yield match.group(1), match.group(2)


def parse_env_file(text):
    """KEY=VALUE lines (systemd EnvironmentFile, shell-like quoting) -> dict."""
    return dict(_assignments(text, "#;"))


def parse_rc_conf(text, env=None):
    """FreeBSD rc.conf style shell assignments -> dict, ${var} expanded from earlier ones."""
    env = {} if env is None else env
    for name, value in _assignments(text, "#"):
        env[name] = expand_vars(value, env)
    return env


def expand_vars(text, env):
    return _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)


def merge_unit_texts(texts):
    """Unit file text followed by its drop-ins -> the [Service] values that matter:
    {"environment": {}, "environment_files": [], "exec_start": str|None, "user": str|None}.
    An empty ExecStart= resets the list, as systemd does."""
    result = {"environment": {}, "environment_files": [], "exec_start": None, "user": None}
    for text in texts:
        for section, key, value in parse_systemd_ini(text):
            if section != "Service":
                continue
            if key == "Environment":
                if not value:
                    result["environment"] = {}
                    continue
                try:
                    tokens = shlex.split(value)
                except ValueError:
                    continue
                for token in tokens:
                    name, sep, val = token.partition("=")
                    if sep:
                        result["environment"][name] = val
            elif key == "EnvironmentFile":
                if value:
                    result["environment_files"].append(value)
                else:
                    result["environment_files"] = []
            elif key == "ExecStart":
                result["exec_start"] = value or None
            elif key == "User":
                result["user"] = value or None
    return result


def split_exec(command, env):
    """systemd ExecStart -> argv: prefixes (-@:+!) dropped, ${VAR} replaced in
    place, a word that is exactly $VAR split on whitespace (systemd.service(5))."""
    command = (command or "").lstrip("-@:+!")
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    argv = []
    for word in words:
        bare = re.match(r"^\$([A-Za-z_][A-Za-z0-9_]*)$", word)
        if bare:
            argv.extend(env.get(bare.group(1), "").split())
        else:
            argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word))
    return argv


def _postgres_options(args, found):
    """postgres(1) options: -D dir, -p port, -c name=value, --name=value."""
    index = 0
    while index < len(args):
        arg = args[index]
        nxt = args[index + 1] if index + 1 < len(args) else None
        if arg in ("-D", "-p", "-c") and nxt is not None:
            value = nxt
            index += 2
        elif len(arg) > 2 and arg[:2] in ("-D", "-p", "-c"):
            value = arg[2:]
            arg = arg[:2]
            index += 1
        elif arg.startswith("--") and "=" in arg:
            value = arg[2:]
            arg = "-c"
            index += 1
        else:
            index += 1
            continue
        if arg == "-D":
            found["data"] = value
        elif arg == "-p":
            found["port"] = value
        else:
            name, sep, setting = value.partition("=")
            name = name.replace("-", "_").lower()
            if sep and name == "port":
                found["port"] = setting
            elif sep and name == "data_directory":
                found["data"] = setting
            elif sep and name == "config_file":
                found["config_file"] = setting
    return found


def parse_server_command(argv):
    """What a postgres/postmaster/pg_ctl command line says about its cluster:
    {"exe", "data", "port", "config_file"} (missing ones absent); None when the
    command starts neither."""
    if not argv:
        return None
    exe = os.path.basename(argv[0])
    found = {"exe": argv[0]}
    if exe in POSTMASTER_NAMES:
        return _postgres_options(argv[1:], found)
    if exe != "pg_ctl":
        return None
    args = argv[1:]
    index = 0
    while index < len(args):
        arg = args[index]
        nxt = args[index + 1] if index + 1 < len(args) else None
        if arg in ("-D", "--pgdata") and nxt is not None:
            found["data"] = nxt
            index += 2
            continue
        if arg.startswith("--pgdata="):
            found["data"] = arg[len("--pgdata="):]
        elif arg.startswith("-D") and len(arg) > 2:
            found["data"] = arg[2:]
        elif arg in ("-o", "--options") and nxt is not None:
            _postgres_options(_shell_words(nxt), found)
            index += 2
            continue
        elif arg.startswith("--options="):
            _postgres_options(_shell_words(arg[len("--options="):]), found)
        elif arg.startswith("-o") and len(arg) > 2:
            _postgres_options(_shell_words(arg[2:]), found)
        index += 1
    return found


def _shell_words(text):
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def render_memory(value, unit):
    """A memory setting as PostgreSQL's SHOW prints it: 16384 in 8kB -> '128MB', 0 -> '0'."""
    number = int(value)
    factor = unit_bytes(unit)
    if factor is None:
        return "%d%s" % (number, unit or "")
    total = number * factor
    if total == 0:
        return "0"
    for name in ("TB", "GB", "MB", "kB"):
        size = UNIT_BYTES[name]
        if total % size == 0:
            return "%d%s" % (total // size, name)
    return "%dB" % total


def unit_bytes(unit):
    """'8kB' -> 8192, 'MB' -> 1048576, '' -> 1; None when not a memory unit."""
    try:
        return base_unit_bytes((unit or "B").strip())
    except UnitError:
        return None


def memory_to_mb(text, bare_unit="MB"):
    """'143' (bare, in bare_unit) / '143MB' / '1GB' -> int MB (rounded up); None when unparsable."""
    try:
        return ceil_div(pg_size_bytes((text or "").strip(), bare_unit), UNIT_BYTES["MB"])
    except UnitError:
        return None


def normalize_setting(name, value, unit=None):
    """One raw setting -> the cluster dict key and value.

    From pg_settings the unit column is given; from `postgres -C` unit is None
    and a bare number is in the setting's base unit (BARE_UNITS).
    """
    value = (value or "").strip()
    if name == "shared_memory_size":
        return "shared_memory_size_mb", memory_to_mb(value, unit or BARE_UNITS[name])
    if name in INT_SETTINGS:
        return name, int(value) if re.match(r"^-?\d+$", value) else None
    if name in BARE_UNITS:
        if re.match(r"^-?\d+$", value):
            return name, render_memory(value, unit or BARE_UNITS[name])
        return name, value or None
    return name, value or None


def parse_pg_settings(text):
    """psql -XAt -F '|' rows of `SELECT name, setting, unit FROM pg_settings` -> cluster dict settings."""
    settings = {}
    for line in (text or "").splitlines():
        parts = line.split("|")
        if len(parts) < 2 or parts[0] not in SETTING_NAMES:
            continue
        unit = parts[2] if len(parts) > 2 else ""
        key, value = normalize_setting(parts[0], parts[1], unit or "")
        settings[key] = value
    return settings


def settings_query(names):
    # The names are this module's constants, never user input.
    return "SELECT name, setting, unit FROM pg_settings WHERE name IN (%s) ORDER BY name" % ", ".join(
        "'%s'" % name for name in names
    )


def _first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _error_text(out, err, rc):
    lines = [line.strip() for line in ((err or "") + "\n" + (out or "")).splitlines() if line.strip()]
    return "; ".join(lines[-3:]) if lines else "exit code %s" % rc


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
        command = parse_server_command(["pg_ctl"] + _shell_words(flags_value)) or {}
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


def _process_is_postmaster(files, platform, pid):
    if platform == "linux":
        comm = files.read("/proc/%d/comm" % pid)
        return comm is not None and comm.strip() in POSTMASTER_NAMES
    # FreeBSD: kill(pid, 0) as PostgreSQL itself does (docs/postgres-kernel-facts.md §1: that cannot
    # see into other jails, which is fine for our own data directory).
    return files.pid_alive(pid)


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

    pidinfo = parse_postmaster_pid(files.read(data + "/postmaster.pid"))
    if pidinfo and _process_is_postmaster(files, platform, pidinfo["pid"]):
        cluster["running"] = True
        cluster["pid"] = pidinfo["pid"]
        cluster["_socket_dir"] = pidinfo["socket_dir"]
        cluster["_single_user"] = pidinfo["single_user"]

    # Port: the running server's own word, then what was declared, the
    # command line, postgresql.auto.conf (ALTER SYSTEM), the config files.
    port = None
    if cluster["running"] and pidinfo.get("port"):
        port = pidinfo["port"]
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


def _bin_dir(files, cluster, name):
    version = cluster.get("version") or ""
    major = version if version_tuple(version) and version_tuple(version) < (10,) else version.split(".")[0]
    candidates = list(cluster.get("_bindirs") or [])
    candidates += ["/usr/lib/postgresql/%s/bin" % major, "/usr/pgsql-%s/bin" % major, "/usr/local/bin",
                   "/usr/local/pgsql/bin", "/usr/bin"]
    for directory in candidates:
        path = directory + "/" + name
        if files.isfile(path) and files.access(path, os.X_OK):
            return path
    return None


class CommandError(Exception):
    pass


def as_owner(module, owner, argv, platform):
    """argv run as the cluster owner: directly when we are the owner, else via
    runuser (Linux) or su -m OWNER -c (FreeBSD; after the login name su passes
    -c to the shell). No shell sees anything unquoted."""
    try:
        owner_uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        owner_uid = None
    euid = os.geteuid()
    if owner_uid is not None and euid == owner_uid:
        return argv
    if euid != 0:
        raise CommandError("running as uid %d, neither root nor %s (use become)" % (euid, owner))
    if platform == "linux":
        runuser = module.get_bin_path("runuser")
        if runuser:
            return [runuser, "-u", owner, "--"] + argv
    su = module.get_bin_path("su")
    if not su:
        raise CommandError("neither runuser nor su found")
    return [su, "-m", owner, "-c", " ".join(shlex.quote(arg) for arg in argv)]


def read_running_settings(module, cluster, files, platform):
    """One psql round trip through the cluster's local socket, as its owner."""
    psql = _bin_dir(files, cluster, "psql") or module.get_bin_path("psql")
    if not psql:
        raise CommandError("psql not found")
    owner = cluster["owner"]
    argv = [psql, "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", cluster.get("_socket_dir") or "localhost",
            "-p", str(cluster["port"]), "-U", owner, "-d", "postgres", "-F", "|",
            "-c", settings_query(settings_for_version(cluster.get("version")))]
    rc, out, err = module.run_command(as_owner(module, owner, argv, platform), cwd="/", environ_update=PSQL_ENV)
    if rc != 0:
        raise CommandError(_error_text(out, err, rc))
    settings = parse_pg_settings(out)
    if "max_connections" not in settings:
        raise CommandError("pg_settings returned no max_connections: %r" % _first_line(out))
    return settings


def read_stopped_settings(module, cluster, files, platform, names=None):
    """`postgres -D CONFIGDIR -C NAME` per setting, as the owner; returns
    (settings, errors). Stops at the first failure of max_connections, which
    every version has: the rest would fail the same way."""
    postgres = _bin_dir(files, cluster, "postgres")
    if not postgres:
        raise CommandError("no postgres binary found for version %s" % cluster.get("version"))
    target = cluster.get("_config_dir") or cluster["data_directory"]
    names = list(names or settings_for_version(cluster.get("version")))
    settings = {}
    errors = []
    bare_units = dict(BARE_UNITS)
    if "shared_buffers" in names:
        names.append("block_size")
    for name in names:
        argv = [postgres, "-D", target, "-C", name]
        if cluster.get("_config_file"):
            argv[1:1] = ["-c", "config_file=%s" % cluster["_config_file"]]
        rc, out, err = module.run_command(as_owner(module, cluster["owner"], argv, platform), cwd="/",
                                          environ_update=POSTGRES_ENV)
        if rc != 0:
            message = "postgres -C %s as %s failed: %s" % (name, cluster["owner"], _error_text(out, err, rc))
            if name == "max_connections":
                raise CommandError(message)
            errors.append(message)
            continue
        value = _first_line(out)
        if name == "block_size":
            if value.isdigit():
                bare_units["shared_buffers"] = "%dB" % int(value)
            continue
        settings[name] = value
    result = {}
    for name, value in settings.items():
        if name in BARE_UNITS and re.match(r"^-?\d+$", value):
            key, normalized = normalize_setting(name, value, bare_units[name])
        else:
            key, normalized = normalize_setting(name, value)
        result[key] = normalized
    return result, errors


def read_settings(module, cluster, files, platform):
    """pg_settings for a running cluster; postgres -C when it is stopped (or
    psql failed: config-file values, without the runtime-computed sizes, which
    need a stopped server); declared values when neither works."""
    settings = None
    if cluster["running"] and not cluster.get("_single_user"):
        try:
            settings = read_running_settings(module, cluster, files, platform)
            cluster["settings_source"] = "pg_settings"
        except CommandError as exc:
            cluster["errors"].append("psql as %s failed: %s" % (cluster["owner"], exc))
    if settings is None and cluster.get("_initialised") and cluster.get("owner"):
        names = settings_for_version(cluster["version"])
        if cluster["running"]:
            names = [n for n in names if n not in RUNTIME_COMPUTED]
        try:
            settings, errors = read_stopped_settings(module, cluster, files, platform, names)
            cluster["errors"].extend(errors)
            cluster["settings_source"] = "postgres -C"
        except CommandError as exc:
            cluster["errors"].append(str(exc) if str(exc).startswith("postgres -C") else "postgres -C: %s" % exc)
    if settings is None and cluster.get("_declared_settings"):
        settings = cluster["_declared_settings"]
        cluster["settings_source"] = "declared"
    for key, value in (settings or {}).items():
        if key in SETTING_KEYS:
            cluster[key] = value


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
    return clusters, warnings


def discover_clusters(module, declared=None):
    """(clusters, warnings) for the host the module runs on; read-only.

    declared: the pghost_clusters list; when given only those are returned.
    One cluster that cannot be read gets entries in its "errors" and a
    warning; nothing raises.
    """
    return discover(module, declared)
