# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_discovery and the parsers it uses (pg_conf, shell_assign, server_command,
pg_settings, postmaster.pid): parsers fed recorded files and command output, and
discovery over fake file trees (Debian bookworm recorded from the test image,
PGDG units and FreeBSD rc files written in their packaged formats)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections import namedtuple

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils import cluster_discovery as cd
from ansible_collections.pghost.hardening.plugins.module_utils import pg_conf, pg_settings, server_command, shell_assign, versions
from ansible_collections.pghost.hardening.plugins.module_utils import postmaster as pm
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
CLUSTER_KEYS = {
    "name", "version", "data_directory", "config_file", "unit", "rc_name", "owner", "port", "running", "pid",
    "settings_source", "max_connections", "autovacuum_max_workers", "max_worker_processes", "max_wal_senders",
    "shared_buffers", "shared_memory_type", "dynamic_shared_memory_type", "huge_pages", "huge_page_size",
    "shared_memory_size_mb", "shared_memory_size_in_huge_pages", "num_os_semaphores", "server_version",
    "data_sync_retry", "oom_protection", "login_class", "errors",
}
PwEntry = namedtuple("PwEntry", "pw_name pw_uid pw_dir")
USERS = {"postgres": 105, "analytics": 990}


def fixture_text(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def fixture_json(*parts):
    return json.loads(fixture_text(*parts))


class FakePwd:
    """Every file belongs to `owner`; names in USERS exist."""

    def __init__(self, owner="postgres"):
        self.owner = owner

    def getpwuid(self, uid):
        return PwEntry(self.owner, USERS.get(self.owner, uid), "/home/" + self.owner)

    def getpwnam(self, name):
        if name not in USERS:
            raise KeyError(name)
        return PwEntry(name, USERS[name], "/var/db/postgres")


class FakeModule:
    """run_command answered by a function of argv; every call recorded."""

    def __init__(self, answer=None, bins=None):
        self.answer = answer or (lambda argv: (1, "", "unexpected command"))
        self.bins = {"runuser": "/usr/sbin/runuser", "su": "/usr/bin/su"}
        self.bins.update(bins or {})
        self.calls = []

    def run_command(self, argv, **kwargs):
        self.calls.append((list(argv), kwargs))
        return self.answer(list(argv))

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return self.bins.get(name)


def inner_argv(argv):
    """The command inside runuser -u X -- ... or su -m X -c '...'."""
    if argv[0].endswith("runuser"):
        return argv[argv.index("--") + 1:]
    if argv[0].endswith("/su"):
        return shlex.split(argv[4])
    return argv


def postgres_c_answer(recorded):
    """Answer `postgres -C NAME` from a recorded {name: {rc, stdout, stderr}}."""

    def answer(argv):
        inner = inner_argv(argv)
        if os.path.basename(inner[0]) == "postgres":
            entry = recorded.get(inner[inner.index("-C") + 1], {"rc": 1, "stdout": "", "stderr": "FATAL: unknown"})
            return entry["rc"], entry["stdout"], entry["stderr"]
        return 1, "", "unexpected command %r" % inner

    return answer


def make_tree(tmp_path, name, bins=()):
    root = tmp_path / name
    shutil.copytree(os.path.join(FIXTURES, "trees", name), str(root))
    for path in bins:
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("#!/bin/sh\n")
        target.chmod(0o755)
    return root


@pytest.fixture
def as_root(monkeypatch):
    monkeypatch.setattr(cd, "pwd", FakePwd())
    monkeypatch.setattr(pg_settings, "pwd", FakePwd())
    monkeypatch.setattr(os, "geteuid", lambda: 0)


DEBIAN_BINS = ("/usr/lib/postgresql/15/bin/postgres", "/usr/lib/postgresql/15/bin/psql")
PGDG_BINS = ("/usr/pgsql-15/bin/postmaster", "/usr/pgsql-15/bin/postgres", "/usr/pgsql-15/bin/psql",
             "/usr/pgsql-16/bin/postgres", "/usr/pgsql-16/bin/pg_ctl")


# -- parsers ------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("15", (15,)), ("9.6", (9, 6)), ("9.6\n", (9, 6)), ("16beta1", (16,)), ("", None), ("main", None),
])
def test_version_tuple(text, expected):
    assert versions.version_tuple(text) == expected


@pytest.mark.parametrize("version, present, absent", [
    ("9.2", ["max_connections", "max_wal_senders"], ["max_worker_processes", "huge_pages"]),
    ("9.6", ["max_worker_processes", "huge_pages", "dynamic_shared_memory_type"], ["shared_memory_type"]),
    ("12", ["shared_memory_type"], ["huge_page_size"]),
    ("14", ["huge_page_size"], ["shared_memory_size"]),
    ("15", ["shared_memory_size", "shared_memory_size_in_huge_pages"], ["num_os_semaphores"]),
    ("17", ["shared_memory_size"], ["num_os_semaphores"]),
    ("18", ["num_os_semaphores"], []),
    (None, list(pg_settings.SETTING_NAMES), []),
])
def test_settings_for_version(version, present, absent):
    names = pg_settings.settings_for_version(version)
    assert all(name in names for name in present)
    assert not any(name in names for name in absent)


