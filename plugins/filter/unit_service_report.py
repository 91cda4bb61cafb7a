# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.unit_service_report: what role pg_service did per systemd cluster."""

from __future__ import annotations

DOCUMENTATION = r"""
name: unit_service_report
short_description: Report per systemd cluster the drop-ins changed and the restart
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Joins the clusters M(pghost.hardening.pg_service_units) judged, its clusters from the check run after the
    restarts and the restarts done into one entry per cluster, as role C(pg_service) publishes them in
    C(pghost_service.clusters) on systemd hosts.
  - A restarted cluster's C(restart) is the first word of what the restart reported (C(done)), its C(live) the
    restarted postmaster's, and C(still_pending) what still differs from the drop-ins after it.
options:
  _input:
    description: RV(pghost.hardening.pg_service_units#module:clusters) of the run that wrote the drop-ins.
    type: list
    elements: dict
    required: true
  after:
    description: RV(pghost.hardening.pg_service_units#module:clusters) of the check after the restarts.
    type: list
    elements: dict
    default: []
  restarted:
    description: Cluster name to what its restart reported, for the clusters restarted.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Report per cluster
  ansible.builtin.set_fact:
    report: >-
      {{ pg_service_units.clusters | pghost.hardening.unit_service_report(
           after=pg_service_after.clusters | default([]), restarted=pg_service_restarted | default({})) }}
"""

RETURN = r"""
_value:
  description:
    - The clusters, each with C(restart), C(live) and C(still_pending) as after the restarts, and a C(summary)
      line (unit, changes, restart and its reasons).
  type: list
  elements: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.unit_service_report import service_report


def unit_service_report_filter(clusters, after=None, restarted=None):
    return service_report(clusters, after, restarted)


class FilterModule(object):
    def filters(self):
        return {"unit_service_report": unit_service_report_filter}
