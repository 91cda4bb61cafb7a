# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stale IPC of a PostgreSQL cluster after an unclean stop (Linux).

Entry points:
  gather(data_directory, version, files=None, ipc=None) -> Snapshot
  plan(snapshot) -> Plan          (pure: what to remove, what to leave, or refuse)
  execute(plan, ipc) -> (removed, errors)

Everything that decides is a pure function of recorded text and bytes
(postmaster.pid, /proc/sysvipc/shm and sem, /proc/<pid>/maps, the SysV
interlock header, the dynamic shared memory control segment; their parsers
are in pg_shmem.py, the postmaster.pid parser and liveness test in
postmaster.py). The thin OS layer (linux_ipc.LinuxIpc: shmat/shmdt/shmctl/
semctl through ctypes, unlink) is kept apart so the decisions can be unit
tested without a kernel.

SIGKILL of the postmaster leaves its IPC behind (docs/postgres-kernel-facts.md §6); on Debian the
unit's ExecStop (pg_ctlcluster) then deletes the stale postmaster.pid, so
without one the owner's unattached segments are examined too.

The rules mirror what PostgreSQL does itself at the next start, so this
never removes more than the server would:

- src/backend/utils/init/miscinit.c (CreateLockFile): the key and id on line 7
  of postmaster.pid name the old SysV segment; PGSharedMemoryIsInUse() decides.
- src/backend/port/sysv_shmem.c (PGSharedMemoryAttach): a segment is "ours"
  when its PGShmemHeader has PGShmemMagic and the data directory's st_dev and
  st_ino; ours and shm_nattch == 0 is removed (IPC_RMID), ours and attached is
  FATAL "pre-existing shared memory block ... is still in use" (docs/postgres-kernel-facts.md §1).
  Before removing it, PGSharedMemoryCreate() calls
  dsm_cleanup_using_control_segment(oldhdr->dsm_control).
- src/backend/storage/ipc/dsm.c (dsm_cleanup_using_control_segment): a sane
  control segment's items with refcnt != 0 are destroyed, then the control
  segment; from 14 on, odd handles live in the main region and are skipped
  (is_main_region_dsm_handle). An insane control segment is left alone.
- src/backend/storage/ipc/dsm_impl.c: POSIX segments are /dev/shm/PostgreSQL.<handle>
  (shm_open("/PostgreSQL.%u")); SysV ones use key (key_t) handle, negated if < 1.
- src/backend/port/sysv_sema.c (IpcSemaphoreCreate): a set whose last
  semaphore holds PGSemaMagic (537) and whose sempid names a dead process is
  a dead postmaster's; Linux builds of 10+ use unnamed POSIX semaphores in the
  main area instead (docs/postgres-kernel-facts.md §2), so there is nothing to find there.