@pytest.mark.parametrize("line, expected", [
    ("data_directory = '/var/lib/postgresql/15/main'\t\t# use data in another directory",
     [("data_directory", "/var/lib/postgresql/15/main")]),
    ("port = 5432\t\t\t\t# (change requires restart)", [("port", "5432")]),
    ("Port 5433", [("port", "5433")]),
    ("shared_buffers=4GB", [("shared_buffers", "4GB")]),
    ("#port = 5432", []),
    ("log_line_prefix = '%m [%p] %q%u@%d '\t\t# special values:", [("log_line_prefix", "%m [%p] %q%u@%d ")]),
    ("search_path = '\"$user\", public'", [("search_path", '"$user", public')]),
    ("x.y = 'it''s'", [("x.y", "it's")]),
    ("a = 'back\\'slash'", [("a", "back'slash")]),
    ("include_dir = 'conf.d'\t\t\t# include files ending in '.conf' from", [("include_dir", "conf.d")]),
    ("   ", []),
])
def test_parse_pg_conf_lines(line, expected):
    assert pg_conf.parse_pg_conf(line) == expected


def test_read_pg_conf_recorded_debian_with_includes(tmp_path):
    root = make_tree(tmp_path, "debian-bookworm")
    conf_d = root / "etc" / "postgresql" / "15" / "main" / "conf.d"
    conf_d.mkdir()
    (conf_d / "50-port.conf").write_text("port = 5440\ninclude_if_exists = 'missing.conf'\ninclude 'more.conf'\n")
    (conf_d / "more.conf").write_text("max_connections = 250\n")  # not *.conf-listed twice: read via include
    (conf_d / ".hidden.conf").write_text("port = 1\n")
    (conf_d / "README").write_text("port = 2\n")
    settings, missing = pg_conf.read_pg_conf(HostFiles(str(root)), "/etc/postgresql/15/main/postgresql.conf")
    assert settings["data_directory"] == "/var/lib/postgresql/15/main"
    assert settings["port"] == "5440"
    assert settings["max_connections"] == "250"
    assert settings["shared_buffers"] == "128MB"
    assert missing == []


def test_read_pg_conf_missing_include_and_loop(tmp_path):
    (tmp_path / "a.conf").write_text("include 'b.conf'\ninclude 'a.conf'\nport = 1\n")
    settings, missing = pg_conf.read_pg_conf(HostFiles(str(tmp_path)), "/a.conf")
    assert settings == {"port": "1"}
    assert missing == ["/b.conf"] * pg_conf.MAX_INCLUDE_DEPTH


def discovery_fields(text):
    """What discovery takes from postmaster.pid (postmaster.read_pid_file: None when unparsable)."""
    try:
        parsed = pm.parse_pid_file(text)
    except pm.PidFileError:
        return None
    return dict((key, getattr(parsed, key)) for key in ("pid", "single_user", "data_directory", "port", "socket_dir"))


def test_parse_postmaster_pid_recorded():
    info = discovery_fields(fixture_text("trees", "debian-bookworm", "var", "lib", "postgresql", "15", "main",
                            "postmaster.pid"))
    assert info == {"pid": 184, "single_user": False, "data_directory": "/var/lib/postgresql/15/main",
                    "port": 5432, "socket_dir": "/var/run/postgresql"}


@pytest.mark.parametrize("text, expected", [
    ("", None),
    ("-4242\n/srv/data\n", {"pid": 4242, "single_user": True, "data_directory": "/srv/data", "port": None,
                            "socket_dir": None}),
    ("77\n/srv/data\n1700000000\n5433\n\n*\n", {"pid": 77, "single_user": False, "data_directory": "/srv/data",
                                                "port": 5433, "socket_dir": None}),
])
def test_parse_postmaster_pid_shapes(text, expected):
    assert discovery_fields(text) == expected


@pytest.mark.parametrize("text, expected", [
    (fixture_text("trees", "debian-bookworm", "etc", "postgresql", "15", "main", "start.conf"), "auto"),
    ("# comment\nmanual\n", "manual"),
    ("disabled # no\n", "disabled"),
    ("", "auto"),
])
def test_parse_start_conf(text, expected):
    assert cd.parse_start_conf(text) == expected


@pytest.mark.parametrize("argv, expected", [
    (["/usr/pgsql-15/bin/postmaster", "-D", "/var/lib/pgsql/15/data/"],
     {"exe": "/usr/pgsql-15/bin/postmaster", "data": "/var/lib/pgsql/15/data/"}),
    (["/usr/bin/postgres", "-D/srv/db", "-p", "5433", "-c", "config_file=/etc/db/postgresql.conf"],
     {"exe": "/usr/bin/postgres", "data": "/srv/db", "port": "5433", "config_file": "/etc/db/postgresql.conf"}),
    (["postgres", "--data-directory=/srv/db", "--port=6000"],
     {"exe": "postgres", "data": "/srv/db", "port": "6000"}),
    (["/usr/bin/pg_ctl", "start", "-D", "/srv/x", "-s", "-w", "-o", "-p 5434 -c shared_buffers=1GB"],
     {"exe": "/usr/bin/pg_ctl", "data": "/srv/x", "port": "5434"}),
    (["/usr/bin/pg_ctl", "start", "--pgdata=/srv/y", "--options=-c port=7000"],
     {"exe": "/usr/bin/pg_ctl", "data": "/srv/y", "port": "7000"}),
    (["/usr/bin/pg_ctlcluster", "--skip-systemctl-redirect", "15-main", "start"], None),
    (["/bin/true"], None),
    ([], None),
])
def test_parse_server_command(argv, expected):
    assert server_command.parse_server_command(argv) == expected


