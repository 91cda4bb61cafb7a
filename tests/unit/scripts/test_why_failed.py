"""scripts/why_failed.py: a failed stage's log reduced to the lines that say why."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.fixture(name="why")
def why_module(script):
    return script("why_failed")


def ansible_log(result):
    return [
        "TASK [Fault 1, one backend asks for more than the VM has] ******************",
        "ok: [pghost-rf-trixie]",
        "fatal: [pghost-rf-bookworm]: FAILED! => " + json.dumps(result),
        "PLAY RECAP *********************************************************************",
        "pghost-rf-bookworm         : ok=5    changed=0    unreachable=0    failed=1",
        "ERROR    Ansible return code was 2, command was: ansible-playbook without.yml",
    ]


def test_an_ansible_failure_names_the_task_the_host_and_the_end_of_stderr(why):
    stderr = "Traceback (most recent call last):\n" + "  frame\n" * 200 + "SystemExit: psql failed (2): no server"
    found = why.reasons(ansible_log({"changed": False, "msg": "non-zero return code", "rc": 1,
                                     "stderr": stderr, "stdout": "x" * 5000}))
    assert found[0].startswith("task [Fault 1, one backend asks for more than the VM has] FAILED on "
                               "pghost-rf-bookworm: non-zero return code; rc 1; stderr: ")
    assert found[0].endswith("SystemExit: psql failed (2): no server")
    assert len(found[0]) <= why.WIDTH
    assert found[-1].startswith("ERROR    Ansible return code was 2")


def test_an_unreachable_host_and_a_line_that_is_not_json_are_still_reported(why):
    found = why.reasons(["TASK [Wait] ***", "fatal: [vm1]: UNREACHABLE! => {\"msg\": \"ssh: timed out\"}",
                         "fatal: [vm2]: FAILED! => not json at all"])
    assert found == ["task [Wait] UNREACHABLE on vm1: ssh: timed out", "task [Wait] FAILED on vm2: not json at all"]


def test_pytest_failures_and_a_bare_traceback_give_their_deciding_lines(why):
    found = why.reasons(["tests/test_x.py::test_y FAILED", "E   assert 3 == 4", "E    +  where 3 = f()",
                         "Traceback (most recent call last):", "  File \"x\", line 1", "KeyError: 'pid'",
                         "FAILED tests/test_x.py::test_y - assert 3 == 4", "passed lines say nothing"])
    assert found == ["E   assert 3 == 4", "E    +  where 3 = f()", "traceback: KeyError: 'pid'",
                     "FAILED tests/test_x.py::test_y - assert 3 == 4"]


def test_the_output_puts_molecule_errors_after_the_reasons_and_bounds_each_stage(why, tmp_path):
    log = tmp_path / "molecule-realfaults.log"
    lines = ansible_log({"msg": "boom", "rc": 2}) + ["E   assert %d" % number for number in range(30)]
    log.write_text("\n".join(lines) + "\n")
    empty = tmp_path / "yamllint.log"
    empty.write_text("all good\n")
    out = subprocess.run([sys.executable, why.__file__, str(log), str(empty), str(tmp_path / "gone.log")],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "why molecule-realfaults failed:"
    assert out[1] == "  task [Fault 1, one backend asks for more than the VM has] FAILED on pghost-rf-bookworm: boom; rc 2"
    assert out[13].startswith("  ... 20 more in ")
    assert "ERROR    Ansible return code" not in "\n".join(out[:14])
    assert out[14:16] == ["why yamllint failed:", "  (nothing recognisable; see %s)" % empty]
    assert out[16] == "why gone failed:"
    assert out[17].startswith("  no log: ")
