# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_reown: main() run the way Ansible runs a module, on real trees under
tmp_path with real chown (the tests run as root; they are skipped otherwise).
Ownership is read back with os.lstat, so a symlink is checked itself, never
its target.
"""

from __future__ import annotations

import os
import stat

import pytest
from fake_module import run_main

from ansible_collections.pghost.hardening.plugins.module_utils import host_files
from ansible_collections.pghost.hardening.plugins.modules import pg_reown

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="changing file owners needs root")

# The server's uid before and after, a stranger's id, the server's gid before and after.
OLD = 770
NEW = 20000
OTHER = 1234
OLD_G = 771
NEW_G = 20001


def owner(path):
    st = os.lstat(str(path))
    return st.st_uid, st.st_gid


def make(path, uid=OLD, gid=OLD_G, content="x", mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    os.lchown(str(path), uid, gid)        # first: chown clears set-user-ID on Linux
    os.chmod(str(path), mode)
    return path


def mkdir(path, uid=OLD, gid=OLD_G):
    path.mkdir(parents=True, exist_ok=True)
    os.lchown(str(path), uid, gid)
    return path


def link(path, target, uid=OLD, gid=OLD_G):
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, str(path))
    os.lchown(str(path), uid, gid)
    return path


def data_dir(path, uid=OLD, gid=OLD_G):
    """A small PostgreSQL data directory."""
    mkdir(path, uid, gid)
    make(path / "PG_VERSION", uid, gid, "16\n")
    mkdir(path / "global", uid, gid)
    make(path / "global" / "pg_control", uid, gid)
    mkdir(path / "base", uid, gid)
    mkdir(path / "base" / "5", uid, gid)
    make(path / "base" / "5" / "PG_VERSION", uid, gid, "16\n")
    make(path / "base" / "5" / "1259", uid, gid)
    mkdir(path / "pg_tblspc", uid, gid)
    return path


@pytest.fixture(autouse=True)
def no_test_root(monkeypatch):
    """The host itself, whatever the environment of the test run."""
    monkeypatch.delenv(host_files.TEST_ROOT_ENV, raising=False)
    monkeypatch.delenv(host_files.TEST_PLATFORM_ENV, raising=False)


@pytest.fixture
def warned(monkeypatch):
    seen = []
    monkeypatch.setattr(pg_reown.AnsibleModule, "warn", lambda self, msg: seen.append(msg))
    return seen


def run(monkeypatch, capsys, **args):
    args.setdefault("old_uid", OLD)
    args.setdefault("new_uid", NEW)
    args.setdefault("old_gid", OLD_G)
    args.setdefault("new_gid", NEW_G)
    args["paths"] = [str(p) for p in args["paths"]]
    if "root" in args:
        args["root"] = str(args["root"])
    return run_main(pg_reown.main, args, monkeypatch, capsys)


def test_changes_exactly_the_entries_of_the_old_owner(tmp_path, monkeypatch, capsys, warned):
    top = mkdir(tmp_path / "pg")
    mine = make(top / "mine")
    stranger = make(top / "stranger", OTHER, OTHER)
    half = make(top / "half", OLD, OTHER)            # old owner, other group
    other_half = make(top / "other_half", OTHER, OLD_G)
    rootfile = make(top / "sub" / "root", 0, 0)
    sub = top / "sub"
    os.lchown(str(sub), OLD, OLD_G)
    code, result = run(monkeypatch, capsys, paths=[top])
    assert code == 0, result
    assert result["changed"] is True
    assert owner(top) == (NEW, NEW_G)
    assert owner(sub) == (NEW, NEW_G)
    assert owner(mine) == (NEW, NEW_G)
    assert owner(stranger) == (OTHER, OTHER)
    assert owner(half) == (NEW, OTHER)
    assert owner(other_half) == (OTHER, NEW_G)
    assert owner(rootfile) == (0, 0)
    assert result["totals"] == {"dirs": 2, "files": 5, "uid_changed": 4, "gid_changed": 4}
    (entry,) = result["paths"]
    assert entry["walked"] is True and entry["exists"] is True
    assert entry["uid_changed"] == 4 and entry["gid_changed"] == 4
    assert "%s: uid %d -> %d, gid %d -> %d" % (top, OLD, NEW, OLD_G, NEW_G) in result["samples"]
    assert warned == []


def test_content_and_mode_are_left_alone(tmp_path, monkeypatch, capsys):
    top = mkdir(tmp_path / "pg")
    f = make(top / "conf", content="shared_buffers = 1GB\n", mode=0o640)
    before = os.lstat(str(f))
    code, result = run(monkeypatch, capsys, paths=[top])
    assert code == 0, result
    after = os.lstat(str(f))
    assert f.read_text() == "shared_buffers = 1GB\n"
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert after.st_mtime_ns == before.st_mtime_ns


def test_symlinks_are_changed_themselves_never_followed(tmp_path, monkeypatch, capsys):
    top = mkdir(tmp_path / "pg")
    outside = mkdir(tmp_path / "outside")
    victim = make(outside / "victim")                # old owner, but outside the walk
    to_dir = link(top / "to_dir", str(outside))
    to_file = link(top / "to_file", str(victim))
    dangling = link(top / "dangling", str(tmp_path / "nothing"))
    code, result = run(monkeypatch, capsys, paths=[top])
    assert code == 0, result
    assert owner(victim) == (OLD, OLD_G)
    assert owner(outside) == (OLD, OLD_G)
    for entry in (to_dir, to_file, dangling):
        assert owner(entry) == (NEW, NEW_G)
    assert result["totals"]["files"] == 3


def test_check_mode_counts_and_changes_nothing(tmp_path, monkeypatch, capsys):
    top = data_dir(tmp_path / "data16")
    make(top / "stranger", OTHER, OTHER)
    before = dict((p, owner(p)) for p in top.rglob("*"))
    args = dict(paths=[top], _ansible_check_mode=True)
    code, result = run(monkeypatch, capsys, **args)
    assert code == 0, result
    assert result["changed"] is True
    assert dict((p, owner(p)) for p in top.rglob("*")) == before
    assert owner(top) == (OLD, OLD_G)
    assert result["totals"] == {"dirs": 5, "files": 5, "uid_changed": 9, "gid_changed": 9}
    assert "would change" in result["msg"]
    code, real = run(monkeypatch, capsys, paths=[top])
    assert real["totals"] == result["totals"]


def test_second_run_changes_nothing(tmp_path, monkeypatch, capsys):
    top = data_dir(tmp_path / "data16")
    code, first = run(monkeypatch, capsys, paths=[top])
    assert code == 0 and first["changed"] is True
    code, second = run(monkeypatch, capsys, paths=[top])
    assert code == 0, second
    assert second["changed"] is False
    assert second["totals"]["uid_changed"] == 0 and second["totals"]["gid_changed"] == 0
    assert second["totals"]["dirs"] == first["totals"]["dirs"]
    assert second["samples"] == []


def test_only_the_uid_or_only_the_gid(tmp_path, monkeypatch, capsys):
    top = mkdir(tmp_path / "pg")
    f = make(top / "f")
    code, result = run(monkeypatch, capsys, paths=[top], old_gid=None, new_gid=None)
    assert code == 0, result
    assert owner(f) == (NEW, OLD_G)
    assert result["totals"]["gid_changed"] == 0
    code, result = run(monkeypatch, capsys, paths=[top], old_uid=None, new_uid=None)
    assert code == 0, result
    assert owner(f) == (NEW, NEW_G)
    assert result["totals"]["uid_changed"] == 0 and result["totals"]["gid_changed"] == 2


def test_a_missing_path_fails_before_anything_changes(tmp_path, monkeypatch, capsys):
    top = mkdir(tmp_path / "pg")
    f = make(top / "f")
    code, result = run(monkeypatch, capsys, paths=[top, tmp_path / "typo"])
    assert code == 1
    assert result["failed"] is True
    assert "%s does not exist" % (tmp_path / "typo") in result["msg"]
    assert "nothing was changed" in result["msg"]
    assert owner(f) == (OLD, OLD_G)


def test_missing_ok_reports_the_missing_path(tmp_path, monkeypatch, capsys):
    top = mkdir(tmp_path / "pg")
    code, result = run(monkeypatch, capsys, paths=[tmp_path / "typo", top], missing_ok=True)
    assert code == 0, result
    missing, walked = result["paths"]
    assert missing["exists"] is False and missing["walked"] is False
    assert "does not exist" in missing["note"]
    assert walked["walked"] is True
    assert owner(top) == (NEW, NEW_G)


@pytest.mark.parametrize("args, words", [
    ({"old_uid": None, "new_uid": None, "old_gid": None, "new_gid": None}, "give old_uid and new_uid"),
    ({"new_uid": None}, "give old_uid and new_uid together"),
    ({"new_uid": -2}, "new_uid is -2"),
])
def test_bad_ids_fail(tmp_path, monkeypatch, capsys, args, words):
    top = mkdir(tmp_path / "pg")
    code, result = run(monkeypatch, capsys, paths=[top], **args)
    assert code == 1
    assert words in result["msg"]
    assert owner(top) == (OLD, OLD_G)


def test_relative_path_fails(tmp_path, monkeypatch, capsys):
    mkdir(tmp_path / "pg")
    monkeypatch.chdir(str(tmp_path))
    code, result = run(monkeypatch, capsys, paths=["pg"])
    assert code == 1
    assert "paths must be absolute" in result["msg"]


def jail(tmp_path):
    """A jail root with the server's home, a data directory, a tablespace and a WAL
    directory elsewhere in the jail, linked the way initdb -X and CREATE TABLESPACE do."""
    root = tmp_path / "jails" / "pg3"
    home = mkdir(root / "var" / "db" / "postgres")
    data = data_dir(home / "data16")
    space = mkdir(root / "tblspc" / "fast")
    make(space / "PG_16_202307071" / "5" / "16390")
    os.lchown(str(space / "PG_16_202307071"), OLD, OLD_G)
    os.lchown(str(space / "PG_16_202307071" / "5"), OLD, OLD_G)
    link(data / "pg_tblspc" / "16384", "/tblspc/fast")           # absolute: inside the jail
    wal = mkdir(root / "wal" / "pg16")
    make(wal / "000000010000000000000001")
    link(data / "pg_wal", "../../../../wal/pg16")                 # relative
    return root, home, data, space, wal


def test_jail_root_tablespace_and_wal_links_are_walked_inside_the_jail(tmp_path, monkeypatch, capsys, warned):
    root, home, data, space, wal = jail(tmp_path)
    host_decoy = mkdir(tmp_path / "tblspc" / "fast")              # what /tblspc/fast is on the "host"
    decoy_file = make(host_decoy / "host_file")
    code, result = run(monkeypatch, capsys, root=root, paths=["/var/db/postgres/data16", "/var/db/postgres"])
    assert code == 0, result
    for path in (data / "PG_VERSION", data / "base" / "5" / "1259", space, space / "PG_16_202307071" / "5" / "16390",
                 wal, wal / "000000010000000000000001", data / "pg_wal", data / "pg_tblspc" / "16384", home):
        assert owner(path) == (NEW, NEW_G), path
    assert owner(host_decoy) == (OLD, OLD_G)
    assert owner(decoy_file) == (OLD, OLD_G)
    by_path = dict((p["path"], p) for p in result["paths"])
    assert [p["path"] for p in result["paths"]] == [
        "/var/db/postgres/data16", "/var/db/postgres", "/tblspc/fast", "/var/db/postgres/data16/../../../../wal/pg16"]
    assert by_path["/var/db/postgres/data16"]["host_path"] == str(data)
    assert by_path["/tblspc/fast"]["reason"] == "/var/db/postgres/data16/pg_tblspc/16384 -> /tblspc/fast"
    assert by_path["/tblspc/fast"]["resolved"] == "/tblspc/fast"
    assert by_path["/var/db/postgres/data16/../../../../wal/pg16"]["resolved"] == "/wal/pg16"
    assert by_path["/var/db/postgres/data16/../../../../wal/pg16"]["reason"] == (
        "/var/db/postgres/data16/pg_wal -> ../../../../wal/pg16")
    # The home walk skips the data directory, already walked and counted.
    assert by_path["/var/db/postgres"]["dirs"] == 1 and by_path["/var/db/postgres"]["files"] == 0
    assert by_path["/var/db/postgres/data16"]["dirs"] == 5
    assert warned == []


def test_links_that_climb_out_of_the_jail_stay_inside_it(tmp_path, monkeypatch, capsys, warned):
    root = tmp_path / "jails" / "pg3"
    data = data_dir(root / "data")
    host_etc = mkdir(tmp_path / "etc")
    host_file = make(host_etc / "passwd")
    link(data / "pg_tblspc" / "1", "/../../../etc")               # is <root>/etc inside the jail
    link(data / "pg_tblspc" / "2", "../../../../../../etc")       # relative climb, also clamped
    code, result = run(monkeypatch, capsys, root=root, paths=["/data"])
    assert code == 0, result
    assert owner(host_etc) == (OLD, OLD_G)
    assert owner(host_file) == (OLD, OLD_G)
    follows = [p for p in result["paths"] if p["reason"]]
    assert [p["exists"] for p in follows] == [False, False]
    assert all("/etc does not exist" in p["note"] for p in follows)
    assert len(warned) == 2 and all("not walked" in w for w in warned)


def test_a_path_through_a_symlink_is_resolved_inside_the_root(tmp_path, monkeypatch, capsys):
    root = tmp_path / "jails" / "pg3"
    real = data_dir(root / "usr" / "local" / "pgsql" / "data")
    mkdir(root / "var" / "db", 0, 0)
    os.symlink("/usr/local/pgsql", str(root / "var" / "db" / "postgres"))   # absolute, in the jail
    code, result = run(monkeypatch, capsys, root=root, paths=["/var/db/postgres/data"])
    assert code == 0, result
    assert owner(real) == (NEW, NEW_G)
    assert result["paths"][0]["resolved"] == "/usr/local/pgsql/data"
    assert result["paths"][0]["host_path"] == str(real)
    assert owner(root / "var" / "db" / "postgres") == (0, 0)


def test_missing_path_inside_a_root_names_the_root(tmp_path, monkeypatch, capsys):
    root = mkdir(tmp_path / "jails" / "pg3", 0, 0)
    code, result = run(monkeypatch, capsys, root=root, paths=["/var/db/postgres"])
    assert code == 1
    assert "/var does not exist" in result["msg"] and str(root) in result["msg"]


def test_symlink_loop_fails(tmp_path, monkeypatch, capsys):
    root = mkdir(tmp_path / "r", 0, 0)
    os.symlink("/b", str(root / "a"))
    os.symlink("/a", str(root / "b"))
    code, result = run(monkeypatch, capsys, root=root, paths=["/a"])
    assert code == 1
    assert "loop" in result["msg"]


def test_the_test_root_maps_the_jail_root(tmp_path, monkeypatch, capsys):
    """With the integration test's seam set, root / is the tree, not the machine."""
    tree = tmp_path / "tree"
    data = data_dir(tree / "jails" / "pg3" / "data")
    monkeypatch.setenv(host_files.TEST_ROOT_ENV, str(tree))
    monkeypatch.setenv(host_files.TEST_PLATFORM_ENV, "freebsd")
    code, result = run(monkeypatch, capsys, root="/jails/pg3", paths=["/data"])
    assert code == 0, result
    assert owner(data) == (NEW, NEW_G)
    assert result["paths"][0]["host_path"] == "/jails/pg3/data"