Facts: docs/postgres-kernel-facts.md, cited by section number.
"""

from __future__ import annotations

import errno
import os
import pwd
from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils import linux_ipc
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.linux_ipc import IpcError
from ansible_collections.pghost.hardening.plugins.module_utils.pg_shmem import (
    PG_SEMA_MAGIC,
    POSIX_DSM_DIR,
    POSIX_DSM_PREFIX,
    dsm_handles_to_destroy,
    header_is_ours,
    header_size,
    mappers,
    parse_dsm_control,
    parse_shmem_header,
    parse_sysvipc,
    posix_dsm_path,
    sysv_dsm_key,
)
from ansible_collections.pghost.hardening.plugins.module_utils.postmaster import Postmaster, check_postmaster


# ---------------------------------------------------------------------------
# The snapshot and the decision
# ---------------------------------------------------------------------------

Snapshot = namedtuple("Snapshot", [
    "data_directory",   # as given
    "version",          # VersionInfo
    "dir_dev", "dir_ino", "owner_uid",
    "pid_file",         # PidFile, or None when postmaster.pid is gone
    "postmaster",       # Postmaster (for the pid in postmaster.pid, else the creatorPID of a stale header)
    "shm",              # parse_sysvipc(/proc/sysvipc/shm)
    "sem",              # parse_sysvipc(/proc/sysvipc/sem), each row + "magic_value", "magic_pid" (None: unread)
    "headers",          # {shmid: bytes} of the SysV segments examined
    "header_errors",    # {shmid: why its header could not be read}
    "dsm",              # {control handle: (impl "posix"/"sysv"/None, bytes or None, error or None)}
    "posix_files",      # [{path, handle, size, uid, major, minor, inode}] of /dev/shm/PostgreSQL.*
    "file_users",       # {(major, minor, inode): {pid}}
    "sysv_users",       # {shmid: {pid}}
    "users",            # {uid: name}
])

Plan = namedtuple("Plan", ["state", "remove", "unattributed", "msg", "notes"])
# state: "running" or "in_use" (refuse; msg says why), "removed" (remove is not
# empty), "nothing_stale" (postmaster.pid is stale, nothing is left) or
# "clean_stop" (no postmaster.pid and no stale segment of the data directory).


def _owner(snapshot, uid):
    return snapshot.users.get(uid, str(uid))


def _pids(pids):
    return ", ".join(str(p) for p in sorted(pids))


def describe(obj):
    """One line for an IPC object, as the diff and messages show it."""
    if obj["kind"] == "posix_shm":
        text = "posix_shm %s (%s, %d bytes, owner %s)" % (
            obj["path"], obj.get("role", "segment"), obj.get("size") or 0, obj.get("owner"))
    elif obj["kind"] == "sysv_shm":
        text = "sysv_shm key %d shmid %d (%s, %d bytes, owner %s)" % (
            obj["key"], obj["id"], obj.get("role", "segment"), obj.get("size") or 0, obj.get("owner"))
    else:
        text = "sysv_sem key %d semid %d (%s, %d semaphores, owner %s)" % (
            obj["key"], obj["id"], obj.get("role", "set"), obj.get("size") or 0, obj.get("owner"))
    if obj.get("reason"):
        text += ": " + obj["reason"]
    return text


def _shm_object(snapshot, row, role):
    return {"kind": "sysv_shm", "id": row["shmid"], "key": row["key"], "size": row["size"],
            "owner": _owner(snapshot, row["uid"]), "role": role}


def _file_object(snapshot, entry, role):
    return {"kind": "posix_shm", "path": entry["path"], "handle": entry["handle"], "size": entry["size"],
            "owner": _owner(snapshot, entry["uid"]), "role": role}


def _file_users(snapshot, entry):
    return snapshot.file_users.get((entry["major"], entry["minor"], entry["inode"]), set())


def _unmapped_owned_files(snapshot, seen=()):
    """/dev/shm/PostgreSQL.* of the data directory's owner that no process maps or holds open."""
    found = []
    for entry in snapshot.posix_files:
        if entry["uid"] == snapshot.owner_uid and not _file_users(snapshot, entry) and entry["path"] not in seen:
            obj = _file_object(snapshot, entry, "dsm segment?")
            obj["reason"] = "cannot be attributed to this data directory exactly; left alone"
            found.append(obj)
    return found


def _dsm_segment(snapshot, impl, handle, role, remove, unattributed, notes):
    """Queue one DSM segment (POSIX file, or SysV segment with dynamic_shared_memory_type
    = sysv) if it is safe to remove; otherwise say why not."""
    if impl == "sysv":
        key = sysv_dsm_key(handle)
        rows = [r for r in snapshot.shm if r["key"] == key]
        if not rows:
            notes.append("%s %d (SysV key %d) is already gone" % (role, handle, key))
            return
        for row in rows:
            obj = _shm_object(snapshot, row, role)
            users = snapshot.sysv_users.get(row["shmid"], set())
            if row["uid"] != snapshot.owner_uid:
                obj["reason"] = "owned by %s, not by the data directory's owner; left alone" % obj["owner"]
                unattributed.append(obj)
            elif row["nattch"] or users:
                obj["reason"] = "still attached (nattch %d%s); left alone" % (
                    row["nattch"], ", pids " + _pids(users) if users else "")
                unattributed.append(obj)
            else:
                remove.append(obj)
        return
    path = posix_dsm_path(handle)
    entries = [e for e in snapshot.posix_files if e["path"] == path]
    if not entries:
        notes.append("%s %s is already gone" % (role, path))
        return
    entry = entries[0]
    obj = _file_object(snapshot, entry, role)
    users = _file_users(snapshot, entry)
    if entry["uid"] != snapshot.owner_uid:
        obj["reason"] = "owned by %s, not by the data directory's owner; left alone" % obj["owner"]
        unattributed.append(obj)
    elif users:
        obj["reason"] = "mapped or open by pid %s (another cluster?); left alone" % _pids(users)
        unattributed.append(obj)
    else:
        remove.append(obj)


