# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every module of the collection documents, in the shape of
ansible.builtin.action_common_attributes: the general meaning here, each
module's support and details (what it does in check mode, what its diff
shows, where it runs) in the module."""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return a changed status prediction without modifying the target.
  diff_mode:
    description: Will return details on what has changed (or would change in check mode) in diff mode.
  platform:
    description: The target operating systems the module can act on.
    support: full
"""

    FACTS = r"""
attributes:
  facts:
    description: Returns an C(ansible_facts) dictionary that updates the host's facts.
"""
