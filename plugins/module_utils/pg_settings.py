# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The settings that size the kernel, read from a cluster: one pg_settings query
when it runs, `postgres -C NAME` when it is stopped (the server must be
stopped for the runtime-computed values, docs/postgres-kernel-facts.md §3, §9),
normalized to the cluster dict's keys and units. The same reads give the
server's release and data_sync_retry, which the fleet audit's fsync checks
judge (docs/postgres-kernel-facts.md §7, §7a).
"""

from __future__ import annotations

import os
import pwd
import re
import shlex

from ansible_collections.pghost.hardening.plugins.module_utils.units import (
    UNIT_BYTES,
    UnitError,
    base_unit_bytes,
    ceil_div,
    pg_size_bytes,
)
from ansible_collections.pghost.hardening.plugins.module_utils.versions import (
    SETTINGS_SINCE,
    VersionError,
    directory_major,
    has_data_sync_retry,
    has_setting,
    parse_server_version,
    version_tuple,
)

SETTING_NAMES = tuple(name for name, dummy in SETTINGS_SINCE)
INT_SETTINGS = ("max_connections", "autovacuum_max_workers", "max_worker_processes", "max_wal_senders",
                "shared_memory_size_in_huge_pages", "num_os_semaphores")
# Cluster dict keys holding settings (shared_memory_size is reported in MB).
SETTING_KEYS = ("max_connections", "autovacuum_max_workers", "max_worker_processes", "max_wal_senders",
                "shared_buffers", "shared_memory_type", "dynamic_shared_memory_type", "huge_pages",
                "huge_page_size", "shared_memory_size_mb", "shared_memory_size_in_huge_pages",
                "num_os_semaphores")
# The release with its minor (what `SHOW server_version` prints, distribution
# suffix included) and data_sync_retry, which only the fixed minors have
# (docs/postgres-kernel-facts.md §7, §7a); kept as the server prints them.
RELEASE_KEYS = ("server_version", "data_sync_retry")
# Computed at startup: `postgres -C` reports them only while the server is
# stopped (docs/postgres-kernel-facts.md §3), so they are not asked of a running one.
RUNTIME_COMPUTED = ("shared_memory_size", "shared_memory_size_in_huge_pages", "num_os_semaphores")
# Unit of a bare number printed by `postgres -C` (PostgreSQL 15-17 print the
# raw value in the setting's base unit: shared_buffers 16384 = 16384 * 8kB).
BARE_UNITS = {"shared_buffers": "8kB", "huge_page_size": "kB", "shared_memory_size": "MB"}
PSQL_ENV = {"LC_ALL": "C", "PGCONNECT_TIMEOUT": "5", "PGAPPNAME": "pghost.hardening"}
POSTGRES_ENV = {"LC_ALL": "C"}


def settings_for_version(version):
    """The setting names the version has; all of them when the version is unknown."""
    have = version_tuple(version)
    if have is None:
        return SETTING_NAMES
    return tuple(name for name in SETTING_NAMES if has_setting(have, name))


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
        if len(parts) < 2 or parts[0] not in SETTING_NAMES + RELEASE_KEYS:
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


def _bin_dir(files, cluster, name):
    major = directory_major(cluster.get("version"))
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
    # A release without data_sync_retry has no row for it: asking costs no error.
    argv = [psql, "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", cluster.get("_socket_dir") or "localhost",
            "-p", str(cluster["port"]), "-U", owner, "-d", "postgres", "-F", "|",
            "-c", settings_query(settings_for_version(cluster.get("version")) + RELEASE_KEYS)]
    rc, out, err = module.run_command(as_owner(module, owner, argv, platform), cwd="/", environ_update=PSQL_ENV)
    if rc != 0:
        raise CommandError(_error_text(out, err, rc))
    settings = parse_pg_settings(out)
    if "max_connections" not in settings:
        raise CommandError("pg_settings returned no max_connections: %r" % _first_line(out))
    return settings


def asks_data_sync_retry(server_version):
    """Whether `postgres -C data_sync_retry` may be asked of the release that
    printed `server_version`: only one that has the setting, since any other
    answers with an error (an unknown release is not asked either)."""
    try:
        info, minor = parse_server_version(server_version)
    except VersionError:
        return False
    return bool(has_data_sync_retry(info, minor))


def read_stopped_settings(module, cluster, files, platform, names=None):
    """`postgres -D CONFIGDIR -C NAME` per setting, as the owner; returns
    (settings, errors). Stops at the first failure of max_connections, which
    every version has: the rest would fail the same way. server_version is
    asked after the sizing settings, and data_sync_retry only of a release
    that has it (asks_data_sync_retry)."""
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

    def ask(name):
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
            return None
        return _first_line(out)

    for name in names:
        value = ask(name)
        if value is None:
            continue
        if name == "block_size":
            if value.isdigit():
                bare_units["shared_buffers"] = "%dB" % int(value)
            continue
        settings[name] = value
    # The release decides whether data_sync_retry exists, so it is asked first.
    settings["server_version"] = ask("server_version")
    if asks_data_sync_retry(settings["server_version"]):
        settings["data_sync_retry"] = ask("data_sync_retry")
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
        if key in SETTING_KEYS + RELEASE_KEYS:
            cluster[key] = value
