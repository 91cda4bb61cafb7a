"""The seed failures, injected into a real-kernel VM and read back live.

Copied to /root next to realkernel_probe.py (whose readers it uses) by
prepare.yml. Each fault runs twice on the same VM: PHASE `without` before the
collection ran, PHASE `with` after `pghost.hardening.site`. Every figure comes
from the kernel (journalctl -k, /proc, /proc/sysvipc), systemd or the server
(its log, pg_stat_activity, row counts), never from the collection's reports.
Each run writes /root/pghost-rf-FAULT-PHASE.json.

  overcommit PHASE      one backend asks for more memory than the VM has while
                        three sessions hold open transactions and a writer
                        commits rows; overcommit as the host has it
  oomchoice PHASE       a non-PostgreSQL process allocates until the OOM killer
                        acts (overcommit 0 while it runs, as the baseline has
                        it); which process the kernel picked, every candidate's
                        score before
  stop PHASE            `systemctl stop` of a hand-made unit (pgplain.service)
                        while a client keeps a session open, then start
  sigkill kill PHASE    kill -9 of the postmaster under pgbench load; what is
                        left in /proc/sysvipc/shm and /dev/shm
  sigkill after PHASE [--start]
                        what the next start did with it (--start: the
                        operator's `systemctl start`; without it the site
                        playbook has just run)
  removeipc before|after PHASE
                        cluster ipctest of the non-system user pgipc around an
                        SSH login of pgipc (made by the controller in between)
  report                every saved run
"""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realkernel_probe as rk  # noqa: E402  (copied next to this file)

# psql's default database is the user's name; pgipc has none.
os.environ["PGDATABASE"] = "postgres"
# runuser keeps the working directory, and the server's users cannot read /root.
os.chdir("/")

PLAIN = {"version": None, "name": "pgplain", "port": 5434, "owner": "postgres", "unit": "pgplain.service",
         "data_directory": "/var/lib/pgplain/data", "log_file": None}
IPC_OWNER = "pgipc"
# Fault 3: DIRTY_MIB of unlogged rows for the shutdown checkpoint, the unit's
# writes throttled to DISK_WRITE_LIMIT bytes/s. Measured with pgplain's 16 MB
# of shared buffers: 16 MiB takes about 240 s to stop cleanly, far above
# systemd's default 90 s stop timeout; 10 MiB only 40-75 s, too close to it.
DIRTY_MIB = 16
DISK_WRITE_LIMIT = "128K"
TIMEOUT_STOP_WAIT = 600
# A non-PostgreSQL process: 32 MiB at a time, each page written, until killed.
HOG_PY = ("import sys, time\nheld = []\nwhile True:\n    held.append(b'x' * (32 << 20))\n"
          "    print(len(held) * 32, flush=True)\n")


def main_cluster():
    return [c for c in rk.clusters() if c["name"] == "main"][0]


def ipc_cluster():
    return [c for c in rk.clusters() if c["name"] == "ipctest"][0]


def plain_cluster():
    cluster = dict(PLAIN)
    cluster["version"] = main_cluster()["version"]
    return cluster


def oom_kills(kernel_log):
    """[(pid, comm, oom_score_adj)] of every `Out of memory: Killed process` line."""
    return [{"pid": int(pid), "comm": comm, "oom_score_adj": int(score)} for pid, comm, score in re.findall(
        r"Killed process (\d+) \(([^)]*)\).*?oom_score_adj:(-?\d+)", kernel_log)]


def settle_after_kill(cluster):
    """Wait for PostgreSQL's own crash restart. Debian's unit has systemd's
    OOMPolicy=stop, so on an OOM kill systemd may stop the whole unit instead:
    that is recorded, and the unit started again to count the rows."""
    deadline = time.time() + 180
    while time.time() < deadline:
        if rk.ready(cluster):
            return {"ready_by_itself": True}
        state = rk.show(cluster["unit"], ("ActiveState", "Result"))
        if state["ActiveState"] != "active":
            return {"ready_by_itself": False, "unit_stopped_by_systemd": state,
                    "started_again": rk.start_again(cluster)}
        time.sleep(1)
    return {"ready_by_itself": False}


def count(cluster, table, label=None):
    where = " WHERE label = %s" % rk.sql_literal(label) if label else ""
    done = rk.psql(cluster, "SELECT count(*) FROM %s%s" % (table, where), check=False)
    return int(done.stdout) if done.returncode == 0 else done.stderr.strip()


