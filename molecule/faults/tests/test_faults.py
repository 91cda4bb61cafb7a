"""Faults injected against role pg_service, judged from what was seen live.

The playbooks (removeipc_without_role.yml, side_effect.yml) leave one JSON
file per fault in /root/faults, made of probes (files/faults_probe.py) of the
cluster before and after the fault: /proc, /proc/sysvipc/shm, /dev/shm,
`systemctl show`, busctl, a query, the server log, the journal and the
kernel log. Every test prints what it saw (pytest -r A shows it for passed
tests too). What this sandbox keeps from being shown is skipped with the
reason, never passed silently.
"""

import json
import re

import pytest

MIB = 1024 * 1024
PROBE = "/usr/local/lib/pghost-faults/faults_probe.py"
# systemd's ExecMainCode is the waitid() si_code of the main process.
CLD = {"0": "has not exited", "1": "exited", "2": "killed by a signal", "3": "dumped core"}


@pytest.fixture(scope="module")
def observed(host):
    """Everything the playbooks left, read in one call (files/faults_probe.py collect)."""
    return json.loads(host.check_output("python3 %s collect" % PROBE))


def fault(observed, name):
    assert name in observed["faults"], "/root/faults/%s.json is missing: its fault playbook did not run to the end" % name
    return observed["faults"][name]


@pytest.fixture(scope="module")
def oom(observed):
    return fault(observed, "fault1-oom")


@pytest.fixture(scope="module")
def sigkill(observed):
    return fault(observed, "fault2-sigkill")


@pytest.fixture(scope="module")
def without_role(observed):
    return fault(observed, "fault4-without_role")


@pytest.fixture(scope="module")
def with_role(observed):
    return fault(observed, "fault4-with_role")


def show(title, *lines):
    print("%s:" % title)
    for line in lines:
        print("  %s" % line)


def postmaster_line(probe):
    pm = probe["postmaster"]
    if pm is None:
        return "no postmaster (postmaster.pid: %s)" % ("absent" if probe["pid_file"] is None else probe["pid_file"])
    return "postmaster PID %d, oom_score_adj %d, started at tick %d" % (pm["pid"], pm["oom_score_adj"], pm["starttime"])


def unit_line(probe):
    unit = probe["unit"]
    return "unit %s/%s Result=%s, main process ExecMainCode=%s (%s) ExecMainStatus=%s" % (
        unit["ActiveState"], unit["SubState"], unit["Result"], unit.get("ExecMainCode"),
        CLD.get(unit.get("ExecMainCode"), "?"), unit.get("ExecMainStatus"))


def sysv_line(rows):
    return ", ".join("key %s shmid %d nattch %d" % (r["key_hex"], r["shmid"], r["nattch"]) for r in rows) or "none"


def posix_line(rows):
    return ", ".join("%s (%d bytes)" % (r["name"], r["size"]) for r in rows) or "none"


# Fault 1: OOM ---------------------------------------------------------------

def test_fault1_memory_cgroup_limits_the_container(oom):
    before, after = oom["before"]["memcg"], oom["after"]["memcg"]
    show("memory cgroup", "limit %s bytes" % before["memory_limit"],
         "OOM kills in the cgroup: %s before, %s after" % (before["oom_kills"], after["oom_kills"]),
         "vm.overcommit_memory %s (0 lets malloc succeed, so the OOM killer acts)" % before["overcommit_memory"])
    assert before["memory_limit"] == str(256 * MIB)
    assert after["oom_kills"] == before["oom_kills"] + 1, "expected exactly one OOM kill in the container"


def test_fault1_backends_carry_pg_oom_adjust_value_above_the_postmaster(oom):
    before = oom["before"]
    show("before the fault", postmaster_line(before),
         *("PID %d oom_score_adj %d  %s" % (c["pid"], c["oom_score_adj"], c["title"]) for c in before["children"]))
    assert before["children"], "the postmaster has no children to judge"
    assert {c["oom_score_adj"] for c in before["children"]} == {500}, "PG_OOM_ADJUST_VALUE=500 did not reach every child"
    assert before["postmaster"]["oom_score_adj"] < 500


def test_fault1_postmaster_runs_at_the_roles_oom_score_adjust(oom):
    before = oom["before"]
    configured = int(before["unit"]["OOMScoreAdjust"])
    live = before["postmaster"]["oom_score_adj"]
    refused = before["memcg"]["negative_oom_score_adj"] == "refused"
    show("postmaster score", "unit OOMScoreAdjust=%d, live /proc/%d/oom_score_adj %d" % (configured, before["postmaster"]["pid"], live),
         "negative oom_score_adj in this container: %s" % before["memcg"]["negative_oom_score_adj"])
    assert configured == -1000
    if refused:
        # The container cannot show -1000 (no CAP_SYS_RESOURCE); systemd ignores
        # it and the postmaster keeps PID 1's score. The real-kernel scenario
        # proves the -1000 (molecule/realkernel, test_postmaster_is_exempt_and_backends_are_not).
        assert live == 0, live
        show("not verifiable here: the sandbox refuses negative oom_score_adj, so the postmaster stays at %d; "
             "the -1000 is proven on the real-kernel VMs (molecule/realkernel)" % live)
        return
    assert live == configured


