"""The FreeBSD branches of the roles, run for real in check mode on Linux.

No FreeBSD host can be reached from these machines (issue 6). This test runs
the real `ansible-playbook pghost.hardening.site --check --diff` against a
directory laid out as a FreeBSD jail host, with TEST DOUBLES for FreeBSD's
commands first on PATH (tests/integration/freebsd/README.md says what each
one does). It checks the changes the roles plan and their diffs, that the
stand-ins were asked only read-only questions, and that no file of the tree
changed. It proves the roles' logic and wiring, not FreeBSD's behaviour.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.join(ROOT, "tests", "integration", "freebsd")
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures", "freebsd-files")
JAILS = os.path.join(FIXTURES, "jails")

# tree path <- unit fixture (hand-written in the real formats)
FROM_FIXTURES = {
    "etc/login.conf": "login.conf",
    "etc/sysctl.conf": "sysctl.conf",
    "boot/loader.conf": "loader.conf",
    "etc/jail.conf": "jails/jail.conf",
    "etc/jail.conf.d/pg2.conf": "jails/jail.conf.d/pg2.conf",
    "etc/passwd": "jails/passwd.host",
    "etc/group": "jails/group.host",
}
PG_JAILS = ("pg1", "pg2", "pg3", "pg4")
SERVER_UID = 770  # the port's postgres (docs/postgres-kernel-facts.md §8), in host/etc/master.passwd and passwd.host

# The tree's data directory must belong to the tree's postgres user.
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the tree's files the server's uid")


def _copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


def build_host(base, release, jls_fixture, postmaster_pid, pg_version="16", pg_settings=None, login_conf="login.conf"):
    """The FreeBSD host's tree and the stand-ins' recorded answers, under base.

    pg_settings: {name: setting} replacing rows of recorded/pg_settings-16.txt
    (None as the setting drops the row, for versions without it)."""
    tree = os.path.join(str(base), "tree")
    shutil.copytree(os.path.join(HERE, "host"), tree)
    for dst, src in FROM_FIXTURES.items():
        _copy(os.path.join(FIXTURES, login_conf if dst == "etc/login.conf" else src), os.path.join(tree, dst))
    for jail in PG_JAILS + ("web1",):
        etc = os.path.join(tree, "jails", jail, "etc")
        _copy(os.path.join(JAILS, "rc.conf.web1" if jail == "web1" else "rc.conf.jail"), os.path.join(etc, "rc.conf"))
        for name in ("passwd", "group"):
            src = os.path.join(JAILS, "%s.%s" % (name, jail))
            if os.path.exists(src):
                _copy(src, os.path.join(etc, name))
    data = os.path.join(tree, "var", "db", "postgres", "data16")
    with open(os.path.join(data, "PG_VERSION"), "w") as handle:
        handle.write(pg_version + "\n")
    # Owned by the tree's postgres (770 in its /etc/passwd), as on the host.
    for dirpath, dummy, filenames in os.walk(os.path.join(tree, "var", "db", "postgres")):
        for path in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
            os.chown(path, SERVER_UID, SERVER_UID)
    # postmaster.pid: pid, data directory, start time, port, socket dir,
    # listen address, shmem key and id, status (PostgreSQL 10+ layout).
    with open(os.path.join(data, "postmaster.pid"), "w") as handle:
        handle.write("%d\n/var/db/postgres/data16\n1764070000\n5432\n/tmp\nlocalhost\n  5432001     65536\nready   \n"
                     % postmaster_pid)

    recorded = os.path.join(str(base), "recorded")
    shutil.copytree(os.path.join(HERE, "recorded"), recorded)
    with open(os.path.join(recorded, "freebsd-version.txt"), "w") as handle:
        handle.write(release + "\n")
    shutil.copyfile(os.path.join(JAILS, jls_fixture), os.path.join(recorded, "jls-n.txt"))
    shutil.copyfile(os.path.join(ROOT, "tests", "unit", "fixtures", "freebsd", "sysctl-NW-kern.ipc-13.2.txt"),
                    os.path.join(recorded, "sysctl-NW-kern.ipc.txt"))
    if pg_settings:
        path = os.path.join(recorded, "pg_settings-16.txt")
        with open(path) as handle:
            rows = [line.rstrip("\n").split("|") for line in handle]
        rows = [[r[0], str(pg_settings[r[0]]), r[2]] if r[0] in pg_settings else r for r in rows]
        with open(path, "w") as handle:
            handle.writelines("|".join(r) + "\n" for r in rows if r[1] != "None")
    return tree, recorded


def snapshot(tree):
    """{relative path: sha256} of every file in the tree."""
    found = {}
    for dirpath, dummy, filenames in os.walk(tree):
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, tree)] = hashlib.sha256(handle.read()).hexdigest()
    return found


class Host:
    """The stand-in FreeBSD host: its tree, the stand-ins' recorded answers, and
    a live process playing the postmaster (pg_host_facts sees the cluster
    running by kill(pid, 0), as on FreeBSD, and asks psql). close() ends it."""

    def __init__(self, base, release="13.2-RELEASE-p4", jls_fixture="jls-n.txt", pg_version="16", pg_settings=None,
                 login_conf="login.conf"):
        self.base = str(base)
        self.sleeper = subprocess.Popen(["sleep", "600"])
        self.tree, self.recorded = build_host(base, release, jls_fixture, self.sleeper.pid, pg_version, pg_settings,
                                              login_conf)

    def close(self):
        self.sleeper.kill()
        self.sleeper.wait()


class Play:
    """One run of the site playbook (or `playbook`) against a Host: check mode
    with the changing stand-ins refusing (the default), or a real run where
    they act on the tree (test doubles of the changes, see standins/_standin.sh).
    The inventory is localhost alone, or the file `inventory` (its hosts with a
    local connection all play the same stand-in host)."""

    def __init__(self, host, ansible_env, extra_vars=None, check=True, name="run", playbook="pghost.hardening.site",
                 inventory=None):
        self.tree, self.sleeper = host.tree, host.sleeper
        self.log = os.path.join(host.base, name + "-standin-calls.log")
        before = snapshot(self.tree)
        env = dict(ansible_env)
        env.update(
            PATH=os.path.join(HERE, "standins") + os.pathsep + env.get("PATH", ""),
            PGHOST_HARDENING_TEST_ROOT=self.tree,
            PGHOST_HARDENING_TEST_PLATFORM="freebsd",
            PGHOST_STANDIN_RECORDED=host.recorded,
            PGHOST_STANDIN_LOG=self.log,
            PGHOST_STANDIN_READONLY="1" if check else "0",
        )
        variables = {
            "ansible_become": False,
            "ansible_python_interpreter": sys.executable,
            # Stock modules do not know the test root: their files are given in the tree.
            "pg_limits_rc_conf": os.path.join(self.tree, "etc/rc.conf"),
            "pg_service_rc_conf": os.path.join(self.tree, "etc/rc.conf"),
        }
        variables.update(extra_vars or {})
        proc = subprocess.run(
            ["ansible-playbook", "-i", inventory or "localhost,", "-c", "local", "--diff"] + (["--check"] if check else [])
            + [playbook, "-e", json.dumps(variables)],
            capture_output=True, text=True, env=env, cwd=host.base, timeout=300, check=False,
        )
        self.rc, self.stderr = proc.returncode, proc.stderr
        try:
            self.tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
        except (ValueError, KeyError, IndexError):
            raise AssertionError("no JSON from ansible-playbook (rc %d): %s %s" % (proc.returncode, proc.stdout[-3000:],
                                                                                   proc.stderr[-3000:]))
        self.changed_files = sorted(k for k, v in snapshot(self.tree).items() if before.get(k) != v)
        with open(self.log) if os.path.exists(self.log) else open(os.devnull) as handle:
            self.calls = [line.rstrip("\n") for line in handle]

    def results(self, host="localhost"):
        """[(task name, host result)] in run order."""
        return [(t["task"]["name"], t["hosts"][host]) for t in self.tasks if host in t["hosts"]]

    def result(self, name):
        """The one result, not skipped, of the task whose name contains `name`
        (give "role : task name" where several roles share a task name)."""
        found = [r for n, r in self.results() if name in n and not r.get("skipped")]
        assert len(found) == 1, "%d tasks named like %r in: %s" % (len(found), name, [n for n, r in self.results()])
        return found[0]

    def failures(self, host="localhost"):
        return [(n, r.get("msg")) for n, r in self.results(host) if r.get("failed")]

    def diffs(self):
        """{header path: (before, after)} of every diff shown."""
        found = {}
        for dummy, res in self.results():
            for item in [res] + list(res.get("results") or []):
                diff = item.get("diff")
                for entry in diff if isinstance(diff, list) else [diff] if diff else []:
                    if "after_header" in entry and entry.get("before") != entry.get("after"):
                        found[entry["after_header"]] = (entry["before"], entry["after"])
        return found

    def calls_of(self, tool):
        return [c for c in self.calls if c.split(" ", 1)[0] == tool]


def check_run(base, ansible_env, extra_vars=None, **host_options):
    """One check-mode run against a fresh stand-in host."""
    host = Host(base, **host_options)
    try:
        return Play(host, ansible_env, extra_vars)
    finally:
        host.close()


@pytest.fixture(scope="module")
def run13(tmp_path_factory, ansible_env):
    """FreeBSD 13.2: four PostgreSQL jails, three sharing the host's IPC."""
    return check_run(tmp_path_factory.mktemp("freebsd13"), ansible_env)