def test_other_filesystems_are_not_entered(tmp_path, monkeypatch, capsys, warned):
    top = mkdir(tmp_path / "home")
    mount = mkdir(top / "mnt")
    inside = make(mount / "f")
    fake_mount(monkeypatch, mount)
    code, result = run(monkeypatch, capsys, paths=[top])
    assert code == 0, result
    assert owner(top) == (NEW, NEW_G)
    assert owner(mount) == (OLD, OLD_G) and owner(inside) == (OLD, OLD_G)
    assert result["paths"][0]["other_filesystems"] == 1
    assert any("another filesystem" in w for w in warned)
    code, result = run(monkeypatch, capsys, paths=[top], one_file_system=False)
    assert owner(inside) == (NEW, NEW_G)


def test_setuid_bit_lost_is_reported(tmp_path, monkeypatch, capsys, warned):
    top = mkdir(tmp_path / "pg")
    f = make(top / "tool", mode=0o4755)
    code, result = run(monkeypatch, capsys, paths=[top])
    assert code == 0, result
    assert owner(f) == (NEW, NEW_G)
    # Linux clears the bit on chown, also for root (chown(2)), so the warning must come.
    assert not os.lstat(str(f)).st_mode & stat.S_ISUID
    assert any("set-user-ID" in w and str(f) in w for w in warned)


