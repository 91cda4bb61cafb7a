# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether FreeBSD postmasters are protected from the OOM killer, from `ps -o flags=`
(role pg_service, FreeBSD).

ps prints the process flags in hexadecimal; protect(1) sets P_PROTECTED,
0x00100000 in sys/proc.h. The role protects each running postmaster by pid
(docs/postgres-kernel-facts.md §8), and reads the flag back afterwards;
pg_host_facts reads it for the fleet audit with the same command and the
same verdict.

  is_protected(flags_text)     -> bool
  protection_state(rc, text)   -> "protected" | "unprotected" | "gone"
  protection_plan(reads)       -> {cluster name: {name, pid, state, flags}}
  read_protection(module, pid) -> {state, flags, error}: runs ps once
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


# The argv pg_service's freebsd_oom.yml runs too (ps, then these, then the pid).
PS_FLAGS_ARGS = ("-o", "flags=", "-p")


def read_protection(module, pid):
    """{state, flags, error} of one running postmaster, from `ps -o flags= -p PID`.

    state is protection_state()'s, None when ps could not answer: not found,
    or an exit status other than 0 and 1 (pg_service fails its task on those).
    """
    ps = module.get_bin_path("ps")
    if not ps:
        return {"state": None, "flags": None, "error": "ps was not found on this host"}
    argv = [ps] + list(PS_FLAGS_ARGS) + [str(pid)]
    rc, out, err = module.run_command(argv)
    text = (out or "").strip()
    if rc not in (0, 1):
        return {"state": None, "flags": text or None,
                "error": "%s failed (rc %d): %s" % (" ".join(argv), rc, (err or out or "").strip())}
    return {"state": protection_state(rc, text), "flags": text or None, "error": None}
