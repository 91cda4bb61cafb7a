"""Live state of a real-kernel test VM, and the two disruptive experiments.

Copied to /root by prepare.yml; every figure comes from the kernel, /proc,
systemd or the running server, none from the collection's own files.

  state [--save NAME]   JSON of the kernel, THP, every cluster's unit and
                        processes, a `su - postgres` session's ulimits and a
                        hash of /etc (paths, types, modes, owners, contents,
                        link targets). --save also writes
                        /root/pghost-rk-NAME.json, with the collection's report
                        read from stdin under "report" (first save of a NAME
                        kept; NAME-last always written).
  hugepages-tight       stop the cluster, start it by hand under exactly the
                        server's shared_memory_size_in_huge_pages and one page
                        fewer, then put the unit back; writes
                        /root/pghost-rk-hugepages.json.
  oom LABEL             make one backend allocate more than the VM has while
                        overcommit is heuristic (0), with a writer committing
                        rows; writes /root/pghost-rk-oom-LABEL.json.
  report                everything saved so far, plus the state now.
"""

import glob
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time

SYSCTLS = ("kernel.shmmax", "kernel.shmall", "kernel.shmmni", "kernel.sem", "vm.overcommit_memory",
           "vm.overcommit_ratio", "vm.overcommit_kbytes", "vm.swappiness", "vm.nr_hugepages")
UNIT_PROPERTIES = ("ActiveState", "SubState", "Result", "MainPID", "NRestarts", "OOMPolicy", "OOMScoreAdjust",
                   "KillMode", "KillSignal", "TimeoutStopUSec", "LimitNOFILE", "LimitNOFILESoft", "LimitNPROC",
                   "LimitNPROCSoft", "LimitMEMLOCK", "LimitMEMLOCKSoft", "ExecMainStartTimestampMonotonic")
THP_UNIT = "pghost-thp.service"


def run(*argv, check=True, timeout=600, stdin=None):
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout, input=stdin)
    if check and done.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(argv), done.returncode, done.stderr.strip()))
    return done


def read(path, default=None):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return default


def show(unit, properties):
    out = run("systemctl", "show", unit, "--property=" + ",".join(properties)).stdout
    return dict(line.partition("=")[::2] for line in out.splitlines() if "=" in line)


def meminfo():
    values = {}
    for line in read("/proc/meminfo", "").splitlines():
        key, dummy, rest = line.partition(":")
        values[key] = int(rest.split()[0])
    return values


def limits(pid):
    """{"Max open files": ["1024", "524288"], ...}; the kernel pads columns to 26 and 21."""
    table = {}
    for line in read("/proc/%d/limits" % pid, "").splitlines()[1:]:
        table[line[:26].strip()] = [line[26:47].strip(), line[47:68].strip()]
    return table


def process(pid):
    text = read("/proc/%d/stat" % pid)
    if not text:
        return None
    fields = text[text.rindex(")") + 2:].split()
    environ = (read("/proc/%d/environ" % pid, "") or "").split("\0")
    return {"pid": pid, "ppid": int(fields[1]), "starttime": int(fields[19]),
            "cmdline": (read("/proc/%d/cmdline" % pid, "") or "").replace("\0", " ").strip(),
            "oom_score_adj": int(read("/proc/%d/oom_score_adj" % pid, "0")),
            "environ_pg_oom": sorted(item for item in environ if item.startswith("PG_OOM_ADJUST_")),
            "limits": limits(pid)}


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = process(int(entry))
            if info and info["ppid"] == pid:
                found.append({key: info[key] for key in ("pid", "cmdline", "oom_score_adj")})
    return sorted(found, key=lambda item: item["pid"])


