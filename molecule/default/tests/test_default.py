"""Live checks on every platform of the default scenario.

The site playbook ran with its defaults; this reads back what the roles
wrote and what is live, from the running container (PID 1, systemd's view of
the unit, the postmaster's /proc entry, /proc/sys, a `su -` session, a real
query over the socket and a TCP probe):

- the sysctl file against /proc/sys: IPC-namespaced kernel.* values are
  applied live in these privileged containers; vm.* are global to the CI
  machine's kernel and must stay what they were (molecule/realkernel shows
  them applied);
- the drop-ins against `systemctl show` of the cluster's unit;
- the postmaster's /proc limits, oom_score_adj and environment against the
  restart the role reported pending (policy `never`: the postmaster from
  before the run keeps running);
- `su - postgres` against limits.d, with the fresh host's session (prepare)
  and a user no role manages as baselines.

What this sandbox cannot show (limits above PID 1's hard limit, negative
oom_score_adj) is emitted as a pytest warning naming the value seen and why,
never passed as if it were there. Most live state is read in one round trip
per host by ../shared/files/pghost_probe.py --verify --sessions.
"""

import os
import signal
import sys

import pytest
import yaml

# Helpers shared with the other container verifiers (molecule/shared/verify_common.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from verify_common import observe, number, run_probe, seconds  # noqa: E402  pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE_DEFAULTS = os.path.join(HERE, "..", "..", "..", "roles", "pg_service", "defaults", "main.yml")
DROPINS = ("60-pghost-oom.conf", "60-pghost-shutdown.conf", "60-pghost-limits.conf")
# systemctl show suffix -> /proc/<pid>/limits row -> pam_limits item
LIMITS = {"NOFILE": ("Max open files", "nofile"), "NPROC": ("Max processes", "nproc"),
          "MEMLOCK": ("Max locked memory", "memlock")}


def assignments(text):
    """key=value (systemd) or `key = value` (sysctl.d) lines, comments and sections skipped."""
    out = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, dummy, value = line.partition("=")
            out[key.strip()] = " ".join(value.split())
    return out


@pytest.fixture(scope="module")
def major(host):
    return str(host.ansible.get_variables()["pghost_expected_major"])


@pytest.fixture(scope="module")
def unit(major):
    return "postgresql@%s-main.service" % major


@pytest.fixture(scope="module")
def state(host):
    return run_probe(host, "--verify", "--sessions")


@pytest.fixture(scope="module")
def before(state):
    return state["evidence"]["default-before"]


@pytest.fixture(scope="module")
def report(state):
    return state["evidence"]["default-report"]


@pytest.fixture(scope="module")
def cluster(state, unit):
    found = [c for c in state["clusters"] if c["unit"] == unit]
    assert len(found) == 1, [c["unit"] for c in state["clusters"]]
    return found[0]


@pytest.fixture(scope="module")
def role_defaults():
    with open(ROLE_DEFAULTS) as handle:
        return yaml.safe_load(handle)


def test_systemd_is_pid_1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_cluster_unit_is_active_under_systemd(host, unit):
    state = host.check_output("systemctl show -p ActiveState -p SubState --value %s", unit)
    assert state.split() == ["active", "running"]


def test_postmaster_is_the_units_main_process(host, unit, major):
    pid = int(host.check_output("systemctl show -p MainPID --value %s", unit))
    assert pid > 0, "systemd reports no main process for %s" % unit
    assert host.file("/proc/%d/comm" % pid).content_string.strip() == "postgres"
    exe = host.check_output("readlink /proc/%d/exe" % pid)
    assert exe == "/usr/lib/postgresql/%s/bin/postgres" % major


def test_server_answers_a_query_over_the_local_socket(host, major):
    out = host.check_output(
        "su postgres -c \"psql -XAtc 'SHOW server_version_num'\""
    )
    assert out[: len(major)] == major and len(out) == len(major) + 4


def test_server_accepts_tcp_connections_on_localhost(host):
    cmd = host.run("pg_isready -h 127.0.0.1 -p 5432 -t 10")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr


# --- pg_kernel: the sysctl file and /proc/sys --------------------------------


