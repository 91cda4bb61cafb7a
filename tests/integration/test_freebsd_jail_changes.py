"""The disruptive paths of pg_jail, run for real on a stand-in FreeBSD host.

With pg_jail_restart: true and not in check mode, pg_jail restarts the jails
whose configuration now says sysvshm=new (restart_jail.yml, FreeBSD 11.0+)
or gives each jail's server user a UID/GID of its own (apply_uid.yml, before
11.0). No FreeBSD host is reachable here (issue 6): as in
test_freebsd_branches.py, the real `ansible-playbook pghost.hardening.site`
runs against a directory laid out as a FreeBSD host, with TEST DOUBLES for
jexec, service, pgrep, jls and pw (tests/integration/freebsd/README.md says
what each one emulates). The tests check the control flow - which commands
run, in which order, for which jail, and where a run stops - and what the
changes leave in the tree. They prove nothing about FreeBSD's own commands.
"""

import os

import pytest

# pytest (rootdir without __init__.py, the default "prepend" import mode) puts
# this directory on sys.path, so the sibling test module imports by name.
from test_freebsd_branches import PG_JAILS, SERVER_UID, Host, Play

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the jails' files their owners")

DATA = "/var/db/postgres/data16"
OTHER_UID = 80  # www: a file in a data directory that the server user does not own
# postmaster.pid lines 4-6 per jail: port, first socket directory, first
# listen address - each form the role turns into pg_isready's -p and -h.
LISTEN = {
    "pg1": ("5432", "/tmp", "localhost"),   # -h the socket directory
    "pg2": ("5432", "/tmp", "localhost"),
    "pg3": ("5433", "", "192.0.2.13"),      # no Unix socket: -h the listen address
    "pg4": ("5434", "", "*"),               # no Unix socket, every address: -h localhost
}
PG_ISREADY_HOST = {"pg1": "/tmp", "pg2": "/tmp", "pg3": "192.0.2.13", "pg4": "localhost"}
JAIL_TOOLS = ("jexec", "service", "pgrep")


def _ids(etc, user):
    """(uid, gid) of `user` in the jail's etc/passwd."""
    with open(os.path.join(etc, "passwd")) as handle:
        for line in handle:
            fields = line.rstrip("\n").split(":")
            if fields[0] == user:
                return int(fields[2]), int(fields[3])
    raise AssertionError("no %s in %s/passwd" % (user, etc))


def add_jail_clusters(host):
    """What a PostgreSQL jail has on FreeBSD beyond the unit fixtures' etc/:
    etc/master.passwd (pw reads and writes it; passwd is generated from it,
    so it is made from the fixture's passwd, class empty as FreeBSD has it)
    and a PostgreSQL 16 data directory in the port's default place, owned by
    the jail's postgres user, with a running server's postmaster.pid - plus
    one file of another user that must keep its owner."""
    for jail in PG_JAILS:
        root = os.path.join(host.tree, "jails", jail)
        etc = os.path.join(root, "etc")
        with open(os.path.join(etc, "passwd")) as src, open(os.path.join(etc, "master.passwd"), "w") as dst:
            for line in src:
                if line.startswith("#") or not line.strip():
                    continue
                name, password, uid, gid, gecos, home, shell = line.rstrip("\n").split(":")
                dst.write(":".join([name, password, uid, gid, "", "0", "0", gecos, home, shell]) + "\n")
        os.chmod(os.path.join(etc, "master.passwd"), 0o600)
        uid, gid = _ids(etc, "postgres")
        home = os.path.join(root, "var", "db", "postgres")
        data = root + DATA
        for sub in ("base/1", "global", "pg_tblspc", "pg_wal"):
            os.makedirs(os.path.join(data, sub))
        port, socket_dir, listen = LISTEN[jail]
        files = {
            "PG_VERSION": "16\n",
            "postgresql.conf": "port = %s\n" % port,
            "base/1/1259": "relation\n",
            "global/pg_control": "control\n",
            "postmaster.pid": "4242\n%s\n1764070000\n%s\n%s\n%s\n  5432001     65536\nready   \n"
                              % (DATA, port, socket_dir, listen),
            "base/1/not-the-servers": "left by another user\n",
        }
        for name, text in files.items():
            with open(os.path.join(data, name), "w") as handle:
                handle.write(text)
        with open(os.path.join(home, ".psql_history"), "w") as handle:
            handle.write("select 1;\n")
        for dirpath, dummy, filenames in os.walk(home):
            for path in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
                os.chown(path, uid, gid)
        os.chown(os.path.join(data, "base/1/not-the-servers"), OTHER_UID, OTHER_UID)


