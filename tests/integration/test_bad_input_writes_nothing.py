"""Bad input stops the site playbook before any role writes: real runs, FreeBSD stand-in host.

Each case runs the real `ansible-playbook pghost.hardening.site` for real
(not --check) against the FreeBSD stand-in host of test_freebsd_branches.py,
whose test doubles act on the tree in a real run, with one bad variable in
an otherwise good run. It asserts that the run fails with a message naming
the variable, the value and what is allowed, and that the whole tree
(files, directories, symlinks, modes, owners, times) and the stand-ins'
live state (sysctl values, jails) are exactly as before. A good run on the
same host writes seven files (test_freebsd_branches.py), so a role that
wrote before the bad variable was checked would show here.

molecule/badinput does the same on a Debian container.
"""

import concurrent.futures
import hashlib
import os

import pytest

# pytest puts this directory on sys.path, so the sibling test module imports by name.
from test_freebsd_branches import Host, Play

# (id, extra vars, words the failure message must contain)
CASES = [
    # pg_kernel: ranges, relations and paths (validate.yml), types (argument spec)
    ("swappiness-high", {"pg_kernel_swappiness_value": 500}, ["pg_kernel_swappiness_value: 500 is outside 0..100", "vm.swappiness"]),
    ("swappiness-negative", {"pg_kernel_swappiness_value": -1}, ["pg_kernel_swappiness_value: -1 is outside 0..100"]),
    ("ratio-zero", {"pg_kernel_overcommit_ratio": "0"}, ["pg_kernel_overcommit_ratio: 0 is outside auto or 1..100"]),
    ("ratio-word", {"pg_kernel_overcommit_ratio": "half"},
     ["pg_kernel_overcommit_ratio: 'half' is not a whole number", "auto or 1..100"]),
    ("headroom", {"pg_kernel_commit_headroom_pct": 101}, ["pg_kernel_commit_headroom_pct: 101 is outside 0..100"]),
    ("dirty-bytes-small", {"pg_kernel_dirty_bytes": 4096}, ["pg_kernel_dirty_bytes: 4096 is below 8192"]),
    ("dirty-background-negative", {"pg_kernel_dirty_background_bytes": -5}, ["pg_kernel_dirty_background_bytes: -5 is outside 0.."]),
    ("dirty-background-above", {"pg_kernel_dirty_bytes": 1048576, "pg_kernel_dirty_background_bytes": 2097152},
     ["pg_kernel_dirty_background_bytes: 2097152 must be below pg_kernel_dirty_bytes (1048576)"]),
    ("sysctl-file", {"pg_kernel_sysctl_file": "/etc/sysctl.conf"}, ["pg_kernel_sysctl_file: '/etc/sysctl.conf' is not accepted", "sysctl.d"]),
    ("loader-conf-relative", {"pg_kernel_freebsd_loader_conf": "boot/loader.conf"},
     ["pg_kernel_freebsd_loader_conf: 'boot/loader.conf' is not an absolute path"]),
    ("sysv-ipc-type", {"pg_kernel_sysv_ipc": "maybe"}, ["pg_kernel_sysv_ipc", "maybe", "bool"]),
    ("swappiness-type", {"pg_kernel_swappiness_value": "low"}, ["pg_kernel_swappiness_value", "low", "int"]),
    # pg_service
    ("oom-score-low", {"pg_service_oom_score_adjust": -1001}, ["pg_service_oom_score_adjust: -1001 is outside -1000..1000"]),
    ("backend-oom-score-high", {"pg_service_backend_oom_score_adjust": 1001}, ["pg_service_backend_oom_score_adjust: 1001 is outside -1000..1000"]),
    ("timeout-stop-zero", {"pg_service_timeout_stop_sec": 0}, ["pg_service_timeout_stop_sec: 0 is outside 1..", "TimeoutStopSec"]),
    ("service-nofile-negative", {"pg_service_limit_nofile": -1}, ["pg_service_limit_nofile: -1 is outside 1..", "LimitNOFILE"]),
    ("service-nproc-zero", {"pg_service_limit_nproc": 0}, ["pg_service_limit_nproc: 0 is outside 1.."]),
    ("service-memlock-word", {"pg_service_limit_memlock": "lots"},
     ["pg_service_limit_memlock: 'lots' is not accepted", "auto, infinity"]),
    ("start-timeout-zero", {"pg_service_start_timeout": 0}, ["pg_service_start_timeout: 0 is outside 1.."]),
    ("restart-choice", {"pg_service_restart": "sometimes"}, ["pg_service_restart", "sometimes", "never, if_needed"]),
    ("oom-policy-choice", {"pg_service_oom_policy": "ignore"}, ["pg_service_oom_policy", "ignore", "continue, stop, kill"]),
    ("service-nofile-type", {"pg_service_limit_nofile": "lots"}, ["pg_service_limit_nofile", "lots", "int"]),
    ("service-rc-conf-relative", {"pg_service_rc_conf": "rc.conf"}, ["pg_service_rc_conf: 'rc.conf' is not an absolute path"]),
    # pg_limits
    ("limits-nofile-negative", {"pg_limits_nofile": -1}, ["pg_limits_nofile: -1 is outside 0..", "fs.nr_open"]),
    ("limits-nproc-negative", {"pg_limits_nproc": -5}, ["pg_limits_nproc: -5 is outside 0.."]),
    ("limits-memlock-word", {"pg_limits_memlock": "lots"}, ["pg_limits_memlock: 'lots' is not accepted", "auto", "unlimited"]),
    ("login-class-shared", {"pg_limits_login_class": "default"}, ["pg_limits_login_class: 'default' is not accepted", "other than default, root and daemon"]),
    ("login-class-option", {"pg_limits_login_class": "-x"}, ["pg_limits_login_class: '-x' is not accepted", "not starting with -"]),
    ("limits-file-outside", {"pg_limits_file": "/etc/security/limits.conf"}, ["pg_limits_file: '/etc/security/limits.conf' is not accepted", "limits.d"]),
    ("limits-linux-type", {"pg_limits_linux": "perhaps"}, ["pg_limits_linux", "perhaps", "bool"]),
    # pg_jail
    ("uid-range-reversed", {"pg_jail_uid_range": [5000, 2000]}, ["pg_jail_uid_range is [5000, 2000]", "1 <= low <= high <= 65534"]),
    ("uid-range-zero", {"pg_jail_uid_range": [0, 10]}, ["pg_jail_uid_range is [0, 10]", "1 <= low"]),
    ("uid-range-one", {"pg_jail_uid_range": [20000]}, ["pg_jail_uid_range is [20000]", "two whole numbers"]),
    ("stop-timeout-zero", {"pg_jail_stop_timeout": 0}, ["pg_jail_stop_timeout: 0 is outside 1.."]),
    ("jail-without-name", {"pg_jail_jails": [{"path": "/jails/pg1"}]}, ["pg_jail_jails", "/jails/pg1", "dicts with name"]),
    ("jail-relative-data", {"pg_jail_jails": [{"name": "pg1", "data_directory": "data16"}]}, ["pg_jail_jails", "data16", "absolute paths"]),
    ("isolation-choice", {"pg_jail_isolation": "sometimes"}, ["pg_jail_isolation", "sometimes", "auto, new, distinct_uid, audit"]),
    ("jail-conf-relative", {"pg_jail_conf": "jail.conf"}, ["pg_jail_conf (jail.conf)", "absolute paths"]),
    ("preflight-roles-choice", {"pg_preflight_roles": ["pg_kernel", "pg_firewall"]},
     ["pg_preflight_roles", "pg_firewall", "pg_kernel, pg_service, pg_limits, pg_jail"]),
    # what only the host can say, read by pg_preflight before any role writes
    ("unknown-jail", {"pg_jail_jails": ["pg9"]}, ["pg9", "pg1", "web1"]),
    ("missing-data-directory", {"pghost_clusters": [{"data_directory": "/var/db/postgres/data99"}]},
     ["pghost_clusters[0] (data_directory /var/db/postgres/data99): data directory /var/db/postgres/data99 does not exist"]),
    ("cluster-without-directory", {"pghost_clusters": [{"port": 5432}]}, ["data_directory", "missing required arguments"]),
    ("cluster-port-type", {"pghost_clusters": [{"data_directory": "/var/db/postgres/data16", "port": "fivefour"}]}, ["port", "fivefour", "int"]),
]


