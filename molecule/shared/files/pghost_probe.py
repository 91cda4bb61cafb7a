"""Print the live state of every PostgreSQL cluster on this host as JSON.

Read-only: pg_lsclusters, `systemctl show`, /proc and (with --etc) a hash
of every regular file under /etc. The scenario's playbooks run it before
check mode, after check mode, after each converge run and under load, so
that the verifier can compare what systemd was told with what the
processes got. With --save RUN it reads pg_service's report (JSON) from
stdin, adds the live state and writes /root/pghost-service-RUN-last.json,
and /root/pghost-service-RUN.json unless it exists (the first converge's
report is the evidence; idempotence must not replace it). With --verify it also gathers everything the verifier reads
(drop-ins, environment files, a client backend's own score, the journal,
the evidence files the playbooks left), so that the verifier needs one
round trip per host instead of one per file. With --sessions it adds what
a login session of the server user and of a user no role manages gets
(`su -`, the way an administrator enters), the managed kernel values as
/proc/sys shows them, and the files pg_kernel and pg_limits write.
Shared by the default and service scenarios.
"""

import glob
import hashlib
import json
import os
import subprocess
import sys
import time

UNIT_PROPERTIES = [
    "ActiveState", "SubState", "Result", "MainPID", "FragmentPath", "DropInPaths",
    "OOMScoreAdjust", "OOMPolicy", "KillMode", "KillSignal", "TimeoutStopUSec", "Environment",
    "LimitNOFILE", "LimitNOFILESoft", "LimitNPROC", "LimitNPROCSoft",
    "LimitMEMLOCK", "LimitMEMLOCKSoft",
]


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def show(unit, properties):
    values = {}
    out = run("systemctl", "show", unit, *("--property=%s" % name for name in properties))
    for line in out.splitlines():
        key, dummy, value = line.partition("=")
        values[key] = value
    return values


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def limits(pid):
    """{"Max open files": ["1024", "20000"], ...}; the kernel pads columns to 26 and 21."""
    text = read("/proc/%d/limits" % pid)
    table = {}
    for line in (text or b"").decode().splitlines()[1:]:
        table[line[:26].strip()] = [line[26:47].strip(), line[47:68].strip()]
    return table


def process(pid):
    stat = (read("/proc/%d/stat" % pid) or b"").decode()
    if not stat:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    environ = (read("/proc/%d/environ" % pid) or b"").decode(errors="replace").split("\0")
    return {
        "pid": pid,
        "ppid": int(fields[1]),
        # clock ticks since boot: a restart gives the same unit a new value
        "starttime": int(fields[19]),
        "cmdline": (read("/proc/%d/cmdline" % pid) or b"").decode(errors="replace").replace("\0", " ").strip(),
        "oom_score_adj": int(read("/proc/%d/oom_score_adj" % pid) or 0),
        "environ_pg_oom": sorted(item for item in environ if item.startswith("PG_OOM_ADJUST_")),
        "limits": limits(pid),
    }


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = process(int(entry))
            if info and info["ppid"] == pid:
                found.append({key: info[key] for key in ("pid", "cmdline", "oom_score_adj")})
    return sorted(found, key=lambda item: item["pid"])


def etc_sha256():
    digest = hashlib.sha256()
    for root, dirs, files in os.walk("/etc"):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.isfile(path) and not os.path.islink(path):
                digest.update(path.encode() + b"\0" + hashlib.sha256(read(path) or b"").digest())
    return digest.hexdigest()


def journal(units):
    """The units' job messages ("Stopping", "Started", ...) with their times."""
    argv = ["journalctl", "--no-pager", "-o", "json"]
    for unit in units:
        argv += ["-u", unit]
    events = []
    for line in run(*argv).splitlines():
        event = json.loads(line)
        if "JOB_TYPE" in event:
            events.append({"unit": event.get("UNIT"), "time": int(event["__REALTIME_TIMESTAMP"]) / 1e6,
                           "job_type": event["JOB_TYPE"], "job_result": event.get("JOB_RESULT"),
                           "message": event.get("MESSAGE")})
    return events


def negative_oom_refused():
    """Whether this host refuses a negative oom_score_adj (no CAP_SYS_RESOURCE)."""
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("-1\n")
    except OSError:
        return True
    with open("/proc/self/oom_score_adj", "w") as handle:
        handle.write("0\n")
    return False


def text(path):
    content = read(path)
    return None if content is None else content.decode(errors="replace")


