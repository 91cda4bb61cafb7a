# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The jail.conf locations pg_jail's report filters name in their lines, documented once."""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  jail_conf:
    description: The C(jail.conf) file, for the line of a jail without a stanza.
    type: str
    required: true
  jail_conf_d:
    description: The C(jail.conf.d) directory, for the same line.
    type: str
    required: true
"""
