# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.rc_flags_variables: the rc.conf variables that hold the clusters' pg_ctl flags."""

from __future__ import annotations

DOCUMENTATION = r"""
name: rc_flags_variables
short_description: Name the rc.conf variables that hold the pg_ctl flags of FreeBSD clusters
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Returns C(postgresql_flags), then C(postgresql_<profile>_flags) for every cluster found through a
    C(postgresql_profiles) entry (a cluster named C(postgresql:<profile>)), each name once.
  - The FreeBSD port's rc script passes that variable to C(pg_ctl) for start and stop; an unset profile
    variable falls back to C(postgresql_flags).
extends_documentation_fragment:
  - pghost.hardening.clusters.filter_input
"""

EXAMPLES = r"""
- name: Name the rc.conf variables to read
  ansible.builtin.set_fact:
    flag_names: "{{ ansible_facts.pghost_clusters_found | pghost.hardening.rc_flags_variables }}"
    # [postgresql_flags, postgresql_main_flags] for a cluster named postgresql:main
"""

RETURN = r"""
_value:
  description: The variable names, C(postgresql_flags) first.
  type: list
  elements: str
"""

from ansible_collections.pghost.hardening.plugins.module_utils.rc_flags_plan import flags_variables


class FilterModule(object):
    def filters(self):
        return {"rc_flags_variables": flags_variables}