def test_sysctl_file_against_the_live_kernel(state, before):
    written = assignments(state["sysctl_file"])
    assert written, "pg_kernel wrote no setting to its sysctl file:\n%s" % state["sysctl_file"]
    live, was = state["sysctl_live"], before["sysctl_live"]
    assert set(written) <= set(live), "the probe does not read %s" % sorted(set(written) - set(live))
    for key, value in sorted(written.items()):
        if key.startswith("kernel."):
            # IPC namespace: applied live in a privileged container.
            assert live[key] == value, "%s: file %s, live %s" % (key, value, live[key])
        else:
            # Global: never applied from a container; the CI machine keeps its value.
            assert live[key] == was[key], "%s moved on the CI machine: %s -> %s" % (key, was[key], live[key])
            if live[key] != value:
                observe("%s = %s persisted, not applied live: global to the CI machine's kernel, which stays at %s "
                        "(molecule/realkernel applies it)" % (key, value, live[key]))
    for key in sorted(set(live) - set(written)):
        assert live[key] == was[key], "%s changed live without being written: %s -> %s" % (key, was[key], live[key])


# --- pg_service: drop-ins, systemd's view, the postmaster ------------------


def test_drop_ins_are_what_systemd_loaded(cluster, role_defaults):
    props = cluster["show"]
    paths = {os.path.basename(p): p for p in cluster["drop_ins"]}
    assert set(DROPINS) <= set(paths), "drop-ins systemd loaded: %s" % sorted(cluster["drop_ins"])
    written = {}
    for name in DROPINS:
        text = cluster["drop_ins"][paths[name]]
        assert "pghost.hardening" in text.splitlines()[0], text
        written.update(assignments(text))
    # What the role was asked (its defaults here), what it wrote, what systemd loaded.
    assert int(written["OOMScoreAdjust"]) == role_defaults["pg_service_oom_score_adjust"]
    assert int(props["OOMScoreAdjust"]) == int(written["OOMScoreAdjust"])
    assert props["OOMPolicy"] == written["OOMPolicy"] == role_defaults["pg_service_oom_policy"]
    assert props["KillMode"] == written["KillMode"] == "mixed"
    assert written["KillSignal"] == "SIGINT"
    assert int(props["KillSignal"]) == signal.SIGINT.value
    assert seconds(written["TimeoutStopSec"]) >= role_defaults["pg_service_timeout_stop_sec"]
    assert seconds(props["TimeoutStopUSec"]) == seconds(written["TimeoutStopSec"]), (
        props["TimeoutStopUSec"], written["TimeoutStopSec"])
    for key in LIMITS:
        soft, dummy, hard = written["Limit" + key].partition(":")
        assert (number(props["Limit%sSoft" % key]), number(props["Limit" + key])) == (number(soft), number(hard or soft))
    assert number(written["LimitNOFILE"].split(":")[0]) >= role_defaults["pg_service_limit_nofile"]
    assert number(written["LimitNPROC"].split(":")[0]) >= role_defaults["pg_service_limit_nproc"]


