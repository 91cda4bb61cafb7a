# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stale IPC after an unclean stop (module_utils/ipc_cleanup.py).

Recorded on this project's test images (tests/unit/fixtures/ipc/*.json, made
with the recorder described in each file's "note"): postmaster.pid,
/proc/sysvipc/shm and sem, the first 56 bytes of every SysV segment (read with
shmat(SHM_RDONLY)), /dev/shm/PostgreSQL.* (content of the small ones, i.e.
the DSM control segments) and the /dev/shm and /SYSV lines of every
/proc/<pid>/maps, for Debian bookworm (PostgreSQL 15.18) and trixie (17.12).

FakeTree turns one recording into a root directory for HostFiles (files in
/dev/shm get the recorded size and owner; maps lines point at the fake files'
device and inode) and FakeIpc answers shmat/semctl from the recording.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import struct
from collections import namedtuple

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils import ipc_cleanup as ipc
from ansible_collections.pghost.hardening.plugins.module_utils import linux_ipc
from ansible_collections.pghost.hardening.plugins.module_utils import pg_shmem as shmem
from ansible_collections.pghost.hardening.plugins.module_utils import postmaster as pm
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.versions import VERSIONS

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "ipc")
USERS = {100: "postgres", 101: "postgres"}

FakeStat = namedtuple("FakeStat", ["st_dev", "st_ino", "st_uid", "st_size", "st_mode"])


