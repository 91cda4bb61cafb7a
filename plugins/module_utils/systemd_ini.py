# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd unit and configuration file syntax (unit files, drop-ins, logind.conf)."""

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