def jail_host(base, **options):
    host = Host(base, **options)
    add_jail_clusters(host)
    return host


def jail_calls(run):
    """The calls that act on or inside a jail, in order (host-wide reads such
    as `jls -n` and the host's `pw usershow -n postgres` left out)."""
    return [c for c in run.calls
            if c.split(" ", 1)[0] in JAIL_TOOLS or c.startswith(("jls -j ", "pw -V "))]


def changed_task_names(run):
    return [name for name, res in run.results() if res.get("changed")]


def read(host, path):
    with open(os.path.join(host.tree, path)) as handle:
        return handle.read()


def jls_modes(host):
    """{jail: (jid, sysvshm, sysvsem, sysvmsg)} from the stand-ins' jls -n."""
    found = {}
    with open(os.path.join(host.recorded, "jls-n.txt")) as handle:
        for line in handle:
            params = dict(word.split("=", 1) for word in line.split() if "=" in word)
            found[params["name"]] = (int(params["jid"]), params.get("sysvshm"), params.get("sysvsem"),
                                     params.get("sysvmsg"))
    return found


def owners(host, jail):
    """{path inside the jail: (uid, gid)} of the jail's postgres home, data directory included."""
    root = os.path.join(host.tree, "jails", jail)
    found = {}
    for dirpath, dummy, filenames in os.walk(os.path.join(root, "var", "db", "postgres")):
        for path in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
            st = os.lstat(path)
            found["/" + os.path.relpath(path, root)] = (st.st_uid, st.st_gid)
    return found


# ------------------------------------------------------------- FreeBSD 13.2: sysvshm=new, jails restarted

RESTART = {"pg_jail_restart": True, "pg_jail_stop_timeout": 10}
# A server that does not stop: pg_jail_stop_timeout 1 gives one poll and one
# retry; the 5 s between them (block variables of restart_jail.yml and
# apply_uid.yml) are overridden to keep the test fast.
STUCK = dict(RESTART, pg_jail_stop_timeout=1, pg_jail_poll_delay=0, pg_jail_uid_poll_delay=0)


def restart_calls(jail):
    """restart_jail.yml for one jail, as the stand-ins see it when every step succeeds at once."""
    port = LISTEN[jail][0]
    return [
        "jexec %s /usr/sbin/service postgresql stop" % jail,
        "pgrep -j %s -x postgres" % jail,
        "service jail restart %s" % jail,
        "jls -j %s sysvshm sysvsem sysvmsg" % jail,
        "jexec %s /usr/sbin/service postgresql status" % jail,
        "jexec %s cat %s/postmaster.pid" % (jail, DATA),
        "jexec %s /usr/local/bin/pg_isready -p %s -h %s" % (jail, port, PG_ISREADY_HOST[jail]),
    ]


@pytest.fixture(scope="module")
def restarted13(tmp_path_factory, ansible_env):
    """Two real runs with pg_jail_restart on FreeBSD 13.2: pg1, pg3 and pg4
    wait for a restart (running with disable, inherit, inherit), pg2 runs with new."""
    host = jail_host(tmp_path_factory.mktemp("restart13"))
    try:
        first = Play(host, ansible_env, extra_vars=RESTART, check=False, name="first")
        modes_after_first = jls_modes(host)
        second = Play(host, ansible_env, extra_vars=RESTART, check=False, name="second")
    finally:
        host.close()
    return host, first, modes_after_first, second


def test_pending_jails_are_restarted_one_at_a_time_in_name_order(restarted13):
    host, first, dummy, dummy = restarted13
    assert first.rc == 0 and not first.failures(), (first.failures(), first.stderr[-2000:])
    # Every step of one jail before the next jail is touched; pg2 (already
    # new) never; each check passes on its first attempt.
    assert jail_calls(first) == restart_calls("pg1") + restart_calls("pg3") + restart_calls("pg4"), first.calls
    # The configuration is written before the first jail is stopped.
    assert first.result("Write sysvshm, sysvsem and sysvmsg")["changed"] is True
    names = [n.split(" : ", 1)[-1] for n, dummy in first.results()]
    assert names.index("Write sysvshm, sysvsem and sysvmsg = new in each jail's stanza") \
        < names.index("Stop PostgreSQL with a fast shutdown, jail pg1")


