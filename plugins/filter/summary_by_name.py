# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.summary_by_name: a role's report entries as lines of the run summary."""

from __future__ import annotations

DOCUMENTATION = r"""
name: summary_by_name
short_description: Turn report entries into run-summary lines keyed by a prefixed name
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Returns a dict of O(prefix) followed by each entry's C(name), to the entry's C(summary), for the roles'
    C(pghost_computed) fact, which the run summary prints.
positional: prefix
options:
  _input:
    description: The report entries, each with C(name) and C(summary).
    type: list
    elements: dict
    required: true
  prefix:
    description: What the names are, for example C(service ) or C(jail ).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Add one summary line per cluster
  ansible.builtin.set_fact:
    pghost_computed: "{{ pghost_computed | default({}) | combine(report | pghost.hardening.summary_by_name('service ')) }}"
    # {"service 15/main": "postgresql@15-main.service: no change; restart not needed"}
"""

RETURN = r"""
_value:
  description: Prefixed name to summary, in the order of the entries.
  type: dict
"""


def summary_by_name(entries, prefix=""):
    return dict(("%s%s" % (prefix, entry["name"]), entry["summary"]) for entry in entries)


class FilterModule(object):
    def filters(self):
        return {"summary_by_name": summary_by_name}