def test_postmaster_against_the_restart_the_role_reported(state, cluster, before, report):
    """Policy `never`: the postmaster from before the run keeps running; every way in
    which /proc differs from what the unit now gives a new one is a reason the role
    gave for `restart pending`, and nothing else is."""
    old = next(c for c in before["clusters"] if c["unit"] == cluster["unit"])["postmaster"]
    pm = cluster["postmaster"]
    assert (pm["pid"], pm["starttime"]) == (old["pid"], old["starttime"]), "restarted under policy never"
    entries = [c for c in report["pghost_service"]["clusters"] if c["unit"] == cluster["unit"]]
    assert len(entries) == 1, report["pghost_service"]
    entry = entries[0]
    reasons = " ".join(entry["reasons"])
    cap = state["pid1_limits"]
    differs = []
    for key, (row, dummy) in LIMITS.items():
        cap_hard = number(cap[row][1])
        unit = (number(cluster["show"]["Limit%sSoft" % key]), number(cluster["show"]["Limit" + key]))
        expected = (min(unit[0], cap_hard), min(unit[1], cap_hard))
        seen = tuple(number(v) for v in pm["limits"][row])
        if seen != expected:
            differs.append(key)
            assert "Limit%s" % key in reasons, (key, seen, expected, entry["reasons"])
            observe("%s: postmaster has %s %s, a restart would give %s (the unit's %s held to PID 1's hard %s): "
                    "restart pending, as the role reported" % (cluster["unit"], row, seen, expected, unit, cap_hard))
        else:
            assert "Limit%s " % key not in reasons, (key, entry["reasons"])
    for wanted in ("PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj", "PG_OOM_ADJUST_VALUE=0"):
        name = wanted.split("=", maxsplit=1)[0]
        if wanted not in pm["environ_pg_oom"]:
            differs.append(name)
            assert "running postmaster has %s=" % name in reasons, (wanted, entry["reasons"])
        else:
            assert "has %s=" % name not in reasons, (wanted, entry["reasons"])
    # oom_score_adj as seen: -1000 is refused in this sandbox, so the old
    # postmaster keeps Debian's pg_ctlcluster value or PID 1's.
    asked = int(cluster["show"]["OOMScoreAdjust"])
    if pm["oom_score_adj"] != asked and not state["negative_oom_refused"]:
        differs.append("oom_score_adj")
        assert "has oom_score_adj %d" % pm["oom_score_adj"] in reasons, entry["reasons"]
    elif pm["oom_score_adj"] != asked:
        assert asked < 0, (pm["oom_score_adj"], asked)
        assert pm["oom_score_adj"] == old["oom_score_adj"], (pm["oom_score_adj"], old["oom_score_adj"])
        observe("%s: postmaster oom_score_adj %d, the unit asks %d: negative values are refused here (no "
                "CAP_SYS_RESOURCE) and the postmaster was not restarted; molecule/realkernel shows -1000"
                % (cluster["unit"], pm["oom_score_adj"], asked))
    assert differs, "the postmaster already has everything; the test cannot tell a restart from none"
    assert entry["restart"] == "pending", entry
    assert len(entry["reasons"]) == len(differs), (differs, entry["reasons"])


# --- pg_limits: limits.d and a real `su -` session ----------------------------


def limits_file_entries(text):
    """{(user, type, item): (value, reason)}, the reason being the comment line above."""
    entries, reason = {}, ""
    for line in (text or "").splitlines():
        if line.startswith("#"):
            reason = line[1:].strip()
            continue
        fields = line.split()
        if len(fields) == 4:
            entries[(fields[0], fields[1], fields[2])] = (fields[3], reason)
    return entries


def test_su_postgres_gets_what_pg_limits_wrote(state, before, report):
    entries = limits_file_entries(state["limits_file"])
    assert entries, "no limit in %s:\n%s" % ("limits.d", state["limits_file"])
    session, fresh = state["ulimits"]["postgres"], before["ulimits"]["postgres"]
    said = report["pg_limits"]["effective"]["postgres"]
    cap = {item: state["pid1_limits"][row][1] for row, item in LIMITS.values()}
    cap["memlock"] = str(int(cap["memlock"]) // 1024)  # limits.d and ulimit -l count KiB
    raised = []
    for (user, ltype, item), (value, reason) in sorted(entries.items()):
        assert user == "postgres", entries
        got = session["%s_%s" % (item, ltype)]
        assert got == value, "su - postgres: %s %s is %s, %s says %s" % (ltype, item, got, "limits.d", value)
        assert said[item].split()[0].split("/")[0 if ltype == "soft" else 1] == value, (item, ltype, said)
        was = fresh["%s_%s" % (item, ltype)]
        if was != value:
            raised.append("%s %s %s -> %s" % (ltype, item, was, value))
        elif "PID 1's hard limit" in reason:
            # Asked more than the container's PID 1 may hand out: the role
            # wrote the cap and said so; the session had that much already.
            assert value == cap[item], (item, value, cap[item], reason)
            observe("su - postgres %s %s = %s, as without the file: the role asked more and reported it capped at "
                    "PID 1's hard limit (no CAP_SYS_RESOURCE in a container): %r. molecule/realkernel shows it raised"
                    % (ltype, item, value, reason))
        else:
            observe("su - postgres %s %s = %s, as without the file (%s)" % (ltype, item, value, reason))
    # Without this the comparison above could not tell the file from no file.
    assert raised, "no limit of a su - postgres session differs from the fresh host's: %s" % fresh
    observe("su - postgres, raised by limits.d since the fresh host: %s" % "; ".join(raised))


def test_a_user_pg_limits_does_not_manage_keeps_its_limits(state, before):
    now, was = state["ulimits"]["nobody"], before["ulimits"]["nobody"]
    assert now == was, (was, now)
    assert now != state["ulimits"]["postgres"], now