def test_runs_clean_and_writes_nothing(run13):
    assert run13.rc == 0 and not run13.failures(), (run13.failures(), run13.stderr[-2000:])
    assert run13.changed_files == [], "check mode changed files of the tree"


def test_standins_were_only_asked_read_only_questions(run13):
    # The changing stand-ins refuse with exit 97 in this test, which would
    # fail its task; on top of that none of them may even have been called.
    for tool in ("cap_mkdb", "protect", "service", "jexec"):
        assert run13.calls_of(tool) == [], run13.calls
    assert all(c.split()[1:2] in (["usershow"], ["-R"]) for c in run13.calls_of("pw")), run13.calls_of("pw")
    assert all("=" not in c for c in run13.calls_of("sysctl")), run13.calls_of("sysctl")
    # Two sysctl calls read the host (values, then which are runtime-writable);
    # one more reads the keys pg_sysctl manages.
    assert run13.calls_of("sysctl")[0].startswith("sysctl -i -e hw.physmem")
    assert run13.calls_of("sysctl")[1] == "sysctl -N -W kern.ipc"
    assert len(run13.calls_of("sysctl")) == 3


def test_host_cluster_is_found_running_with_sysv_shared_memory(run13):
    facts = run13.result("pg_preflight : Read the host and its PostgreSQL clusters")["ansible_facts"]
    assert facts["pghost_host"]["platform"] == "freebsd"
    assert facts["pghost_host"]["mem_total_kb"] == 34253561856 // 1024
    assert facts["pghost_host"]["loader_only_source"] == "sysctl -N -W kern.ipc"
    assert "kern.ipc.semmni" in facts["pghost_host"]["loader_only"]
    assert "kern.ipc.shmmax" not in facts["pghost_host"]["loader_only"]
    (cluster,) = facts["pghost_clusters_found"]
    assert (cluster["data_directory"], cluster["version"], cluster["running"]) == ("/var/db/postgres/data16", "16", True)
    assert (cluster["shared_memory_type"], cluster["settings_source"]) == ("sysv", "pg_settings")
    # for the audit: the recorded ps flags 10004002 lack P_PROTECTED; master.passwd gives postgres no class
    assert cluster["oom_protection"] == {"state": "unprotected", "flags": "10004002", "error": None}
    login = cluster["login_class"]
    assert (login["user"], login["name"], login["found"], login["error"]) == ("postgres", "default", True, None)
    assert login["limits"]["openfiles"] == {"soft": "unlimited", "hard": "unlimited"}


