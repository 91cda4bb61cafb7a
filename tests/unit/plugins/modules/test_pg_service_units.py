# -*- coding: utf-8 -*-
"""pg_service_units: main() run the way Ansible runs a module, against a fake
host tree under tmp_path (unit files, /proc of a running postmaster and its
backends, Debian's environment file) with systemctl answered from recorded
output. Live behaviour is proven by the Molecule scenario `service`.
"""

from __future__ import annotations

import os

import pytest
from fake_module import run_main

from ansible_collections.pghost.hardening.plugins.module_utils import host_files, host_limits, systemd_ini
from ansible_collections.pghost.hardening.plugins.module_utils import service_units as su
from ansible_collections.pghost.hardening.plugins.modules import pg_service_units

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "systemd")
SYSTEMCTL = "/bin/systemctl"
UNIT = "postgresql@15-main.service"
DROPIN_DIR = "/etc/systemd/system/%s.d" % UNIT
PID = 4242
CLUSTER = {"name": "15/main", "version": "15", "unit": UNIT, "data_directory": "/var/lib/postgresql/15/main",
           "config_file": "/etc/postgresql/15/main/postgresql.conf", "owner": "postgres", "running": True,
           "pid": PID, "huge_pages": "try", "shared_memory_size_in_huge_pages": 72, "shared_memory_size_mb": 143}
MANAGER_SHOW = ("Version=252.39-1~deb12u1\n"
                "DefaultLimitNOFILE=524288\nDefaultLimitNOFILESoft=1024\nDefaultLimitNPROC=32768\n"
                "DefaultLimitNPROCSoft=32768\nDefaultLimitMEMLOCK=8388608\nDefaultLimitMEMLOCKSoft=8388608\n")
# /proc/1/status CapEff of systemd in a podman container here (no CAP_SYS_RESOURCE, bit 24)
# and on a real host (every capability).
CAPEFF_CONTAINER = "CapEff:\t000001fffeffffff\n"
CAPEFF_HOST = "CapEff:\t000001ffffffffff\n"


def unit_show(root, calls):
    """What systemd shows for the unit after a daemon-reload: the unit file and
    its drop-ins (name order) merged, the manager's defaults for what they leave unset."""
    dropins = sorted(os.listdir(os.path.join(str(root), DROPIN_DIR.lstrip("/")))) if exists(root, DROPIN_DIR) else []
    texts = [read(root, "/lib/systemd/system/postgresql@.service")] + [
        read(root, "%s/%s" % (DROPIN_DIR, name)) for name in dropins]
    manager = host_limits.manager_limits(systemd_ini.parse_show(MANAGER_SHOW)[0])
    base = su.unit_baseline(texts, manager)
    lines = ["Id=%s" % UNIT, "LoadState=loaded", calls["state"].strip(),
             "FragmentPath=/lib/systemd/system/postgresql@.service",
             "DropInPaths=%s" % " ".join("%s/%s" % (DROPIN_DIR, n) for n in dropins)]
    for name, key, dummy in su.LIMITS:
        soft, hard = base["limits"][name]
        lines += ["%s=%s" % (key, su.render_limit_value(hard)), "%sSoft=%s" % (key, su.render_limit_value(soft))]
    policy = [v for t in texts for sec, k, v in systemd_ini.parse_systemd_ini(t) if sec == "Service" and k == "OOMPolicy"]
    lines.append("OOMPolicy=%s" % (policy[-1] if policy else "stop"))
    return "\n".join(lines) + "\n"


def put(root, path, content, binary=False):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb" if binary else "w") as handle:
        handle.write(content)


def read(root, path):
    with open(os.path.join(str(root), path.lstrip("/")), encoding="utf-8") as handle:
        return handle.read()