def _plan_dsm(snapshot, header, remove, unattributed, notes):
    """dsm_cleanup_using_control_segment(header->dsm_control), with the extra in-use checks.
    Returns False when the DSM segments cannot be attributed."""
    handle = header.get("dsm_control") or 0
    if not handle:
        notes.append("the segment header names no dynamic shared memory control segment")
        return True
    impl, data, error = snapshot.dsm.get(handle, (None, None, "not examined"))
    if data is None:
        notes.append("DSM control segment %d: %s" % (handle, error or "not found"))
        return False
    control = parse_dsm_control(data, snapshot.version)
    if not control.sane:
        # dsm_cleanup_using_control_segment() detaches and leaves everything.
        notes.append("DSM control segment %d is not sane (%s); PostgreSQL would leave it and its segments too"
                     % (handle, control.reason))
        return False
    for item_handle in dsm_handles_to_destroy(control, snapshot.version):
        _dsm_segment(snapshot, impl, item_handle, "dsm segment", remove, unattributed, notes)
    _dsm_segment(snapshot, impl, handle, "dsm control segment", remove, unattributed, notes)
    return True


def _plan_semaphores(snapshot, pids, remove, unattributed):
    for row in snapshot.sem:
        if row.get("uid") != snapshot.owner_uid:
            continue
        if row.get("magic_value") != PG_SEMA_MAGIC or row.get("magic_pid") not in pids:
            continue
        obj = {"kind": "sysv_sem", "id": row["semid"], "key": row["key"], "size": row["nsems"],
               "owner": _owner(snapshot, row["uid"]), "role": "semaphore set"}
        if snapshot.postmaster.state == "dead":
            remove.append(obj)
        else:
            obj["reason"] = ("its creator pid %d is alive as another process; PostgreSQL's own test "
                             "(kill(pid, 0)) would keep it too; left alone" % row["magic_pid"])
            unattributed.append(obj)


def _segments(snapshot, notes):
    """The SysV rows to examine: the one postmaster.pid names, or without it the
    owner's unattached segments gather() read a header of."""
    pid_file = snapshot.pid_file
    if pid_file is None:
        return [r for r in snapshot.shm if r["shmid"] in snapshot.headers or r["shmid"] in snapshot.header_errors]
    if pid_file.shm_id is None:
        notes.append("postmaster.pid has no shared memory key line (the server died before creating it)")
        return []
    rows = [r for r in snapshot.shm if r["shmid"] == pid_file.shm_id]
    if not rows:
        notes.append("SysV segment shmid %d (key %d) is already gone" % (pid_file.shm_id, pid_file.shm_key))
    return rows


