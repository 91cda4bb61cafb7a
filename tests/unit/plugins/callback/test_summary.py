"""The summary callback's per-host recap, fed the result shapes Ansible sends."""

from types import SimpleNamespace

import pytest

from ansible_collections.pghost.hardening.plugins.callback.summary import CallbackModule


class RecordingDisplay:
    verbosity = 0

    def __init__(self):
        self.lines = []

    def banner(self, text):
        self.lines.append("== %s" % text)

    def display(self, text, *args, **kwargs):
        self.lines.append(text)


def task_result(host, task, result):
    return SimpleNamespace(
        _host=SimpleNamespace(get_name=lambda: host),
        _task=SimpleNamespace(get_name=lambda: task),
        _result=result,
    )


@pytest.fixture
def callback():
    cb = CallbackModule(display=RecordingDisplay())
    return cb


def finish(cb, *hosts):
    cb.v2_playbook_on_stats(SimpleNamespace(processed={h: 1 for h in hosts}))
    return cb._display.lines


def test_changed_tasks_are_listed_with_their_message(callback):
    callback.v2_runner_on_ok(task_result("db1", "Write sysctl file", {"changed": True, "msg": "kernel.shmmni 4096 -> 8192"}))
    callback.v2_runner_on_ok(task_result("db1", "Read facts", {"changed": False}))
    lines = finish(callback, "db1")
    assert lines == [
        "== PGHOST SUMMARY",
        "db1:",
        "  changed (1):",
        "    - Write sysctl file: kernel.shmmni 4096 -> 8192",
        "  computed: none reported",
    ]


def test_computed_values_merge_across_tasks_and_print_sorted(callback):
    callback.v2_runner_on_ok(task_result("db1", "a", {"ansible_facts": {"pghost_computed": {"vm.swappiness": 1}}}))
    callback.v2_runner_on_ok(task_result("db1", "b", {"ansible_facts": {"pghost_computed": {"kernel.shmmni": 4096}}}))
    lines = finish(callback, "db1")
    assert lines[-3:] == ["  computed:", "    kernel.shmmni: 4096", "    vm.swappiness: 1"]


def test_hosts_are_kept_apart_and_hosts_with_no_results_still_reported(callback):
    callback.v2_runner_on_ok(task_result("db2", "x", {"changed": True}))
    lines = finish(callback, "db1", "db2")
    assert lines.index("db1:") < lines.index("db2:")
    assert lines[lines.index("db1:") + 1] == "  changed (0):"
    assert lines[lines.index("db2:") + 1:lines.index("db2:") + 3] == ["  changed (1):", "    - x"]


def test_a_non_mapping_computed_fact_is_ignored(callback):
    callback.v2_runner_on_ok(task_result("db1", "a", {"ansible_facts": {"pghost_computed": "oops"}}))
    assert finish(callback, "db1")[-1] == "  computed: none reported"


def test_nested_mappings_are_shown_indented_and_empty_ones_say_none(callback):
    facts = {"pghost_computed": {"kernel proposed": {}, "kernel required": {"shmmax": 56, "nr_hugepages": 72}}}
    callback.v2_runner_on_ok(task_result("db1", "a", {"ansible_facts": facts}))
    assert finish(callback, "db1")[-5:] == [
        "  computed:",
        "    kernel proposed: none",
        "    kernel required:",
        "      nr_hugepages: 72",
        "      shmmax: 56",
    ]