@pytest.mark.parametrize("command, env, expected", [
    ("/usr/pgsql-15/bin/postmaster -D ${PGDATA}", {"PGDATA": "/var/lib/pgsql/15/data/"},
     ["/usr/pgsql-15/bin/postmaster", "-D", "/var/lib/pgsql/15/data/"]),
    ("-/usr/bin/pg_ctl start -D \"${D}\" $OPTS", {"D": "/srv/my data", "OPTS": "-s -w"},
     ["/usr/bin/pg_ctl", "start", "-D", "/srv/my data", "-s", "-w"]),
    ("@/usr/bin/postgres postgres -D /x", {}, ["/usr/bin/postgres", "postgres", "-D", "/x"]),
    ("/bin/sh -c 'unterminated", {}, []),
])
def test_split_exec(command, env, expected):
    assert server_command.split_exec(command, env) == expected


def test_merge_unit_texts_pgdg_with_override():
    texts = [fixture_text("trees", "pgdg-el9", "usr", "lib", "systemd", "system", "postgresql-15.service"),
             fixture_text("trees", "pgdg-el9", "etc", "systemd", "system", "postgresql-15.service.d", "override.conf"),
             "[Service]\nExecStart=\nExecStart=/usr/pgsql-15/bin/postgres -D ${PGDATA} -p 5499\n"]
    service = server_command.merge_unit_texts(texts)
    assert service["environment"]["PGDATA"] == "/srv/pg15/data"
    assert service["environment"]["PG_OOM_ADJUST_FILE"] == "/proc/self/oom_score_adj"
    assert service["exec_start"] == "/usr/pgsql-15/bin/postgres -D ${PGDATA} -p 5499"
    assert service["user"] == "postgres"


@pytest.mark.parametrize("value, unit, expected", [
    ("16384", "8kB", "128MB"),
    ("524288", "8kB", "4GB"),
    ("1048576", "8kB", "8GB"),
    ("16", "8kB", "128kB"),
    ("0", "kB", "0"),
    ("2048", "kB", "2MB"),
    ("1048576", "kB", "1GB"),
    ("143", "MB", "143MB"),
    ("1536", "kB", "1536kB"),
    ("100", "", "100B"),
    ("3", "ms", "3ms"),
])
def test_render_memory(value, unit, expected):
    assert pg_settings.render_memory(value, unit) == expected


@pytest.mark.parametrize("text, bare, expected", [
    # shared_memory_size is a size: a negative one is not a value PostgreSQL reports.
    ("143", "MB", 143), ("143MB", "MB", 143), ("1GB", "MB", 1024), ("1536kB", "MB", 2), ("-1", "MB", None),
    ("lots", "MB", None), ("", "MB", None),
])
def test_memory_to_mb(text, bare, expected):
    assert pg_settings.memory_to_mb(text, bare) == expected


@pytest.mark.parametrize("name, value, unit, expected", [
    ("max_connections", "100", "", ("max_connections", 100)),
    ("shared_memory_size_in_huge_pages", "-1", "", ("shared_memory_size_in_huge_pages", -1)),
    ("shared_buffers", "16384", "8kB", ("shared_buffers", "128MB")),
    ("shared_buffers", "128MB", None, ("shared_buffers", "128MB")),
    ("shared_buffers", "16384", None, ("shared_buffers", "128MB")),  # postgres -C 15-17: bare 8kB blocks
    ("huge_page_size", "0", None, ("huge_page_size", "0")),
    ("huge_page_size", "2048", "kB", ("huge_page_size", "2MB")),
    ("shared_memory_size", "143", "MB", ("shared_memory_size_mb", 143)),
    ("shared_memory_size", "143", None, ("shared_memory_size_mb", 143)),
    ("huge_pages", "try", None, ("huge_pages", "try")),
    ("max_connections", "", None, ("max_connections", None)),
])
def test_normalize_setting(name, value, unit, expected):
    assert pg_settings.normalize_setting(name, value, unit) == expected


@pytest.mark.parametrize("fixture, expected", [
    ("pg_settings-15.txt", {
        "max_connections": 100, "autovacuum_max_workers": 3, "max_worker_processes": 8, "max_wal_senders": 10,
        "shared_buffers": "128MB", "shared_memory_type": "mmap", "dynamic_shared_memory_type": "posix",
        "huge_pages": "try", "huge_page_size": "0", "shared_memory_size_mb": 143,
        "shared_memory_size_in_huge_pages": 72, "server_version": "15.18 (Debian 15.18-0+deb12u1)",
        "data_sync_retry": "off"}),
    # 9.6.11 predates the fsync fix: pg_settings has no data_sync_retry row
    ("pg_settings-96.txt", {
        "max_connections": 200, "autovacuum_max_workers": 3, "max_worker_processes": 8, "max_wal_senders": 0,
        "shared_buffers": "4GB", "dynamic_shared_memory_type": "posix", "huge_pages": "try",
        "server_version": "9.6.11"}),
    ("pg_settings-18.txt", {
        "max_connections": 500, "autovacuum_max_workers": 3, "max_worker_processes": 16, "max_wal_senders": 10,
        "shared_buffers": "8GB", "shared_memory_type": "mmap", "dynamic_shared_memory_type": "posix",
        "huge_pages": "on", "huge_page_size": "2MB", "shared_memory_size_mb": 8598,
        "shared_memory_size_in_huge_pages": 4299, "num_os_semaphores": 554, "server_version": "18.1",
        "data_sync_retry": "on"}),
])
def test_parse_pg_settings(fixture, expected):
    assert pg_settings.parse_pg_settings(fixture_text("commands", fixture)) == expected


