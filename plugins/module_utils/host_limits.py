# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resource limits a host gives a process: one reader per source, one representation.

Sources: the kernel's /proc/<pid>/limits, and systemd's `systemctl show`
properties - a unit's LimitX / LimitXSoft and the manager's
DefaultLimitX / DefaultLimitXSoft (what a unit or a login session gets when
nothing sets the limit). Every reader returns {name: (soft, hard)} for the
three limits the collection manages, in the kernel's units (bytes for
memlock), INFINITY for unlimited; a limit the source does not state is left
out. Callers convert (pam_limits counts memlock in KiB).
"""

from __future__ import annotations

INFINITY = float("inf")
# The managed limits: name, systemd's Limit* key, the /proc/<pid>/limits row.
LIMITS = (
    ("nofile", "LimitNOFILE", "Max open files"),
    ("nproc", "LimitNPROC", "Max processes"),
    ("memlock", "LimitMEMLOCK", "Max locked memory"),
)
MANAGER_PREFIX = "Default"


def _value(text):
    """A number, or INFINITY for the kernel's `unlimited` and systemd's `infinity`; None otherwise."""
    text = (text or "").strip()
    if text in ("unlimited", "infinity"):
        return INFINITY
    return int(text) if text.isdigit() else None


def parse_proc_limits(text):
    """/proc/<pid>/limits -> {name: (soft, hard)}."""
    rows = {}
    for line in (text or "").splitlines():
        for name, dummy, label in LIMITS:
            if line.startswith(label):
                pair = tuple(_value(field) for field in line[len(label):].split()[:2])
                if len(pair) == 2 and None not in pair:
                    rows[name] = pair
    return rows


def show_property(name, soft=False, prefix=""):
    """The `systemctl show` property of a limit: LimitNOFILE, LimitNOFILESoft, DefaultLimitNOFILE..."""
    key = dict((n, k) for n, k, dummy in LIMITS)[name]
    return "%s%s%s" % (prefix, key, "Soft" if soft else "")


# Every DefaultLimit* property a reader of the manager's defaults asks `systemctl show` for.
MANAGER_PROPERTIES = tuple(show_property(name, soft, MANAGER_PREFIX) for name, dummy, dummy2 in LIMITS
                           for soft in (False, True))


def show_limits(show, prefix=""):
    """{name: (soft, hard)} from `systemctl show` properties ({property: value}):
    a unit's LimitX (hard) and LimitXSoft (prefix ""), or the manager's
    DefaultLimit* (prefix MANAGER_PREFIX). A missing soft value is the hard
    one, as LimitX=N sets both."""
    result = {}
    for name, dummy, dummy2 in LIMITS:
        hard = _value(show.get(show_property(name, prefix=prefix)))
        soft_text = show.get(show_property(name, True, prefix))
        soft = _value(soft_text) if soft_text else hard
        if hard is not None and soft is not None:
            result[name] = (soft, hard)
    return result


def manager_limits(show):
    """{name: (soft, hard)} from the manager's DefaultLimitX / DefaultLimitXSoft properties."""
    return show_limits(show, MANAGER_PREFIX)