def test_kern_ipc_runtime_keys_are_planned_in_sysctl_conf(run13):
    before, after = run13.diffs()["/etc/sysctl.conf"]
    assert "kern.ipc.shmmax=2147483648" in before
    # 8405 MB of shared memory in one SysV segment (shared_memory_type = sysv)
    block = after[after.index("# BEGIN pghost.hardening"):]
    shmmax = int(block.split("kern.ipc.shmmax=")[1].split()[0])
    shmall = int(block.split("kern.ipc.shmall=")[1].split()[0])
    assert 8405 * 1024 * 1024 <= shmmax < 8405 * 1024 * 1024 * 1.05
    assert shmall * 4096 >= shmmax
    # Lines outside the managed block are kept as they were.
    assert after.startswith(before[:before.index("kern.ipc.shmmax=2147483648")])
    assert "/boot/loader.conf" not in run13.diffs(), "no loader tunable needs raising for POSIX semaphores"


def test_no_kernel_change_when_no_cluster_uses_sysv_shared_memory(tmp_path, ansible_env):
    # FreeBSD's defaults suffice unless shared_memory_type = sysv (docs/postgres-kernel-facts.md §8):
    # with mmap the SysV segment is a few bytes and nothing is planned.
    run = check_run(tmp_path, ansible_env, pg_settings={"shared_memory_type": "mmap"})
    assert run.rc == 0 and not run.failures(), run.failures()
    diffs = run.diffs()
    assert "/etc/sysctl.conf" not in diffs and "/boot/loader.conf" not in diffs
    assert run.result("pg_kernel : Publish what was computed and whether a reboot is pending")[
        "ansible_facts"]["pghost_reboot_required"] is False


