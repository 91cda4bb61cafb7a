# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.oom_protection_plan: which FreeBSD postmasters protect(1) still has to protect."""

from __future__ import annotations

DOCUMENTATION = r"""
name: oom_protection_plan
short_description: Say per FreeBSD postmaster whether it is protected from the OOM killer
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Reads the results of a looped C(ps -o flags= -p PID) over the running clusters (each result's C(item) is the
    cluster, with C(name) and C(pid)) and returns, per cluster name, its pid, the flags and a state -
    C(protected) when the flags have C(P_PROTECTED) (0x00100000, set by C(protect -p)), C(unprotected), or
    C(gone) when C(ps) found no such process.
  - Skipped results (without C(rc)) are left out.
options:
  _input:
    description: The registered results of the loop.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Plan the OOM protection of each postmaster
  ansible.builtin.set_fact:
    oom_plan: "{{ ps_read.results | default([]) | pghost.hardening.oom_protection_plan }}"

- name: Postmasters still to protect
  ansible.builtin.debug:
    msg: "{{ oom_plan | dict2items | selectattr('value.state', 'equalto', 'unprotected') | map(attribute='key') }}"
"""

RETURN = r"""
_value:
  description: Cluster name to its C(name), C(pid), C(flags) (as ps printed them) and C(state).
  type: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.oom_protect import protection_plan


def oom_protection_plan_filter(results):
    return protection_plan((result["item"]["name"], result["item"]["pid"], result.get("rc"), result.get("stdout", ""))
                           for result in results)


class FilterModule(object):
    def filters(self):
        return {"oom_protection_plan": oom_protection_plan_filter}