def test_settings_query_names_every_setting():
    query = pg_settings.settings_query(pg_settings.SETTING_NAMES)
    assert query.startswith("SELECT name, setting, unit FROM pg_settings WHERE name IN ('max_connections', ")
    assert all("'%s'" % name in query for name in pg_settings.SETTING_NAMES)


@pytest.mark.parametrize("server_version, asked", [
    ("15.18 (Debian 15.18-0+deb12u1)", True),
    ("11.2", True), ("11.1", False),
    ("9.4.21", True), ("9.4.20", False),
    ("9.3.25", False),
    ("16beta1", True),       # no minor, but every release from 12 has it
    ("11beta1", False),      # no minor in a patched branch: unknown, so not asked
    (None, False), ("", False), ("8.4.22", False),
])
def test_asks_data_sync_retry_only_of_a_release_that_has_it(server_version, asked):
    assert pg_settings.asks_data_sync_retry(server_version) is asked


def test_parse_rc_conf():
    env = shell_assign.parse_rc_conf(fixture_text("trees", "freebsd14", "etc", "rc.conf"))
    env = shell_assign.parse_rc_conf(fixture_text("freebsd", "rc.conf.d-postgresql-profiles") + 'x="${postgresql_main_data}/x"\n',
                                     env)
    assert env["postgresql_enable"] == "YES"
    assert env["postgresql_profiles"] == "main reporting"
    assert env["postgresql_reporting_flags"] == "-w -s -m fast -o '-p 5433'"
    assert env["x"] == "/var/db/postgres/data16/x"


# -- discovery: Debian --------------------------------------------------------

def test_discover_debian_running(tmp_path, as_root):
    root = make_tree(tmp_path, "debian-bookworm", DEBIAN_BINS)
    module = FakeModule(lambda argv: (0, fixture_text("commands", "pg_settings-15.txt"), ""))
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    assert warnings == []
    assert len(clusters) == 1
    cluster = clusters[0]
    assert set(cluster) == CLUSTER_KEYS
    assert cluster == {
        "name": "15/main", "version": "15", "data_directory": "/var/lib/postgresql/15/main",
        "config_file": "/etc/postgresql/15/main/postgresql.conf", "unit": "postgresql@15-main.service",
        "rc_name": None, "owner": "postgres", "port": 5432, "running": True, "pid": 184,
        "settings_source": "pg_settings", "max_connections": 100, "autovacuum_max_workers": 3,
        "max_worker_processes": 8, "max_wal_senders": 10, "shared_buffers": "128MB", "shared_memory_type": "mmap",
        "dynamic_shared_memory_type": "posix", "huge_pages": "try", "huge_page_size": "0",
        "shared_memory_size_mb": 143, "shared_memory_size_in_huge_pages": 72, "num_os_semaphores": None,
        "server_version": "15.18 (Debian 15.18-0+deb12u1)", "data_sync_retry": "off",
        # FreeBSD's protect(1) flag and login class: nothing to read on Linux
        "oom_protection": None, "login_class": None, "errors": [],
    }
    # one psql round trip, as the owner, through the socket named in postmaster.pid
    assert len(module.calls) == 1
    argv, kwargs = module.calls[0]
    assert argv[:4] == ["/usr/sbin/runuser", "-u", "postgres", "--"]
    assert argv[4:-1] == ["/usr/lib/postgresql/15/bin/psql", "-XAtq", "-v", "ON_ERROR_STOP=1",
                          "-h", "/var/run/postgresql", "-p", "5432", "-U", "postgres", "-d", "postgres",
                          "-F", "|", "-c"]
    assert "'num_os_semaphores'" not in argv[-1]  # version 15 lacks it
    # the release and data_sync_retry come in the same query (a release without the setting has no row)
    assert "'server_version'" in argv[-1] and "'data_sync_retry'" in argv[-1]
    assert kwargs["cwd"] == "/"


def stopped_debian_tree(tmp_path, version):
    """The recorded bookworm tree with its cluster stopped and moved to `version`."""
    root = make_tree(tmp_path, "debian-bookworm")
    if version != "15":
        os.rename(str(root / "etc/postgresql/15"), str(root / "etc/postgresql" / version))
        conf = root / "etc/postgresql" / version / "main" / "postgresql.conf"
        conf.write_text(conf.read_text().replace("/15/main", "/%s/main" % version))
        os.rename(str(root / "var/lib/postgresql/15"), str(root / "var/lib/postgresql" / version))
        (root / "var/lib/postgresql" / version / "main" / "PG_VERSION").write_text(version + "\n")
    os.remove(str(root / "var/lib/postgresql" / version / "main" / "postmaster.pid"))
    bindir = "/usr/lib/postgresql/%s/bin" % version
    for name in ("postgres", "psql"):
        path = root / bindir.lstrip("/") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return root, bindir