def test_sysv_semaphores_of_old_releases_go_to_loader_conf_with_reboot_required(tmp_path, ansible_env):
    # PostgreSQL 9.6 still takes SysV semaphores on FreeBSD (10+ does not,
    # docs/postgres-kernel-facts.md §8): 3000 connections need more sets than kern.ipc.semmni=50, a
    # loader tunable, so the change waits for the next boot (docs/postgres-kernel-facts.md §8).
    run = check_run(tmp_path, ansible_env, pg_version="9.6",
                    pg_settings={"max_connections": 3000, "shared_memory_type": None, "huge_page_size": None,
                                 "shared_memory_size": None, "shared_memory_size_in_huge_pages": None})
    assert run.rc == 0 and not run.failures(), run.failures()
    before, after = run.diffs()["/boot/loader.conf"]
    block = after[after.index("# BEGIN pghost.hardening"):]
    assert 'kern.ipc.semmni="' in block and 'kern.ipc.semmns="' in block
    assert int(block.split('kern.ipc.semmni="')[1].split('"')[0]) > 50
    assert after.startswith(before.rstrip("\n")), "the rest of loader.conf is kept"
    assert run.result("pg_kernel : Publish what was computed and whether a reboot is pending")[
        "ansible_facts"]["pghost_reboot_required"] is True
    assert all(not c.startswith("sysctl kern.ipc.semmni=") for c in run.calls)


# ------------------------------------------------------------- pg_limits

def test_login_class_postgres_is_planned_and_assigned_to_the_server_user(run13):
    before, after = run13.diffs()["/etc/login.conf"]
    assert after.startswith(before), "the class is added after everything else, which stays byte for byte"
    added = after[len(before):]
    # default gives unlimited openfiles and maxproc: never lowered, so the
    # class asks for nothing of its own and takes them through tc=default.
    assert added.endswith("\npostgres|PostgreSQL server:\\\n\t:tc=default:\n"), added
    assert "# Run cap_mkdb on this file after editing it by hand.\n" in added
    limits = run13.result("pg_limits : Write the limits of login class postgres")["limits"]
    assert {(r["resource"], r["limit"], r["after"]) for r in limits} >= {
        ("openfiles", "soft", "unlimited"), ("maxproc", "hard", "unlimited")}
    # pg_host_facts reads the owner's class for the audit, pg_limits for its plan
    assert run13.calls_of("pw") == ["pw usershow -n postgres"] * 2
    said = run13.result("pg_limits : Say which users would get the class")["results"]
    assert [r["msg"] for r in said] == ["would assign login class postgres to user postgres (now default)"]
    assert run13.result("pg_limits : Have the rc script start the server in the class")["changed"] is True
    assert "sysrc -f %s/etc/rc.conf -v -n postgresql_login_class" % run13.tree in run13.calls


def test_an_existing_postgres_class_is_raised_in_place_never_lowered(tmp_path, ansible_env):
    # A hand-made class with openfiles 8192/16384 and maxproc 1024: raised
    # to the role's 65536 in place; every other line stays as it was.
    run = check_run(tmp_path, ansible_env, login_conf="login.conf-postgres", extra_vars={"pg_limits_memlock": "unlimited"})
    assert run.rc == 0 and not run.failures(), run.failures()
    before, after = run.diffs()["/etc/login.conf"]
    changed = [(b, a) for b, a in zip(before.splitlines(), after.splitlines()) if b != a]
    assert changed == [("\t:openfiles-cur=8192:\\", "\t:openfiles-cur=65536:\\"),
                       ("\t:openfiles-max=16384:\\", "\t:openfiles-max=65536:\\"),
                       ("\t:memorylocked@:\\", "\t:memorylocked=unlimited:\\")], changed
    # libutil reads maxproc= (string form, anywhere in the tc= expanded
    # record) before maxproc#: default's maxproc=unlimited wins over the
    # class's own maxproc#1024, so there is nothing to raise.
    maxproc = [r for r in run.result("pg_limits : Write the limits")["limits"] if r["resource"] == "maxproc"]
    assert {(r["after"], r["changed"]) for r in maxproc} == {("unlimited", False)}
    assert len(before.splitlines()) == len(after.splitlines())
    assert run.calls_of("cap_mkdb") == [], "cap_mkdb runs only for real"