def seed_rows(cluster, table, label, rows=10000):
    rk.psql(cluster, "CREATE TABLE IF NOT EXISTS %s (id bigserial PRIMARY KEY, label text, "
                     "at timestamptz DEFAULT now())" % table)
    rk.psql(cluster, "INSERT INTO %s (label) SELECT %s FROM generate_series(1, %d)"
                     % (table, rk.sql_literal(label), rows))
    return count(cluster, table, label)


def postmaster(cluster):
    """PID and start time of the running postmaster, read from /proc (the unit's MainPID)."""
    pid = int(rk.show(cluster["unit"], ("MainPID",))["MainPID"] or 0)
    info = rk.process(pid) if pid else None
    return {"pid": info["pid"], "starttime": info["starttime"], "oom_score_adj": info["oom_score_adj"],
            "oom_score": int(rk.read("/proc/%d/oom_score" % pid, "0"))} if info else None


def kill_group(proc):
    """SIGKILL a child started with start_new_session and everything it
    started (runuser, the shell, psql), so that its pipes close."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Held:
    """A session that opens a transaction, inserts one row and keeps it open
    until finish(); then COMMIT, whose answer says whether the session survived."""

    def __init__(self, cluster, table, label):
        self.proc = subprocess.Popen(
            ["runuser", "-u", cluster["owner"], "--", "psql", "-p", str(cluster["port"]), "-XAtq"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        # The count makes the backend read the table, so it holds pages of shared memory.
        self.proc.stdin.write("BEGIN;\nINSERT INTO %s (label) VALUES (%s);\n"
                              "SELECT 'backend', pg_backend_pid(), (SELECT count(*) FROM %s);\n"
                              % (table, rk.sql_literal(label), table))
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        self.backend = int(line.split("|")[1]) if line.startswith("backend|") else line

    def finish(self):
        """A session that does not answer its COMMIT in 60 s is recorded as
        such (and killed), not left to fail the whole fault run."""
        hung = False
        try:
            out = self.proc.communicate("COMMIT;\nSELECT 'committed';\n", timeout=60)[0]
        except subprocess.TimeoutExpired:
            hung = True
            kill_group(self.proc)
            out = self.proc.communicate()[0]
        except (BrokenPipeError, OSError):
            out = self.proc.stdout.read()
            self.proc.wait()
        return {"backend": self.backend, "rc": self.proc.returncode, "committed": "committed" in out,
                "hung": hung, "output": out[-1000:]}


class Writer:
    """Commits one row per statement until stopped; prints each acknowledged commit."""

    def __init__(self, cluster, table, label):
        self.flag = "/tmp/rf-writer-stop"
        if os.path.exists(self.flag):
            os.unlink(self.flag)
        self.proc = subprocess.Popen(
            ["runuser", "-u", cluster["owner"], "--", "sh", "-c",
             "n=0; end=$(( $(date +%%s) + 300 )); while [ $(date +%%s) -lt $end ]; do "
             "psql -p %d -XAtqc \"INSERT INTO %s (label) VALUES ('%s')\" >/dev/null 2>&1 && n=$((n+1)) "
             "&& echo $n; [ -f %s ] && break; done" % (cluster["port"], table, label, self.flag)],
            stdout=subprocess.PIPE, text=True, start_new_session=True)

    def stop(self):
        """The number of acknowledged commits. A psql that hangs past 120 s
        is killed; the commits acknowledged before it still count."""
        open(self.flag, "w").close()
        try:
            out = self.proc.communicate(timeout=120)[0]
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            out = self.proc.communicate()[0]
        os.unlink(self.flag)
        return len([line for line in out.splitlines() if line.strip()])


def memory_figures():
    info = rk.meminfo()
    return {"sysctl": {key: rk.read("/proc/sys/vm/" + key, "").strip()
                       for key in ("overcommit_memory", "overcommit_ratio", "overcommit_kbytes", "nr_hugepages")},
            "meminfo": {key: info.get(key) for key in ("MemTotal", "MemAvailable", "CommitLimit", "Committed_AS",
                                                       "HugePages_Total", "Hugepagesize")}}


def save(fault, phase, result):
    path = "/root/pghost-rf-%s-%s.json" % (fault, phase)
    with open(path, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(result, handle, indent=1, sort_keys=True)


def load(fault, phase):
    return json.loads(rk.read("/root/pghost-rf-%s-%s.json" % (fault, phase)))


def server_log_after(cluster, offset):
    return rk.log_since(cluster, offset)[-20000:]


# --- fault 1: overcommit -------------------------------------------------------


def overcommit(phase):
    cluster = main_cluster()
    label = "overcommit-" + phase
    started = time.time()
    rows_before = seed_rows(cluster, "rf_rows", label + "-before")
    before = postmaster(cluster)
    memory = memory_figures()
    offset, cursor = rk.log_size(cluster), rk.journal_cursor()
    held = [Held(cluster, "rf_rows", label + "-held") for dummy in range(3)]
    writer = Writer(cluster, "rf_rows", label + "-during")
    time.sleep(3)
    hog = rk.run("runuser", "-u", cluster["owner"], "--", "psql", "-p", str(cluster["port"]), "-XAtc", rk.HOG_SQL,
                 check=False, timeout=900)
    time.sleep(2)
    came_back = settle_after_kill(cluster)
    time.sleep(3)
    acked = writer.stop()
    sessions = [session.finish() for session in held]
    result = {"phase": phase, "memory": memory, "postmaster_before": before, "postmaster_after": postmaster(cluster),
              "hog": {"rc": hog.returncode, "stdout": hog.stdout[-300:], "stderr": hog.stderr[-2000:]},
              "settled": came_back, "held": sessions, "acked_during": acked,
              "unit_log": rk.journal(cursor, "-u", cluster["unit"])[-5000:],
              "server_log": server_log_after(cluster, offset), "kernel_log": rk.journal(cursor, "-k")[-20000:],
              "rows_before": rows_before, "rows_before_after": count(cluster, "rf_rows", label + "-before"),
              "rows_during_after": count(cluster, "rf_rows", label + "-during"),
              "rows_held_after": count(cluster, "rf_rows", label + "-held")}
    result["oom_kills"] = oom_kills(result["kernel_log"])
    result["seconds"] = round(time.time() - started, 1)
    save("overcommit", phase, result)


# --- fault 2: whom the OOM killer picks ------------------------------------------


def candidates():
    """Every process's kernel badness (/proc/PID/oom_score), score adjustment and RSS."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        status = rk.read("/proc/%s/status" % entry, "")
        rss = re.search(r"^VmRSS:\s+(\d+)", status, re.M)
        if not rss:
            continue  # kernel threads
        found.append({"pid": int(entry), "comm": (rk.read("/proc/%s/comm" % entry, "") or "").strip(),
                      "cmdline": (rk.read("/proc/%s/cmdline" % entry, "") or "").replace("\0", " ").strip()[:120],
                      "oom_score": int(rk.read("/proc/%s/oom_score" % entry, "0") or 0),
                      "oom_score_adj": int(rk.read("/proc/%s/oom_score_adj" % entry, "0") or 0),
                      "rss_kb": int(rss.group(1))})
    return sorted(found, key=lambda item: -item["oom_score"])