def etc_tree_sha256():
    """Paths, types, modes, owners, contents and link targets of everything under /etc."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk("/etc"):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            info = os.lstat(path)
            digest.update(("%s\0%o\0%d\0%d\0" % (path, info.st_mode, info.st_uid, info.st_gid)).encode())
            if stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(path).encode())
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def psql(cluster, sql, check=True, timeout=600):
    return run("runuser", "-u", cluster["owner"], "--", "psql", "-p", str(cluster["port"]), "-XAtq",
               "-v", "ON_ERROR_STOP=1", "-c", sql, check=check, timeout=timeout)


# One backend's request: 8 strings of 400 MiB, more than the 2 GiB VM has.
HOG_SQL = "SELECT length(array_agg(repeat(repeat('x', 1048576), 400))::text) FROM generate_series(1, 8)"


def ready(cluster):
    return run("runuser", "-u", cluster["owner"], "--", "pg_isready", "-q", "-p", str(cluster["port"]),
               check=False).returncode == 0


def wait_ready(cluster, seconds=180):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if ready(cluster):
            return True
        time.sleep(1)
    return False


def journal_cursor():
    out = run("journalctl", "-n", "0", "--show-cursor", "--no-pager", check=False).stdout.strip()
    return out.rsplit(" ", 1)[-1]


def journal(cursor, *args):
    return run("journalctl", "--no-pager", "-o", "short-precise", "--after-cursor", cursor, *args,
               check=False).stdout


def clusters():
    found = []
    for line in run("pg_lsclusters", "--no-header").stdout.splitlines():
        parts = line.split()
        version, name, port, status, owner, datadir = parts[:6]
        found.append({"version": version, "name": name, "port": int(port), "status": status, "owner": owner,
                      "data_directory": datadir, "log_file": parts[6] if len(parts) > 6 else None,
                      "unit": "postgresql@%s-%s.service" % (version, name)})
    return found


def cluster_state(cluster):
    props = show(cluster["unit"], UNIT_PROPERTIES)
    pid = int(props.get("MainPID") or 0)
    state = dict(cluster, show=props, postmaster=process(pid) if pid else None, children=children(pid) if pid else [])
    if pid:
        # A backend of the test's own session reads its own score.
        own = psql(cluster, "SELECT pg_read_file('/proc/self/oom_score_adj')", check=False)
        state["client_backend_oom_score_adj"] = int(own.stdout) if own.returncode == 0 else own.stderr
        settings = psql(cluster, "SELECT name, setting FROM pg_settings WHERE name IN "
                                 "('huge_pages', 'huge_pages_status', 'shared_memory_size', "
                                 "'shared_memory_size_in_huge_pages', 'shared_buffers', 'max_connections')").stdout
        state["settings"] = dict(line.split("|", 1) for line in settings.splitlines())
    return state


def session_ulimits(user):
    out = run("su", "-", user, "-c", "ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu; ulimit -Sl; ulimit -Hl").stdout
    return dict(zip(("nofile_soft", "nofile_hard", "nproc_soft", "nproc_hard", "memlock_soft", "memlock_hard"),
                    out.split()))


def state():
    thp = {name: read("/sys/kernel/mm/transparent_hugepage/%s" % name, "").strip() for name in ("enabled", "defrag")}
    pg = [cluster_state(c) for c in clusters()]
    return {
        "time": time.time(),
        "boot_id": read("/proc/sys/kernel/random/boot_id", "").strip(),
        "uptime": float(read("/proc/uptime", "0").split()[0]),
        "kernel": os.uname().release,
        "sysctl": {key: " ".join(read("/proc/sys/" + key.replace(".", "/"), "").split()) for key in SYSCTLS},
        "meminfo": meminfo(),
        "thp": thp,
        "thp_unit": show(THP_UNIT, ("ActiveState", "Result", "ExecMainStatus", "ExecMainCode", "ConditionResult",
                                    "ExecMainStartTimestampMonotonic", "UnitFileState")),
        "pid1_oom_score_adj": int(read("/proc/1/oom_score_adj", "0")),
        "clusters": pg,
        "ulimits": {c["owner"]: session_ulimits(c["owner"]) for c in pg},
        "etc_sha256": etc_tree_sha256(),
    }


def save(name, payload):
    for path, keep in (("/root/pghost-rk-%s.json" % name, True), ("/root/pghost-rk-%s-last.json" % name, False)):
        if not (keep and os.path.exists(path)):
            with open(path, "w") as handle:
                os.fchmod(handle.fileno(), 0o600)
                json.dump(payload, handle, indent=1, sort_keys=True)


def log_since(cluster, offset):
    with open(cluster["log_file"], errors="replace") as handle:
        handle.seek(offset)
        return handle.read()


def log_size(cluster):
    return os.path.getsize(cluster["log_file"]) if os.path.exists(cluster["log_file"]) else 0


def server_need(cluster):
    """shared_memory_size_in_huge_pages as the stopped server computes it (postgres -C)."""
    binary = "/usr/lib/postgresql/%s/bin/postgres" % cluster["version"]
    conf = "/etc/postgresql/%s/%s/postgresql.conf" % (cluster["version"], cluster["name"])
    out = run("runuser", "-u", cluster["owner"], "--", binary, "-D", cluster["data_directory"],
              "-c", "config_file=" + conf, "-C", "shared_memory_size_in_huge_pages").stdout
    return int(out.strip())


def set_hugepages(count):
    with open("/proc/sys/vm/nr_hugepages", "w") as handle:
        handle.write("%d\n" % count)
    return int(read("/proc/sys/vm/nr_hugepages"))


def start_by_hand(cluster):
    offset = log_size(cluster)
    done = run("pg_ctlcluster", "--skip-systemctl-redirect", cluster["version"], cluster["name"], "start",
               check=False, timeout=300)
    return {"rc": done.returncode, "output": (done.stdout + done.stderr)[-2000:], "log": log_since(cluster, offset)[-4000:],
            "hugepages_rsvd": meminfo()["HugePages_Rsvd"], "hugepages_free": meminfo()["HugePages_Free"]}


def hugepages_tight():
    cluster = clusters()[0]
    planned = int(read("/proc/sys/vm/nr_hugepages"))
    run("systemctl", "stop", cluster["unit"])
    need = server_need(cluster)
    result = {"cluster": cluster, "planned_nr_hugepages": planned, "server_need": need}
    result["one_fewer_set"] = set_hugepages(need - 1)
    result["one_fewer"] = start_by_hand(cluster)
    if result["one_fewer"]["rc"] == 0:
        run("pg_ctlcluster", "--skip-systemctl-redirect", cluster["version"], cluster["name"], "stop")
    result["exact_set"] = set_hugepages(need)
    result["exact"] = start_by_hand(cluster)
    run("pg_ctlcluster", "--skip-systemctl-redirect", cluster["version"], cluster["name"], "stop", check=False)
    result["restored_set"] = set_hugepages(planned)
    run("systemctl", "start", cluster["unit"])
    result["unit_after"] = show(cluster["unit"], ("ActiveState", "MainPID"))
    save("hugepages", result)


def oom(label):
    """One backend allocates 8 x 400 MiB (more than the VM's RAM) under heuristic
    overcommit, so the kernel's OOM killer must act; a writer commits rows meanwhile."""
    cluster = clusters()[0]
    psql(cluster, "CREATE TABLE IF NOT EXISTS rk_rows (id bigserial PRIMARY KEY, label text, at timestamptz DEFAULT now())")
    psql(cluster, "INSERT INTO rk_rows (label) SELECT %s FROM generate_series(1, 10000)" % sql_literal(label + "-before"))
    before_rows = int(psql(cluster, "SELECT count(*) FROM rk_rows").stdout)
    before = cluster_state(cluster)
    overcommit = read("/proc/sys/vm/overcommit_memory").strip()
    offset = log_size(cluster)
    cursor = journal_cursor()
    with open("/proc/sys/vm/overcommit_memory", "w") as handle:
        handle.write("0\n")
    try:
        writer = subprocess.Popen(
            ["runuser", "-u", cluster["owner"], "--", "sh", "-c",
             "n=0; end=$(( $(date +%%s) + 120 )); while [ $(date +%%s) -lt $end ]; do "
             "psql -p %d -XAtqc \"INSERT INTO rk_rows (label) VALUES ('%s-during')\" >/dev/null 2>&1 && n=$((n+1)) "
             "&& echo $n; [ -f /tmp/rk-stop ] && break; done" % (cluster["port"], label)],
            stdout=subprocess.PIPE, text=True)
        time.sleep(3)
        hog = run("runuser", "-u", cluster["owner"], "--", "psql", "-p", str(cluster["port"]), "-XAtc", HOG_SQL,
                  check=False, timeout=900)
        time.sleep(2)
        # Wait for PostgreSQL's own crash restart, or for systemd to stop the unit.
        deadline = time.time() + 180
        while time.time() < deadline:
            active = show(cluster["unit"], ("ActiveState",))["ActiveState"]
            if ready(cluster) or active in ("inactive", "failed"):
                break
            time.sleep(2)
        time.sleep(5)
        open("/tmp/rk-stop", "w").close()
        acked = [line for line in writer.communicate(timeout=180)[0].splitlines() if line.strip()]
        os.unlink("/tmp/rk-stop")
    finally:
        with open("/proc/sys/vm/overcommit_memory", "w") as handle:
            handle.write(overcommit + "\n")
    unit_after = show(cluster["unit"], UNIT_PROPERTIES)
    kernel_log = journal(cursor, "-k")
    unit_log = journal(cursor, "-u", cluster["unit"])
    result = {"label": label, "overcommit_during": "0", "overcommit_restored": read("/proc/sys/vm/overcommit_memory").strip(),
              "hog": {"rc": hog.returncode, "stdout": hog.stdout[-500:], "stderr": hog.stderr[-2000:]},
              "before": before, "unit_after": unit_after, "server_log": log_since(cluster, offset)[-20000:],
              "kernel_log": kernel_log[-20000:], "unit_log": unit_log[-10000:],
              "rows_before": before_rows, "acked_during": len(acked)}
    if unit_after["ActiveState"] != "active":
        # The baseline leaves the database down; bring it back to count rows.
        result["started_again"] = start_again(cluster)
        result["unit_log"] = journal(cursor, "-u", cluster["unit"])[-10000:]
    wait_ready(cluster, 120)
    result["after"] = cluster_state(cluster)
    result["rows_before_label"] = int(psql(cluster, "SELECT count(*) FROM rk_rows WHERE label = %s"
                                                    % sql_literal(label + "-before")).stdout)
    result["rows_during_label"] = int(psql(cluster, "SELECT count(*) FROM rk_rows WHERE label = %s"
                                                    % sql_literal(label + "-during")).stdout)
    save("oom-" + label, result)


def start_again(cluster):
    """Start a unit systemd is stopping or stopped. The stop that OOMPolicy=stop
    begins can meet PostgreSQL's own crash restart: seen on bookworm, the
    postmaster then never finished its fast shutdown and the unit sat in
    `deactivating` for the whole TimeoutStopSec. After 120 s the unit is
    killed, and that is recorded. Then reset-failed, a start that does not
    block on the job (Debian's unit has TimeoutStartSec=0), and a wait for
    the server."""
    outcome = {"stop_stuck": False}
    t0 = time.time()
    while show(cluster["unit"], ("ActiveState",))["ActiveState"] not in ("inactive", "failed"):
        if time.time() - t0 > 120:
            outcome.update(stop_stuck=True, stuck_status=run("systemctl", "status", "--no-pager", "-n", "20",
                                                             cluster["unit"], check=False).stdout[-3000:])
            run("systemctl", "kill", "--signal=SIGKILL", cluster["unit"], check=False)
            for dummy in range(60):
                if show(cluster["unit"], ("ActiveState",))["ActiveState"] in ("inactive", "failed"):
                    break
                time.sleep(1)
            break
        time.sleep(2)
    outcome["settled_seconds"] = round(time.time() - t0, 1)
    run("systemctl", "reset-failed", cluster["unit"], check=False)
    run("systemctl", "start", "--no-block", cluster["unit"], check=False)
    if wait_ready(cluster, 300):
        outcome["ready"] = True
        return outcome
    raise SystemExit("%s did not come back after the baseline's OOM stop: %s" % (
        cluster["unit"], run("systemctl", "status", "--no-pager", cluster["unit"], check=False).stdout[-3000:]))


def sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


def report():
    saved = {}
    for path in sorted(glob.glob("/root/pghost-rk-*.json")):
        saved[re.sub(r"^pghost-rk-|\.json$", "", os.path.basename(path))] = json.loads(read(path))
    return {"saved": saved, "now": state()}


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else "state"
    if command == "state":
        current = state()
        if "--save" in sys.argv:
            stdin = sys.stdin.read()
            current["report"] = json.loads(stdin) if stdin.strip() else None
            save(sys.argv[sys.argv.index("--save") + 1], current)
            return
        json.dump(current, sys.stdout, sort_keys=True)
    elif command == "hugepages-tight":
        hugepages_tight()
    elif command == "oom":
        oom(sys.argv[2])
    elif command == "report":
        json.dump(report(), sys.stdout, sort_keys=True)
    else:
        raise SystemExit("unknown command %r" % command)


if __name__ == "__main__":
    main()