def tree_state(*roots):
    """{path: (kind, mode, uid, gid, mtime_ns, content or link target)} of everything under roots."""
    found = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [""] + dirnames + filenames:
                path = os.path.join(dirpath, name) if name else dirpath
                if path.endswith("-standin-calls.log"):
                    continue
                info = os.lstat(path)
                if os.path.islink(path):
                    kind, content = "link", os.readlink(path)
                elif os.path.isdir(path):
                    kind, content = "dir", None
                else:
                    with open(path, "rb") as handle:
                        kind, content = "file", hashlib.sha256(handle.read()).hexdigest()
                found[path] = (kind, info.st_mode, info.st_uid, info.st_gid, info.st_mtime_ns, content)
    return found


CHANGING_CALLS = ("sysrc ", "protect ", "cap_mkdb ", "service ", "jexec ", "pw usermod", "pw groupmod")


def run_case(base, ansible_env, extra):
    host = Host(base)
    try:
        before = tree_state(host.tree, host.recorded)
        play = Play(host, ansible_env, extra_vars=extra, check=False, name="bad")
        after = tree_state(host.tree, host.recorded)
    finally:
        host.close()
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    return play, changed


@pytest.fixture(scope="module")
def runs(tmp_path_factory, ansible_env):
    """Every case, run concurrently (each on its own host) to keep the suite fast."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = dict((case_id, pool.submit(run_case, tmp_path_factory.mktemp(case_id), ansible_env, extra))
                       for case_id, extra, dummy in CASES)
        return dict((case_id, future.result()) for case_id, future in futures.items())


def test_there_are_at_least_forty_distinct_bad_inputs():
    assert len(CASES) >= 40
    assert len(set(c[0] for c in CASES)) == len(CASES)


@pytest.mark.parametrize("case_id, extra, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_naming_it_and_writes_nothing(runs, case_id, extra, words):
    play, changed = runs[case_id]
    assert play.rc != 0, "the run passed with %r" % extra
    failures = play.failures()
    assert failures, play.stderr[-2000:]
    name, msg = failures[-1]
    print("%s: %s => %s" % (case_id, name, msg))
    for word in words:
        assert word in msg, (word, msg)
    assert changed == [], "the run changed the host: %s" % changed
    assert [c for c in play.calls if c.startswith(CHANGING_CALLS) or
            (c.startswith("sysctl ") and "=" in c.split(" ", 1)[1] and not c.startswith("sysctl -"))] == [], play.calls
    assert [n for n, r in play.results() if r.get("changed")] == []
    # Nothing ran but the preflight: the checks it includes and its reads.
    assert all(allowed_before_writes(n) for n, dummy in play.results()), [n for n, dummy in play.results()]


def allowed_before_writes(name):
    role, dummy, task = name.rpartition(" : ")
    return (name == "Gathering Facts" or role == "pghost.hardening.pg_preflight" or task.startswith("Validating arguments")
            or task.startswith("Check ") or task in ("Put pg_jail_jails in one shape (dicts with name)",
                                                     "Read the jails, their IPC and their PostgreSQL servers"))
