# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of the filters that plan distinct jail UIDs (jail_uid_plan and
jail_uid_plan_outcome), documented once."""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  _input:
    description:
      - The jails, each a dict with C(name), C(path), C(users) (user name to
        UID, from the jail's C(/etc/passwd)), C(groups) (group name to GID),
        C(has_postgresql) and C(ipc) (C(new), C(inherit) or C(disable)).
    type: list
    elements: dict
    required: true
  host_users:
    description: The host's users, user name to UID.
    type: dict
    required: true
  reserved_range:
    description: Lowest and highest id (inclusive) that may be given out.
    type: list
    elements: int
    required: true
  server_user:
    description: The PostgreSQL server user in the jails.
    type: str
    default: postgres
  server_group:
    description: The server user's group; the user's name when not given.
    type: str
  host_groups:
    description: The host's groups, group name to GID.
    type: dict
    default: {}
"""