# ------------------------------------------------------------- pg_service

def test_shutdown_flags_become_fast_and_the_postmaster_would_be_protected(run13):
    plan = run13.result("pg_service : Plan a fast shutdown")["ansible_facts"]["pg_service_flags_plan"]
    assert [(p["name"], p["before"], p["after"]) for p in plan] == [
        ("postgresql_flags", "-w -s -m smart", "-w -s -m fast")]
    assert run13.result("pg_service : Stop with a fast shutdown, in rc.conf")["changed"] is True
    pid = run13.sleeper.pid
    assert "ps -o flags= -p %d" % pid in run13.calls
    said = run13.result("pg_service : Say which postmasters would be protected")["results"]
    assert [r["msg"] for r in said] == [
        "would protect the postmaster of postgresql from the OOM killer (protect -p %d)" % pid]


# ------------------------------------------------------------- pg_jail (13.2: sysvshm=new)

def test_jails_get_sysvshm_new_in_their_own_files_and_restarts_are_pending(run13):
    diffs = run13.diffs()
    before, after = diffs["/etc/jail.conf"]
    assert "pg1 { host.hostname = \"pg1.example.org\"; ip4.addr = 192.0.2.11; persist; " \
           "sysvshm = new; sysvsem = new; sysvmsg = new; }" in after
    assert "\tsysvshm = new; sysvsem = new; sysvmsg = new;\n\t# allow.sysvipc = 1;" in after
    assert "web1 { host.hostname = web1.example.org; ip4.addr = 192.0.2.21; }" in after, "web1 has no PostgreSQL"
    # Only lines of the PostgreSQL stanzas differ.
    assert after.split("pg1 {")[0] == before.split("pg1 {")[0]
    assert after.split("web1 {")[1] == before.split("web1 {")[1]
    # pg2 is defined in its own file, as /etc/rc.d/jail reads it; running
    # with new already (jls), but its file would not give it after a restart.
    assert "\tsysvshm = new;\n" in diffs["/etc/jail.conf.d/pg2.conf"][1]
    lines = run13.result("pg_jail : Say per jail what was written")["msg"]
    assert lines == [
        "jail pg1: sysvshm=new would be written to /etc/jail.conf; jail restart pending (running with disable)",
        "jail pg2: sysvshm=new would be written to /etc/jail.conf.d/pg2.conf; running with new",
        "jail pg3: sysvshm=new would be written to /etc/jail.conf; jail restart pending (running with inherit)",
        "jail pg4: sysvshm=new would be written to /etc/jail.conf; jail restart pending (running with inherit)",
    ]
    assert run13.calls_of("jls") == ["jls -n"] and run13.calls_of("freebsd-version") == ["freebsd-version -u"]


def test_a_jail_sharing_the_hosts_ipc_and_server_uid_is_warned_about(run13):
    # pg3 runs with the host's IPC (inherit) and UID 770, the UID of the
    # host's own PostgreSQL: the same collision, with the host's server.
    warnings = run13.result("pg_jail : Read the jails")["warnings"]
    assert any(w.startswith("jail pg3 shares the host's SysV IPC namespace and runs PostgreSQL as UID 770")
               for w in warnings), warnings
    assert not any("jail pg4 " in w for w in warnings), "pg4's UID 5003 is its own"


@pytest.fixture(scope="module")
def run10(tmp_path_factory, ansible_env):
    """FreeBSD 10.3: no sysvshm=new; pg1 and pg3 share the host's IPC and UID 770."""
    return check_run(tmp_path_factory.mktemp("freebsd10"), ansible_env, release="10.3-RELEASE-p29",
                     jls_fixture="jls-n-10.3.txt")