def test_fault1_oom_killer_took_the_allocating_backend(oom):
    pid = oom["backend_pid"]
    log = oom["after"]["log_since"]
    killed = [line for line in log if "terminated by signal 9" in line]
    show("allocating backend", "PID %d in the container, %s on the host" % (pid, oom["backend_host_pid"] or "unknown"),
         "its session: rc %s, %s" % (oom["session"]["rc"], " ".join(oom["session"]["stderr"].split())),
         *("server log: " + line for line in killed or ["no kill logged"]))
    assert ["server process (PID %d) was terminated by signal 9: Killed" % pid in line for line in killed] == [True]
    assert any("Failed process was running: SELECT length(string_agg(" in line for line in log)


def test_fault1_kernel_log_names_the_same_backend(oom):
    kernel = oom["after"]["kernel"] if oom["backend_host_pid"] else {"source": "-", "lines": []}
    show("kernel (%s)" % kernel["source"], *(kernel["lines"] or ["no line for host PID %s" % oom["backend_host_pid"]]))
    if not oom["backend_host_pid"]:
        pytest.skip("not verifiable here: `podman top` could not map container PID %d to a host PID: %s"
                    % (oom["backend_pid"], oom["podman_top"]))
    if not kernel["lines"] and kernel["source"] != "dmesg":
        pytest.skip("not verifiable here: the kernel log is not readable from the container (%s)" % kernel["source"])
    killed = [line for line in kernel["lines"] if "Killed process %d (postgres)" % oom["backend_host_pid"] in line]
    assert killed, "the kernel did not report killing host PID %d" % oom["backend_host_pid"]
    assert "oom_score_adj:500" in killed[0]
    assert any("CONSTRAINT_MEMCG" in line for line in kernel["lines"]), "the kill was not the container's memory cgroup's"


def test_fault1_postmaster_survived_and_reinitialised(oom):
    before, after = oom["before"], oom["after"]
    log = after["log_since"]
    show("postmaster", "before: " + postmaster_line(before), "after:  " + postmaster_line(after),
         *[line for line in log if re.search(r"reinitializing|automatic recovery|ready to accept", line)])
    assert after["postmaster"] is not None
    assert (after["postmaster"]["pid"], after["postmaster"]["starttime"]) == (before["postmaster"]["pid"], before["postmaster"]["starttime"])
    assert any("all server processes terminated; reinitializing" in line for line in log)
    assert "database system is ready to accept connections" in log[-1]
    assert {c["oom_score_adj"] for c in after["children"]} == {500}, "the reinitialised children lost the backend score"


def test_fault1_rows_committed_before_are_all_there(oom):
    show("faults_oom rows", "before %s, after %s" % (oom["before"]["sql"]["stdout"], oom["after"]["sql"]["stdout"]))
    assert oom["before"]["sql"]["stdout"] == oom["after"]["sql"]["stdout"] == "10000"


# Fault 2: SIGKILL of the postmaster under load -------------------------------

def pgbench_output(sigkill):
    return sigkill["stale"]["attached"]


def processed(sigkill):
    for line in pgbench_output(sigkill):
        if line.startswith("number of transactions actually processed:"):
            return int(line.split(":")[1].split("/")[0])
    return None


def counts(probe):
    """(faults_kill rows, pgbench_history rows) from the probe's query."""
    kill_rows, history = probe["sql"]["stdout"].split()
    return int(kill_rows), int(history)


def test_fault2_postmaster_was_killed_under_load(sigkill):
    before = sigkill["before"]
    errors = [line for line in pgbench_output(sigkill) if "error" in line]
    show("under load", postmaster_line(before), "%d backends and auxiliary processes" % len(before["children"]),
         "pgbench: %s transactions committed" % processed(sigkill), *errors)
    assert len(before["children"]) >= 9, "pgbench's 4 clients were not connected"
    assert processed(sigkill) and processed(sigkill) > 0
    assert any("aborted" in line for line in errors), "pgbench did not see the server go away"