@pytest.mark.parametrize("version, fixture", [("15", "postgres-C-15.json"), ("17", "postgres-C-17.json")])
def test_discover_debian_stopped_uses_postgres_c(tmp_path, as_root, version, fixture):
    root, bindir = stopped_debian_tree(tmp_path, version)
    recorded = fixture_json("commands", fixture)
    module = FakeModule(postgres_c_answer(recorded))
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    assert warnings == []
    cluster = clusters[0]
    assert (cluster["name"], cluster["running"], cluster["pid"]) == ("%s/main" % version, False, None)
    assert cluster["settings_source"] == "postgres -C"
    assert (cluster["shared_buffers"], cluster["max_connections"], cluster["huge_page_size"]) == ("128MB", 100, "0")
    assert (cluster["shared_memory_size_mb"], cluster["shared_memory_size_in_huge_pages"]) == (143, 72)
    assert cluster["num_os_semaphores"] is None
    assert cluster["errors"] == []
    inner = [inner_argv(argv) for argv, dummy in module.calls]
    # Debian: -D is the configuration directory; one name per call; no name the version lacks
    assert all(cmd[:3] == [bindir + "/postgres", "-D", "/etc/postgresql/%s/main" % version] for cmd in inner)
    asked = [cmd[-1] for cmd in inner]
    assert "num_os_semaphores" not in asked
    assert sorted(asked) == sorted(list(pg_settings.settings_for_version(version))
                                   + ["block_size", "server_version", "data_sync_retry"])
    # the release is asked before data_sync_retry, whose existence it decides
    assert asked[-2:] == ["server_version", "data_sync_retry"]
    assert cluster["server_version"] == recorded["server_version"]["stdout"].strip()
    assert cluster["data_sync_retry"] == "off"


# A stopped server is asked for data_sync_retry only when its release has it:
# `postgres -C` of a setting the release lacks fails, and that is no error of the cluster.
UNRECOGNIZED = {"rc": 1, "stdout": "",
                "stderr": "2026-11-25 12:33:51.464 UTC [503] FATAL:  unrecognized configuration parameter "
                          "\"data_sync_retry\"\n"}


@pytest.mark.parametrize("version, release, retry, asked", [
    ("10", "10.6", None, False),
    ("10", "10.7", "on", True),
    ("9.6", "9.6.11", None, False),
    ("9.6", "9.6.24", "off", True),
    ("9.3", "9.3.25", None, False),
])
def test_stopped_server_is_asked_data_sync_retry_only_where_it_exists(tmp_path, as_root, version, release, retry,
                                                                      asked):
    root, dummy = stopped_debian_tree(tmp_path, version)
    recorded = fixture_json("commands", "postgres-C-15.json")
    recorded["server_version"]["stdout"] = release + "\n"
    recorded["data_sync_retry"] = {"rc": 0, "stdout": retry + "\n", "stderr": ""} if asked else UNRECOGNIZED
    module = FakeModule(postgres_c_answer(recorded))
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    cluster = clusters[0]
    assert (cluster["server_version"], cluster["data_sync_retry"]) == (release, retry)
    assert ("data_sync_retry" in [inner_argv(argv)[-1] for argv, dummy in module.calls]) is asked
    assert cluster["errors"] == [] and warnings == []


def test_stopped_server_without_a_release_is_not_asked_data_sync_retry(tmp_path, as_root):
    root, dummy = stopped_debian_tree(tmp_path, "15")
    recorded = fixture_json("commands", "postgres-C-15.json")
    recorded["server_version"] = {"rc": 1, "stdout": "", "stderr": "postgres: could not run\n"}
    module = FakeModule(postgres_c_answer(recorded))
    cluster = cd.discover(module, files=HostFiles(str(root)), platform="linux")[0][0]
    assert (cluster["server_version"], cluster["data_sync_retry"]) == (None, None)
    assert "data_sync_retry" not in [inner_argv(argv)[-1] for argv, dummy in module.calls]
    assert cluster["errors"] == ["postgres -C server_version as postgres failed: postgres: could not run"]


def test_psql_failure_falls_back_to_config_values(tmp_path, as_root):
    root = make_tree(tmp_path, "debian-bookworm", DEBIAN_BINS)
    errors = fixture_json("commands", "errors.json")
    recorded = fixture_json("commands", "postgres-C-15.json")

    def answer(argv):
        inner = inner_argv(argv)
        if inner[0].endswith("psql"):
            failed = errors["psql_peer_authentication_failed"]
            return failed["rc"], failed["stdout"], failed["stderr"]
        return postgres_c_answer(recorded)(argv)

    module = FakeModule(answer)
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    cluster = clusters[0]
    assert cluster["running"] is True
    assert cluster["settings_source"] == "postgres -C"
    assert cluster["max_connections"] == 100
    # runtime-computed values need a stopped server: not asked, left null
    assert cluster["shared_memory_size_mb"] is None
    assert cluster["errors"] == [
        'psql as postgres failed: psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" '
        'failed: FATAL:  Peer authentication failed for user "postgres"'
    ]
    assert warnings == ["cluster 15/main: " + cluster["errors"][0]]
    asked = [inner_argv(argv)[-1] for argv, dummy in module.calls[1:]]
    assert "shared_memory_size" not in asked and "max_connections" in asked


def test_stale_postmaster_pid_is_not_running(tmp_path, as_root):
    root = make_tree(tmp_path, "debian-bookworm", DEBIAN_BINS)
    (root / "proc" / "184" / "comm").write_text("bash\n")
    module = FakeModule(postgres_c_answer(fixture_json("commands", "postgres-C-15.json")))
    clusters, dummy = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    assert (clusters[0]["running"], clusters[0]["pid"], clusters[0]["settings_source"]) == (False, None, "postgres -C")