def oomchoice(phase):
    cluster = main_cluster()
    label = "oomchoice-" + phase
    started = time.time()
    rows_before = seed_rows(cluster, "rf_rows", label + "-before")
    held = [Held(cluster, "rf_rows", label + "-held") for dummy in range(2)]
    before = postmaster(cluster)
    backends = rk.children(before["pid"])
    # The hand-made unit's postmaster: no OOMScoreAdjust and no pg_ctlcluster.
    plain = plain_cluster()
    plain_before = postmaster(plain)
    plain_held = Held(plain, "rf_rows", label + "-plain-held")
    plain_backends = rk.children(plain_before["pid"])
    ranking = candidates()
    overcommit_was = rk.read("/proc/sys/vm/overcommit_memory").strip()
    offset, cursor = rk.log_size(cluster), rk.journal_cursor()
    with open("/proc/sys/vm/overcommit_memory", "w") as handle:
        handle.write("0\n")
    try:
        hog = subprocess.Popen(["python3", "-c", HOG_PY], stdout=subprocess.PIPE, text=True)
        try:
            hog_out = hog.communicate(timeout=600)[0]
        except subprocess.TimeoutExpired:
            hog.kill()
            hog_out = hog.communicate()[0]
    finally:
        with open("/proc/sys/vm/overcommit_memory", "w") as handle:
            handle.write(overcommit_was + "\n")
    time.sleep(2)
    came_back = settle_after_kill(cluster)
    sessions = [session.finish() for session in held]
    plain_session = plain_held.finish()
    kernel_log = rk.journal(cursor, "-k")[-30000:]
    result = {"phase": phase, "postmaster_before": before, "postmaster_after": postmaster(cluster),
              "backends_before": backends, "plain_postmaster_before": plain_before,
              "plain_postmaster_after": postmaster(plain), "plain_backends_before": plain_backends,
              "plain_held": plain_session, "candidates_before": ranking[:15], "hog_pid": hog.pid,
              "hog_rc": hog.returncode, "hog_mib": (hog_out.split() or ["0"])[-1],
              "overcommit_during": "0", "overcommit_restored": rk.read("/proc/sys/vm/overcommit_memory").strip(),
              "settled": came_back, "held": sessions, "kernel_log": kernel_log,
              "oom_kills": oom_kills(kernel_log), "server_log": server_log_after(cluster, offset),
              "rows_before": rows_before, "rows_before_after": count(cluster, "rf_rows", label + "-before")}
    result["seconds"] = round(time.time() - started, 1)
    save("oomchoice", phase, result)