def test_fault2_stale_ipc_was_left(sigkill):
    before, stale = sigkill["before"], sigkill["stale"]
    show("after kill -9", postmaster_line(stale), unit_line(stale),
         "SysV before: " + sysv_line(before["sysv"]), "SysV after:  " + sysv_line(stale["sysv"]),
         "/dev/shm before: " + posix_line(before["posix"]), "/dev/shm after:  " + posix_line(stale["posix"]),
         *["journal: " + line for line in stale["journal"]])
    assert stale["postmaster"] is None
    row = stale["shmid_row"]
    assert row is not None, "shmid %d (postmaster.pid line 7) is gone" % before["pid_file_shmid"]
    assert row["nattch"] == 0 and row["key"] == before["pid_file_key"]
    assert stale["posix_still_there"] == sorted(r["name"] for r in before["posix"]) != []


def test_fault2_audit_read_lists_the_leftovers_and_removes_nothing(sigkill):
    """What the audit's ipc.stale_leftovers reports (pg_service_units' stale_ipc, check mode),
    against what the probe saw; the restart path found the same objects still there after it."""
    entry, before = sigkill["audit_entry"], sigkill["before"]
    stale_ipc = entry.get("stale_ipc") or {}
    show("the audit's read after kill -9", "restart: %s, reasons: %s" % (entry["restart"], entry["reasons"]),
         "stale_ipc %s: %s" % (stale_ipc.get("state"), stale_ipc.get("msg")),
         *["%s %s (%s, %s bytes)" % (o["kind"], o.get("path") or "shmid %s" % o.get("id"), o["role"], o["size"])
           for o in stale_ipc.get("objects", [])])
    assert entry["restart"] == "crashed" and stale_ipc.get("state") == "removed"
    listed_ids = {o["id"] for o in stale_ipc["objects"] if o["kind"] == "sysv_shm"}
    listed_files = {o["path"] for o in stale_ipc["objects"] if o["kind"] == "posix_shm"}
    assert before["pid_file_shmid"] in listed_ids
    assert listed_files == {"/dev/shm/" + r["name"] for r in before["posix"]}
    cleanup = sigkill["role_cleanup"] or sigkill["restart_path_cleanup"]
    assert {o.get("id", o.get("path")) for o in cleanup.get("removed", [])} == listed_ids | listed_files, (
        "the audit's read removed or missed something the restart path's cleanup found")


def test_fault2_role_recovers_the_crashed_cluster(sigkill):
    cluster, stale = sigkill["role_cluster"], sigkill["stale"]
    show("pg_service with pg_service_restart=if_needed after the crash",
         "restart: %s, reasons: %s" % (cluster["restart"], cluster["reasons"]),
         "restart path run alone afterwards: %s" % sigkill["restart_path_ran"],
         "postmaster.pid after the kill: %s" % ("absent" if stale["pid_file"] is None else "present"), unit_line(stale))
    assert cluster["restart"] == "recovered" and not sigkill["restart_path_ran"], (
        "the role left %s down after its postmaster was killed (restart: %s); postmaster.pid was %s (%s); %s"
        % (cluster["name"], cluster["restart"], "absent" if stale["pid_file"] is None else "present",
           "; ".join(stale["journal"][:1]), unit_line(stale)))


def test_fault2_restart_path_removed_the_stale_ipc_with_pg_ipc_cleanup(sigkill):
    cleanup = sigkill["role_cleanup"] or sigkill["restart_path_cleanup"]
    path = "role (if_needed)" if sigkill["role_cleanup"] else "restart_cluster.yml alone"
    after = sigkill["after"]
    show("pg_ipc_cleanup, run by the %s" % path, "state %s: %s" % (cleanup.get("state"), cleanup.get("msg")),
         *["removed %s %s (%s)" % (o["kind"], o.get("path") or "shmid %s" % o.get("id"), o["role"]) for o in cleanup.get("removed", [])],
         *["note: " + note for note in cleanup.get("notes", [])],
         "afterwards shmid %d: %s" % (sigkill["before"]["pid_file_shmid"], after["shmid_row"] or "gone"),
         "afterwards old /dev/shm files still there: %s" % (after["posix_still_there"] or "none"))
    assert cleanup.get("state") == "removed"
    removed_ids = {o.get("id") for o in cleanup["removed"] if o["kind"] == "sysv_shm"}
    removed_files = {o["path"] for o in cleanup["removed"] if o["kind"] == "posix_shm"}
    assert sigkill["before"]["pid_file_shmid"] in removed_ids
    assert removed_files == {"/dev/shm/" + r["name"] for r in sigkill["before"]["posix"]}
    assert after["shmid_row"] is None and after["posix_still_there"] == []