def test_restarted_jails_run_with_new_and_the_report_says_so(restarted13):
    host, first, modes, dummy = restarted13
    # The stand-in service gives a restarted jail a new jid, as jail(8) does.
    assert modes == {"pg1": (5, "new", "new", "new"), "pg2": (2, "new", "new", "new"),
                     "pg3": (6, "new", "new", "new"), "pg4": (7, "new", "new", "new")}
    conf = read(host, "etc/jail.conf")
    assert "pg1 { host.hostname = \"pg1.example.org\"; ip4.addr = 192.0.2.11; persist; " \
           "sysvshm = new; sysvsem = new; sysvmsg = new; }" in conf
    jails = first.result("Publish what was found and done per jail")["ansible_facts"]["pghost_jail_isolation"]["jails"]
    assert [(j["name"], j["restart"], j["restart_pending"]) for j in jails] == [
        ("pg1", "done", False), ("pg2", "not needed", False), ("pg3", "done", False), ("pg4", "done", False)]
    lines = first.result("pg_jail : Show the isolation of each PostgreSQL jail")["msg"]
    assert lines == [
        "jail pg1: sysvshm=new written to /etc/jail.conf; jail restarted, running with new",
        "jail pg2: sysvshm=new written to /etc/jail.conf.d/pg2.conf; running with new",
        "jail pg3: sysvshm=new written to /etc/jail.conf; jail restarted, running with new",
        "jail pg4: sysvshm=new written to /etc/jail.conf; jail restarted, running with new",
    ]
    # Restarting touched no file inside the jails.
    assert [f for f in first.changed_files if f.startswith("jails/")] == []
    assert "etc/jail.conf" in first.changed_files and "etc/jail.conf.d/pg2.conf" in first.changed_files


def test_a_second_run_restarts_nothing_and_changes_nothing(restarted13):
    dummy, dummy, dummy, second = restarted13
    assert second.rc == 0 and not second.failures(), second.failures()
    assert changed_task_names(second) == []
    assert second.changed_files == []
    assert jail_calls(second) == [], second.calls
    lines = second.result("pg_jail : Say per jail what was written")["msg"]
    assert lines[0] == "jail pg1: sysvshm=new already in /etc/jail.conf; running with new"


@pytest.fixture(scope="module")
def stuck13(tmp_path_factory, ansible_env):
    """pg3's PostgreSQL does not stop: a real run fails there; a second, once
    it stops again, finishes the job."""
    host = jail_host(tmp_path_factory.mktemp("stuck13"))
    flag = os.path.join(host.recorded, "jail.pg3.postgresql-will-not-stop")
    try:
        with open(flag, "w"):
            pass
        failed = Play(host, ansible_env, extra_vars=STUCK, check=False, name="stuck")
        modes_after_failure = jls_modes(host)
        os.remove(flag)
        rerun = Play(host, ansible_env, extra_vars=RESTART, check=False, name="rerun")
    finally:
        host.close()
    return host, failed, modes_after_failure, rerun


def test_a_jail_whose_postgresql_does_not_stop_fails_the_host_and_is_not_restarted(stuck13):
    dummy, failed, modes, dummy = stuck13
    assert failed.rc != 0
    name, msg = failed.failures()[-1]
    assert name == "pghost.hardening.pg_jail : Fail the host, the jail did not come back as it should, pg3", name
    assert msg.startswith("jail pg3: failed while stopping PostgreSQL ('Check that PostgreSQL has stopped, jail pg3': "
                          "PostgreSQL processes (pids 3001, 3002) still run in the jail 1 s"), msg
    assert "The jail was not restarted" in msg and "No other jail was restarted after it." in msg
    calls = jail_calls(failed)
    # pg1 went through, pg3 was stopped and polled (twice), never restarted;
    # pg4, after it, was not touched at all.
    assert calls == restart_calls("pg1") + [
        "jexec pg3 /usr/sbin/service postgresql stop",
        "pgrep -j pg3 -x postgres",
        "pgrep -j pg3 -x postgres",
    ], calls
    assert modes["pg3"] == (3, "inherit", "inherit", "inherit") and modes["pg4"] == (4, "inherit", "disable", "disable")
    assert modes["pg1"][1:] == ("new", "new", "new")


