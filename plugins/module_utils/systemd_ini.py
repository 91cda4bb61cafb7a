# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd syntax: unit and configuration files (unit files, drop-ins, logind.conf) and
`systemctl show` output."""

from __future__ import annotations


def parse_systemd_ini(text):
    """systemd unit/config syntax -> [(section, key, value)] in order.

    Comments start with # or ;, a trailing backslash continues a line.
    """
    entries = []
    section = None
    pending = ""
    for raw in (text or "").splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if sep:
            entries.append((section, key.strip(), value.strip()))
    return entries


def parse_show(text):
    """`systemctl show -p ... UNIT...` -> [{property: value}] one per unit (blank-line separated)."""
    blocks, current = [], {}
    for line in (text or "").splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    return blocks
