# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_ready_checks: from each server's postmaster.pid in a jail, the pg_isready calls."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_ready_checks
short_description: Say from the postmaster.pid files of a FreeBSD jail how to ask each server whether it is ready
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - For role C(pg_jail)'s wait until PostgreSQL in a jail accepts connections. Takes the registered results of
    C(jexec JAIL cat DIR/postmaster.pid), one per data directory, and returns the data directories whose
    C(postmaster.pid) is not complete yet and one C(pg_isready) call per server.
  - A C(postmaster.pid) is complete when it could be read, has at least six lines and names a process and a port.
  - C(pg_isready) gets the port of line 4 (C(-p)) and, as C(-h), the first socket directory of line 5, else the
    first listen address of line 6, C(localhost) when that is C(*) or empty.
  - Without any result (no data directory is known), one call with C(pg_isready)'s defaults.
positional: jail
options:
  _input:
    description:
      - The loop's results, each with C(rc), C(stdout) and the data directory under the loop variable's name
        (C(ansible_loop_var)).
    type: list
    elements: dict
    required: true
  jail:
    description: The jail's name, for C(jexec).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Read where each server listens
  ansible.builtin.command:
    argv: [jexec, db1, cat, "{{ data_directory }}/postmaster.pid"]
  loop: [/var/db/postgres/data16]
  loop_control:
    loop_var: data_directory
  register: pidfiles
  changed_when: false
  failed_when: false

- name: Ask each server whether it accepts connections
  ansible.builtin.command:
    argv: "{{ check.argv }}"
  loop: "{{ (pidfiles.results | pghost.hardening.jail_ready_checks('db1')).checks }}"
  loop_control:
    loop_var: check
    label: "{{ check.label }}"
  changed_when: false
"""

RETURN = r"""
_value:
  description: What the wait needs.
  type: dict
  contains:
    missing:
      description: The data directories without a complete C(postmaster.pid).
      type: list
      elements: str
    checks:
      description:
        - One per complete C(postmaster.pid), each C(label) (C(port N)) and C(argv)
          (C(jexec JAIL /usr/local/bin/pg_isready -p PORT -h HOST)); without any result, one with C(label)
          C(default port) and no C(-p) or C(-h).
      type: list
      elements: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_ready import ready_checks


def jail_ready_checks_filter(results, jail):
    return ready_checks(results, jail)


class FilterModule(object):
    def filters(self):
        return {"jail_ready_checks": jail_ready_checks_filter}