def test_a_failed_chown_fails_the_module_and_says_what_changed(tmp_path, monkeypatch, capsys):
    top = mkdir(tmp_path / "pg")
    make(top / "a")
    make(top / "b")
    real_chown = os.chown

    def chown(path, uid, gid, **kwargs):
        if path == "b":
            raise OSError(1, "Operation not permitted")
        return real_chown(path, uid, gid, **kwargs)

    monkeypatch.setattr(pg_reown.os, "chown", chown)
    code, result = run(monkeypatch, capsys, paths=[top])
    assert code == 1
    assert result["changed"] is True
    assert "1 entries could not be changed" in result["msg"]
    assert "%s: Operation not permitted" % (top / "b") in result["msg"]
    assert owner(top / "a") == (NEW, NEW_G)


def test_a_path_inside_one_walked_before_is_not_walked_again(tmp_path, monkeypatch, capsys):
    home = mkdir(tmp_path / "postgres")
    data = data_dir(home / "data16")
    code, result = run(monkeypatch, capsys, paths=[home, data], _ansible_check_mode=True)
    assert code == 0, result
    first, second = result["paths"]
    assert first["walked"] is True and first["dirs"] == 6
    assert second["walked"] is False and second["dirs"] == 0
    assert second["note"] == "already walked, through %s" % home