def exists(root, path):
    return os.path.exists(os.path.join(str(root), path.lstrip("/")))


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A Debian host with one running cluster, as the recorded files show it."""
    put(tmp_path, "/lib/systemd/system/postgresql@.service", read(FIXTURES, "/postgresql@.service"))
    put(tmp_path, "/etc/postgresql/15/main/environment", read(FIXTURES, "/debian-environment"))
    put(tmp_path, "/etc/login.defs", "UID_MIN\t\t\t 1000\n#SYS_UID_MAX\t\t  999\n")
    put(tmp_path, "/proc/1/limits", read(FIXTURES, "/proc-limits-pid1"))
    put(tmp_path, "/proc/1/status", CAPEFF_CONTAINER)
    put(tmp_path, "/proc/%d/limits" % PID, read(FIXTURES, "/proc-limits-postmaster"))
    put(tmp_path, "/proc/%d/environ" % PID, b"PATH=/bin\0PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj\0", True)
    put(tmp_path, "/proc/%d/oom_score_adj" % PID, "0\n")
    put(tmp_path, "/proc/%d/stat" % PID, "%d (postgres) S 1 %d\n" % (PID, PID))
    for child in (4243, 4244):
        put(tmp_path, "/proc/%d/stat" % child, "%d (postgres) S %d %d\n" % (child, PID, PID))
        put(tmp_path, "/proc/%d/oom_score_adj" % child, "0\n")

    calls = {"run": [], "warned": [], "state": "ActiveState=active\nResult=success\n"}

    def run_command(self, argv, **kwargs):
        calls["run"].append(list(argv))
        if argv[1:3] == ["show", "-p"] and len(argv) > 4:
            return 0, unit_show(tmp_path, calls), ""
        if argv[1:3] == ["show", "-p"]:
            return 0, MANAGER_SHOW, ""
        if argv[1:] == ["daemon-reload"]:
            return 0, "", ""
        return 1, "", "unexpected %r" % (argv,)

    class Pw:
        pw_uid = 101

    monkeypatch.setattr(pg_service_units.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(pg_service_units.AnsibleModule, "warn", lambda self, msg: calls["warned"].append(msg))
    monkeypatch.setattr(pg_service_units.AnsibleModule, "get_bin_path",
                        lambda self, name, required=False, opt_dirs=None: SYSTEMCTL)
    monkeypatch.setattr(pg_service_units, "HostFiles", lambda: host_files.HostFiles(str(tmp_path)))
    monkeypatch.setattr(host_files.HostFiles, "pid_alive", lambda self, pid: self.exists("/proc/%d/stat" % pid))
    monkeypatch.setattr(pg_service_units.pwd, "getpwnam", lambda name: Pw)
    return tmp_path, calls


def run_module(args, monkeypatch, capsys):
    return run_main(pg_service_units.main, args, monkeypatch, capsys)


def args(**extra):
    base = {"clusters": [CLUSTER], "hugepage_size_kb": 2048, "logind_remove_ipc": "yes"}
    base.update(extra)
    return base


def test_first_run_writes_three_dropins_and_the_environment_block(host, monkeypatch, capsys):
    root, calls = host
    code, result = run_module(args(), monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True and result["daemon_reload"] is True
    assert calls["run"].count([SYSTEMCTL, "daemon-reload"]) == 1
    cluster = result["clusters"][0]
    assert sorted(os.path.basename(p) for p in cluster["files"]) == [
        "60-pghost-limits.conf", "60-pghost-oom.conf", "60-pghost-shutdown.conf", "environment"]
    limits = read(root, DROPIN_DIR + "/60-pghost-limits.conf")
    # 72 huge pages of 2 MiB = 150994944 bytes; nofile hard kept at systemd's 524288
    assert "LimitNOFILE=65536:524288\nLimitNPROC=65536:65536\nLimitMEMLOCK=150994944:150994944\n" in limits
    assert "PG_OOM_ADJUST_VALUE = '0'" in read(root, "/etc/postgresql/15/main/environment")
    assert "OOMScoreAdjust=-1000" in read(root, DROPIN_DIR + "/60-pghost-oom.conf")
    assert "KillSignal=SIGINT" in read(root, DROPIN_DIR + "/60-pghost-shutdown.conf")
    # The running postmaster predates all of it; the nofile cap of PID 1 is not pending.
    assert cluster["restart"] == "pending"
    assert cluster["reasons"] == [
        "running postmaster has PG_OOM_ADJUST_VALUE=(unset), /etc/postgresql/15/main/environment gives 0",
        "running postmaster has LimitNOFILE 1024:20000, unit postgresql@15-main.service gives 20000:20000"]
    assert cluster["clamped"]["nofile"] == ["65536:524288", "20000:20000"]
    assert cluster["live"]["backends"] == {"4243": 0, "4244": 0}
    assert cluster["live"]["oom_score_adj"] == 0
    assert result["server_users"] == {"postgres": {"uid": 101, "system": True}}
    assert result["logind"]["needs_remove_ipc_no"] is False
    assert len(result["diff"]) == 4


def test_second_run_changes_nothing_and_restart_stays_pending(host, monkeypatch, capsys):
    root, calls = host
    run_module(args(), monkeypatch, capsys)
    calls["run"].clear()
    code, result = run_module(args(), monkeypatch, capsys)
    assert result["changed"] is False and result["daemon_reload"] is False
    assert [SYSTEMCTL, "daemon-reload"] not in calls["run"]
    assert result["clusters"][0]["restart"] == "pending"


def test_after_restart_nothing_is_pending(host, monkeypatch, capsys):
    root, dummy = host
    run_module(args(), monkeypatch, capsys)
    put(root, "/proc/%d/environ" % PID,
        b"PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj\0PG_OOM_ADJUST_VALUE=0\0", True)
    put(root, "/proc/%d/limits" % PID, read(FIXTURES, "/proc-limits-pid1"))
    code, result = run_module(args(), monkeypatch, capsys)
    assert result["clusters"][0]["restart"] == "not needed"
    assert result["clusters"][0]["reasons"] == []


def test_check_mode_writes_nothing(host, monkeypatch, capsys):
    root, calls = host
    before = read(root, "/etc/postgresql/15/main/environment")
    code, result = run_module(args(_ansible_check_mode=True), monkeypatch, capsys)
    assert result["changed"] is True
    assert not exists(root, DROPIN_DIR)
    assert read(root, "/etc/postgresql/15/main/environment") == before
    assert [SYSTEMCTL, "daemon-reload"] not in calls["run"]


def test_unit_limits_above_the_wanted_ones_are_kept(host, monkeypatch, capsys):
    root, dummy = host
    put(root, "/etc/systemd/system/%s.d/10-site.conf" % UNIT, "[Service]\nLimitNOFILE=1048576\nTimeoutStopSec=2h\n")
    code, result = run_module(args(), monkeypatch, capsys)
    assert "LimitNOFILE=1048576:1048576" in read(root, DROPIN_DIR + "/60-pghost-limits.conf")
    assert "TimeoutStopSec=7200s" in read(root, DROPIN_DIR + "/60-pghost-shutdown.conf")


def test_our_own_dropin_is_not_the_baseline(host, monkeypatch, capsys):
    root, dummy = host
    run_module(args(limit_nofile=200000), monkeypatch, capsys)
    code, result = run_module(args(limit_nofile=65536), monkeypatch, capsys)
    assert "LimitNOFILE=65536:524288" in read(root, DROPIN_DIR + "/60-pghost-limits.conf")


def test_switched_off_concerns_are_left_alone(host, monkeypatch, capsys):
    root, dummy = host
    code, result = run_module(args(oom=False, limits=False), monkeypatch, capsys)
    assert sorted(os.listdir(os.path.join(str(root), DROPIN_DIR.lstrip("/")))) == ["60-pghost-shutdown.conf"]
    assert "BEGIN pghost" not in read(root, "/etc/postgresql/15/main/environment")
    assert result["clusters"][0]["restart"] == "not needed"


def test_crashed_cluster_is_reported(host, monkeypatch, capsys):
    root, dummy = host
    put(root, "/var/lib/postgresql/15/main/postmaster.pid", "999999\n/var/lib/postgresql/15/main\n")
    stopped = dict(CLUSTER, running=False, pid=None)
    code, result = run_module(args(clusters=[stopped]), monkeypatch, capsys)
    cluster = result["clusters"][0]
    assert cluster["restart"] == "crashed"
    assert "PID 999999" in cluster["reasons"][0]
    # Read, not removed: this recorded host has no /proc/sysvipc/shm and no /dev/shm files.
    assert cluster["stale_ipc"]["state"] == "nothing_stale" and cluster["stale_ipc"]["objects"] == []


def test_stale_ipc_is_read_for_crashed_clusters_only(host, monkeypatch, capsys):
    surveyed = []
    monkeypatch.setattr(pg_service_units.ipc_cleanup_run, "survey",
                        lambda data, version, files: surveyed.append((data, version)) or {"state": "removed"})
    root, dummy = host
    put(root, "/var/lib/postgresql/15/main/postmaster.pid", "999999\n/var/lib/postgresql/15/main\n")
    stopped = dict(CLUSTER, running=False, pid=None)
    code, result = run_module(args(clusters=[stopped, dict(CLUSTER, name="15/other", data_directory="/srv/other",
                                                           unit="postgresql@15-other.service")]),
                              monkeypatch, capsys)
    crashed, running = result["clusters"]
    assert crashed["stale_ipc"] == {"state": "removed"} and "stale_ipc" not in running
    assert surveyed == [("/var/lib/postgresql/15/main", CLUSTER.get("version"))]


@pytest.mark.parametrize("comm, cwd, restart", [
    ("bash", "/", "crashed"),                                     # the pid was reused by another program
    ("postgres", "/var/lib/postgresql/16/main", "crashed"),       # another cluster's postmaster
    ("postgres", "/var/lib/postgresql/15/main", "not running"),   # its own postmaster: not a crash
])
def test_pid_file_counts_only_this_clusters_postmaster(host, monkeypatch, capsys, comm, cwd, restart):
    """postmaster.pid_file_liveness: a live pid is this cluster's postmaster only if it
    is postgres working in this data directory (kill(pid, 0) alone said "alive" to all three)."""
    root, dummy = host
    put(root, "/var/lib/postgresql/15/main/postmaster.pid", "%d\n/var/lib/postgresql/15/main\n" % PID)
    put(root, "/proc/%d/comm" % PID, comm + "\n")
    for directory in ("/var/lib/postgresql/15/main", "/var/lib/postgresql/16/main"):
        os.makedirs(os.path.join(str(root), directory.lstrip("/")), exist_ok=True)
    os.symlink(cwd, os.path.join(str(root), "proc/%d/cwd" % PID))  # as /proc shows it: the path on the host
    stopped = dict(CLUSTER, running=False, pid=None)
    code, result = run_module(args(clusters=[stopped]), monkeypatch, capsys)
    assert result["clusters"][0]["restart"] == restart
    if restart == "crashed":
        assert "PID %d" % PID in result["clusters"][0]["reasons"][0]


def test_garbled_pid_file_is_an_unclean_stop(host, monkeypatch, capsys):
    root, dummy = host
    put(root, "/var/lib/postgresql/15/main/postmaster.pid", "\n")
    code, result = run_module(args(clusters=[dict(CLUSTER, running=False, pid=None)]), monkeypatch, capsys)
    assert result["clusters"][0]["restart"] == "crashed"
    assert "PID ?" in result["clusters"][0]["reasons"][0]


@pytest.mark.parametrize("result, main_code, restart", [
    ("signal", "2", "crashed"),
    ("core-dump", "3", "crashed"),
    # Debian after kill -9 (recorded): ExecStop's pg_ctlcluster exits 2, main process CLD_KILLED by 9
    ("exit-code", "2", "crashed"),
    ("exit-code", "1", "not running"),  # the server exited with an error: not a crash
])
def test_failed_unit_without_pid_file(host, monkeypatch, capsys, result, main_code, restart):
    root, calls = host
    calls["state"] = "ActiveState=failed\nResult=%s\nExecMainCode=%s\nExecMainStatus=9\n" % (result, main_code)
    stopped = dict(CLUSTER, running=False, pid=None)
    code, out = run_module(args(clusters=[stopped]), monkeypatch, capsys)
    assert out["clusters"][0]["restart"] == restart
    if restart == "crashed":
        assert "Result=%s" % result in out["clusters"][0]["reasons"][0]


def test_cluster_without_unit_is_skipped_with_a_warning(host, monkeypatch, capsys):
    root, calls = host
    code, result = run_module(args(clusters=[dict(CLUSTER, unit=None)]), monkeypatch, capsys)
    assert result["changed"] is False
    assert result["clusters"][0]["restart"] == "no unit"
    assert "no systemd unit" in calls["warned"][0]


def test_non_system_user_needs_remove_ipc_no(host, monkeypatch, capsys):
    class Pw:
        pw_uid = 1500

    monkeypatch.setattr(pg_service_units.pwd, "getpwnam", lambda name: Pw)
    code, result = run_module(args(), monkeypatch, capsys)
    assert result["logind"]["needs_remove_ipc_no"] is True
    assert "postgres" in result["logind"]["verdict"]


@pytest.mark.parametrize("bad, words", [
    ({"limit_nofile": -1}, "limit_nofile: -1 is not allowed"),
    ({"oom_score_adjust": -1001}, "oom_score_adjust: -1001 is outside -1000..1000"),
    ({"limit_memlock": "lots"}, "limit_memlock: 'lots' is not allowed"),
    ({"timeout_stop_sec": 0}, "timeout_stop_sec: 0 is not allowed"),
])
def test_bad_input_fails_before_anything_is_written(host, monkeypatch, capsys, bad, words):
    root, dummy = host
    code, result = run_module(args(**bad), monkeypatch, capsys)
    assert code == 1 and result["failed"]
    assert words in result["msg"] and "nothing was written" in result["msg"]
    assert not exists(root, DROPIN_DIR)


def test_children_are_read_from_proc_once_for_all_clusters(tmp_path):
    stats = {
        "4242": "4242 (postgres) S 1 4242 4242 0 -1",
        "4243": "4243 (postgres: checkpointer ) S 4242 4242",
        "5000": "5000 (postgres) S 1 5000 5000 0 -1",
        "5001": "5001 (a) b) (c) S 5000 5000",  # a command name with ") " in it
        "self": "ignored",
    }
    for pid, stat in stats.items():
        os.makedirs(os.path.join(str(tmp_path), "proc", pid))
        with open(os.path.join(str(tmp_path), "proc", pid, "stat"), "w") as handle:
            handle.write(stat + "\n")
    children = pg_service_units.children_by_ppid(host_files.HostFiles(str(tmp_path)))
    assert children == {1: ["4242", "5000"], 4242: ["4243"], 5000: ["5001"]}


def proc_limits(nofile, nproc, memlock):
    """/proc/<pid>/limits in the kernel's layout, for the three managed rows."""
    def cell(value):
        return "unlimited" if value == su.INFINITY else str(value)
    rows = [("Max processes", nproc, "processes"), ("Max open files", nofile, "files"),
            ("Max locked memory", memlock, "bytes")]
    return "Limit                     Soft Limit           Hard Limit           Units     \n" + "".join(
        "%-26s%-21s%-21s%-10s\n" % (label, cell(pair[0]), cell(pair[1]), unit) for label, pair, unit in rows)


