# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.range_problem: a readable complaint about a ranged variable, or ''."""

from __future__ import annotations

DOCUMENTATION = r"""
name: range_problem
short_description: Say why a variable is not a whole number in its range
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Returns an empty string when the input is a whole number from O(low) to O(high) (or one of O(words)),
    else one sentence naming the variable, the value and what is allowed.
  - "For example C(pg_kernel_swappiness_value: 500 is outside 0..100 (vm.swappiness))."
  - The roles' C(tasks/validate.yml) use it so that a range is checked as a number, not listed as
    101 choices in the argument spec (which Ansible would print in full, and an AWX survey would offer
    as a list).
  - Booleans are refused (YAML's C(yes) is not a count); strings of digits are accepted, as
    the C(int) type of Ansible accepts them.
positional: name, low, high, meaning, words
options:
  _input:
    description: The variable's value.
    type: raw
    required: true
  name:
    description: The variable's name, for the message.
    type: str
    required: true
  low:
    description: The smallest whole number allowed.
    type: int
    required: true
  high:
    description: The largest whole number allowed; none for no upper bound.
    type: int
  meaning:
    description: What the number is (the setting it becomes), shown in parentheses.
    type: str
    default: ""
  words:
    description: Words also allowed instead of a number (compared without case), such as C(auto).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Refuse a swappiness outside 0..100 with a sentence a person can read
  ansible.builtin.assert:
    that: problem == ''
    fail_msg: "{{ problem }}"
  vars:
    problem: "{{ pg_kernel_swappiness_value | pghost.hardening.range_problem('pg_kernel_swappiness_value', 0, 100, 'vm.swappiness') }}"
"""

RETURN = r"""
_value:
  description: An empty string, or the sentence saying what is wrong.
  type: str
"""

import re


def _bounds(low, high):
    return "%d.." % low + ("" if high is None else "%d" % high)


def range_problem(value, name, low, high=None, meaning="", words=()):
    """'' when value is allowed, else 'NAME: VALUE is ... (MEANING)'."""
    low = int(low)
    high = None if high is None else int(high)
    words = [w.lower() for w in (words or ())]
    suffix = " (%s)" % meaning if meaning else ""
    allowed = " or ".join(words + [_bounds(low, high)])
    if isinstance(value, str) and value.strip().lower() in words:
        return ""
    if isinstance(value, bool) or value is None:
        return "%s: %r is not a whole number; expected %s%s" % (name, value, allowed, suffix)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.match(r"^\s*[-+]?[0-9]+\s*$", value):
        number = int(value)
    else:
        return "%s: %r is not a whole number; expected %s%s" % (name, value, allowed, suffix)
    if number < low or (high is not None and number > high):
        return "%s: %d is outside %s%s" % (name, number, allowed, suffix)
    return ""


class FilterModule:
    def filters(self):
        return {"range_problem": range_problem}