def test_not_root_reports_and_continues(tmp_path, monkeypatch):
    monkeypatch.setattr(cd, "pwd", FakePwd())
    monkeypatch.setattr(pg_settings, "pwd", FakePwd())
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    root = make_tree(tmp_path, "debian-bookworm", DEBIAN_BINS)
    module = FakeModule()
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    assert module.calls == []
    assert clusters[0]["settings_source"] is None
    assert clusters[0]["max_connections"] is None
    assert clusters[0]["errors"] == [
        "psql as postgres failed: running as uid 1000, neither root nor postgres (use become)",
        "postgres -C: running as uid 1000, neither root nor postgres (use become)",
    ]
    assert len(warnings) == 2


def test_running_as_the_owner_runs_directly(tmp_path, monkeypatch):
    monkeypatch.setattr(cd, "pwd", FakePwd())
    monkeypatch.setattr(pg_settings, "pwd", FakePwd())
    monkeypatch.setattr(os, "geteuid", lambda: USERS["postgres"])
    root = make_tree(tmp_path, "debian-bookworm", DEBIAN_BINS)
    module = FakeModule(lambda argv: (0, fixture_text("commands", "pg_settings-15.txt"), ""))
    cd.discover(module, files=HostFiles(str(root)), platform="linux")
    assert module.calls[0][0][0] == "/usr/lib/postgresql/15/bin/psql"


def test_disabled_and_missing_data_directory(tmp_path, as_root):
    root = make_tree(tmp_path, "debian-bookworm", DEBIAN_BINS)
    (root / "etc/postgresql/15/main/start.conf").write_text("disabled\n")
    other = root / "etc/postgresql/13/old"
    other.mkdir(parents=True)
    (other / "postgresql.conf").write_text("port = 5433\n")  # no data_directory: default path, missing
    module = FakeModule(lambda argv: (0, fixture_text("commands", "pg_settings-15.txt"), ""))
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    assert [c["name"] for c in clusters] == ["13/old", "15/main"]
    old = clusters[0]
    assert (old["version"], old["port"], old["data_directory"]) == ("13", 5433, "/var/lib/postgresql/13/old")
    assert old["errors"] == ["data directory /var/lib/postgresql/13/old does not exist"]
    assert old["settings_source"] is None
    assert "cluster 15/main is disabled in start.conf; counted anyway" in warnings


# -- discovery: systemd units (PGDG and user-written) -------------------------

def test_discover_pgdg_units(tmp_path, monkeypatch):
    monkeypatch.setattr(cd, "pwd", FakePwd())
    monkeypatch.setattr(pg_settings, "pwd", FakePwd())
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    root = make_tree(tmp_path, "pgdg-el9", PGDG_BINS)
    recorded = fixture_json("commands", "postgres-C-15.json")
    module = FakeModule(postgres_c_answer(recorded))
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    assert warnings == ["unit postgresql-16.service: /var/lib/pgsql/16/data has no PG_VERSION (not initialised?); skipped"]
    by_name = dict((c["name"], c) for c in clusters)
    assert sorted(by_name) == ["pg-analytics", "postgresql-15"]
    pg15 = by_name["postgresql-15"]
    assert (pg15["unit"], pg15["data_directory"], pg15["config_file"]) == (
        "postgresql-15.service", "/srv/pg15/data", "/srv/pg15/data/postgresql.conf")
    assert (pg15["port"], pg15["version"], pg15["running"]) == (5433, "15", False)
    analytics = by_name["pg-analytics"]
    assert (analytics["unit"], analytics["data_directory"], analytics["port"], analytics["version"]) == (
        "pg-analytics.service", "/srv/analytics", 5434, "16")
    binaries = set(inner_argv(argv)[0] for argv, dummy in module.calls)
    # postgres from the bin directory of the unit's ExecStart (postmaster there is a link to it)
    assert binaries == {"/usr/pgsql-15/bin/postgres", "/usr/pgsql-16/bin/postgres"}


def test_unit_for_a_debian_cluster_is_merged(tmp_path, as_root):
    root = make_tree(tmp_path, "debian-bookworm", DEBIAN_BINS)
    unit = root / "etc/systemd/system/pg-main.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/usr/lib/postgresql/15/bin/postgres -D /etc/postgresql/15/main\n")
    module = FakeModule(lambda argv: (0, fixture_text("commands", "pg_settings-15.txt"), ""))
    clusters, dummy = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    assert [(c["name"], c["unit"]) for c in clusters] == [("15/main", "postgresql@15-main.service")]


def test_masked_unit_is_ignored(tmp_path, as_root):
    root = make_tree(tmp_path, "pgdg-el9", PGDG_BINS)
    os.symlink("/dev/null", str(root / "etc/systemd/system/pg-analytics.service.tmp"))
    os.remove(str(root / "etc/systemd/system/pg-analytics.service"))
    os.rename(str(root / "etc/systemd/system/pg-analytics.service.tmp"), str(root / "etc/systemd/system/pg-analytics.service"))
    clusters, dummy = cd.discover(FakeModule(), files=HostFiles(str(root)), platform="linux")
    assert [c["name"] for c in clusters] == ["postgresql-15"]


# -- discovery: FreeBSD ---------------------------------------------------------