@pytest.fixture
def real_host(host):
    """The same host as a real machine: PID 1 has CAP_SYS_RESOURCE and the kernel's
    boot default of 7697 processes (recorded on the bookworm VM, 2 GiB), which
    systemd does not hold units to; the postmaster started with systemd's defaults."""
    root, calls = host
    put(root, "/proc/1/status", CAPEFF_HOST)
    put(root, "/proc/1/limits", read(FIXTURES, "/proc-limits-pid1-vm"))
    put(root, "/proc/%d/limits" % PID, proc_limits((1024, 524288), (7697, 7697), (8388608, 8388608)))
    put(root, "/proc/%d/oom_score_adj" % PID, "-900\n")
    return root, calls


def test_real_host_restart_then_nothing_pending_on_the_next_runs(real_host, monkeypatch, capsys):
    """Issue 11: after the restart the postmaster has what the unit gives; PID 1's 7719 is not a cap,
    so neither the restart's read-back nor the next run finds anything pending."""
    root, calls = real_host
    code, result = run_module(args(), monkeypatch, capsys)
    cluster = result["clusters"][0]
    assert cluster["clamped"] == {}
    assert cluster["unit_properties"]["LimitNPROC"] == "65536" and cluster["unit_properties"]["OOMPolicy"] == "continue"
    assert cluster["restart"] == "pending"
    assert cluster["reasons"] == [
        "running postmaster has PG_OOM_ADJUST_VALUE=(unset), /etc/postgresql/15/main/environment gives 0",
        "running postmaster has oom_score_adj -900, 60-pghost-oom.conf gives -1000",
        "running postmaster has LimitNOFILE 1024:524288, unit %s gives 65536:524288" % UNIT,
        "running postmaster has LimitNPROC 7697:7697, unit %s gives 65536:65536" % UNIT,
        "running postmaster has LimitMEMLOCK 8388608:8388608, unit %s gives 150994944:150994944" % UNIT]
    # The restart: systemd starts the postmaster with what the unit gives.
    put(root, "/proc/%d/environ" % PID, b"PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj\0PG_OOM_ADJUST_VALUE=0\0", True)
    put(root, "/proc/%d/limits" % PID, proc_limits((65536, 524288), (65536, 65536), (150994944, 150994944)))
    put(root, "/proc/%d/oom_score_adj" % PID, "-1000\n")
    for check_mode in (True, False, False):
        calls["run"].clear()
        code, result = run_module(args(_ansible_check_mode=check_mode), monkeypatch, capsys)
        assert result["changed"] is False
        assert result["clusters"][0]["restart"] == "not needed", result["clusters"][0]["reasons"]
        assert [SYSTEMCTL, "daemon-reload"] not in calls["run"]


