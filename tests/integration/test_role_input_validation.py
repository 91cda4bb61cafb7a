"""Bad role input fails before any task reads or writes anything.

Runs the real `ansible-playbook` with each role against localhost in check
mode (so even a validation bug could not change this machine) and asserts
the failure comes from validation - the argument spec or the role's first
assert - names the variable and the value, and that no other task ran.
"""

import json
import subprocess
import textwrap

import pytest


def run_role(tmp_path, role, extra_vars, env):
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          roles:
            - role: pghost.hardening.%s
        """ % role))
    proc = subprocess.run(
        ["ansible-playbook", "-c", "local", "--check", str(playbook), "-e", json.dumps(extra_vars)],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120, check=False,
    )
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    return proc.returncode, tasks


def ran(tasks):
    return [t["task"]["name"] for t in tasks]


def failure(tasks):
    failed = [t for t in tasks if t["hosts"]["localhost"].get("failed")]
    assert len(failed) == 1, ran(tasks)
    return failed[0]["task"]["name"], failed[0]["hosts"]["localhost"]["msg"]


@pytest.mark.parametrize("role, extra, words", [
    ("pg_service", {"pg_service_limit_nofile": "lots"}, ["pg_service_limit_nofile", "lots"]),
    ("pg_service", {"pg_service_restart": "sometimes"}, ["pg_service_restart", "sometimes", "never, if_needed"]),
    ("pg_service", {"pg_service_oom": "maybe"}, ["pg_service_oom", "maybe"]),
    ("pg_limits", {"pg_limits_nofile": "lots"}, ["pg_limits_nofile", "lots"]),
    ("pg_jail", {"pg_jail_isolation": "sometimes"}, ["pg_jail_isolation", "sometimes", "distinct_uid"]),
    ("pg_jail", {"pg_jail_restart": "maybe"}, ["pg_jail_restart", "maybe"]),
])
def test_argument_spec_refuses(tmp_path, ansible_env, role, extra, words):
    rc, tasks = run_role(tmp_path, role, extra, ansible_env)
    assert rc != 0
    name, msg = failure(tasks)
    assert "Validating arguments" in name
    assert ran(tasks) == [name], "nothing may run after a failed validation"
    for word in words:
        assert word in msg


@pytest.mark.parametrize("role, extra, words", [
    ("pg_service", {"pg_service_limit_nofile": -1}, ["pg_service_limit_nofile", "-1", "Nothing was written"]),
    ("pg_service", {"pg_service_oom_score_adjust": -1001}, ["pg_service_oom_score_adjust", "-1001", "-1000..1000"]),
    ("pg_service", {"pg_service_limit_memlock": "lots"}, ["pg_service_limit_memlock", "lots", "infinity"]),
    ("pg_limits", {"pg_limits_nofile": -1}, ["pg_limits_nofile", "-1"]),
    ("pg_limits", {"pg_limits_memlock": "lots"}, ["pg_limits_memlock", "lots"]),
    ("pg_limits", {"pg_limits_login_class": "default"}, ["pg_limits_login_class", "default"]),
    ("pg_limits", {"pg_limits_login_class": "pg sql"}, ["pg_limits_login_class", "pg sql"]),
    ("pg_jail", {"pg_jail_uid_range": [5000, 2000]}, ["pg_jail_uid_range", "5000", "2000"]),
    ("pg_jail", {"pg_jail_uid_range": [20000]}, ["pg_jail_uid_range", "20000"]),
    ("pg_jail", {"pg_jail_stop_timeout": 0}, ["pg_jail_stop_timeout", "0"]),
    ("pg_jail", {"pg_jail_jails": [{"path": "/jails/pg1"}]}, ["pg_jail_jails", "name"]),
])
def test_first_assert_refuses_before_anything_is_read(tmp_path, ansible_env, role, extra, words):
    rc, tasks = run_role(tmp_path, role, extra, ansible_env)
    assert rc != 0
    name, msg = failure(tasks)
    assert "Validating arguments" in ran(tasks)[0]
    assert name.split(" : ", 1)[1].startswith("Check"), ran(tasks)
    assert not [t for t in ran(tasks) if "Read the host" in t or "Write" in t or "Persist" in t]
    for word in words:
        assert word in msg