def test_fault2_server_started_and_committed_rows_are_intact(sigkill):
    before, after = sigkill["before"], sigkill["after"]
    log = after["log_since"]
    kill_before = counts(before)[0]
    kill_after, history = counts(after)
    show("after the restart path", postmaster_line(after), unit_line(after),
         "faults_kill rows: before %d, after %d" % (kill_before, kill_after),
         "pgbench_history rows %d >= %s transactions pgbench saw commit" % (history, processed(sigkill)),
         *[line for line in log if re.search(r"not properly shut down|redo done|ready to accept", line)])
    assert after["postmaster"] is not None and after["postmaster"]["pid"] != before["postmaster"]["pid"]
    assert after["unit"]["ActiveState"] == "active"
    assert kill_before == kill_after == 5000
    assert history >= processed(sigkill)
    assert any("automatic recovery in progress" in line for line in log)


# Fault 4: logind RemoveIPC ---------------------------------------------------

def session_lines(round_):
    before, after = round_["before"], round_["after"]
    return [
        "logind %s, RemoveIPC: %s -> %s" % (before["logind_active"], before["logind_remove_ipc"], after["logind_remove_ipc"]),
        "login session of pgipc: %s; user dropped by logind afterwards: %s"
        % (round_["session_id"] or "none registered", round_["user_dropped"]),
        "before: " + postmaster_line(before),
        "after:  " + postmaster_line(after),
        "SysV before: " + sysv_line(before["sysv"]),
        "SysV after:  " + sysv_line(after["sysv"]),
        "/dev/shm before: " + posix_line(before["posix"]),
        "/dev/shm after:  " + posix_line(after["posix"]),
        "query before: %s" % (before["sql"]["stdout"] or before["sql"]["stderr"]),
        "query after:  %s" % (after["sql"]["stdout"] or after["sql"]["stderr"]),
    ] + ["journal: " + line for line in after["journal"]] + ["server log: " + line for line in after["log_since"]]


def needs_logind(round_):
    if round_["before"]["logind_active"] != "active":
        pytest.skip("not verifiable here: systemd-logind does not run in this container (%s), so no session can "
                    "end; only the configuration (test_fault4_role_configured_logind) is tested"
                    % round_["before"]["logind_active"])
    assert round_["session_id"], "`su - pgipc` registered no logind session: is libpam-systemd in the image?"
    assert round_["user_dropped"], "logind still tracks pgipc: %s" % round_["user_state_last_seen"]


def test_fault4_without_role_logind_removes_the_servers_ipc(without_role):
    show("Fault 4 without the role", *session_lines(without_role))
    needs_logind(without_role)
    before, after = without_role["before"], without_role["after"]
    assert before["logind_remove_ipc"] == "b true"
    assert before["posix"] and after["posix"] == [], "logind left the server's /dev/shm/PostgreSQL.* files"
    # logind skips SysV segments that still have processes attached
    # (systemd's clean-ipc.c), so the running server's interlock segment stays.
    assert after["sysv"] == before["sysv"]
    # The server runs on but is unusable: a new backend cannot attach the
    # dynamic shared memory control segment whose file logind deleted.
    assert after["postmaster"]["pid"] == before["postmaster"]["pid"]
    assert before["sql"]["stdout"] == "1000"
    assert after["sql"]["rc"] != 0 and "could not open shared memory segment" in after["sql"]["stderr"]


def test_fault4_role_configured_logind(observed, with_role):
    drop_in = observed["logind_drop_in"]
    show("logind configuration", "/etc/systemd/logind.conf.d/60-pghost-removeipc.conf: %s" % (
        "absent" if drop_in is None else " | ".join(line for line in drop_in.splitlines() if not line.startswith("#"))),
        "busctl RemoveIPC now: %s" % observed["logind_remove_ipc"])
    assert drop_in is not None
    assert re.search(r"^\[Login\]\s*$", drop_in, re.M)
    assert re.search(r"^RemoveIPC=no\s*$", drop_in, re.M)
    if with_role["before"]["logind_active"] == "active":
        assert observed["logind_remove_ipc"] == "b false"


def test_fault4_with_role_the_server_keeps_its_ipc(observed, with_role):
    converge = fault(observed, "converge-report")
    ipctest = [c for c in converge["clusters"] if c["data_directory"].endswith("/ipctest")][0]
    show("Fault 4 with the role",
         "converge: logind %s; %s" % (converge["logind"].get("verdict"), ipctest["summary"]), *session_lines(with_role))
    # The server that lost its IPC in the first round was restarted by converge.
    assert ipctest["restart"] == "done"
    needs_logind(with_role)
    before, after = with_role["before"], with_role["after"]
    assert before["logind_remove_ipc"] == "b false"
    assert before["posix"] and after["posix_still_there"] == sorted(r["name"] for r in before["posix"])
    assert after["sysv"] == before["sysv"]
    assert after["postmaster"]["pid"] == before["postmaster"]["pid"]
    assert before["sql"]["stdout"] == after["sql"]["stdout"] == "1000"