def test_container_without_cap_sys_resource_reports_clamps_not_pending(host, monkeypatch, capsys):
    root, dummy = host
    run_module(args(), monkeypatch, capsys)
    # What systemd gave the restarted postmaster under PID 1's caps (nofile 20000, nproc 32768).
    put(root, "/proc/%d/environ" % PID, b"PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj\0PG_OOM_ADJUST_VALUE=0\0", True)
    put(root, "/proc/%d/limits" % PID, proc_limits((20000, 20000), (32768, 32768), (8388608, 8388608)))
    code, result = run_module(args(), monkeypatch, capsys)
    cluster = result["clusters"][0]
    assert cluster["restart"] == "not needed", cluster["reasons"]
    assert cluster["clamped"] == {"nofile": ["65536:524288", "20000:20000"], "nproc": ["65536:65536", "32768:32768"],
                                  "memlock": ["150994944:150994944", "8388608:8388608"]}


def test_a_later_dropin_that_overrides_ours_is_what_the_restart_is_judged_by(real_host, monkeypatch, capsys):
    root, calls = real_host
    put(root, DROPIN_DIR + "/99-local.conf", "[Service]\nLimitNPROC=4096\nOOMPolicy=stop\n")
    put(root, "/proc/%d/limits" % PID, proc_limits((65536, 524288), (4096, 4096), (150994944, 150994944)))
    code, result = run_module(args(), monkeypatch, capsys)
    cluster = result["clusters"][0]
    assert not [r for r in cluster["reasons"] if "LimitNPROC" in r], cluster["reasons"]
    warned = "\n".join(calls["warned"])
    assert "LimitNPROC: 60-pghost-limits.conf writes 65536:65536, the unit gives 4096:4096" in warned
    assert "OOMPolicy is 'stop', not continue" in warned and "a later drop-in overrides it" in warned