def test_freebsd_10_gets_a_distinct_uid_plan_and_nothing_applied(run10):
    assert run10.rc == 0 and not run10.failures(), run10.failures()
    assert run10.changed_files == []
    jails = run10.result("pg_jail : Read the jails")["ansible_facts"]["pghost_jails"]
    assert [sorted(c["jails"]) for c in jails["collisions"]] == [["pg1", "pg3"]]
    assert run10.result("pg_jail : Choose the isolation")["ansible_facts"]["pg_jail_mode"] == "distinct_uid"
    assert "/etc/jail.conf" not in run10.diffs(), "no jail.conf edit where sysvshm does not exist"
    lines = run10.result("pg_jail : Show the UID plan, one line per jail")["msg"]
    assert lines[0].startswith("jail pg1: postgres uid 770 -> 20000 (uid 770 is also used by host 'postgres'")
    assert lines[1] == "jail pg2: postgres keeps uid 5001 (unique), keeps gid 5001 (unique)"
    assert lines[2].startswith("jail pg3: postgres uid 770 -> 20001 ")
    assert lines[3] == "jail pg4: postgres keeps uid 5003 (unique), keeps gid 5003 (unique)"
    assert all(line.endswith("not applied (check mode)") for line in (lines[0], lines[2]))
    for tool in ("jexec", "service", "pw"):
        assert [c for c in run10.calls_of(tool) if "usershow" not in c] == [], run10.calls


@pytest.mark.parametrize("extra, words", [
    ({"pg_jail_uid_range": [20000, 20000]}, ["pg_jail_uid_range [20000, 20000]", "Nothing was changed"]),
    ({"pg_jail_jails": ["pg9"]}, ["pg9", "pg1", "web1"]),
])
def test_bad_jail_input_fails_before_anything_is_written(tmp_path, ansible_env, extra, words):
    run = check_run(tmp_path, ansible_env, release="10.3-RELEASE-p29", jls_fixture="jls-n-10.3.txt", extra_vars=extra)
    assert run.rc != 0
    failures = run.failures()
    # A rescued planner error shows up too; the message is the last failure's.
    assert all(name.startswith("pghost.hardening.pg_jail : ") for name, dummy in failures), failures
    failed = failures[-1]
    for word in words:
        assert word in failed[1], failed
    assert run.changed_files == []


# ------------------------------------------------------------- a real run, twice

def test_a_real_run_then_a_second_one_changes_nothing(tmp_path, ansible_env):
    # The changing stand-ins act on the tree here (test doubles of sysrc,
    # pw usermod -L, cap_mkdb, protect and sysctl k=v; see
    # standins/_standin.sh), and the collection's modules write the tree's
    # files themselves. The second run must find nothing left to do.
    host = Host(tmp_path)
    try:
        first = Play(host, ansible_env, check=False, name="first")
        second = Play(host, ansible_env, check=False, name="second")
    finally:
        host.close()
    assert first.rc == 0 and not first.failures(), first.failures()
    assert first.changed_files == sorted([
        "etc/jail.conf", "etc/jail.conf.d/pg2.conf", "etc/login.conf", "etc/login.conf.db", "etc/master.passwd",
        "etc/rc.conf", "etc/sysctl.conf"]), first.changed_files
    with open(os.path.join(host.tree, "etc/rc.conf")) as handle:
        rc_conf = handle.read()
    assert 'postgresql_flags="-w -s -m fast"\n' in rc_conf and 'postgresql_login_class="postgres"\n' in rc_conf
    with open(os.path.join(host.tree, "etc/master.passwd")) as handle:
        assert "postgres:*:770:770:postgres:0:0:PostgreSQL Daemon:/var/db/postgres:/bin/sh\n" in handle.read()
    assert "cap_mkdb %s/etc/login.conf" % host.tree in first.calls
    assert "protect -p %d" % host.sleeper.pid in first.calls
    assert [c for c in first.calls if c.startswith("sysctl kern.ipc.")] == [
        "sysctl kern.ipc.shmall=2151680", "sysctl kern.ipc.shmmax=8813281280"]

    assert second.rc == 0 and not second.failures(), second.failures()
    assert [name for name, res in second.results() if res.get("changed")] == []
    assert second.changed_files == []
    assert second.diffs() == {}
    for tool in ("cap_mkdb", "protect"):
        assert second.calls_of(tool) == [], second.calls
    assert [c for c in second.calls if "=" in c.split(" ", 1)[-1] and c.startswith(("sysctl", "sysrc"))] == []
