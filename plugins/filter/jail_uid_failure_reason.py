# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_uid_failure_reason: what the failed step of a jail's UID change said."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_uid_failure_reason
short_description: Say what the failed step of a FreeBSD jail's server UID/GID change reported
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - For the rescue of role C(pg_jail)'s C(distinct_uid) path. A loop's own message is only
    C(One or more items failed), so the output of each failed item (its C(stdout), else C(stderr), else C(msg),
    trimmed) is returned, joined with C(; ).
  - Without failed items, the task's own C(msg), else its C(stderr), trimmed.
options:
  _input:
    description: The failed task's result (C(ansible_failed_result)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Fail the host, naming what the failed step said
  ansible.builtin.fail:
    msg: "failed while changing the account ({{ ansible_failed_result | pghost.hardening.jail_uid_failure_reason }})"
"""

RETURN = r"""
_value:
  description: What the failed task or its failed items said; empty when they said nothing.
  type: str
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_uid_outcome import failure_reason


def jail_uid_failure_reason_filter(failed):
    return failure_reason(failed)


class FilterModule(object):
    def filters(self):
        return {"jail_uid_failure_reason": jail_uid_failure_reason_filter}
