# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit playbook's wiring, read as YAML: its policy names exactly the role
variables the checks compare with, each templated from the variable itself
(so the roles' defaults or the inventory give the value), the role that
checks its variables accepts exactly the thresholds audit_report does, and a
host whose read failed or that was unreachable stays in the play, is never
touched again and is in the reports.
tests/integration/test_audit_playbook.py runs it."""

from __future__ import annotations

import os

import yaml
from audit_inputs import AUDIT_PLAYBOOK, ROOT, converged_debian, freebsd_facts, fresh_debian, playbook_policy, role_defaults

from ansible_collections.pghost.hardening.plugins.module_utils.audit_findings import audit_host
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import SEVERITIES
from ansible_collections.pghost.hardening.plugins.module_utils.audit_report import NO_THRESHOLD


class ReadPolicy(dict):
    """A policy that records the names the checks look up."""

    def __init__(self, values):
        super().__init__(values)
        self.read = set()

    def __contains__(self, name):
        self.read.add(name)
        return super().__contains__(name)


def test_the_policy_is_what_the_checks_read():
    policy = ReadPolicy(role_defaults())
    for facts in (fresh_debian(), converged_debian(), freebsd_facts()):
        audit_host("db1", facts, policy)
    assert set(playbook_policy()) == policy.read


def test_each_policy_value_is_the_variable_itself():
    # No default is restated in the playbook: the value comes from the roles' defaults or the inventory.
    assert all(template == "{{ %s }}" % name for name, template in playbook_policy().items())


def test_the_policy_variables_are_role_variables_with_defaults():
    defaults = role_defaults()
    assert all(name in defaults for name in playbook_policy())


def test_fail_on_accepts_exactly_the_thresholds_of_audit_report():
    with open(os.path.join(ROOT, "roles", "audit", "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    with open(os.path.join(ROOT, "roles", "audit", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    assert options["pghost_audit_fail_on"]["choices"] == [NO_THRESHOLD] + list(SEVERITIES)
    assert options["pghost_audit_fail_on"]["default"] == defaults["pghost_audit_fail_on"] == NO_THRESHOLD
    assert options["pghost_audit_dir"]["default"] == defaults["pghost_audit_dir"]


READ_FIRST = ["pghost_audit_read is reachable", "pghost_audit_read is succeeded"]


def audit_tasks():
    with open(AUDIT_PLAYBOOK) as handle:
        return yaml.safe_load(handle)[0]["tasks"]


def test_the_read_is_kept_when_the_host_is_unreachable_or_the_read_fails():
    [read] = [task for task in audit_tasks() if "pghost.hardening.pg_host_facts" in task]
    assert (read["register"], read["ignore_unreachable"], read["ignore_errors"]) == ("pghost_audit_read", True, True)


def test_every_step_between_the_read_and_the_judge_tests_the_read_first():
    tasks = audit_tasks()
    [read] = [i for i, task in enumerate(tasks) if "pghost.hardening.pg_host_facts" in task]
    [judge] = [i for i, task in enumerate(tasks) if "pghost_audit_policy" in (task.get("vars") or {})]
    steps = tasks[read + 1:judge]
    assert len(steps) == 3
    for task in steps:
        when = task.get("when")
        assert isinstance(when, list) and when[:2] == READ_FIRST, (task["name"], when)


def test_the_judge_passes_the_read_and_the_reports_cover_every_host_of_the_play():
    tasks = audit_tasks()
    [judge] = [task for task in tasks if "pghost_audit_policy" in (task.get("vars") or {})]
    assert "'read': pghost_audit_read" in judge["ansible.builtin.set_fact"]["pghost_audit_records"]
    [report] = [task for task in tasks if "pghost_audit_fleet" in (task.get("vars") or {})]
    assert report["vars"]["pghost_audit_fleet"].startswith("{{ ansible_play_hosts_all | pghost.hardening.audit_fleet(")
