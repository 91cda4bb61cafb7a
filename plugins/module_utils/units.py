# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL memory units, parsed the way the server parses them.

PostgreSQL's memory unit names are case-sensitive (B, kB, MB, GB, TB); a bare
number is in the setting's base unit (8kB pages for shared_buffers and
wal_buffers, kB for work_mem, MB for shared_memory_size). Decimal values with
a unit are accepted since PostgreSQL 12 and rounded to the base unit.
"""

from __future__ import annotations

import re
from fractions import Fraction

UNIT_BYTES = {
    "B": 1,
    "kB": 1024,
    "MB": 1024 ** 2,
    "GB": 1024 ** 3,
    "TB": 1024 ** 4,
}

_NEXT_SMALLER = {"TB": "GB", "GB": "MB", "MB": "kB", "kB": "B"}
_SIZE = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[A-Za-z]*)\s*$")
_BASE = re.compile(r"^(?P<count>[0-9]*)(?P<unit>[A-Za-z]+)$")
_VALID = "a non-negative number with an optional unit (%s)" % ", ".join(UNIT_BYTES)


def ceil_div(a, b):
    """Integer division rounding up, for sizes that must not fall short."""
    return -(-a // b)


class UnitError(ValueError):
    """A value PostgreSQL would not accept as a memory size."""


def base_unit_bytes(base_unit):
    """Bytes in a base unit such as '8kB', 'kB' or 'MB'."""
    match = _BASE.match(str(base_unit).strip())
    if not match or match.group("unit") not in UNIT_BYTES or int(match.group("count") or 1) == 0:
        raise UnitError(
            "base unit %r is not a PostgreSQL memory unit; use an optional count above 0 and one of %s (e.g. 8kB)"
            % (base_unit, ", ".join(UNIT_BYTES))
        )
    return int(match.group("count") or 1) * UNIT_BYTES[match.group("unit")]


def pg_size_bytes(value, base_unit="8kB", name="value"):
    """Bytes in a PostgreSQL memory setting.

    '128MB' -> 134217728; 16384 with base unit 8kB -> 134217728.
    A value with a unit is converted to a whole number of base units the
    way PostgreSQL rounds it (see below), then back to bytes. Raises UnitError naming
    `name`, the value and the accepted form for anything PostgreSQL would
    reject (wrong case, unknown unit, negative, empty).
    """
    base = base_unit_bytes(base_unit)
    if isinstance(value, bool) or value is None:
        raise UnitError("%s: %r is not a memory size; expected %s" % (name, value, _VALID))
    if isinstance(value, int):
        if value < 0:
            raise UnitError("%s: %r is negative; expected %s" % (name, value, _VALID))
        return value * base
    match = _SIZE.match(str(value))
    if not match:
        raise UnitError("%s: %r is not a memory size; expected %s" % (name, value, _VALID))
    number, unit = match.group("number"), match.group("unit")
    if unit and unit not in UNIT_BYTES:
        hint = ""
        for known in UNIT_BYTES:
            if known.lower() == unit.lower():
                hint = " (units are case-sensitive: did you mean %s?)" % known
        raise UnitError(
            "%s: %r has unit %r, which PostgreSQL does not accept%s; expected %s"
            % (name, value, unit, hint, _VALID)
        )
    if not unit:
        if "." in number:
            raise UnitError("%s: %r: a number without a unit must be a whole count of %s; expected %s"
                            % (name, value, base_unit, _VALID))
        return int(number) * base
    # guc.c convert_to_base_unit (PostgreSQL 12+): a fractional value is
    # first rounded to a multiple of the next smaller unit, then parse_int
    # rounds to the base unit; both with rint(), i.e. half to even.
    exact = Fraction(number) * UNIT_BYTES[unit]
    smaller = _NEXT_SMALLER.get(unit)
    if smaller:
        exact = round(exact / UNIT_BYTES[smaller]) * UNIT_BYTES[smaller]
    return round(exact / base) * base