def plan(snapshot):
    """Decide from a Snapshot; pure. See the module docstring for the rules mirrored."""
    pid_file = snapshot.pid_file
    remove, unattributed, notes = [], [], []

    if snapshot.postmaster.state in ("running", "unknown"):
        msg = ("PostgreSQL is running in %s: %s; refusing to touch its IPC"
               % (snapshot.data_directory, snapshot.postmaster.detail))
        return Plan("running", [], [], msg, notes)

    ours = []
    for row in _segments(snapshot, notes):
        users = snapshot.sysv_users.get(row["shmid"], set())
        parsed = parse_shmem_header(snapshot.headers.get(row["shmid"]), snapshot.version)
        if parsed is None:
            error = snapshot.header_errors.get(row["shmid"], "too short")
            if pid_file is None:
                notes.append("SysV shmid %d of the owner: header cannot be read (%s); left alone" % (row["shmid"], error))
            elif row["nattch"]:
                msg = ("SysV segment key %d shmid %d named in %s/postmaster.pid has %d attached process(es)%s "
                       "and its header cannot be read (%s); refusing"
                       % (row["key"], row["shmid"], snapshot.data_directory, row["nattch"],
                          " (pids %s)" % _pids(users) if users else "", error))
                return Plan("in_use", [], [], msg, notes)
            else:
                obj = _shm_object(snapshot, row, "interlock segment?")
                obj["reason"] = "header cannot be read (%s); left alone" % error
                unattributed.append(obj)
        elif not header_is_ours(parsed, snapshot.dir_dev, snapshot.dir_ino):
            if pid_file is not None:
                notes.append("SysV shmid %d now belongs to something else (magic %d, device %d, inode %d; "
                             "the data directory is device %d, inode %d); left alone"
                             % (row["shmid"], parsed["magic"], parsed["device"], parsed["inode"],
                                snapshot.dir_dev, snapshot.dir_ino))
        elif row["nattch"]:
            pid = pid_file.pid if pid_file else parsed["creator_pid"]
            msg = ("pre-existing shared memory block (key %d, ID %d) of %s is still in use: nattch %d%s. "
                   "Server processes of the dead postmaster (pid %d) survive; wait for them to exit or "
                   "terminate them, then run again"
                   % (row["key"], row["shmid"], snapshot.data_directory, row["nattch"],
                      " (pids %s)" % _pids(users) if users else "", pid))
            return Plan("in_use", [], [], msg, notes)
        else:
            ours.append((row, parsed))

    if pid_file is None and not ours:
        msg = "%s: no postmaster.pid and no stale segment of it; the last stop was clean, nothing to do" % (
            snapshot.data_directory)
        return Plan("clean_stop", [], [], msg, notes)

    attributed = bool(ours)
    for row, header in ours:
        attributed = _plan_dsm(snapshot, header, remove, unattributed, notes) and attributed
    # PostgreSQL destroys the DSM segments before the SysV segment (PGSharedMemoryCreate).
    for row, header in ours:
        role = "interlock segment" if row["size"] <= header_size(snapshot.version) else "main shared memory segment"
        remove.append(_shm_object(snapshot, row, role))
    if not attributed:
        unattributed.extend(_unmapped_owned_files(snapshot, seen=set(o.get("path") for o in remove + unattributed)))

    pids = set([pid_file.pid]) if pid_file else set(h["creator_pid"] for r, h in ours)
    _plan_semaphores(snapshot, pids, remove, unattributed)

    if pid_file is None:
        notes.append("postmaster.pid is gone although the IPC of postmaster pid %s was left (Debian's "
                     "pg_ctlcluster removes a stale postmaster.pid when systemd runs ExecStop after a crash)"
                     % _pids(pids))
    where = "%s (dead postmaster pid %s)" % (snapshot.data_directory, _pids(pids))
    if remove:
        return Plan("removed", remove, unattributed, "%d stale IPC object(s) of %s" % (len(remove), where), notes)
    msg = "postmaster.pid is stale (pid %d: %s) but no IPC object of %s is left" % (
        pid_file.pid, snapshot.postmaster.detail, snapshot.data_directory)
    return Plan("nothing_stale", [], unattributed, msg, notes)


def diff_text(objects):
    return "".join(describe(o) + "\n" for o in objects)


# ---------------------------------------------------------------------------
# The OS layer (Linux)
# ---------------------------------------------------------------------------


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _proc_pids(files):
    return [int(name) for name in files.listdir("/proc") if name.isdigit()]


def _scan_users(files, pids):
    """/proc/<pid>/maps and /proc/<pid>/fd of every process, for /dev/shm and SysV users."""
    maps, fds = {}, {}
    for pid in pids:
        text = files.read("/proc/%d/maps" % pid)
        if text:
            maps[pid] = text
        fd_dir = "/proc/%d/fd" % pid
        for name in files.listdir(fd_dir):
            # "/dev/shm/PostgreSQL.<handle>"; the (device, inode) of the target decides
            target = files.readlink("%s/%s" % (fd_dir, name)) or ""
            if not os.path.basename(target).startswith(POSIX_DSM_PREFIX):
                continue
            st = files.stat("%s/%s" % (fd_dir, name))
            if st is not None:
                fds.setdefault(pid, []).append((os.major(st.st_dev), os.minor(st.st_dev), st.st_ino))
    return mappers(maps, fds)


def _posix_files(files):
    found = []
    for name in files.listdir(POSIX_DSM_DIR):
        if not name.startswith(POSIX_DSM_PREFIX) or not name[len(POSIX_DSM_PREFIX):].isdigit():
            continue
        path = "%s/%s" % (POSIX_DSM_DIR, name)
        st = files.stat(path)
        if st is None:
            continue
        found.append({"path": path, "handle": int(name[len(POSIX_DSM_PREFIX):]), "size": st.st_size,
                      "uid": st.st_uid, "major": os.major(st.st_dev), "minor": os.minor(st.st_dev),
                      "inode": st.st_ino})
    return found


def _read_dsm_control(files, ipc, handle, posix_files, shm):
    """(impl, bytes, error) of the control segment a header names: a POSIX file
    /dev/shm/PostgreSQL.<handle>, else a SysV segment keyed by the handle."""
    path = posix_dsm_path(handle)
    if any(e["path"] == path for e in posix_files):
        data = files.read_bytes(path)
        return "posix", data, None if data is not None else "%s cannot be read" % path
    key = sysv_dsm_key(handle)
    rows = [r for r in shm if r["key"] == key]
    if rows:
        try:
            return "sysv", ipc.shm_read(rows[0]["shmid"], rows[0]["size"]), None
        except IpcError as exc:
            return "sysv", None, str(exc)
    return None, None, "neither %s nor a SysV segment with key %d exists" % (path, key)