def fake_mount(monkeypatch, directory):
    """Make the walk see `directory` on another filesystem (another st_dev)."""
    real_stat, real_fstat = os.stat, os.fstat
    ino = os.lstat(str(directory)).st_ino

    def other_dev(st):
        if st.st_ino != ino:
            return st
        values = list(st)
        values[stat.ST_DEV] = st.st_dev + 1
        return os.stat_result(values)

    monkeypatch.setattr(pg_reown.os, "stat", lambda *args, **kwargs: other_dev(real_stat(*args, **kwargs)))
    monkeypatch.setattr(pg_reown.os, "fstat", lambda fd: other_dev(real_fstat(fd)))


def test_filesystems_mounted_inside_a_data_directory_are_walked(tmp_path, monkeypatch, capsys, warned):
    data = data_dir(tmp_path / "data16")
    wal = mkdir(data / "pg_wal")                     # a dataset of its own, mounted on pg_wal
    segment = make(wal / "000000010000000000000001")
    fake_mount(monkeypatch, wal)
    code, result = run(monkeypatch, capsys, paths=[data])
    assert code == 0, result
    assert owner(wal) == (NEW, NEW_G) and owner(segment) == (NEW, NEW_G)
    assert result["paths"][0]["other_filesystems"] == 0
    assert warned == []
