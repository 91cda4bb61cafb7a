# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.pg_ctl_fast_flags: pg_ctl flags that stop with a fast shutdown."""

from __future__ import annotations

DOCUMENTATION = r"""
name: pg_ctl_fast_flags
short_description: Make the shutdown mode in pg_ctl flags fast, keeping every other flag
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Reads a string of C(pg_ctl) flags, such as the FreeBSD port's C(postgresql_flags) rc.conf variable, the way
    the shell and C(pg_ctl) do - shell quoting, bundled short options (C(-wsm smart)), C(--mode=X), unique prefixes
    of long options, option arguments (the C(-m) inside C(-o '-m smart') belongs to the server, not to C(pg_ctl)),
    and C(--) ending the options.
  - Every shutdown mode given (C(-m X), C(-mX), C(--mode X), C(--mode=X)) that is not C(f) or C(fast) becomes
    C(fast); without any, C(-m fast) is added at the end (before a C(--), where options end). Only the mode's
    own characters change; every other flag, quote and space stays where it was.
  - A blank string is returned unchanged - the port's rc script treats an empty C(postgresql_flags) as unset and
    uses its default, C(-w -s -m fast), so adding only C(-m fast) would drop C(-w -s).
  - Flags C(pg_ctl) would refuse (an unknown option, an option missing its argument, an unterminated quote) are an
    error naming the value.
options:
  _input:
    description: The flags, as the shell would see them (for example the value C(sysrc -n postgresql_flags) prints).
    type: str
    required: true
  name:
    description: What the flags are, for error messages (for example C(postgresql_flags in /etc/rc.conf)).
    type: str
    default: pg_ctl_fast_flags input
"""

EXAMPLES = r"""
- name: Fast shutdown for the FreeBSD rc script
  ansible.builtin.debug:
    msg: "{{ '-w -s -m smart' | pghost.hardening.pg_ctl_fast_flags }}"   # -w -s -m fast

- name: No mode given - one is added, other flags kept as written
  ansible.builtin.debug:
    msg: "{{ \"-w -o '-p 5433'\" | pghost.hardening.pg_ctl_fast_flags }}"   # -w -o '-p 5433' -m fast

- name: Name the variable in the error for flags pg_ctl would refuse
  ansible.builtin.debug:
    msg: "{{ rc_flags | pghost.hardening.pg_ctl_fast_flags(name='postgresql_flags in /etc/rc.conf') }}"
"""

RETURN = r"""
_value:
  description: The flags with a fast shutdown mode; the input itself when it already stops fast or is blank.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.module_utils.pg_ctl_flags import FlagsError, fast_flags


def pg_ctl_fast_flags_filter(value, name="pg_ctl_fast_flags input"):
    if not isinstance(value, str):
        raise AnsibleFilterError("%s is %r, not a string of pg_ctl flags" % (name, value))
    try:
        return fast_flags(value).flags
    except FlagsError as exc:
        raise AnsibleFilterError("%s is %r: %s; expected flags pg_ctl accepts, e.g. '-w -s -m fast'"
                                 % (name, value, exc))


class FilterModule(object):
    def filters(self):
        return {"pg_ctl_fast_flags": pg_ctl_fast_flags_filter}