# --- fault 3: a stop with a client connected, hand-made unit -----------------------


def stop(phase):
    cluster = plain_cluster()
    started = time.time()
    props = ("KillMode", "KillSignal", "TimeoutStopUSec", "SendSIGKILL", "ActiveState", "Result", "MainPID",
             "ExecMainCode", "ExecMainStatus", "FragmentPath", "DropInPaths")
    unit_before = rk.show(cluster["unit"], props)
    rk.psql(cluster, "CREATE UNLOGGED TABLE IF NOT EXISTS rf_unlogged (id bigserial, label text)")
    rk.psql(cluster, "INSERT INTO rf_unlogged (label) SELECT %s FROM generate_series(1, 1000)"
                     % rk.sql_literal(phase))
    logged_before = seed_rows(cluster, "rf_rows", "stop-" + phase, rows=1000)
    unlogged_before = count(cluster, "rf_unlogged", phase)
    client = Held(cluster, "rf_rows", "stop-%s-held" % phase)
    # The final checkpoint's work: DIRTY_MIB of unlogged rows, and the disk
    # throttled for the unit's writes, as a busy or slow disk would be.
    rk.psql(cluster, "CREATE UNLOGGED TABLE IF NOT EXISTS rf_dirty (payload text); TRUNCATE rf_dirty")
    rk.psql(cluster, "INSERT INTO rf_dirty SELECT repeat(md5(g::text), 30) FROM generate_series(1, %d) AS g"
                     % (DIRTY_MIB * 1024))
    throttle = rk.run("systemctl", "set-property", "--runtime", cluster["unit"],
                      "IOWriteBandwidthMax=%s %s" % (cluster["data_directory"], DISK_WRITE_LIMIT), check=False)
    io_max = read_io_max(cluster["unit"])
    cursor = rk.journal_cursor()
    t0 = time.time()
    stopped = rk.run("systemctl", "stop", cluster["unit"], check=False, timeout=TIMEOUT_STOP_WAIT)
    stop_seconds = round(time.time() - t0, 1)
    unit_stopped = rk.show(cluster["unit"], props)
    rk.run("systemctl", "set-property", "--runtime", cluster["unit"], "IOWriteBandwidthMax=", check=False)
    session = client.finish()
    t0 = time.time()
    rk.run("systemctl", "start", cluster["unit"], check=False, timeout=300)
    came_back = rk.wait_ready(cluster)
    start_seconds = round(time.time() - t0, 1)
    result = {"phase": phase, "unit_before": unit_before, "unit_stopped": unit_stopped,
              "disk_write_limit": DISK_WRITE_LIMIT, "dirty_mib": DIRTY_MIB, "throttle_rc": throttle.returncode,
              "io_max": io_max,
              "stop_rc": stopped.returncode, "stop_seconds": stop_seconds, "start_seconds": start_seconds,
              "ready_again": came_back, "client": session,
              "log": rk.journal(cursor, "-u", cluster["unit"])[-20000:],
              "logged_before": logged_before, "logged_after": count(cluster, "rf_rows", "stop-" + phase),
              "unlogged_before": unlogged_before, "unlogged_after": count(cluster, "rf_unlogged", phase),
              "dirty_rows_after": count(cluster, "rf_dirty")}
    result["seconds"] = round(time.time() - started, 1)
    save("stop", phase, result)


