# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""postmaster.pid and "is the postmaster alive": the one parser and the one liveness test.

postmaster.pid (src/include/utils/pidfile.h) is read by discovery (running
state, port, socket directory) and by the IPC cleanup (the SysV key and id of
line 7); both go through parse_pid_file.

Liveness (postmaster_state, postmaster_alive) is the strongest test that is
correct everywhere this runs: the pid exists, AND its comm or exe is postgres
or postmaster, AND - where /proc lets us read it - its working directory
(the postmaster chdirs into the data directory, ChangeToDataDir) or its -D is
this data directory. A bare kill(pid, 0), which PostgreSQL itself uses,
answers "alive" for a pid reused by any other program after a crash, and a
name check alone for another cluster's postmaster; both would make a crashed
cluster look running. On FreeBSD (no /proc by default, and its procfs has
neither comm nor cwd) only kill(pid, 0) is left, as PostgreSQL does there
(docs/postgres-kernel-facts.md §1: it cannot see into other jails, which is
fine for our own data directory).
"""

from __future__ import annotations

import os
import re
from collections import namedtuple

POSTMASTER_NAMES = ("postgres", "postmaster")
PID_FILE = "postmaster.pid"


class PidFileError(ValueError):
    """postmaster.pid exists but cannot be understood."""


PidFile = namedtuple("PidFile", ["pid", "single_user", "data_directory", "start_time", "port",
                                 "socket_dir", "listen_addr", "shm_key", "shm_id", "status"])


def parse_pid_file(text):
    """postmaster.pid -> PidFile (src/include/utils/pidfile.h, LOCK_FILE_LINE_*).

    Lines: 1 pid (negative: single-user backend), 2 data directory, 3 start
    epoch, 4 port, 5 first socket directory, 6 first listen address,
    7 "<shm key> <shm id>" (sprintf "%9lu %9lu"), 8 status (10+). Line 7 is
    missing while the server is still creating shared memory.
    """
    lines = (text or "").splitlines()
    first = lines[0].strip() if lines else ""
    if not re.match(r"^-?[0-9]+$", first):
        raise PidFileError("first line %r is not a process id" % first)

    def line(number):
        return lines[number - 1].strip() if len(lines) >= number else ""

    def number(value):
        return int(value) if value.isdigit() else None

    shm_key = shm_id = None
    fields = line(7).split()
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        shm_key, shm_id = int(fields[0]), int(fields[1])
    return PidFile(
        pid=abs(int(first)),
        single_user=first.startswith("-"),
        data_directory=line(2) or None,
        start_time=number(line(3)),
        port=number(line(4)),
        socket_dir=line(5) or None,
        listen_addr=line(6) or None,
        shm_key=shm_key,
        shm_id=shm_id,
        status=line(8) or None,
    )


def read_pid_file(files, data_directory):
    """The data directory's postmaster.pid as a PidFile; None when it is missing or cannot be understood."""
    try:
        return parse_pid_file(files.read(data_directory + "/" + PID_FILE, ""))
    except PidFileError:
        return None


def pid_file_liveness(files, platform, data_directory):
    """None without postmaster.pid; else (the pid it names as text, "?" when the
    file cannot be understood; whether that postmaster still runs, by
    postmaster_alive). A pid file whose postmaster is gone is what an unclean
    stop leaves (service_plan.crashed_reason)."""
    text = files.read(data_directory + "/" + PID_FILE, None)
    if text is None:
        return None
    try:
        pid = parse_pid_file(text).pid
    except PidFileError:
        return "?", False
    return str(pid), postmaster_alive(files, platform, pid, data_directory)


def parse_cmdline_data_dir(argv):
    """-D DIR, -DDIR or --pgdata=DIR from a postgres command line; None if absent."""
    for index, arg in enumerate(argv):
        if arg == "-D" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("-D") and len(arg) > 2:
            return arg[2:]
        if arg.startswith("--pgdata="):
            return arg[len("--pgdata="):]
    return None


Postmaster = namedtuple("Postmaster", ["state", "detail"])
# state: "dead" (no such process), "reused" (the pid is another program or
# another data directory's postgres), "running" (a postgres whose cwd or -D is
# this data directory), "unknown" (a postgres whose directory cannot be read).


def check_postmaster(files, pid, data_directory):
    """Postmaster for a pid from postmaster.pid: running only if the process is a
    postgres whose working directory (ChangeToDataDir) or -D is this data directory,
    so that a reused pid never counts."""
    proc = "/proc/%d" % pid
    if pid <= 0 or not files.isdir(proc):
        return Postmaster("dead", "no process %d" % pid)
    comm = (files.read(proc + "/comm") or "").strip()
    exe = files.readlink(proc + "/exe") or ""
    exe_name = os.path.basename(exe[:-len(" (deleted)")] if exe.endswith(" (deleted)") else exe)
    if comm not in POSTMASTER_NAMES and exe_name not in POSTMASTER_NAMES:
        return Postmaster("reused", "pid %d is now %r, not PostgreSQL" % (pid, comm or exe or "?"))
    wanted = files.realpath(data_directory)
    cwd = files.readlink(proc + "/cwd")
    if cwd is not None:
        if files.realpath(cwd) == wanted:
            return Postmaster("running", "postmaster pid %d (%s) works in %s" % (pid, comm, data_directory))
        return Postmaster("reused", "pid %d is a postgres process of another data directory (%s)" % (pid, cwd))
    argv = [a for a in (files.read(proc + "/cmdline") or "").split("\0") if a]
    given = parse_cmdline_data_dir(argv)
    if given is not None:
        if files.realpath(given) == wanted:
            return Postmaster("running", "postmaster pid %d (%s -D %s)" % (pid, comm, given))
        return Postmaster("reused", "pid %d is a postgres process of another data directory (-D %s)" % (pid, given))
    return Postmaster("unknown", "pid %d is a postgres process whose data directory cannot be read "
                                 "(run the module as root)" % pid)


def postmaster_state(files, platform, pid, data_directory):
    """Postmaster for a pid from postmaster.pid on any platform: check_postmaster
    on Linux; elsewhere kill(pid, 0) (FreeBSD's procfs, when mounted at all,
    has neither comm nor cwd)."""
    if platform != "linux":
        if pid > 0 and files.pid_alive(pid):
            return Postmaster("unknown", "pid %d exists; without /proc its program and directory cannot be read" % pid)
        return Postmaster("dead", "no process %d" % pid)
    return check_postmaster(files, pid, data_directory)


def postmaster_alive(files, platform, pid, data_directory):
    """Whether the postmaster of data_directory runs as pid: "running", or
    "unknown" (a postgres process, or a live pid without /proc, whose directory
    cannot be read: counted as alive, the safe answer for cleanup and restarts)."""
    return postmaster_state(files, platform, pid, data_directory).state in ("running", "unknown")


def pg_isready_args(pid_file):
    """pg_isready's -p and -h for the server of a PidFile: the port of line 4, and
    the first socket directory (line 5), else the first listen address (line 6),
    where "*" (every address) or none means localhost. A server without Unix
    sockets is only reachable over TCP, and pg_isready cannot connect to "*"."""
    if pid_file.socket_dir:
        host = pid_file.socket_dir
    elif pid_file.listen_addr in (None, "*"):
        host = "localhost"
    else:
        host = pid_file.listen_addr
    return ["-p", str(pid_file.port), "-h", host]