def test_systemd_without_oom_policy_is_warned_about(real_host, monkeypatch, capsys):
    root, calls = real_host
    monkeypatch.setattr(pg_service_units.su, "systemd_version", lambda text: 239)
    original = unit_show

    def old_systemd(root_, calls_):
        return "\n".join(line for line in original(root_, calls_).splitlines() if not line.startswith("OOMPolicy="))

    monkeypatch.setitem(globals(), "unit_show", old_systemd)
    code, result = run_module(args(), monkeypatch, capsys)
    assert "systemd 239 predates OOMPolicy= (243)" in "\n".join(calls["warned"])
    assert "OOMPolicy=continue" in read(root, DROPIN_DIR + "/60-pghost-oom.conf")


def test_oom_policy_change_needs_a_reload_not_a_restart(real_host, monkeypatch, capsys):
    root, calls = real_host
    put(root, "/proc/%d/environ" % PID, b"PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj\0PG_OOM_ADJUST_VALUE=0\0", True)
    put(root, "/proc/%d/limits" % PID, proc_limits((65536, 524288), (65536, 65536), (150994944, 150994944)))
    put(root, "/proc/%d/oom_score_adj" % PID, "-1000\n")
    run_module(args(oom_policy="stop"), monkeypatch, capsys)
    calls["run"].clear()
    code, result = run_module(args(), monkeypatch, capsys)
    cluster = result["clusters"][0]
    assert cluster["changed"] == ["OOMPolicy=continue"]
    assert [SYSTEMCTL, "daemon-reload"] in calls["run"]
    assert cluster["restart"] == "not needed" and cluster["unit_properties"]["OOMPolicy"] == "continue"
