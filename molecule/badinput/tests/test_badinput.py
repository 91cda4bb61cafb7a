"""Bad input, real runs, nothing written: the site playbook on Debian containers.

Each case runs `ansible-playbook pghost.hardening.site` for real (not
--check) on both containers with one bad variable, and compares
../shared/files/host_state.sh (every entry of /etc with modes, owners,
symlinks and contents; the live kernel values; the PostgreSQL units as
systemd has loaded them; the postmasters' PIDs, start times, OOM scores and
limits) before and after. Before the collection had pg_preflight, every
pg_service, pg_limits and host-reaching case here left pg_kernel's sysctl
file and THP unit behind.
"""

import json
import os
import subprocess

import pytest

HOSTS = ("pghost-badinput-bookworm", "pghost-badinput-trixie")
MAJOR = {"pghost-badinput-bookworm": "15", "pghost-badinput-trixie": "17"}

# (id, extra vars (V = the host's major version), words the failure must contain)
CASES = [
    ("swappiness-high", {"pg_kernel_swappiness_value": 500}, ["pg_kernel_swappiness_value: 500 is outside 0..100 (vm.swappiness)"]),
    ("ratio-zero", {"pg_kernel_overcommit_ratio": "0"}, ["pg_kernel_overcommit_ratio: 0 is outside auto or 1..100"]),
    ("dirty-bytes-small", {"pg_kernel_dirty_bytes": 4096}, ["pg_kernel_dirty_bytes: 4096 is below 8192"]),
    ("sysctl-file", {"pg_kernel_sysctl_file": "/etc/sysctl.conf"}, ["pg_kernel_sysctl_file: '/etc/sysctl.conf' is not accepted"]),
    ("oom-score-low", {"pg_service_oom_score_adjust": -1001}, ["pg_service_oom_score_adjust: -1001 is outside -1000..1000"]),
    ("restart-choice", {"pg_service_restart": "sometimes"}, ["pg_service_restart", "sometimes", "never, if_needed"]),
    ("service-memlock-word", {"pg_service_limit_memlock": "lots"}, ["pg_service_limit_memlock: 'lots' is not accepted"]),
    ("limits-nofile-negative", {"pg_limits_nofile": -1}, ["pg_limits_nofile: -1 is outside 0.."]),
    ("limits-memlock-word", {"pg_limits_memlock": "lots"}, ["pg_limits_memlock: 'lots' is not accepted"]),
    ("limits-file-outside", {"pg_limits_file": "/etc/security/limits.conf"}, ["pg_limits_file: '/etc/security/limits.conf' is not accepted"]),
    ("uid-range-reversed", {"pg_jail_uid_range": [5000, 2000]}, ["pg_jail_uid_range is [5000, 2000]"]),
    # What only the host can say, read by pg_preflight before any role writes.
    ("missing-data-directory", {"pghost_clusters": [{"data_directory": "/var/lib/postgresql/V/nowhere"}]},
     ["pghost_clusters[0] (data_directory /var/lib/postgresql/V/nowhere): data directory "
      "/var/lib/postgresql/V/nowhere does not exist"]),
    ("unreadable-postgresql-conf", {"pghost_clusters": [{"data_directory": "/var/lib/postgresql/V/unreadable"}]},
     ["pghost_clusters[0] (data_directory /var/lib/postgresql/V/unreadable)", "postgresql.conf", "Permission denied"]),
    ("syntax-error-postgresql-conf", {"pghost_clusters": [{"data_directory": "/var/lib/postgresql/V/broken"}]},
     ["pghost_clusters[0] (data_directory /var/lib/postgresql/V/broken)", "syntax error"]),
    ("unknown-unit", {"pghost_clusters": [{"data_directory": "/var/lib/postgresql/V/main", "unit": "pg-nowhere.service"}]},
     ["pghost_clusters[0] (data_directory /var/lib/postgresql/V/main)", "unit pg-nowhere.service does not exist"]),
    ("limits-file-with-a-foreign-line", {"pg_limits_file": "/etc/security/limits.d/61-pghost-handmade.conf"},
     ["/etc/security/limits.d/61-pghost-handmade.conf", "line 2 (postgres hard nofile lots) was not written by it"]),
]


def state(host):
    proc = subprocess.run(["podman", "exec", host, "/root/pghost_host_state.sh"], capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def for_host(value, host):
    """The case's extra vars with V replaced by the host's major version."""
    return json.loads(json.dumps(value).replace("/V/", "/%s/" % MAJOR[host]))


def run_site(extra_by_host):
    """One real run of the site playbook on every host, each with its own extra vars (host_vars file)."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    workdir = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "badinput")
    os.makedirs(os.path.join(workdir, "host_vars"), exist_ok=True)
    for host, extra in extra_by_host.items():
        with open(os.path.join(workdir, "host_vars", host + ".json"), "w") as handle:
            json.dump(extra, handle)
    # An inventory directory: molecule's inventory plus these host_vars.
    link = os.path.join(workdir, "hosts.yml")
    if not os.path.exists(link):
        os.symlink(inventory, link)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    proc = subprocess.run(["ansible-playbook", "-i", workdir, "pghost.hardening.site"],
                          capture_output=True, text=True, env=env, check=False, timeout=600)
    try:
        tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("no JSON from ansible-playbook (rc %d): %s %s"
                             % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc.returncode, tasks


def host_results(tasks, host):
    return [(t["task"]["name"], t["hosts"][host]) for t in tasks if host in t["hosts"]]


def test_there_are_at_least_fifteen_cases_here():
    # With the 43 of tests/integration/test_bad_input_writes_nothing.py.
    assert len(CASES) >= 15 and len(set(c[0] for c in CASES)) == len(CASES)


@pytest.mark.parametrize("case_id, extra, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_naming_it_and_changes_nothing(case_id, extra, words):
    before = dict((host, state(host)) for host in HOSTS)
    rc, tasks = run_site(dict((host, for_host(extra, host)) for host in HOSTS))
    after = dict((host, state(host)) for host in HOSTS)
    assert rc != 0, "the run passed with %r" % extra
    for host in HOSTS:
        results = host_results(tasks, host)
        failed = [(name, res.get("msg", "")) for name, res in results if res.get("failed")]
        assert failed, "%s did not fail: %s" % (host, [n for n, r in results])
        name, msg = failed[-1]
        print("%s %s: %s => %s" % (case_id, host, name, msg))
        for word in for_host(words, host):
            assert word in msg, (host, word, msg)
        assert [n for n, r in results if r.get("changed")] == [], host
        changed = [line for line in after[host] if line not in before[host]]
        assert after[host] == before[host], "%s changed: %s" % (host, changed)