def test_discover_freebsd_default_data(tmp_path, monkeypatch):
    monkeypatch.setattr(cd, "pwd", FakePwd())
    monkeypatch.setattr(pg_settings, "pwd", FakePwd())
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(HostFiles, "pid_alive", lambda self, pid: pid == 1234)
    root = make_tree(tmp_path, "freebsd14", ("/usr/local/bin/postgres", "/usr/local/bin/psql"))
    module = FakeModule(lambda argv: (0, fixture_text("commands", "pg_settings-15.txt"), ""))
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="freebsd",
                                     home_of=lambda user, default: "/var/db/postgres")
    assert warnings == []
    cluster = clusters[0]
    assert (cluster["name"], cluster["rc_name"], cluster["unit"]) == ("postgresql", "postgresql", None)
    assert (cluster["data_directory"], cluster["version"], cluster["running"], cluster["pid"]) == (
        "/var/db/postgres/data16", "16", True, 1234)
    assert (cluster["port"], cluster["owner"], cluster["settings_source"]) == (5432, "postgres", "pg_settings")
    argv = module.calls[0][0]
    # su -m OWNER -c 'quoted command': after the login name, FreeBSD's su hands -c to the shell
    assert argv[:4] == ["/usr/bin/su", "-m", "postgres", "-c"]
    inner = shlex.split(argv[4])
    assert inner[:2] == ["/usr/local/bin/psql", "-XAtq"]
    assert inner[inner.index("-h") + 1] == "/tmp"
    assert inner[-1].startswith("SELECT name, setting, unit FROM pg_settings WHERE name IN ('max_connections'")


def test_discover_freebsd_reads_the_postmasters_flag_and_the_owners_class(tmp_path, monkeypatch):
    # After the settings: ps for the running postmaster, pw for its owner (freebsd_server.py).
    monkeypatch.setattr(cd, "pwd", FakePwd())
    monkeypatch.setattr(pg_settings, "pwd", FakePwd())
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(HostFiles, "pid_alive", lambda self, pid: pid == 1234)
    root = make_tree(tmp_path, "freebsd14", ("/usr/local/bin/postgres", "/usr/local/bin/psql"))
    shutil.copyfile(os.path.join(FIXTURES, "freebsd-files", "login.conf"), str(root / "etc/login.conf"))
    answers = {"/bin/ps": (0, "10104002\n", ""),
               "/usr/sbin/pw": (0, "postgres:*:770:770::0:0:PostgreSQL Daemon:/var/db/postgres:/bin/sh\n", "")}
    module = FakeModule(lambda argv: answers.get(argv[0]) or (0, fixture_text("commands", "pg_settings-15.txt"), ""),
                        bins={"ps": "/bin/ps", "pw": "/usr/sbin/pw"})
    [cluster], warnings = cd.discover(module, files=HostFiles(str(root)), platform="freebsd",
                                      home_of=lambda user, default: "/var/db/postgres")
    assert warnings == []
    assert [argv for argv, dummy in module.calls[1:]] == [["/bin/ps", "-o", "flags=", "-p", "1234"],
                                                          ["/usr/sbin/pw", "usershow", "-n", "postgres"]]
    assert cluster["oom_protection"] == {"state": "protected", "flags": "10104002", "error": None}
    assert (cluster["login_class"]["name"], cluster["login_class"]["effective"]) == ("default", "default")
    assert cluster["login_class"]["limits"]["openfiles"] == {"soft": "unlimited", "hard": "unlimited"}


def test_discover_freebsd_profiles(tmp_path, monkeypatch):
    monkeypatch.setattr(cd, "pwd", FakePwd())
    monkeypatch.setattr(pg_settings, "pwd", FakePwd())
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(HostFiles, "pid_alive", lambda self, pid: False)
    root = make_tree(tmp_path, "freebsd14", ("/usr/local/bin/postgres",))
    (root / "etc/rc.conf.d").mkdir()
    (root / "etc/rc.conf.d/postgresql").write_text(fixture_text("freebsd", "rc.conf.d-postgresql-profiles"))
    (root / "pg/reporting").mkdir(parents=True)
    (root / "pg/reporting/PG_VERSION").write_text("13\n")
    module = FakeModule(postgres_c_answer(fixture_json("commands", "postgres-C-15.json")))
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="freebsd",
                                     home_of=lambda user, default: "/var/db/postgres")
    assert warnings == []
    assert [(c["name"], c["data_directory"], c["port"], c["version"], c["running"]) for c in clusters] == [
        ("postgresql:main", "/var/db/postgres/data16", 5432, "16", False),
        ("postgresql:reporting", "/pg/reporting", 5433, "13", False),
    ]
    # 13 has neither shared_memory_size nor huge_page_size: not asked
    asked = [shlex.split(argv[4])[-1] for argv, dummy in module.calls if "/pg/reporting" in argv[4]]
    assert "shared_memory_size" not in asked and "huge_page_size" not in asked and "shared_memory_type" in asked
    reporting = clusters[1]
    assert reporting["shared_memory_size_mb"] is None and reporting["max_connections"] == 100


