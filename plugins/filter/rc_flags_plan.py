# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.rc_flags_plan: a fast shutdown planned for every pg_ctl flags variable read."""

from __future__ import annotations

DOCUMENTATION = r"""
name: rc_flags_plan
short_description: Plan a fast shutdown in every FreeBSD rc.conf pg_ctl flags variable
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Reads the results of a looped C(sysrc -n) over the variable names (each result's C(item) is the name, its
    C(stdout) the value) and returns, per variable in order, the value before and after, whether it changes and a
    sentence saying what it does at shutdown.
  - An unset or empty value leaves the rc script's default, C(-w -s -m fast), and is not changed. A set value gets
    its shutdown mode made fast as P(pghost.hardening.pg_ctl_fast_flags#filter) does, every other flag kept.
  - Flags C(pg_ctl) would refuse are an error naming the variable and the file.
positional: rc_conf
options:
  _input:
    description: The registered results of the loop, each with C(item) (the variable) and C(stdout) (its value).
    type: list
    elements: dict
    required: true
  rc_conf:
    description: The file the values were read from, for error messages.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Plan a fast shutdown in every pg_ctl flags variable
  ansible.builtin.set_fact:
    flags_plan: "{{ flags_read.results | pghost.hardening.rc_flags_plan('/etc/rc.conf') }}"

- name: Say what each variable does at shutdown
  ansible.builtin.debug:
    msg: "{{ flags_plan | map(attribute='verdict') | list }}"
"""

RETURN = r"""
_value:
  description: One entry per variable, in the order read.
  type: list
  elements: dict
  contains:
    name:
      description: The rc.conf variable.
      type: str
    before:
      description: Its value as read (empty when unset).
      type: str
    after:
      description: The value that stops fast; the same as O(before) when nothing changes.
      type: str
    changed:
      description: Whether the value changes.
      type: bool
    verdict:
      description: One sentence saying what the variable does at shutdown.
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.module_utils.rc_flags_plan import FlagsPlanError, flags_plan


def rc_flags_plan_filter(results, rc_conf):
    values = [(result.get("item"), result.get("stdout", "")) for result in results]
    try:
        return flags_plan(values, rc_conf)
    except FlagsPlanError as exc:
        # The wording of pghost.hardening.pg_ctl_fast_flags, which did this before.
        raise AnsibleFilterError("%s is %r: %s; expected flags pg_ctl accepts, e.g. '-w -s -m fast'"
                                 % (exc.variable, exc.value, exc.reason))


class FilterModule(object):
    def filters(self):
        return {"rc_flags_plan": rc_flags_plan_filter}
