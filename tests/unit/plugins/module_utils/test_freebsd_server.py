# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""freebsd_server: each cluster's protect(1) flag and its server user's login
class, as pg_host_facts reads them on FreeBSD. ps and pw are answered in
their output formats (hand-written: no FreeBSD host is reachable); login.conf
is the hand-written fixture of tests/unit/fixtures/freebsd-files."""

from __future__ import annotations

import os
import shutil

import pytest
from fake_module import FakeModule

from ansible_collections.pghost.hardening.plugins.module_utils import freebsd_server
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "freebsd-files")
PS, PW = "/bin/ps", "/usr/sbin/pw"
POSTGRES = "postgres:*:770:770::0:0:PostgreSQL Daemon:/var/db/postgres:/bin/sh\n"
PGSQL_IN_CLASS = "pgsql:*:70:70:postgres:0:0:PostgreSQL:/usr/local/pgsql:/bin/sh\n"
UNLIMITED = {"soft": "unlimited", "hard": "unlimited"}
DEFAULT_LIMITS = {"maxproc": UNLIMITED, "memorylocked": {"soft": "64K", "hard": "64K"}, "openfiles": UNLIMITED}


def tree(tmp_path, login_conf="login.conf"):
    (tmp_path / "etc").mkdir()
    if login_conf:
        shutil.copyfile(os.path.join(FIXTURES, login_conf), str(tmp_path / "etc" / "login.conf"))
    return HostFiles(str(tmp_path))


def cluster(name="postgresql", owner="postgres", pid=4242):
    return {"name": name, "owner": owner, "running": pid is not None, "pid": pid,
            "oom_protection": None, "login_class": None}


def module(outputs=None, bins=None):
    answers = {(PS, "-o", "flags=", "-p", "4242"): (0, "10004002\n", ""),
               (PW, "usershow", "-n", "postgres"): (0, POSTGRES, ""),
               (PW, "usershow", "-n", "pgsql"): (0, PGSQL_IN_CLASS, "")}
    answers.update(outputs or {})
    return FakeModule(answers, bins={"ps": PS, "pw": PW} if bins is None else bins)


def test_running_postmaster_and_the_users_default_class(tmp_path):
    fake = module()
    [item] = freebsd_server.read_servers(fake, [cluster()], tree(tmp_path))
    assert item["oom_protection"] == {"state": "unprotected", "flags": "10004002", "error": None}
    assert item["login_class"] == {"user": "postgres", "name": "default", "found": True, "effective": "default",
                                   "limits": DEFAULT_LIMITS, "database_stale": False, "error": None}
    assert fake.calls == [[PS, "-o", "flags=", "-p", "4242"], [PW, "usershow", "-n", "postgres"]]


def test_a_user_in_the_hand_made_class(tmp_path):
    [item] = freebsd_server.read_servers(module(), [cluster(owner="pgsql", pid=None)],
                                         tree(tmp_path, "login.conf-postgres"))
    assert (item["login_class"]["name"], item["login_class"]["found"], item["login_class"]["effective"]) == (
        "postgres", True, "postgres")
    assert item["login_class"]["limits"]["openfiles"] == {"soft": "8192", "hard": "16384"}


def test_a_class_login_conf_lacks_gets_defaults_limits(tmp_path):
    [item] = freebsd_server.read_servers(module(), [cluster(owner="pgsql", pid=None)], tree(tmp_path))
    entry = item["login_class"]
    assert (entry["name"], entry["found"], entry["effective"], entry["limits"]) == (
        "postgres", False, "default", DEFAULT_LIMITS)


def test_a_stopped_server_has_no_protection_to_read(tmp_path):
    fake = module()
    [item] = freebsd_server.read_servers(fake, [cluster(pid=None)], tree(tmp_path))
    assert item["oom_protection"] is None
    assert [argv[0] for argv in fake.calls] == [PW]


def test_each_user_is_looked_up_once_and_login_conf_read_once(tmp_path, monkeypatch):
    fake = module({(PS, "-o", "flags=", "-p", "4343"): (0, "10104002\n", "")})
    files = tree(tmp_path)
    reads = []
    real_read = files.read
    monkeypatch.setattr(files, "read", lambda path, default=None: reads.append(path) or real_read(path, default))
    items = freebsd_server.read_servers(fake, [cluster("postgresql:main"), cluster("postgresql:reporting", pid=4343),
                                               cluster("other", owner="pgsql", pid=None)], files)
    assert [i["oom_protection"]["state"] if i["oom_protection"] else None for i in items] == [
        "unprotected", "protected", None]
    looked_up = [argv for argv in fake.calls if argv[0] == PW]
    assert looked_up == [[PW, "usershow", "-n", "postgres"], [PW, "usershow", "-n", "pgsql"]]
    assert reads == ["/etc/login.conf"]
    assert items[0]["login_class"] == items[1]["login_class"] and items[0]["login_class"] is not items[1]["login_class"]


def test_no_clusters_no_reads(tmp_path):
    fake = module()
    assert freebsd_server.read_servers(fake, [], tree(tmp_path)) == []
    assert fake.calls == []


def test_a_database_older_than_the_file_is_reported(tmp_path):
    files = tree(tmp_path)
    db = tmp_path / "etc" / "login.conf.db"
    db.write_bytes(b"")
    mtime = os.stat(str(tmp_path / "etc" / "login.conf")).st_mtime
    os.utime(str(db), (mtime - 60, mtime - 60))
    [item] = freebsd_server.read_servers(module(), [cluster()], files)
    assert item["login_class"]["database_stale"] is True


@pytest.mark.parametrize("owner, outputs, bins, login_conf, error", [
    ("postgres", {(PW, "usershow", "-n", "postgres"): (67, "", "pw: no such user `postgres'\n")}, None, "login.conf",
     "/usr/sbin/pw usershow -n postgres found no such user (rc 67): pw: no such user `postgres'"),
    ("postgres", {}, {"ps": PS}, "login.conf", "pw was not found on this host"),
    (None, {}, None, "login.conf", "the cluster's owner is not known, so neither is its login class"),
    ("postgres", {}, None, None, "cannot read /etc/login.conf"),
    ("postgres", {}, None, "login.conf-malformed", "/etc/login.conf:"),
])
def test_what_cannot_be_read_is_said_in_the_entry(tmp_path, owner, outputs, bins, login_conf, error):
    [item] = freebsd_server.read_servers(module(outputs, bins), [cluster(owner=owner, pid=None)],
                                         tree(tmp_path, login_conf))
    entry = item["login_class"]
    assert entry["error"].startswith(error)
    assert entry["limits"] is None and entry["found"] is None
    assert entry["user"] == owner
