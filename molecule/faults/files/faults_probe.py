"""Print the live state of one PostgreSQL cluster as JSON (faults scenario).

Read-only. The fault playbooks run it before and after each fault so that
the verifier judges what the kernel, systemd and the server showed, not what
the role meant to write. One call gathers all a step needs (each Ansible
task costs more than the reading itself):

  python3 faults_probe.py --data-dir D --unit U --owner O --port P --socket S [options]

  always              postmaster.pid lines (1 PID, 3 start time, 7 SysV key
                      and shmid); the postmaster's PID and oom_score_adj and
                      its children's; the owner's rows of /proc/sysvipc/shm
                      and its /dev/shm/PostgreSQL.* files; `systemctl show`
                      of the unit; whether logind runs and its RemoveIPC as
                      logind itself reports it (busctl), not its config files
  --shmid N           that segment's row, wherever it is (None: gone)
  --posix NAME ...    which of these /dev/shm names still exist
  --sql QUERY         run as the owner through the socket (or the error)
  --log FILE          the server log's size; with --log-from N its lines
                      from byte N on
  --journal-since T   journal lines since epoch T matching --journal-grep
  --memcg             this container's memory limit and OOM kill count,
                      vm.overcommit_memory, and whether a negative
                      oom_score_adj is refused here
  --kernel-pid HPID   the kernel log's lines on host PID HPID (dmesg, else
                      journalctl -k)
  --attach FILE       FILE's lines (e.g. pgbench's output)

  python3 faults_probe.py collect

  prints every /root/faults/*.json, the role's logind drop-in and what
  logind says now, in one document: the verifier's one round trip per host.
"""

import argparse
import glob
import json
import os
import pwd
import re
import subprocess
import sys
import time

# ExecMainCode/ExecMainStatus: how the main process (the postmaster) ended,
# which Result does not say once ExecStop has run after its death.
UNIT_PROPERTIES = ["ActiveState", "SubState", "Result", "ExecMainCode", "ExecMainStatus", "MainPID",
                   "OOMScoreAdjust", "Environment", "KillMode", "KillSignal", "DropInPaths"]


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError:
        return None


