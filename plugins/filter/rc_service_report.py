# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.rc_service_report: what role pg_service did per FreeBSD cluster."""

from __future__ import annotations

DOCUMENTATION = r"""
name: rc_service_report
short_description: Report per FreeBSD cluster its shutdown flags and OOM protection
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Joins the clusters found, the plan of P(pghost.hardening.rc_flags_plan#filter) and the plan of
    P(pghost.hardening.oom_protection_plan#filter) into one entry per cluster, as role C(pg_service) publishes
    them in C(pghost_service.clusters) on FreeBSD.
  - A cluster of a C(postgresql_profiles) entry stops through its C(postgresql_<profile>_flags) when that is set,
    else through C(postgresql_flags).
extends_documentation_fragment:
  - pghost.hardening.clusters.filter_input
options:
  flags_plan:
    description: The plan of P(pghost.hardening.rc_flags_plan#filter); empty when the shutdown is not managed.
    type: list
    elements: dict
    default: []
  oom_plan:
    description: The plan of P(pghost.hardening.oom_protection_plan#filter); empty when none was made.
    type: dict
    default: {}
  manage_shutdown:
    description: Whether the shutdown flags are managed (C(pg_service_shutdown)).
    type: bool
    default: true
  manage_oom:
    description: Whether the OOM protection is managed (C(pg_service_oom)).
    type: bool
    default: true
  in_jail:
    description: Whether the host is a jail, where C(protect) is refused.
    type: bool
    default: false
  check_mode:
    description: Whether the run is in check mode (nothing was changed, only planned).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Report per cluster
  ansible.builtin.set_fact:
    report: >-
      {{ ansible_facts.pghost_clusters_found | pghost.hardening.rc_service_report(
           flags_plan=pg_service_flags_plan | default([]), oom_plan=pg_service_oom_plan | default({}),
           manage_shutdown=pg_service_shutdown, manage_oom=pg_service_oom, check_mode=ansible_check_mode) }}
"""

RETURN = r"""
_value:
  description:
    - One entry per cluster with C(name), C(rc_name), C(data_directory), C(pid), C(flags_variable), C(changed)
      (what was changed or would be), C(shutdown), C(oom), C(restart) (always C(not needed)), C(reasons) and a
      C(summary) line.
  type: list
  elements: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.rc_service_report import service_report


def rc_service_report_filter(clusters, flags_plan=None, oom_plan=None, manage_shutdown=True, manage_oom=True,
                             in_jail=False, check_mode=False):
    return service_report(clusters, flags_plan, oom_plan, manage_shutdown, manage_oom, in_jail, check_mode)


class FilterModule(object):
    def filters(self):
        return {"rc_service_report": rc_service_report_filter}
