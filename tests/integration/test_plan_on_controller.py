"""pg_kernel_params plans on the controller, no target involved.

Runs the real `ansible` command against localhost with connection local,
as a user planning a host that does not exist yet would, and reads its JSON
result. Slow-ish (one ansible process per case) but it is the interface.
"""

import json
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

HOST = {
    "mem_total_kb": 16777216,
    "swap_total_kb": 0,
    "hugepage_size_kb": 2048,
    "page_size": 4096,
    "committed_as_kb": 2000000,
}
CLUSTER_96 = {
    "version": "9.6",
    "max_connections": 100,
    "autovacuum_max_workers": 3,
    "max_worker_processes": 8,
    "max_wal_senders": 10,
    "shared_buffers": "128MB",
    "huge_pages": "try",
}


def run_module(args, env):
    proc = subprocess.run(
        ["ansible", "localhost", "-c", "local", "-m", "pghost.hardening.pg_kernel_params", "-a", json.dumps(args)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False,
    )
    out = json.loads(proc.stdout)
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]


# An old, small kernel: SEMMSL and SEMMNI below what 9.6 needs, SEMOPM fine.
CURRENT = {
    "kernel.shmmax": "33554432",
    "kernel.shmall": "2097152",
    "kernel.shmmni": "4096",
    "kernel.sem": "10 100 32 4",
    "vm.nr_hugepages": "0",
    "vm.overcommit_memory": "0",
    "vm.overcommit_ratio": "50",
}


def test_plans_the_issue_example_without_a_target(ansible_env):
    result = run_module({"platform": "linux", "host": HOST, "clusters": [CLUSTER_96], "current": CURRENT}, ansible_env)
    assert not result.get("failed"), result
    required = result["required"]
    # 9.6 uses SysV semaphores: ceil((100 + 3 + 8 + 5) / 16) = 8 sets of 17 (docs/postgres-kernel-facts.md §2)
    assert (required["semmni"], required["semmns"], required["semmsl"]) == (8, 136, 17)
    # 9.3+ keeps only the interlock segment in SysV (docs/postgres-kernel-facts.md §1)
    assert required["shmmax"] == 56 and required["shmall"] == 1 and required["shmmni"] == 1
    assert required["overcommit_ratio"] == 90
    # Each kernel.sem field is raised on its own; SEMOPM keeps its value.
    assert result["proposed"]["kernel.sem"] == "17 136 32 8"
    # The interlock segment fits the old SHM limits: nothing to raise.
    assert not {"kernel.shmmax", "kernel.shmall", "kernel.shmmni"} & set(result["proposed"])
    assert result["proposed"]["vm.nr_hugepages"] == 74
    assert result["proposed"]["vm.overcommit_memory"] == 2
    assert result["changed"] is False
    assert len(result["reasons"]) >= 6


def test_without_current_values_limits_are_reported_not_proposed(ansible_env):
    result = run_module({"platform": "linux", "host": HOST, "clusters": [CLUSTER_96]}, ansible_env)
    assert result["required"]["semmni"] == 8
    assert "kernel.sem" not in result["proposed"]
    assert any(w.startswith("kernel.sem: current value unknown") for w in result["warnings"])


@pytest.mark.parametrize(
    "args, words",
    [
        ({"overcommit_ratio": "150"}, ["overcommit_ratio", "150", "1 to 100"]),
        ({"overcommit_ratio": "0"}, ["overcommit_ratio", "'0'", "1 to 100"]),
        ({"clusters": [dict(CLUSTER_96, version="7.4")]}, ["clusters[0].version", "7.4", "supported"]),
        ({"clusters": [dict(CLUSTER_96, shared_buffers="128mb")]}, ["clusters[0].shared_buffers", "128mb", "MB"]),
        ({"clusters": [dict(CLUSTER_96, max_connections=-5)]}, ["clusters[0].max_connections", "-5"]),
        ({"platform": "windows"}, ["platform", "windows", "linux"]),
    ],
)
def test_bad_input_fails_naming_field_value_and_what_is_accepted(args, words, ansible_env):
    merged = {"platform": "linux", "host": HOST, "clusters": [CLUSTER_96]}
    merged.update(args)
    result = run_module(merged, ansible_env)
    assert result.get("failed"), result
    for word in words:
        assert word in result["msg"], (word, result["msg"])


def test_guard_refuses_a_ratio_below_committed_as_and_proposes_nothing(ansible_env):
    host = dict(HOST, committed_as_kb=15000000)
    result = run_module({"platform": "linux", "host": host, "clusters": [CLUSTER_96], "overcommit_ratio": "50"}, ansible_env)
    assert result.get("failed")
    assert "CommitLimit" in result["msg"] and "15000000" in result["msg"] and "10%" in result["msg"]
    assert "proposed" not in result
