# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether FreeBSD postmasters are protected from the OOM killer, from `ps -o flags=`
(role pg_service, FreeBSD).

ps prints the process flags in hexadecimal; protect(1) sets P_PROTECTED,
0x00100000 in sys/proc.h. The role protects each running postmaster by pid
(docs/postgres-kernel-facts.md §8), and reads the flag back afterwards.

  is_protected(flags_text)     -> bool
  protection_state(rc, text)   -> "protected" | "unprotected" | "gone"
  protection_plan(reads)       -> {cluster name: {name, pid, state, flags}}
"""

from __future__ import annotations

P_PROTECTED = 0x00100000


def _flags(text):
    # As Jinja's int(0, 16) read it before: anything not hexadecimal is 0.
    try:
        return int(text.strip(), 16)
    except (AttributeError, ValueError):
        return 0


def is_protected(flags_text):
    """Whether the ps flags (hexadecimal text) have P_PROTECTED."""
    return bool(_flags(flags_text) & P_PROTECTED)


def protection_state(rc, text):
    """`ps -o flags= -p PID` exits 1, printing nothing, when the process is gone."""
    text = (text or "").strip()
    if rc != 0 or not text:
        return "gone"
    return "protected" if is_protected(text) else "unprotected"


def protection_plan(reads):
    """reads: (name, pid, rc, stdout) per postmaster; rc None when ps did not run (skipped)."""
    out = {}
    for name, pid, rc, stdout in reads:
        if rc is None:
            continue
        text = (stdout or "").strip()
        out[name] = {"name": name, "pid": pid, "state": protection_state(rc, text), "flags": text}
    return out