def read_io_max(unit):
    """The unit cgroup's io.max, as the kernel has it (empty: no limit)."""
    group = rk.show(unit, ("ControlGroup",))["ControlGroup"]
    return (rk.read("/sys/fs/cgroup%s/io.max" % group, "") or "").strip()


# --- fault 4: SIGKILL of the postmaster, and its leftovers ----------------------------


def sysv_segments():
    rows = (rk.read("/proc/sysvipc/shm", "") or "").splitlines()
    head = rows[0].split() if rows else []
    return [dict(zip(head, line.split())) for line in rows[1:]]


def dsm_files():
    return sorted(os.path.basename(path) for path in glob.glob("/dev/shm/PostgreSQL.*"))


def mapped_dsm(pids):
    found = set()
    for pid in pids:
        found.update(re.findall(r"/dev/shm/(PostgreSQL\.\d+)", rk.read("/proc/%d/maps" % pid, "") or ""))
    return sorted(found)


def pid_file_shmid(cluster):
    lines = (rk.read(os.path.join(cluster["data_directory"], "postmaster.pid"), "") or "").splitlines()
    return int(lines[6].split()[1]) if len(lines) > 6 and len(lines[6].split()) == 2 else None


def still_running(process):
    now = rk.process(process["pid"])
    return bool(now) and now["starttime"] == process["starttime"]