def run(*argv):
    done = subprocess.run(argv, check=False, capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


def process(pid):
    stat = read("/proc/%d/stat" % pid)
    if not stat:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return {
        "pid": pid,
        "ppid": int(fields[1]),
        "starttime": int(fields[19]),
        "title": (read("/proc/%d/cmdline" % pid) or "").replace("\0", " ").strip(),
        "oom_score_adj": int(read("/proc/%d/oom_score_adj" % pid) or 0),
    }


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = process(int(entry))
            if info and info["ppid"] == pid:
                found.append(info)
    return sorted(found, key=lambda item: item["pid"])


def sysv_segments():
    rows = []
    lines = (read("/proc/sysvipc/shm") or "").splitlines()
    if not lines:
        return rows
    names = lines[0].split()
    for line in lines[1:]:
        row = dict(zip(names, line.split()))
        rows.append({"key": int(row["key"]), "key_hex": "0x%08x" % (int(row["key"]) & 0xFFFFFFFF),
                     "shmid": int(row["shmid"]), "size": int(row["size"]), "cpid": int(row["cpid"]),
                     "nattch": int(row["nattch"]), "uid": int(row["uid"])})
    return rows


def posix_segments(uid):
    found = []
    for path in sorted(glob.glob("/dev/shm/PostgreSQL.*")):
        try:
            info = os.stat(path)
        except OSError:
            continue
        if info.st_uid == uid:
            found.append({"name": os.path.basename(path), "size": info.st_size})
    return found


def unit_show(unit):
    out = run("systemctl", "show", unit, *["--property=%s" % name for name in UNIT_PROPERTIES])[1]
    return dict(line.partition("=")[::2] for line in out.splitlines())


def sql(owner, socket, port, query):
    rc, out, err = run("runuser", "-u", owner, "--", "psql", "-XAtq", "-h", socket, "-p", str(port),
                       "-d", "postgres", "-c", query)
    return {"rc": rc, "stdout": out.strip(), "stderr": err.strip()}


def logind_remove_ipc():
    rc, out, err = run("busctl", "get-property", "org.freedesktop.login1", "/org/freedesktop/login1",
                       "org.freedesktop.login1.Manager", "RemoveIPC")
    return out.strip() or err.strip()


def first_line(*paths):
    for path in paths:
        text = read(path)
        if text is not None:
            return text.strip()
    return None


def memcg():
    """cgroup v1 (memory.limit_in_bytes, memory.oom_control) or v2 (memory.max, memory.events)."""
    kills = None
    for path in ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events"):
        match = re.search(r"^oom_kill (\d+)$", read(path) or "", re.M)
        if match:
            kills = int(match.group(1))
            break
    rc = run("sh", "-c", "echo -1 > /proc/self/oom_score_adj")[0]
    return {
        "memory_limit": first_line("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"),
        "oom_kills": kills,
        "overcommit_memory": first_line("/proc/sys/vm/overcommit_memory"),
        "negative_oom_score_adj": "allowed" if rc == 0 else "refused",
    }


def kernel_lines(host_pid):
    """The kernel's OOM report on host PID host_pid: the memcg line and the kill line."""
    rc, out, err = run("dmesg")
    source = "dmesg"
    if rc != 0:
        rc, out, err = run("journalctl", "-k", "--no-pager", "-o", "cat")
        source = "journalctl -k (dmesg: %s)" % err.strip()
    if rc != 0:
        return {"source": "%s: %s" % (source, err.strip()), "lines": []}
    wanted = re.compile(r"Killed process %d |,pid=%d," % (host_pid, host_pid))
    return {"source": source, "lines": [line for line in out.splitlines() if wanted.search(line)]}


def journal(since, pattern):
    """'HH:MM:SS identifier[pid]: message' of the journal entries since epoch since that match pattern."""
    out = run("journalctl", "--no-pager", "--since", "@%d" % since, "-o", "json")[1]
    wanted = re.compile(pattern)
    lines = []
    for raw in out.splitlines():
        entry = json.loads(raw)
        ident = entry.get("SYSLOG_IDENTIFIER", "?")
        message = entry.get("MESSAGE")
        if isinstance(message, list):  # journald sends non-UTF-8 messages as byte arrays
            message = bytes(message).decode(errors="replace")
        # Not evidence: Ansible's own module invocations (they name
        # everything), this probe's queries (runuser), and kernel lines,
        # which in a container include other containers' OOM reports.
        if not isinstance(message, str) or ident.startswith("ansible") or ident in ("runuser", "kernel"):
            continue
        line = "%s %s[%s]: %s" % (time.strftime("%H:%M:%S", time.gmtime(int(entry["__REALTIME_TIMESTAMP"]) / 1e6)),
                                  ident, entry.get("_PID", "?"), message.splitlines()[0] if message else "")
        if wanted.search(line):
            lines.append(line)
    return lines


def collect():
    faults = {}
    for path in sorted(glob.glob("/root/faults/*.json")):
        with open(path) as handle:
            faults[os.path.basename(path)[:-len(".json")]] = json.load(handle)
    drop_in = "/etc/systemd/logind.conf.d/60-pghost-removeipc.conf"
    print(json.dumps({"faults": faults, "logind_drop_in": read(drop_in), "logind_remove_ipc": logind_remove_ipc()},
                     indent=1, sort_keys=True))


def main():
    if sys.argv[1:] == ["collect"]:
        collect()
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--unit", required=True)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--shmid", type=int)
    parser.add_argument("--posix", nargs="*", default=[])
    parser.add_argument("--sql")
    parser.add_argument("--log")
    parser.add_argument("--log-from", type=int)
    parser.add_argument("--journal-since", type=int)
    parser.add_argument("--journal-grep", default=".")
    parser.add_argument("--memcg", action="store_true")
    parser.add_argument("--kernel-pid", type=int)
    parser.add_argument("--attach")
    args = parser.parse_args()

    uid = pwd.getpwnam(args.owner).pw_uid
    pid_text = read(os.path.join(args.data_dir, "postmaster.pid"))
    pid_lines = pid_text.splitlines() if pid_text is not None else None
    state = {"time": int(time.time()), "pid_file": pid_lines, "postmaster": None, "children": [],
             "unit": unit_show(args.unit), "logind_active": run("systemctl", "is-active", "systemd-logind")[1].strip(),
             "logind_remove_ipc": logind_remove_ipc()}
    if pid_lines:
        postmaster = process(int(pid_lines[0]))
        if postmaster and "postgres" in postmaster["title"]:
            state["postmaster"] = postmaster
            state["children"] = children(postmaster["pid"])
        if len(pid_lines) > 6 and pid_lines[6].split():
            key, shmid = pid_lines[6].split()
            state["pid_file_key"], state["pid_file_shmid"] = int(key), int(shmid)
    segments = sysv_segments()
    state["sysv"] = [row for row in segments if row["uid"] == uid]
    if args.shmid is not None:
        state["shmid_row"] = next((row for row in segments if row["shmid"] == args.shmid), None)
    state["posix"] = posix_segments(uid)
    if args.posix:
        present = {row["name"] for row in state["posix"]}
        state["posix_still_there"] = sorted(name for name in args.posix if name in present)
    if args.sql:
        state["sql"] = sql(args.owner, args.socket, args.port, args.sql)
    if args.log:
        state["log_size"] = os.path.getsize(args.log)
        if args.log_from is not None:
            with open(args.log, "rb") as handle:
                handle.seek(args.log_from)
                state["log_since"] = handle.read().decode(errors="replace").splitlines()
    if args.journal_since is not None:
        state["journal"] = journal(args.journal_since, args.journal_grep)
    if args.memcg:
        state["memcg"] = memcg()
    if args.kernel_pid:
        state["kernel"] = kernel_lines(args.kernel_pid)
    if args.attach:
        state["attached"] = (read(args.attach) or "").splitlines()
    print(json.dumps(state, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