def test_freebsd_without_postgresql(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/rc.conf").write_text('sshd_enable="YES"\n')
    clusters, warnings = cd.discover(FakeModule(), files=HostFiles(str(tmp_path)), platform="freebsd")
    assert clusters == []
    assert warnings == ["no PostgreSQL cluster found; declare them in pghost_clusters if they live elsewhere"]


# -- declared clusters ---------------------------------------------------------

def test_declared_only_and_filled_from_the_layout(tmp_path, as_root):
    root = make_tree(tmp_path, "debian-bookworm", DEBIAN_BINS + PGDG_BINS)
    shutil.copytree(os.path.join(FIXTURES, "trees", "pgdg-el9", "srv"), str(root / "srv"))
    module = FakeModule(lambda argv: (0, fixture_text("commands", "pg_settings-15.txt"), ""))
    declared = [{"data_directory": "/var/lib/postgresql/15/main/"}]
    clusters, warnings = cd.discover(module, declared, files=HostFiles(str(root)), platform="linux")
    assert warnings == []
    assert [(c["name"], c["unit"], c["config_file"], c["settings_source"]) for c in clusters] == [
        ("15/main", "postgresql@15-main.service", "/etc/postgresql/15/main/postgresql.conf", "pg_settings")]


def test_declared_not_initialised_uses_declared_settings(tmp_path, as_root):
    declared = [
        {"data_directory": "/srv/new", "name": "future", "version": "16", "port": 5440,
         "max_connections": 300, "shared_buffers": "2GB"},
        {"name": "no dir"},
    ]
    clusters, warnings = cd.discover(FakeModule(), declared, files=HostFiles(str(tmp_path)), platform="linux")
    assert len(clusters) == 1
    cluster = clusters[0]
    assert (cluster["name"], cluster["version"], cluster["port"], cluster["running"]) == ("future", "16", 5440, False)
    assert (cluster["settings_source"], cluster["max_connections"], cluster["shared_buffers"]) == ("declared", 300, "2GB")
    assert cluster["autovacuum_max_workers"] is None
    assert cluster["errors"] == ["data directory /srv/new does not exist"]
    assert warnings == ["pghost_clusters[1] has no data_directory; skipped",
                        "cluster future: data directory /srv/new does not exist"]


def test_declared_bad_port_is_an_error_not_an_exception(tmp_path, as_root):
    clusters, dummy = cd.discover(FakeModule(), [{"data_directory": "/srv/x", "port": "fivefour"}],
                                  files=HostFiles(str(tmp_path)), platform="linux")
    assert clusters[0]["port"] == 5432
    assert clusters[0]["errors"][0] == "declared port 'fivefour' is not an integer"


def test_discover_clusters_entry_point(monkeypatch):
    seen = {}

    def fake_discover(module, declared=None, files=None, platform=None, home_of=None):
        seen["args"] = (module, declared)
        return [], []

    monkeypatch.setattr(cd, "discover", fake_discover)
    assert cd.discover_clusters("M", [{"data_directory": "/x"}]) == ([], [])
    assert seen["args"] == ("M", [{"data_directory": "/x"}])


@pytest.mark.parametrize("readable, expected", [
    (False, "no permission to read data directory /var/lib/postgresql/15/main (use become); running state and "
            "settings unknown"),
    (True, "/var/lib/postgresql/15/main has no PG_VERSION (not initialised?)"),
])
def test_unreadable_or_empty_data_directory(tmp_path, as_root, monkeypatch, readable, expected):
    root = make_tree(tmp_path, "debian-bookworm", DEBIAN_BINS)
    os.remove(str(root / "var/lib/postgresql/15/main/PG_VERSION"))
    os.remove(str(root / "var/lib/postgresql/15/main/postmaster.pid"))
    data = str(root / "var/lib/postgresql/15/main")
    real_access = HostFiles.access
    monkeypatch.setattr(HostFiles, "access",
                        lambda self, path, mode: readable if self.path(path) == data else real_access(self, path, mode))
    module = FakeModule()
    clusters, warnings = cd.discover(module, files=HostFiles(str(root)), platform="linux")
    cluster = clusters[0]
    # the Debian directory name still gives the version; nothing is run
    assert (cluster["version"], cluster["running"], cluster["settings_source"]) == ("15", False, None)
    assert cluster["errors"] == [expected]
    assert warnings == ["cluster 15/main: " + expected]
    assert module.calls == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files another owner")
def test_owner_under_another_root_comes_from_that_roots_passwd(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("# comment\nroot:*:0:0::/root:/bin/csh\n"
                                             "postgres:*:4770:4770::/var/db/postgres:/bin/sh\n")
    for name, uid in (("data", 4770), ("lost", 4771)):
        (tmp_path / name).mkdir()
        os.chown(str(tmp_path / name), uid, uid)
    files = HostFiles(str(tmp_path))
    assert cd._owner_of(files, "/data") == "postgres"
    assert cd._owner_of(files, "/lost") == "4771", "an id the tree does not name stays a number"
    assert cd._owner_of(files, "/missing") is None


@pytest.mark.parametrize("present, unit, exists", [
    ("lib/systemd/system/postgresql@.service", "postgresql@16-main.service", True),
    ("etc/systemd/system/pg-main.service", "pg-main", True),
    ("etc/systemd/system/pg-main.service", "pg-other.service", False),
    ("lib/systemd/system/postgresql@.service", "postgresql.service", False),
])
def test_unit_exists_knows_templates_and_the_service_suffix(tmp_path, present, unit, exists):
    path = tmp_path / present
    path.parent.mkdir(parents=True)
    path.write_text("[Service]\n")
    assert cd.unit_exists(HostFiles(str(tmp_path)), unit) is exists