def verify_extras(state):
    for cluster in state["clusters"]:
        unit_files = cluster["show"]["DropInPaths"].split()
        cluster["drop_ins"] = {path: text(path) for path in unit_files}
        cluster["environment_file"] = text("/etc/postgresql/%s/%s/environment" % (cluster["version"], cluster["name"]))
        own = subprocess.run(
            ["runuser", "-u", cluster["owner"], "--", "psql", "-p", str(cluster["port"]), "-XAtc",
             "SELECT pg_read_file('/proc/self/oom_score_adj')"],
            check=False, capture_output=True, text=True)
        cluster["client_backend_oom_score_adj"] = int(own.stdout) if own.returncode == 0 else own.stderr
        cluster["pg_isready"] = subprocess.run(
            ["runuser", "-u", cluster["owner"], "--", "pg_isready", "-q", "-p", str(cluster["port"]), "-t", "10"], check=False).returncode
    state["journal"] = journal([c["unit"] for c in state["clusters"]])
    state["negative_oom_refused"] = negative_oom_refused()
    state["pid1_oom_score_adj"] = int(read("/proc/1/oom_score_adj"))
    state["logind_drop_ins"] = {path: text(path) for path in sorted(glob.glob("/etc/systemd/logind.conf.d/*.conf"))}
    state["evidence"] = {os.path.basename(path)[len("pghost-"):-len(".json")]: json.loads(text(path))
                         for path in sorted(glob.glob("/root/pghost-*.json"))}
    state["evidence_text"] = {os.path.basename(path): text(path)
                              for path in ("/root/pghost-fault3-server.log", "/root/pghost-fault3-pgbench.out")}


SYSCTL_KEYS = ("kernel.shmmax", "kernel.shmall", "kernel.shmmni", "kernel.sem", "vm.overcommit_memory",
               "vm.overcommit_ratio", "vm.swappiness", "vm.nr_hugepages", "vm.dirty_background_bytes", "vm.dirty_bytes")
SYSCTL_FILE = "/etc/sysctl.d/60-pghost-postgresql.conf"
LIMITS_FILE = "/etc/security/limits.d/60-pghost-postgresql.conf"
# A user pg_limits does not manage; bash, as its own shell is nologin.
UNMANAGED_USER = "nobody"


def session_ulimits(user):
    """What `su - USER` gets: soft and hard open files, processes and locked memory (KiB)."""
    names = ("nofile_soft", "nofile_hard", "nproc_soft", "nproc_hard", "memlock_soft", "memlock_hard")
    out = subprocess.run(
        ["su", "-s", "/bin/bash", "-", user, "-c",
         "ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu; ulimit -Sl; ulimit -Hl"],
        check=True, capture_output=True, text=True, cwd="/").stdout.split()
    return dict(zip(names, out))


def sessions(state):
    state["ulimits"] = {user: session_ulimits(user) for user in ("postgres", UNMANAGED_USER)}
    state["sysctl_live"] = {key: " ".join((text("/proc/sys/" + key.replace(".", "/")) or "").split())
                            for key in SYSCTL_KEYS}
    state["sysctl_file"] = text(SYSCTL_FILE)
    state["limits_file"] = text(LIMITS_FILE)


def main():
    clusters = []
    for line in run("pg_lsclusters", "--no-header").splitlines():
        parts = line.split()
        version, name, port, status, owner, datadir = parts[:6]
        unit = "postgresql@%s-%s.service" % (version, name)
        props = show(unit, UNIT_PROPERTIES)
        pid = int(props.get("MainPID") or 0)
        clusters.append({
            "version": version, "name": name, "port": int(port), "status": status, "owner": owner,
            "data_directory": datadir, "log_file": parts[6] if len(parts) > 6 else None,
            "unit": unit, "show": props,
            "postmaster": process(pid) if pid else None,
            "children": children(pid) if pid else [],
        })
    remove_ipc = subprocess.run(
        ["busctl", "get-property", "org.freedesktop.login1", "/org/freedesktop/login1",
         "org.freedesktop.login1.Manager", "RemoveIPC"],
        check=False, capture_output=True, text=True,
    ).stdout.split()
    state = {
        "time": time.time(),
        "clusters": clusters,
        "logind_remove_ipc": remove_ipc[1] if len(remove_ipc) == 2 else None,
        "pid1_limits": limits(1),
    }
    if "--etc" in sys.argv[1:]:
        state["etc_sha256"] = etc_sha256()
    if "--verify" in sys.argv[1:]:
        verify_extras(state)
    if "--sessions" in sys.argv[1:]:
        sessions(state)
    if "--save" in sys.argv[1:]:
        run_name = sys.argv[sys.argv.index("--save") + 1]
        report = dict(json.load(sys.stdin), run=run_name, live=state)
        for path, keep in (("/root/pghost-service-%s.json" % run_name, True),
                           ("/root/pghost-service-%s-last.json" % run_name, False)):
            if not (keep and os.path.exists(path)):
                with open(path, "w") as handle:
                    os.fchmod(handle.fileno(), 0o600)
                    json.dump(report, handle, indent=1, sort_keys=True)
        return
    json.dump(state, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