def test_the_run_after_a_failed_restart_finishes_the_remaining_jails(stuck13):
    host, dummy, dummy, rerun = stuck13
    assert rerun.rc == 0 and not rerun.failures(), rerun.failures()
    assert jail_calls(rerun) == restart_calls("pg3") + restart_calls("pg4"), rerun.calls
    modes = jls_modes(host)
    assert {name: modes[name][1:] for name in PG_JAILS} == dict.fromkeys(PG_JAILS, ("new", "new", "new"))


# ------------------------------------------------------------- FreeBSD 10.3: a server UID per jail, applied

NEW_IDS = {"pg1": 20000, "pg3": 20001}  # uid = gid, the lowest free ids of pg_jail_uid_range, in name order
JIDS_10 = {"pg1": 1, "pg3": 2}  # jls-n-10.3.txt


def apply_calls(jail):
    """apply_uid.yml for one running jail, as the stand-ins see it (pg_reown is a module, not a call)."""
    new, jid, etc = NEW_IDS[jail], JIDS_10[jail], "/jails/%s/etc" % jail
    return [
        "pw -V %s usershow postgres" % etc,
        "jexec %s /usr/sbin/service postgresql stop" % jail,
        "pgrep -j %d -x postgres" % jid,
        "pgrep -l -j %d -U %d" % (jid, SERVER_UID),
        "pw -V %s groupmod postgres -g %d" % (etc, new),
        "pw -V %s usermod postgres -u %d -g %d" % (etc, new, new),
        "pw -V %s usershow postgres" % etc,
        "pw -V %s groupshow postgres" % etc,
        "jexec %s /usr/sbin/service postgresql start" % jail,
        "jexec %s cat %s/postmaster.pid" % (jail, DATA),
        "jexec %s /usr/local/bin/pg_isready -p %s -h %s" % (jail, LISTEN[jail][0], PG_ISREADY_HOST[jail]),
    ]


def freebsd10(base):
    return jail_host(base, release="10.3-RELEASE-p29", jls_fixture="jls-n-10.3.txt")


@pytest.fixture(scope="module")
def applied10(tmp_path_factory, ansible_env):
    """Two real runs with pg_jail_restart on FreeBSD 10.3: pg1 and pg3 share
    the host's IPC and UID 770."""
    host = freebsd10(tmp_path_factory.mktemp("apply10"))
    before = {jail: owners(host, jail) for jail in PG_JAILS}
    host_data = os.stat(os.path.join(host.tree, "var/db/postgres/data16/PG_VERSION"))
    try:
        first = Play(host, ansible_env, extra_vars=RESTART, check=False, name="first")
        after = {jail: owners(host, jail) for jail in PG_JAILS}
        second = Play(host, ansible_env, extra_vars=RESTART, check=False, name="second")
    finally:
        host.close()
    assert (host_data.st_uid, host_data.st_gid) == (SERVER_UID, SERVER_UID)
    return host, first, before, after, second


def test_ids_are_applied_one_jail_at_a_time_stopped_reowned_changed_started(applied10):
    host, first, dummy, dummy, dummy = applied10
    assert first.rc == 0 and not first.failures(), (first.failures(), first.stderr[-2000:])
    assert jail_calls(first) == apply_calls("pg1") + apply_calls("pg3"), first.calls
    # The files change owner after the server stopped and before the accounts change.
    for jail in ("pg1", "pg3"):
        names = [n.split(" : ", 1)[-1] for n, r in first.results()
                 if n.endswith(", jail %s" % jail) and not r.get("skipped")]
        assert names.index("Wait until no PostgreSQL process is left, jail " + jail) \
            < names.index("Check that PostgreSQL has stopped, jail " + jail) \
            < names.index("Give the server's files the new UID/GID, jail " + jail) \
            < names.index("Give the group its new GID, jail " + jail), names
    lines = first.result("pg_jail : Show the isolation of each PostgreSQL jail")["msg"]
    # 13 of the 14 entries of the home and the data directory, owner and group each.
    assert lines[0].startswith("jail pg1: postgres uid 770 -> 20000, gid 770 -> 20000; applied, "
                               "26 owner/group changes on 14 entries; ")
    assert lines[0].endswith("; PostgreSQL restarted and accepts connections")
    assert lines[1] == "jail pg2: postgres keeps uid 5001 (unique), keeps gid 5001 (unique)"
    assert lines[2].startswith("jail pg3: postgres uid 770 -> 20001, gid 770 -> 20001; applied, ")