def sigkill_kill(phase):
    cluster = main_cluster()
    label = "sigkill-" + phase
    rows_before = seed_rows(cluster, "rf_rows", label + "-before", rows=5000)
    rk.run("runuser", "-u", cluster["owner"], "--", "pgbench", "-p", str(cluster["port"]), "-i", "-q", "-s", "1",
           "postgres", timeout=300)
    history_before = count(cluster, "pgbench_history")
    before = postmaster(cluster)
    children = [info for info in (rk.process(child["pid"]) for child in rk.children(before["pid"])) if info]
    shmid = pid_file_shmid(cluster)
    bench = subprocess.Popen(["runuser", "-u", cluster["owner"], "--", "pgbench", "-p", str(cluster["port"]), "-c",
                              "4", "-T", "60", "-n", "postgres"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    time.sleep(8)
    # /dev/shm holds every cluster's files; this cluster's are those its processes map.
    dsm_before_kill = mapped_dsm([before["pid"]] + [child["pid"] for child in rk.children(before["pid"])])
    offset, cursor = rk.log_size(cluster), rk.journal_cursor()
    os.kill(before["pid"], signal.SIGKILL)
    bench_out = bench.communicate(timeout=120)[0]
    # systemd notices, runs the unit's ExecStop and settles.
    for dummy in range(60):
        if rk.show(cluster["unit"], ("ActiveState",))["ActiveState"] in ("inactive", "failed"):
            break
        time.sleep(1)
    time.sleep(2)
    segments = sysv_segments()
    result = {"phase": phase, "postmaster_killed": before, "pid_file_shmid": shmid, "rows_before": rows_before,
              "history_before": history_before, "pgbench": bench_out[-3000:],
              "unit_after_kill": rk.show(cluster["unit"], ("ActiveState", "Result", "ExecMainCode",
                                                           "ExecMainStatus")),
              "pid_file_after_kill": os.path.exists(os.path.join(cluster["data_directory"], "postmaster.pid")),
              "left_segment": [seg for seg in segments if seg.get("shmid") == str(shmid)],
              "dsm_before_kill": dsm_before_kill,
              "left_dsm": sorted(set(dsm_before_kill) & set(dsm_files())), "all_dsm_after_kill": dsm_files(),
              "children_before_kill": len(children),
              "children_left": [child["pid"] for child in children if still_running(child)],
              "log_offset": offset, "journal_cursor": cursor, "killed_at": time.time()}
    save("sigkill-kill", phase, result)


def sigkill_after(phase, start):
    cluster = main_cluster()
    killed = load("sigkill-kill", phase)
    label = "sigkill-" + phase
    t0 = time.time()
    if start:
        # What an operator does: start the unit again.
        rk.run("systemctl", "reset-failed", cluster["unit"], check=False)
        rk.run("systemctl", "start", cluster["unit"], check=False, timeout=300)
    came_back = rk.wait_ready(cluster)
    history = re.search(r"number of transactions actually processed: (\d+)", killed["pgbench"])
    old_shmid = str(killed["pid_file_shmid"])
    result = {"phase": phase, "started_by": "systemctl start" if start else "pghost.hardening.site",
              "start_seconds": round(time.time() - t0, 1), "ready_again": came_back,
              "postmaster_after": postmaster(cluster), "new_shmid": pid_file_shmid(cluster),
              "old_segment_still_there": [seg for seg in sysv_segments() if seg.get("shmid") == old_shmid],
              "old_dsm_still_there": sorted(set(killed["left_dsm"]) & set(dsm_files())),
              "dsm_now": dsm_files(),
              "server_log": rk.log_since(cluster, killed["log_offset"])[-20000:],
              "unit_log": rk.journal(killed["journal_cursor"], "-u", cluster["unit"])[-10000:],
              "rows_before_after": count(cluster, "rf_rows", label + "-before"),
              "history_before": killed["history_before"], "history_after": count(cluster, "pgbench_history"),
              "pgbench_reported": int(history.group(1)) if history else None}
    save("sigkill-after", phase, result)


# --- fault 5: logind RemoveIPC and an SSH login of the server's user ----------------


def ipc_view(cluster):
    uid = int(rk.run("id", "-u", cluster["owner"]).stdout)
    mine = []
    for path in glob.glob("/dev/shm/PostgreSQL.*"):
        try:
            if os.stat(path).st_uid == uid:
                mine.append(os.path.basename(path))
        except OSError:
            pass
    connect = rk.psql(cluster, "SELECT count(*) FROM rf_rows", check=False)
    return {"uid": uid, "postmaster": postmaster(cluster), "dsm": sorted(mine),
            "segments": [seg for seg in sysv_segments() if seg.get("uid") == str(uid)],
            "query_rc": connect.returncode, "query": (connect.stdout + connect.stderr).strip()[-500:],
            "user_state": rk.run("loginctl", "show-user", cluster["owner"], "--property=State",
                                 check=False).stdout.strip()}


def removeipc(step, phase):
    cluster = ipc_cluster()
    if step == "before":
        rows = seed_rows(cluster, "rf_rows", "removeipc-" + phase, rows=1000)
        remove_ipc = rk.run("busctl", "get-property", "org.freedesktop.login1", "/org/freedesktop/login1",
                            "org.freedesktop.login1.Manager", "RemoveIPC", check=False).stdout.strip()
        save("removeipc-before", phase, {"phase": phase, "rows": rows, "logind_remove_ipc": remove_ipc,
                                         "view": ipc_view(cluster), "log_offset": rk.log_size(cluster),
                                         "journal_cursor": rk.journal_cursor(), "time": time.time()})
        return
    before = load("removeipc-before", phase)
    # logind drops the user (and removes its IPC) once the last session is gone.
    for dummy in range(60):
        if rk.run("loginctl", "show-user", cluster["owner"], check=False).returncode != 0:
            break
        time.sleep(1)
    time.sleep(1)
    view = ipc_view(cluster)
    result = {"phase": phase, "before": before, "after": view,
              "dsm_removed": sorted(set(before["view"]["dsm"]) - set(view["dsm"])),
              "server_log": rk.log_since(cluster, before["log_offset"])[-10000:],
              "logind_log": rk.journal(before["journal_cursor"], "-u", "systemd-logind")[-5000:]}
    if view["query_rc"] != 0:
        # Put the server back for what follows (the next phase, the converge).
        rk.run("systemctl", "restart", cluster["unit"], check=False, timeout=300)
        result["restarted_after"] = rk.wait_ready(cluster)
    result["rows_after"] = count(cluster, "rf_rows", "removeipc-" + phase)
    save("removeipc", phase, result)


def report():
    saved = {}
    for path in sorted(glob.glob("/root/pghost-rf-*.json")):
        saved[re.sub(r"^pghost-rf-|\.json$", "", os.path.basename(path))] = json.loads(rk.read(path))
    return saved


def main():
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    command = args[0]
    if command == "overcommit":
        overcommit(args[1])
    elif command == "oomchoice":
        oomchoice(args[1])
    elif command == "stop":
        stop(args[1])
    elif command == "sigkill" and args[1] == "kill":
        sigkill_kill(args[2])
    elif command == "sigkill" and args[1] == "after":
        sigkill_after(args[2], "--start" in args)
    elif command == "removeipc":
        removeipc(args[1], args[2])
    elif command == "report":
        json.dump(report(), sys.stdout, sort_keys=True)
    else:
        raise SystemExit("unknown command %r\n%s" % (" ".join(args), __doc__))


if __name__ == "__main__":
    main()