def gather(data_directory, version, pid_file, files=None, ipc=None, dir_stat=None):
    """Read everything plan() needs.

    pid_file is the parsed postmaster.pid, or None when there is none: then only
    /proc/sysvipc/shm is read and the headers of the owner's unattached segments
    looked at (a clean stop leaves none, so this stays cheap); the rest is read
    only when one of them is this data directory's.
    """
    files = files or HostFiles()
    ipc = ipc or linux_ipc.LinuxIpc()
    st = dir_stat or files.stat(data_directory)
    shm = parse_sysvipc(files.read("/proc/sysvipc/shm", ""))
    users = {st.st_uid: _user_name(st.st_uid)}
    snapshot = Snapshot(data_directory=data_directory, version=version, dir_dev=st.st_dev, dir_ino=st.st_ino,
                        owner_uid=st.st_uid, pid_file=pid_file, postmaster=Postmaster("dead", "no postmaster.pid"),
                        shm=shm, sem=[], headers={}, header_errors={}, dsm={}, posix_files=[], file_users={},
                        sysv_users={}, users=users)

    def read_header(row):
        try:
            snapshot.headers[row["shmid"]] = ipc.shm_read(row["shmid"], header_size(version))
        except IpcError as exc:
            snapshot.header_errors[row["shmid"]] = str(exc)

    if pid_file is not None:
        snapshot = snapshot._replace(postmaster=check_postmaster(files, pid_file.pid, data_directory))
        if snapshot.postmaster.state in ("running", "unknown"):
            return snapshot
        for row in shm:
            if row["shmid"] == pid_file.shm_id:
                read_header(row)
    else:
        creators = []
        for row in shm:
            if row["uid"] != st.st_uid or row["nattch"]:
                continue
            read_header(row)
            header = parse_shmem_header(snapshot.headers.get(row["shmid"]), version)
            if header_is_ours(header, st.st_dev, st.st_ino):
                creators.append(header["creator_pid"])
            else:
                snapshot.headers.pop(row["shmid"], None)
                snapshot.header_errors.pop(row["shmid"], None)
        if not creators:
            return snapshot
        snapshot = snapshot._replace(postmaster=check_postmaster(files, creators[0], data_directory))
        if snapshot.postmaster.state in ("running", "unknown"):
            return snapshot

    sem = parse_sysvipc(files.read("/proc/sysvipc/sem", ""))
    for row in sem:
        row["magic_value"] = row["magic_pid"] = None
        if row.get("uid") != st.st_uid or not row.get("nsems"):
            continue
        try:
            row["magic_value"], row["magic_pid"] = ipc.sem_value_and_pid(row["semid"], row["nsems"] - 1)
        except IpcError:
            pass
    posix_files = _posix_files(files)
    file_users, sysv_users = _scan_users(files, _proc_pids(files))
    for uid in [r["uid"] for r in shm + sem] + [e["uid"] for e in posix_files]:
        if uid not in users:
            users[uid] = _user_name(uid)

    dsm = {}
    for data in snapshot.headers.values():
        header = parse_shmem_header(data, version)
        if header_is_ours(header, st.st_dev, st.st_ino) and header.get("dsm_control"):
            dsm[header["dsm_control"]] = _read_dsm_control(files, ipc, header["dsm_control"], posix_files, shm)
    return snapshot._replace(sem=sem, dsm=dsm, posix_files=posix_files, file_users=file_users,
                             sysv_users=sysv_users)


def execute(objects, ipc):
    """Remove objects in order. -> (removed, gone, errors): objects already gone
    (ENOENT/EINVAL/EIDRM) are not errors."""
    removed, gone, errors = [], [], []
    for obj in objects:
        try:
            if obj["kind"] == "posix_shm":
                ipc.unlink(obj["path"])
            elif obj["kind"] == "sysv_shm":
                ipc.shm_remove(obj["id"])
            else:
                ipc.sem_remove(obj["id"])
        except IpcError as exc:
            if exc.errno in (errno.ENOENT, errno.EINVAL, errno.EIDRM):
                gone.append(obj)
            else:
                errors.append("%s: %s" % (describe(obj), exc))
            continue
        removed.append(obj)
    return removed, gone, errors
