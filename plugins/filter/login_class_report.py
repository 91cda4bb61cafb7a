# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.login_class_report: what role pg_limits did on FreeBSD, for the run summary."""

from __future__ import annotations

DOCUMENTATION = r"""
name: login_class_report
short_description: Report the PostgreSQL login class's limits and what the run changed
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Joins what M(pghost.hardening.login_class) wrote, the users given the class and the rc.conf line into the
    limits of the class and one line per change.
positional: lines, plan, login_class, rc_conf, rc_changed
options:
  _input:
    description: RV(pghost.hardening.login_class#module:limits) (C(resource), C(limit), C(after)).
    type: list
    elements: dict
    required: true
  lines:
    description: RV(pghost.hardening.login_class#module:lines), one per changed capability.
    type: list
    elements: str
    required: true
  plan:
    description: The plan of P(pghost.hardening.login_class_plan#filter).
    type: list
    elements: dict
    required: true
  login_class:
    description: The class.
    type: str
    required: true
  rc_conf:
    description: The rc.conf file C(postgresql_login_class) is set in.
    type: str
    required: true
  rc_changed:
    description: Whether C(postgresql_login_class) changed.
    type: bool
    required: true
"""

EXAMPLES = r"""
- name: Report the class
  ansible.builtin.debug:
    msg: >-
      {{ login.limits | pghost.hardening.login_class_report(login.lines, class_plan, 'postgres', '/etc/rc.conf',
         rc_class is changed) }}
"""

RETURN = r"""
_value:
  description: The report.
  type: dict
  contains:
    limits:
      description: Resource to limit (C(soft), C(hard)) to value, as written.
      type: dict
    changes:
      description:
        - The changed capabilities, a line per user given the class (C(user U, login class C (was W)) with a
          colon after U), and the rc.conf line when it changed.
      type: list
      elements: str
"""

from ansible_collections.pghost.hardening.plugins.module_utils.login_class_plan import class_report


class FilterModule(object):
    def filters(self):
        return {"login_class_report": class_report}