def recording(name):
    with open(os.path.join(FIXTURES, name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


class FakeFiles(HostFiles):
    """HostFiles on a fake root whose stat() reports recorded owners (and the data
    directory's recorded device and inode)."""

    def __init__(self, root, overrides):
        HostFiles.__init__(self, root)
        self.overrides = overrides
        self.reads = []

    def read(self, path, default=None):
        self.reads.append(path)
        return HostFiles.read(self, path, default)

    def stat(self, path):
        st = HostFiles.stat(self, path)
        if st is None:
            return None
        fields = dict(st_dev=st.st_dev, st_ino=st.st_ino, st_uid=st.st_uid, st_size=st.st_size, st_mode=st.st_mode)
        fields.update(self.overrides.get(path, {}))
        return FakeStat(**fields)


class FakeIpc:
    """shmat/semctl answered from a recording; removals change the fake tree like the kernel would."""

    def __init__(self, tree, headers, sems=None, fail=None):
        self.tree = tree
        self.headers = headers
        self.sems = sems or {}
        self.fail = fail or {}
        self.calls = []

    def shm_read(self, shmid, size):
        self.calls.append(("shm_read", shmid))
        if shmid not in self.headers:
            raise linux_ipc.IpcError("shmat(%d, SHM_RDONLY): Invalid argument" % shmid, errno.EINVAL)
        return self.headers[shmid][:size]

    def sem_value_and_pid(self, semid, semnum):
        self.calls.append(("semctl", semid, semnum))
        return self.sems[semid]

    def _maybe_fail(self, what):
        if what in self.fail:
            raise linux_ipc.IpcError("%s(%s): %s" % (what[0], what[1], os.strerror(self.fail[what])), self.fail[what])

    def shm_remove(self, shmid):
        self.calls.append(("shm_remove", shmid))
        self._maybe_fail(("shm_remove", shmid))
        self.tree.drop_row("shm", "shmid", shmid)

    def sem_remove(self, semid):
        self.calls.append(("sem_remove", semid))
        self._maybe_fail(("sem_remove", semid))
        self.tree.drop_row("sem", "semid", semid)

    def unlink(self, path):
        self.calls.append(("unlink", path))
        self._maybe_fail(("unlink", path))
        os.unlink(self.tree.path(path))

    def removed(self):
        return [c for c in self.calls if c[0] in ("shm_remove", "sem_remove", "unlink")]


class FakeTree:
    """A recording laid out under tmp_path/root."""

    def __init__(self, tmp_path, rec, pid_file="recorded", shm=None, sem="", procs=None):
        self.rec = rec
        self.root = str(tmp_path / "root")
        self.data = rec["data_directory"]
        self.write(self.data + "/PG_VERSION", rec["PG_VERSION"])
        text = rec["postmaster.pid"] if pid_file == "recorded" else pid_file
        if text is not None:
            self.write(self.data + "/postmaster.pid", text)
        self.write("/proc/sysvipc/shm", rec["proc_sysvipc_shm"] if shm is None else shm)
        self.write("/proc/sysvipc/sem", sem or "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n")
        self.overrides = {self.data: dict(st_dev=rec["dir_stat"]["st_dev"], st_ino=rec["dir_stat"]["st_ino"],
                                          st_uid=rec["dir_stat"]["st_uid"])}
        os.makedirs(self.path("/dev/shm"), exist_ok=True)
        for name, entry in rec["dev_shm"].items():
            path = "/dev/shm/" + name
            with open(self.path(path), "wb") as handle:
                if entry["content_b64"]:
                    handle.write(base64.b64decode(entry["content_b64"]))
                else:
                    handle.truncate(entry["size"])
            self.overrides[path] = dict(st_uid=entry["uid"])
        for pid, text in rec.get("maps_excerpts", {}).items():
            self.write("/proc/%s/maps" % pid, self.rewrite_maps(text))
            self.write("/proc/%s/comm" % pid, "postgres\n")
        for pid, files in (procs or {}).items():
            for name, content in files.items():
                if name in ("cwd", "exe") or name.startswith("fd/"):
                    os.makedirs(os.path.dirname(self.path("/proc/%s/%s" % (pid, name))), exist_ok=True)
                    # fd links are relative so that they resolve inside the fake root
                    target = os.path.relpath(self.path(content), os.path.dirname(self.path("/proc/%s/%s" % (pid, name)))) \
                        if name.startswith("fd/") else content
                    os.symlink(target, self.path("/proc/%s/%s" % (pid, name)))
                else:
                    self.write("/proc/%s/%s" % (pid, name), content)
        self.headers = dict((int(k), base64.b64decode(v)) for k, v in rec["shm_headers_b64"].items())
        self.files = FakeFiles(self.root, self.overrides)

    def path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def write(self, path, text):
        full = self.path(path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as handle:
            handle.write(text)

    def rewrite_maps(self, text):
        """Point recorded /dev/shm lines at the fake files (device and inode as the kernel would print them)."""
        lines = []
        for line in text.splitlines():
            fields = line.split(None, 5)
            path = fields[5].replace(" (deleted)", "")
            if path.startswith("/dev/shm/") and os.path.exists(self.path(path)):
                st = os.stat(self.path(path))
                fields[3] = "%02x:%02x" % (os.major(st.st_dev), os.minor(st.st_dev))
                fields[4] = str(st.st_ino)
            lines.append(" ".join(fields))
        return "\n".join(lines) + "\n"

    def drop_row(self, which, column, value):
        text = HostFiles(self.root).read("/proc/sysvipc/" + which)
        rows = text.splitlines()
        names = rows[0].split()
        kept = [r for r in rows[1:] if int(r.split()[names.index(column)]) != value]
        self.write("/proc/sysvipc/" + which, "\n".join([rows[0]] + kept) + "\n")

    def pid_file(self):
        text = self.files.read(self.data + "/postmaster.pid")
        return pm.parse_pid_file(text) if text is not None else None

    def snapshot(self, fake_ipc=None, version=None):
        version = version or VERSIONS[self.rec["PG_VERSION"].strip()]
        fake_ipc = fake_ipc or FakeIpc(self, self.headers)
        return ipc.gather(self.data, version, self.pid_file(), files=self.files, ipc=fake_ipc)


@pytest.fixture(autouse=True)
def users(monkeypatch):
    monkeypatch.setattr(ipc, "_user_name", lambda uid: USERS.get(uid, str(uid)))


def removed_names(plan):
    return [o.get("path") or "%s:%d" % (o["kind"], o["id"]) for o in plan.remove]


def dsm_files(rec, uid=None):
    return sorted("/dev/shm/" + n for n, e in rec["dev_shm"].items() if uid is None or e["uid"] == uid)


# ---------------------------------------------------------------- parsers


def test_parse_pid_file_recorded():
    pid_file = pm.parse_pid_file(recording("bookworm-pg15-killed-pidfile")["postmaster.pid"])
    assert pid_file == pm.PidFile(pid=540, single_user=False, data_directory="/var/lib/postgresql/15/main",
                                  start_time=1795616998, port=5432, socket_dir="/var/run/postgresql",
                                  listen_addr="localhost", shm_key=2081270, shm_id=3, status="ready")


def test_parse_pid_file_key_is_the_data_directory_inode_on_13_and_later():
    for name in ("bookworm-pg15-killed-pidfile", "trixie-pg17-running"):
        rec = recording(name)
        assert pm.parse_pid_file(rec["postmaster.pid"]).shm_key == rec["dir_stat"]["st_ino"]


@pytest.mark.parametrize("text, pid, single, key, shmid, status", [
    ("-4711\n/srv/pg\n", 4711, True, None, None, None),          # single-user backend, no shm line yet
    ("12\n/srv/pg\n1\n5432\n/tmp\n*\n  5432001     32769\n", 12, False, 5432001, 32769, None),  # 9.x: 7 lines
    ("12\n/srv/pg\n1\n5432\n/tmp\n*\n\nstarting\n", 12, False, None, None, "starting"),
])
def test_parse_pid_file_variants(text, pid, single, key, shmid, status):
    parsed = pm.parse_pid_file(text)
    assert (parsed.pid, parsed.single_user, parsed.shm_key, parsed.shm_id, parsed.status) == (
        pid, single, key, shmid, status)


@pytest.mark.parametrize("text", ["", "\n", "abc\n/srv\n", "--1\n"])
def test_parse_pid_file_garbled(text):
    with pytest.raises(pm.PidFileError):
        pm.parse_pid_file(text)


def test_parse_sysvipc_shm_recorded():
    rows = shmem.parse_sysvipc(recording("bookworm-pg15-killed-all-with-other")["proc_sysvipc_shm"])
    assert [(r["key"], r["shmid"], r["size"], r["nattch"], r["uid"], r["cpid"]) for r in rows] == [
        (2730549, 9, 56, 12, 101, 861), (2081270, 10, 56, 0, 101, 888)]


def test_parse_sysvipc_sem_recorded():
    rec = recording("bookworm-sysvipc-sem-pg-style")
    assert shmem.parse_sysvipc(rec["proc_sysvipc_sem"]) == [
        {"key": 2081271, "semid": 0, "perms": 600, "nsems": 17, "uid": 101, "gid": 103, "cuid": 101, "cgid": 103,
         "otime": 1795617213, "ctime": 1795617213}]
    assert (rec["last_getval"], rec["last_getpid"]) == (shmem.PG_SEMA_MAGIC, rec["creator_pid"])


def test_parse_sysvipc_empty_and_short_lines():
    assert shmem.parse_sysvipc("") == []
    assert shmem.parse_sysvipc("  key shmid\n  1\n x y\n 2 3\n") == [{"key": 2, "shmid": 3}]


@pytest.mark.parametrize("name, shmid, creator", [
    ("bookworm-pg15-killed-systemd", 1, 273),
    ("bookworm-pg15-killed-pidfile", 3, 540),
    ("trixie-pg17-killed-systemd", 1, 308),
    ("trixie-pg17-running", 1, 308),
])
def test_recorded_header_is_ours(name, shmid, creator):
    """PGShmemHeader read back live: magic, creatorPID = the postmaster, device/inode = stat(data dir)."""
    rec = recording(name)
    data = base64.b64decode(rec["shm_headers_b64"][str(shmid)])
    assert len(data) == 56 == shmem.header_size(VERSIONS["15"])
    header = shmem.parse_shmem_header(data, VERSIONS[rec["PG_VERSION"].strip()])
    assert header["magic"] == shmem.PG_SHMEM_MAGIC
    assert header["creator_pid"] == creator
    assert header["free_offset"] == 56
    assert "PostgreSQL.%d" % header["dsm_control"] in rec["dev_shm"]
    assert (header["device"], header["inode"]) == (rec["dir_stat"]["st_dev"], rec["dir_stat"]["st_ino"])
    assert shmem.header_is_ours(header, rec["dir_stat"]["st_dev"], rec["dir_stat"]["st_ino"])
    assert not shmem.header_is_ours(header, rec["dir_stat"]["st_dev"], rec["dir_stat"]["st_ino"] + 1)
    assert not shmem.header_is_ours(dict(header, magic=1), rec["dir_stat"]["st_dev"], rec["dir_stat"]["st_ino"])


def test_other_clusters_header_is_not_ours():
    rec = recording("bookworm-pg15-killed-all-with-other")
    header = shmem.parse_shmem_header(base64.b64decode(rec["shm_headers_b64"]["9"]), VERSIONS["15"])
    assert header["magic"] == shmem.PG_SHMEM_MAGIC and header["inode"] == 2730549
    assert not shmem.header_is_ours(header, 61, 2081270)


def test_header_layout_before_9_4_has_no_dsm_control():
    """9.2/9.3: magic, creatorPID, totalsize, freeoffset, index, device, inode (48 bytes on x86_64)."""
    data = struct.pack("@iiNNPQQ", shmem.PG_SHMEM_MAGIC, 77, 1 << 20, 48, 0, 2049, 12345)
    assert shmem.header_size(VERSIONS["9.3"]) == 48
    header = shmem.parse_shmem_header(data, VERSIONS["9.3"])
    assert (header["device"], header["inode"], header["dsm_control"]) == (2049, 12345, 0)
    assert shmem.parse_shmem_header(data[:40], VERSIONS["9.3"]) is None
    assert shmem.parse_shmem_header(None, VERSIONS["15"]) is None


@pytest.mark.parametrize("major, offset, size, main", [
    ("9.4", 12, 8, False), ("9.6", 12, 8, False),
    ("10", 16, 24, False), ("13", 16, 24, False),
    ("14", 16, 40, True), ("15", 16, 40, True), ("17", 16, 40, True), ("18", 16, 40, True),
])
def test_dsm_layout_by_version(major, offset, size, main):
    """dsm_control_item from src/backend/storage/ipc/dsm.c (x86_64 sizes)."""
    assert shmem.dsm_layout(VERSIONS[major])[:2] == (offset, size)
    assert shmem.dsm_layout(VERSIONS[major]).main_region_handles is main


def test_no_dsm_before_9_4():
    assert shmem.dsm_layout(VERSIONS["9.3"]) is None
    assert not shmem.parse_dsm_control(b"\0" * 64, VERSIONS["9.3"]).sane


@pytest.mark.parametrize("name, control, maxitems", [
    ("bookworm-pg15-killed-all-with-other", "PostgreSQL.4053052960", 674),
    ("trixie-pg17-killed-all-with-other", "PostgreSQL.1546615666", 679),
])
def test_recorded_control_segment(name, control, maxitems):
    """64 + 5 * MaxBackends items of 40 bytes after a 16-byte header: the file is exactly that size."""
    rec = recording(name)
    data = base64.b64decode(rec["dev_shm"][control]["content_b64"])
    version = VERSIONS[rec["PG_VERSION"].strip()]
    parsed = shmem.parse_dsm_control(data, version)
    assert parsed.sane and parsed.maxitems == maxitems and len(data) == 16 + 40 * maxitems
    handles = shmem.dsm_handles_to_destroy(parsed, version)
    # Every handle with a reference left is a file in /dev/shm; the pinned one is the 1 MB stats area.
    assert all("PostgreSQL.%d" % h in rec["dev_shm"] for h in handles)
    pinned = [i for i in parsed.items if i.pinned]
    assert len(pinned) == 1 and rec["dev_shm"]["PostgreSQL.%d" % pinned[0].handle]["size"] == 1048576


def test_recorded_control_segment_read_with_the_wrong_layout_is_not_sane():
    rec = recording("bookworm-pg15-killed-systemd")
    data = base64.b64decode(rec["dev_shm"]["PostgreSQL.1552814880"]["content_b64"])
    parsed = shmem.parse_dsm_control(data, VERSIONS["13"])
    assert not parsed.sane and "layout" in parsed.reason
    assert shmem.dsm_handles_to_destroy(parsed, VERSIONS["13"]) == []


def control_bytes(version, items, maxitems=4, magic=shmem.DSM_CONTROL_MAGIC):
    """A control segment as dsm.c lays it out for version: [(handle, refcnt)]."""
    layout = shmem.dsm_layout(VERSIONS[version])
    data = bytearray(layout.items_offset + layout.item_size * maxitems)
    struct.pack_into("@III", data, 0, magic, len(items), maxitems)
    for slot, (handle, refcnt) in enumerate(items):
        struct.pack_into("@II", data, layout.items_offset + slot * layout.item_size, handle, refcnt)
    return bytes(data)


@pytest.mark.parametrize("version, destroyed", [
    ("9.6", [11, 13, 21]),   # odd handles are ordinary segments before 14
    ("13", [11, 13, 21]),
    ("14", [12, 20]),        # 14+: odd = main-region pseudo-segment (is_main_region_dsm_handle)
    ("17", [12, 20]),
])
def test_handles_to_destroy_mirror_dsm_cleanup_using_control_segment(version, destroyed):
    items = [(11, 2), (12, 1), (13, 5), (14, 0), (20, 2), (21, 1)]
    parsed = shmem.parse_dsm_control(control_bytes(version, items, maxitems=8), VERSIONS[version])
    assert parsed.sane
    want = destroyed if version in ("14", "17") else [11, 12, 13, 20, 21]
    assert shmem.dsm_handles_to_destroy(parsed, VERSIONS[version]) == want


@pytest.mark.parametrize("data, reason", [
    (b"\x32\x3d", "too short"),
    (control_bytes("15", [(2, 2)], magic=0x12345678), "magic"),
    (control_bytes("15", [(2, 2)], maxitems=4)[:60], "do not fit"),
])
def test_insane_control_segments(data, reason):
    parsed = shmem.parse_dsm_control(data, VERSIONS["15"])
    assert not parsed.sane and reason in parsed.reason


def test_overfull_control_segment():
    data = bytearray(control_bytes("15", [], maxitems=2))
    struct.pack_into("@I", data, 4, 3)
    parsed = shmem.parse_dsm_control(bytes(data), VERSIONS["15"])
    assert not parsed.sane and "nitems 3 > maxitems 2" in parsed.reason


@pytest.mark.parametrize("handle, key", [(5, 5), (2 ** 31 - 1, 2 ** 31 - 1), (2 ** 32 - 1, 1), (2 ** 32 - 7, 7)])
def test_sysv_dsm_key(handle, key):
    """dsm_impl_sysv(): key = (key_t) handle; negative keys are negated."""
    assert shmem.sysv_dsm_key(handle) == key


def test_parse_maps_recorded():
    rec = recording("trixie-pg17-running")
    parsed = [shmem.parse_maps_line(line) for line in rec["maps_excerpts"]["308"].splitlines()]
    assert (0, 1, 1, "/SYSV002665c0") in parsed         # inode = shmid, path = key in hex
    assert any(p[3] == "/dev/shm/PostgreSQL.296952784" for p in parsed)
    assert shmem.parse_maps_line("garbage") is None
    assert shmem.parse_maps_line("a b c zz:zz 1 /x") is None


def test_mappers_by_device_and_inode():
    maps = {7: "7f-7f rw-s 00000000 00:49 2 /dev/shm/PostgreSQL.1\n"
               "7f-7f rw-s 00000000 00:01 5 /SYSV001fc1f6 (deleted)\n"
               "7f-7f r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6\n"}
    files, sysv = shmem.mappers(maps, {8: [(0, 73, 2)]})
    assert files == {(0, 0x49, 2): {7, 8}}
    assert sysv == {5: {7}}


@pytest.mark.parametrize("argv, directory", [
    (["/usr/lib/postgresql/17/bin/postgres", "-D", "/var/lib/postgresql/17/main", "-c", "x=y"],
     "/var/lib/postgresql/17/main"),
    (["postgres", "-D/srv/pg"], "/srv/pg"),
    (["postgres", "--pgdata=/srv/pg"], "/srv/pg"),
    (["postgres", "--single"], None),
])
def test_parse_cmdline_data_dir(argv, directory):
    assert pm.parse_cmdline_data_dir(argv) == directory


# ---------------------------------------------------------------- the postmaster


def proc(tree_root_data, comm="postgres", cwd=True, cmdline=True, exe="/usr/lib/postgresql/17/bin/postgres"):
    files = {"comm": comm + "\n"}
    if cwd:
        files["cwd"] = tree_root_data if cwd is True else cwd
    if cmdline:
        files["cmdline"] = "\0".join([exe, "-D", tree_root_data if cmdline is True else cmdline]) + "\0"
    if exe:
        files["exe"] = exe
    return files


def test_running_postmaster_is_refused(tmp_path):
    """trixie, postgresql@17-main running; /proc/308 as seen live (comm postgres, cwd = data directory)."""
    rec = recording("trixie-pg17-running")
    tree = FakeTree(tmp_path, rec, procs={308: proc(rec["data_directory"])})
    fake_ipc = FakeIpc(tree, tree.headers)
    snapshot = tree.snapshot(fake_ipc)
    assert snapshot.postmaster.state == "running"
    result = ipc.plan(snapshot)
    assert result.state == "running" and result.remove == []
    assert "postmaster pid 308" in result.msg and "/var/lib/postgresql/17/main" in result.msg
    assert fake_ipc.calls == []                      # nothing attached, nothing scanned


@pytest.mark.parametrize("files, state", [
    ({"comm": "bash\n", "exe": "/usr/bin/bash"}, "reused"),
    (dict(comm="postgres\n", cwd="/var/lib/postgresql/17/other"), "reused"),
    (dict(comm="postgres\n", cmdline="postgres\0-D\0/var/lib/postgresql/17/other\0"), "reused"),
    (dict(comm="postgres\n", cmdline="postgres\0-D\0/var/lib/postgresql/17/main\0"), "running"),
    (dict(comm="postgres\n"), "unknown"),             # cwd and -D unreadable: assume it runs
    (dict(comm="postmaster\n", cwd="/var/lib/postgresql/17/main"), "running"),
    (dict(comm="x\n", exe="/usr/lib/postgresql/17/bin/postgres (deleted)", cwd="/var/lib/postgresql/17/main"),
     "running"),
])
def test_check_postmaster(tmp_path, files, state):
    rec = recording("trixie-pg17-running")
    tree = FakeTree(tmp_path, rec, procs={4242: files})
    os.makedirs(tree.path("/var/lib/postgresql/17/other"))
    assert pm.check_postmaster(tree.files, 4242, rec["data_directory"]).state == state


def test_check_postmaster_dead(tmp_path):
    tree = FakeTree(tmp_path, recording("trixie-pg17-running"))
    assert pm.check_postmaster(tree.files, 999999, tree.data) == pm.Postmaster("dead", "no process 999999")
    assert pm.check_postmaster(tree.files, 0, tree.data).state == "dead"


# ---------------------------------------------------------------- plans from recordings


@pytest.mark.parametrize("name, shmid, control, pinned", [
    ("bookworm-pg15-killed-systemd", 1, "/dev/shm/PostgreSQL.1552814880", "/dev/shm/PostgreSQL.3566842320"),
    ("trixie-pg17-killed-systemd", 1, "/dev/shm/PostgreSQL.296952784", "/dev/shm/PostgreSQL.1171504516"),
])
def test_killed_under_systemd_without_pid_file(tmp_path, name, shmid, control, pinned):
    """Debian's pg_ctlcluster removed postmaster.pid (ExecStop after the crash); the segment is still found."""
    rec = recording(name)
    tree = FakeTree(tmp_path, rec)
    assert tree.pid_file() is None
    result = ipc.plan(tree.snapshot())
    assert result.state == "removed"
    assert removed_names(result) == [pinned, control, "sysv_shm:%d" % shmid]
    assert [o["role"] for o in result.remove] == ["dsm segment", "dsm control segment", "interlock segment"]
    assert result.unattributed == []
    assert any("pg_ctlcluster" in n for n in result.notes)


@pytest.mark.parametrize("name, shmid, pid", [
    ("bookworm-pg15-killed-pidfile", 3, 540),
    ("trixie-pg17-killed-pidfile-with-other", 8, 691),
])
def test_killed_with_pid_file(tmp_path, name, shmid, pid):
    rec = recording(name)
    tree = FakeTree(tmp_path, rec)
    result = ipc.plan(tree.snapshot())
    assert result.state == "removed" and result.unattributed == []
    assert removed_names(result)[-1] == "sysv_shm:%d" % shmid
    assert len(result.remove) == 3
    assert "dead postmaster pid %d" % pid in result.msg


@pytest.mark.parametrize("name, ours, theirs_shmid", [
    ("bookworm-pg15-killed-all-with-other",
     ["/dev/shm/PostgreSQL.1429153772", "/dev/shm/PostgreSQL.2067957456", "/dev/shm/PostgreSQL.2756904648",
      "/dev/shm/PostgreSQL.3760423832", "/dev/shm/PostgreSQL.41575588", "/dev/shm/PostgreSQL.4053052960"], 9),
    ("trixie-pg17-killed-all-with-other",
     ["/dev/shm/PostgreSQL.1546615666", "/dev/shm/PostgreSQL.2170380444", "/dev/shm/PostgreSQL.276721594",
      "/dev/shm/PostgreSQL.2914912802", "/dev/shm/PostgreSQL.844564914", "/dev/shm/PostgreSQL.957175486"], 7),
])
def test_killed_all_at_once_next_to_a_running_cluster(tmp_path, name, ours, theirs_shmid):
    """Parallel-query segments left with refcnt > 0 go; the other cluster's segments and files stay."""
    rec = recording(name)
    tree = FakeTree(tmp_path, rec)
    result = ipc.plan(tree.snapshot())
    assert result.state == "removed"
    paths = [o["path"] for o in result.remove if o["kind"] == "posix_shm"]
    assert sorted(paths) == sorted(ours)
    assert paths[-1] == [p for p in ours if o_is_control(result, p)][0]      # control segment last of the DSM
    assert [o["id"] for o in result.remove if o["kind"] == "sysv_shm"] == [10]
    assert theirs_shmid not in [o.get("id") for o in result.remove]
    assert result.unattributed == []


def o_is_control(result, path):
    return [o for o in result.remove if o.get("path") == path][0]["role"] == "dsm control segment"


def test_orphaned_backends_refuse(tmp_path):
    """The dead postmaster's backends still attached: nattch and their pids are named."""
    rec = recording("bookworm-pg15-killed-pidfile")
    shm = rec["proc_sysvipc_shm"].replace("  0   101", "  2   101")
    maps = "7f-7f rw-s 00000000 00:01 3 /SYSV001fc1f6 (deleted)\n"
    tree = FakeTree(tmp_path, rec, shm=shm, procs={566: {"maps": maps}, 567: {"maps": maps}})
    result = ipc.plan(tree.snapshot())
    assert result.state == "in_use" and result.remove == []
    assert "nattch 2 (pids 566, 567)" in result.msg and "(key 2081270, ID 3)" in result.msg
    assert "dead postmaster (pid 540)" in result.msg


def test_reused_pid_is_not_running(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec, procs={540: {"comm": "sshd\n", "exe": "/usr/sbin/sshd"}})
    snapshot = tree.snapshot()
    assert snapshot.postmaster.state == "reused"
    assert ipc.plan(snapshot).state == "removed"


def test_foreign_segment_with_the_recorded_shmid_is_left(tmp_path):
    """shmid from postmaster.pid reused by another data directory: not ours, and the DSM files are unattributed."""
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec)
    other = recording("bookworm-pg15-killed-all-with-other")["shm_headers_b64"]["9"]
    fake_ipc = FakeIpc(tree, {3: base64.b64decode(other)})
    result = ipc.plan(tree.snapshot(fake_ipc))
    assert result.state == "nothing_stale" and result.remove == []
    assert any("belongs to something else" in n for n in result.notes)
    assert sorted(o["path"] for o in result.unattributed) == dsm_files(rec)
    assert all("cannot be attributed" in o["reason"] for o in result.unattributed)


def test_segment_gone_leaves_files_unattributed(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    shm = rec["proc_sysvipc_shm"].splitlines()[0] + "\n"
    tree = FakeTree(tmp_path, rec, shm=shm)
    result = ipc.plan(tree.snapshot())
    assert result.state == "nothing_stale" and result.remove == []
    assert sorted(o["path"] for o in result.unattributed) == dsm_files(rec)
    assert "SysV segment shmid 3 (key 2081270) is already gone" in result.notes


def test_unattributed_files_skip_mapped_and_foreign_ones(tmp_path):
    rec = recording("bookworm-pg15-killed-all-with-other")
    shm = rec["proc_sysvipc_shm"].replace("2081270         10", "2081270         11")   # our segment is gone
    tree = FakeTree(tmp_path, rec, shm=shm)
    result = ipc.plan(tree.snapshot())
    listed = sorted(o["path"] for o in result.unattributed)
    # the running cluster's files that some process maps are not even listed
    assert "/dev/shm/PostgreSQL.2183045848" not in listed and "/dev/shm/PostgreSQL.4053052960" in listed
    assert result.remove == []


def test_header_unreadable(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec)
    result = ipc.plan(tree.snapshot(FakeIpc(tree, {})))
    assert result.state == "nothing_stale"
    kinds = sorted(o["kind"] for o in result.unattributed)
    assert kinds == ["posix_shm", "posix_shm", "sysv_shm"]
    assert "header cannot be read" in [o for o in result.unattributed if o["kind"] == "sysv_shm"][0]["reason"]


def test_header_unreadable_and_attached_refuses(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec, shm=rec["proc_sysvipc_shm"].replace("  0   101", "  1   101"))
    result = ipc.plan(tree.snapshot(FakeIpc(tree, {})))
    assert result.state == "in_use" and "cannot be read" in result.msg


def test_dsm_file_mapped_by_another_process_stays(tmp_path):
    """A handle the dead control segment lists but a live process maps (e.g. another cluster's): left alone."""
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec, procs={4711: {"fd/9": "/dev/shm/PostgreSQL.2955568080", "comm": "postgres\n"}})
    result = ipc.plan(tree.snapshot())
    assert removed_names(result) == ["/dev/shm/PostgreSQL.4035623576", "sysv_shm:3"]
    assert [(o["path"], "pid 4711" in o["reason"]) for o in result.unattributed] == [
        ("/dev/shm/PostgreSQL.2955568080", True)]


def test_dsm_file_of_another_owner_stays(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    rec["dev_shm"]["PostgreSQL.2955568080"]["uid"] = 0
    tree = FakeTree(tmp_path, rec)
    result = ipc.plan(tree.snapshot())
    assert [o["path"] for o in result.unattributed] == ["/dev/shm/PostgreSQL.2955568080"]
    assert "owned by 0" in result.unattributed[0]["reason"]


def test_insane_control_segment_is_left_like_postgresql_does(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec)
    snapshot = tree.snapshot(version=VERSIONS["13"])        # wrong item layout for these bytes
    result = ipc.plan(snapshot)
    assert removed_names(result) == ["sysv_shm:3"]
    assert any("not sane" in n for n in result.notes)
    assert sorted(o["path"] for o in result.unattributed) == dsm_files(rec)


def test_control_segment_already_gone(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    del rec["dev_shm"]["PostgreSQL.4035623576"]
    tree = FakeTree(tmp_path, rec)
    result = ipc.plan(tree.snapshot())
    assert removed_names(result) == ["sysv_shm:3"]
    assert [o["path"] for o in result.unattributed] == ["/dev/shm/PostgreSQL.2955568080"]
    assert any("neither /dev/shm/PostgreSQL.4035623576 nor a SysV segment" in n for n in result.notes)


def test_dsm_item_already_gone_is_a_note(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    del rec["dev_shm"]["PostgreSQL.2955568080"]
    tree = FakeTree(tmp_path, rec)
    result = ipc.plan(tree.snapshot())
    assert removed_names(result) == ["/dev/shm/PostgreSQL.4035623576", "sysv_shm:3"]
    assert "dsm segment /dev/shm/PostgreSQL.2955568080 is already gone" in result.notes


def test_no_dsm_control_in_header(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec)
    header = bytearray(tree.headers[3])
    struct.pack_into("@I", header, 24, 0)
    result = ipc.plan(tree.snapshot(FakeIpc(tree, {3: bytes(header)})))
    assert removed_names(result) == ["sysv_shm:3"]
    assert "names no dynamic shared memory control segment" in result.notes[0]


def test_pid_file_without_shm_line(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    text = "\n".join(rec["postmaster.pid"].splitlines()[:6]) + "\n"
    tree = FakeTree(tmp_path, rec, pid_file=text)
    result = ipc.plan(tree.snapshot())
    assert result.state == "nothing_stale"
    assert "no shared memory key line" in result.notes[0]


def test_clean_stop_reads_only_proc_sysvipc_shm(tmp_path):
    """No postmaster.pid, only another cluster's attached segment: nothing attached, /proc not scanned."""
    rec = recording("bookworm-pg15-killed-all-with-other")
    shm = "\n".join(line for line in rec["proc_sysvipc_shm"].splitlines() if "2081270" not in line) + "\n"
    tree = FakeTree(tmp_path, rec, pid_file=None, shm=shm)
    fake_ipc = FakeIpc(tree, tree.headers)
    result = ipc.plan(tree.snapshot(fake_ipc))
    assert result.state == "clean_stop" and result.remove == [] and result.unattributed == []
    assert fake_ipc.calls == []
    assert tree.files.reads == ["/proc/sysvipc/shm", tree.data + "/postmaster.pid"] or \
        tree.files.reads == [tree.data + "/postmaster.pid", "/proc/sysvipc/shm"]


def test_clean_stop_ignores_unattached_foreign_segments(tmp_path):
    """Another stopped cluster's stale segment (same owner) is looked at but not taken."""
    rec = recording("bookworm-pg15-killed-all-with-other")
    shm = rec["proc_sysvipc_shm"].replace("  12   101", "   0   101")
    shm = "\n".join(line for line in shm.splitlines() if "2081270" not in line) + "\n"
    tree = FakeTree(tmp_path, rec, pid_file=None, shm=shm)
    fake_ipc = FakeIpc(tree, tree.headers)
    result = ipc.plan(tree.snapshot(fake_ipc))
    assert result.state == "clean_stop"
    assert fake_ipc.calls == [("shm_read", 9)]


def test_no_pid_file_but_segment_attached_is_not_taken(tmp_path):
    """Without postmaster.pid only unattached segments are examined (a running one is always attached)."""
    rec = recording("trixie-pg17-running")
    tree = FakeTree(tmp_path, rec, pid_file=None)
    assert ipc.plan(tree.snapshot()).state == "clean_stop"


def test_no_pid_file_and_creator_alive_in_the_directory_refuses(tmp_path):
    rec = recording("bookworm-pg15-killed-systemd")
    tree = FakeTree(tmp_path, rec, procs={273: proc(rec["data_directory"])})
    assert ipc.plan(tree.snapshot()).state == "running"


# ---------------------------------------------------------------- SysV semaphores and SysV DSM


SEM_HEADER = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"


def sem_text():
    """The recorded set (key 2081271, semid 0, 17 semaphores, postgres) plus a root-owned one and another."""
    rec = recording("bookworm-sysvipc-sem-pg-style")
    return (rec["proc_sysvipc_sem"]
            + "   2081272          1   600         17   101   103   101   103 1795617213 1795617213\n"
            + "   2081273          2   600         17     0     0     0     0 1795617213 1795617213\n")


def test_semaphore_sets_of_the_dead_postmaster(tmp_path):
    """Last semaphore = PGSemaMagic and sempid = the pid in postmaster.pid (sysv_sema.c)."""
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec, sem=sem_text())
    sems = {0: (537, 540), 1: (537, 541), 2: (537, 540)}
    fake_ipc = FakeIpc(tree, tree.headers, sems)
    result = ipc.plan(tree.snapshot(fake_ipc))
    assert removed_names(result)[-1] == "sysv_sem:0"
    assert [o for o in result.remove if o["kind"] == "sysv_sem"] == [
        {"kind": "sysv_sem", "id": 0, "key": 2081271, "size": 17, "owner": "postgres", "role": "semaphore set"}]
    assert ("semctl", 0, 16) in fake_ipc.calls and ("semctl", 2, 16) not in fake_ipc.calls   # root's not read


def test_semaphore_set_without_magic_stays(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec, sem=sem_text())
    result = ipc.plan(tree.snapshot(FakeIpc(tree, tree.headers, {0: (536, 540), 1: (0, 0)})))
    assert not [o for o in result.remove if o["kind"] == "sysv_sem"]


def test_semaphores_when_the_pid_is_reused_stay(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec, sem=sem_text(), procs={540: {"comm": "sshd\n"}})
    result = ipc.plan(tree.snapshot(FakeIpc(tree, tree.headers, {0: (537, 540), 1: (0, 0)})))
    assert [o["id"] for o in result.unattributed if o["kind"] == "sysv_sem"] == [0]
    assert "kill(pid, 0)" in result.unattributed[0]["reason"]
    assert "sysv_shm:3" in removed_names(result)


def test_semaphores_without_pid_file_use_the_header_creator(tmp_path):
    rec = recording("bookworm-pg15-killed-systemd")      # creatorPID 273 in the header
    tree = FakeTree(tmp_path, rec, sem=sem_text())
    result = ipc.plan(tree.snapshot(FakeIpc(tree, tree.headers, {0: (537, 273), 1: (537, 9)})))
    assert [o["id"] for o in result.remove if o["kind"] == "sysv_sem"] == [0]


def test_semaphore_read_failure_is_skipped(tmp_path):
    rec = recording("bookworm-pg15-killed-pidfile")
    tree = FakeTree(tmp_path, rec, sem=sem_text())

    class Failing(FakeIpc):
        def sem_value_and_pid(self, semid, semnum):
            raise linux_ipc.IpcError("semctl: Permission denied", errno.EACCES)

    result = ipc.plan(tree.snapshot(Failing(tree, tree.headers)))
    assert not [o for o in result.remove if o["kind"] == "sysv_sem"]


def test_sysv_dynamic_shared_memory(tmp_path):
    """dynamic_shared_memory_type = sysv: control and items are SysV segments keyed by handle."""
    rec = recording("bookworm-pg15-killed-pidfile")
    rec["dev_shm"] = {}
    header = bytearray(base64.b64decode(rec["shm_headers_b64"]["3"]))
    control_handle, item, busy, main_region = 4035623576, 1804289382, 1681692778, 1714636915
    struct.pack_into("@I", header, 24, control_handle)
    control = control_bytes("15", [(item, 2), (busy, 2), (main_region, 2)])
    shm = rec["proc_sysvipc_shm"] + "".join(
        "%10d %10d   600 %21d   540   570 %6d   101   103   101   103 0 0 0 0 0\n" % (key, shmid, size, nattch)
        for key, shmid, size, nattch in [(shmem.sysv_dsm_key(control_handle), 20, len(control), 0),
                                         (shmem.sysv_dsm_key(item), 21, 65536, 0),
                                         (shmem.sysv_dsm_key(busy), 22, 65536, 1)])
    tree = FakeTree(tmp_path, rec, shm=shm)
    result = ipc.plan(tree.snapshot(FakeIpc(tree, {3: bytes(header), 20: control})))
    assert [(o["id"], o["role"]) for o in result.remove] == [
        (21, "dsm segment"), (20, "dsm control segment"), (3, "interlock segment")]
    assert [(o["id"], "nattch 1" in o["reason"]) for o in result.unattributed] == [(22, True)]


def test_main_area_in_sysv_is_named_so(tmp_path):
    """shared_memory_type = sysv (or 9.2): the whole area is the segment; same header at offset 0."""
    rec = recording("bookworm-pg15-killed-pidfile")
    shm = rec["proc_sysvipc_shm"].replace("  56   540", "  149520384   540")
    tree = FakeTree(tmp_path, rec, shm=shm)
    result = ipc.plan(tree.snapshot())
    assert result.remove[-1]["role"] == "main shared memory segment"


# ---------------------------------------------------------------- execute and describe


def test_execute_in_order_and_already_gone(tmp_path):
    rec = recording("bookworm-pg15-killed-all-with-other")
    tree = FakeTree(tmp_path, rec)
    result = ipc.plan(tree.snapshot())
    fake_ipc = FakeIpc(tree, tree.headers, fail={("unlink", "/dev/shm/PostgreSQL.41575588"): errno.ENOENT})
    removed, gone, errors = ipc.execute(result.remove, fake_ipc)
    assert errors == [] and [o["path"] for o in gone] == ["/dev/shm/PostgreSQL.41575588"]
    assert len(removed) == 6
    assert fake_ipc.removed()[-1] == ("shm_remove", 10)
    assert not os.path.exists(tree.path("/dev/shm/PostgreSQL.4053052960"))
    assert os.path.exists(tree.path("/dev/shm/PostgreSQL.2183045848"))      # the other cluster's control
    assert "2081270" not in HostFiles(tree.root).read("/proc/sysvipc/shm")


def test_execute_errors_are_collected():
    class Refusing:
        def shm_remove(self, shmid):
            raise linux_ipc.IpcError("shmctl(%d, IPC_RMID): Operation not permitted" % shmid, errno.EPERM)

        def sem_remove(self, semid):
            raise linux_ipc.IpcError("semctl: Invalid argument", errno.EINVAL)

    objects = [{"kind": "sysv_shm", "id": 3, "key": 7, "size": 56, "owner": "postgres", "role": "interlock segment"},
               {"kind": "sysv_sem", "id": 4, "key": 8, "size": 17, "owner": "postgres", "role": "semaphore set"}]
    removed, gone, errors = ipc.execute(objects, Refusing())
    assert removed == [] and gone == [objects[1]]
    assert errors == ["sysv_shm key 7 shmid 3 (interlock segment, 56 bytes, owner postgres): "
                      "shmctl(3, IPC_RMID): Operation not permitted"]


def test_describe_and_diff_text():
    objects = [{"kind": "posix_shm", "path": "/dev/shm/PostgreSQL.1", "handle": 1, "size": 26976, "owner": "postgres",
                "role": "dsm control segment"},
               {"kind": "sysv_sem", "id": 0, "key": 9, "size": 17, "owner": "postgres", "reason": "left alone"}]
    assert ipc.diff_text(objects) == (
        "posix_shm /dev/shm/PostgreSQL.1 (dsm control segment, 26976 bytes, owner postgres)\n"
        "sysv_sem key 9 semid 0 (set, 17 semaphores, owner postgres): left alone\n")


def test_linux_ipc_reads_fail_cleanly_for_a_missing_segment():
    """The real ctypes layer: shmat of an id that does not exist fails with EINVAL, nothing is attached."""
    if not os.path.exists("/proc/sysvipc/shm"):
        pytest.skip("no SysV IPC here")
    with pytest.raises(linux_ipc.IpcError) as info:
        linux_ipc.LinuxIpc().shm_read(2 ** 31 - 2, 56)
    assert info.value.errno in (errno.EINVAL, errno.EIDRM, errno.EACCES)