def test_the_jails_accounts_have_the_new_ids(applied10):
    host, first, dummy, dummy, dummy = applied10
    for jail, new in NEW_IDS.items():
        etc = "jails/%s/etc/" % jail
        assert "postgres:*:%d:%d::0:0:PostgreSQL Daemon:/var/db/postgres:/bin/sh\n" % (new, new) \
            in read(host, etc + "master.passwd")
        assert "postgres:*:%d:%d:PostgreSQL Daemon:/var/db/postgres:/bin/sh\n" % (new, new) \
            in read(host, etc + "passwd")
        assert "\npostgres:*:%d:\n" % new in read(host, etc + "group")
    # pg2 and pg4 keep theirs; in the jails only the account files changed.
    assert "postgres:*:5001:5001:" in read(host, "jails/pg2/etc/passwd")
    assert [f for f in first.changed_files if f.startswith("jails/")] == sorted(
        "jails/%s/etc/%s" % (jail, name) for jail in NEW_IDS for name in ("group", "master.passwd", "passwd"))


def test_the_servers_files_and_only_those_get_the_new_ids(applied10):
    dummy, dummy, before, after, dummy = applied10
    for jail in PG_JAILS:
        for path, ids in before[jail].items():
            if jail in NEW_IDS and ids == (SERVER_UID, SERVER_UID):
                assert after[jail][path] == (NEW_IDS[jail], NEW_IDS[jail]), (jail, path)
            else:
                assert after[jail][path] == ids, (jail, path)
    assert before["pg1"][DATA + "/base/1/not-the-servers"] == (OTHER_UID, OTHER_UID)
    assert after["pg1"][DATA + "/base/1/not-the-servers"] == (OTHER_UID, OTHER_UID)
    assert after["pg1"]["/var/db/postgres/.psql_history"] == (20000, 20000)
    assert len(before["pg1"]) == 14  # the home, the data directory and its 12 entries


def test_a_second_run_changes_no_id_and_nothing_else(applied10):
    dummy, dummy, dummy, after, second = applied10
    assert second.rc == 0 and not second.failures(), second.failures()
    assert changed_task_names(second) == []
    assert second.changed_files == []
    assert jail_calls(second) == [], second.calls
    lines = second.result("pg_jail : Show the UID plan, one line per jail")["msg"]
    assert lines[0] == "jail pg1: postgres keeps uid 20000 (unique), keeps gid 20000 (unique)"
    assert lines[2] == "jail pg3: postgres keeps uid 20001 (unique), keeps gid 20001 (unique)"


def test_a_server_that_does_not_stop_leaves_its_files_and_account_alone(tmp_path, ansible_env):
    host = freebsd10(tmp_path)
    before = owners(host, "pg1")
    try:
        with open(os.path.join(host.recorded, "jail.pg1.postgresql-will-not-stop"), "w"):
            pass
        run = Play(host, ansible_env, extra_vars=STUCK, check=False, name="stuck")
    finally:
        host.close()
    assert run.rc != 0
    name, msg = run.failures()[-1]
    assert name == "pghost.hardening.pg_jail : Fail the host, the jail's server UID/GID change did not finish, pg1"
    assert msg.startswith("jail pg1: failed while stopping PostgreSQL ('Check that PostgreSQL has stopped, jail pg1': "
                          "PostgreSQL processes (pids 1001, 1002) still run in the jail 1 s"), msg
    assert "No file and no account was changed" in msg and "No other jail was changed after it." in msg
    # Stopped and polled twice; no pw change, no start, nothing in pg3.
    assert jail_calls(run) == apply_calls("pg1")[:3] + ["pgrep -j 1 -x postgres"], run.calls
    assert owners(host, "pg1") == before
    assert [f for f in run.changed_files if f.startswith("jails/")] == []
