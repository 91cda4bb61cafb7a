# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd drop-ins for PostgreSQL units: what to write, and whether the running server has it.

Pure functions; the module pg_service_units reads the files and /proc and
calls them. Facts: docs/postgres-kernel-facts.md, cited by section number.

Three drop-ins per unit, one concern each, so a user can read or override one:
  60-pghost-oom.conf       OOMScoreAdjust for the postmaster, PG_OOM_ADJUST_* so
                           each child resets its own score after fork (docs/postgres-kernel-facts.md §4),
                           and OOMPolicy=continue so that one backend killed by
                           the OOM killer is PostgreSQL's crash restart, not the
                           end of the service
  60-pghost-shutdown.conf  KillMode=mixed, KillSignal=SIGINT (fast shutdown),
                           TimeoutStopSec long enough for the final checkpoint (docs/postgres-kernel-facts.md §6)
  60-pghost-limits.conf    LimitNOFILE/NPROC/MEMLOCK as soft:hard, never below
                           what the unit already has
OOMScoreAdjust, PG_OOM_ADJUST_* and the limits are applied by systemd when it
starts the process, so they need a restart; OOMPolicy and the shutdown
settings are read when the event happens (an OOM kill, a stop) and need only
the daemon-reload.
"""

from __future__ import annotations

import re

from ansible_collections.pghost.hardening.plugins.module_utils.host_limits import INFINITY, LIMITS
from ansible_collections.pghost.hardening.plugins.module_utils.systemd_ini import parse_systemd_ini

OOM_DROPIN = "60-pghost-oom.conf"
SHUTDOWN_DROPIN = "60-pghost-shutdown.conf"
LIMITS_DROPIN = "60-pghost-limits.conf"
DROPINS = (OOM_DROPIN, SHUTDOWN_DROPIN, LIMITS_DROPIN)

OOM_FILE = "/proc/self/oom_score_adj"
# OOMPolicy= (systemd 243+, systemd.service(5)): what systemd does to the unit
# when the kernel OOM killer kills one of its processes. Its default `stop`
# stops the whole unit - in the middle of PostgreSQL's own crash restart -
# after one backend was killed; `continue` leaves that decision to the
# postmaster. Older systemd ignores the key with a warning ("Unknown key").
OOM_POLICIES = ("continue", "stop", "kill")
OOM_POLICY_SINCE = 243
# PostgreSQL reads PG_OOM_ADJUST_VALUE only when PG_OOM_ADJUST_FILE is set,
# and then writes it into the child's own file after fork (9.5+,
# src/backend/postmaster/fork_process.c; docs/postgres-kernel-facts.md §4).
OOM_ENV = ("PG_OOM_ADJUST_FILE", "PG_OOM_ADJUST_VALUE")
SIGINT = 2
HEADER = ("# Managed by pghost.hardening (role pg_service); changes here are overwritten.\n"
          "# Remove the file to hand the setting back to the unit.\n")

_SIZE_SUFFIX = {"": 1, "B": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4, "P": 1024 ** 5,
                "E": 1024 ** 6}
_TIME_UNITS = {
    "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3,
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
    "M": 2629800, "month": 2629800, "months": 2629800,
    "y": 31557600, "year": 31557600, "years": 31557600,
}
_TIME_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)")


class UnitValueError(ValueError):
    pass


# ---------------------------------------------------------------------------
# systemd value syntax


def parse_timespan(text):
    """systemd time span ('1h', '5min 20s', '90', 'infinity') -> seconds (float, or INFINITY)."""
    text = (text or "").strip()
    if text in ("infinity", ""):
        return INFINITY if text else None
    total, pos = 0.0, 0
    while pos < len(text):
        match = _TIME_PART.match(text, pos)
        if not match or match.end() == pos:
            raise UnitValueError("%r is not a systemd time span" % text)
        number, unit = match.groups()
        if unit not in _TIME_UNITS and unit != "":
            raise UnitValueError("%r: unknown time unit %r" % (text, unit))
        total += float(number) * _TIME_UNITS.get(unit, 1)
        pos = match.end()
    return total


def parse_limit_value(text, sizes=False):
    """One rlimit value: a number, 'infinity', or with sizes a K/M/G suffix (base 1024)."""
    text = (text or "").strip()
    if text in ("infinity", "unlimited"):
        return INFINITY
    match = re.match(r"^([0-9]+)\s*([A-Za-z]?)$", text)
    if not match or (match.group(2) and not sizes) or match.group(2).upper() not in _SIZE_SUFFIX:
        raise UnitValueError("%r is not a resource limit value" % text)
    return int(match.group(1)) * _SIZE_SUFFIX[match.group(2).upper()]


def parse_limit(text, sizes=False):
    """LimitX= value -> (soft, hard); 'N' sets both (systemd.exec(5))."""
    soft, sep, hard = (text or "").partition(":")
    soft_value = parse_limit_value(soft, sizes)
    return soft_value, (parse_limit_value(hard, sizes) if sep else soft_value)


def render_limit_value(value):
    return "infinity" if value == INFINITY else "%d" % value


def render_limit(pair):
    return "%s:%s" % (render_limit_value(pair[0]), render_limit_value(pair[1]))


def parse_environ(raw):
    """/proc/<pid>/environ bytes -> {name: value}."""
    env = {}
    for item in (raw or b"").split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep:
            env[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


# ---------------------------------------------------------------------------
# What the unit already has


def unit_baseline(texts, manager_defaults):
    """Service settings of the unit without the collection's drop-ins.

    texts: the unit file then its drop-ins in systemd's order (FragmentPath,
    DropInPaths), ours left out. manager_defaults: {"nofile": (soft, hard)}
    from DefaultLimit* - what a unit that says nothing gets.
    -> {"limits": {name: (soft, hard)}, "timeout_stop": seconds|None, "exec_start": [..],
        "oom_score_adjust": int|None}
    """
    limits = dict(manager_defaults)
    timeout, oom, exec_start = None, None, []
    for text in texts:
        for section, key, value in parse_systemd_ini(text):
            if section != "Service":
                continue
            for name, unit_key, dummy in LIMITS:
                if key == unit_key:
                    try:
                        limits[name] = parse_limit(value, sizes=(name == "memlock")) if value else manager_defaults.get(name)
                    except UnitValueError:
                        pass  # systemd ignores a bad line too
            if key in ("TimeoutStopSec", "TimeoutSec"):
                try:
                    timeout = parse_timespan(value)
                except UnitValueError:
                    pass
            elif key == "OOMScoreAdjust" and re.match(r"^-?[0-9]+$", value):
                oom = int(value)
            elif key == "ExecStart":
                exec_start = exec_start + [value] if value else []
    return {"limits": dict((k, v) for k, v in limits.items() if v is not None), "timeout_stop": timeout,
            "exec_start": exec_start, "oom_score_adjust": oom}


# ---------------------------------------------------------------------------
# What to write


def raised(want, base):
    """(soft, hard) at least `want` and never below the unit's own pair."""
    base_soft, base_hard = base if base else (0, 0)
    soft = max(want, base_soft)
    return soft, max(want, base_hard, soft)


def uses_pg_ctlcluster(exec_start):
    return any("pg_ctlcluster" in line for line in exec_start)


def oom_dropin(score, backend_score, exec_start, env_file=None, policy="continue"):
    """The OOM split of docs/postgres-kernel-facts.md §4: the postmaster shielded, each backend reset to backend_score.

    Debian's pg_ctlcluster runs as root and writes -900 to its own
    oom_score_adj before it starts the postmaster (/usr/bin/pg_ctlcluster,
    "have postgres start with increased OOM killer protection"), which
    replaces what systemd set: ExecStartPost puts the configured score back
    on the postmaster ($MAINPID); '-' because a container may refuse it.
    pg_ctlcluster also replaces its whole environment with the cluster's
    `environment` file, so Environment= here would never reach the server;
    PG_OOM_ADJUST_* then go into that file (env_block) instead.
    policy: OOMPolicy= (see OOM_POLICIES); None leaves it to the unit.
    """
    lines = [HEADER, "# Postmaster protected, backends left killable: docs/postgres-kernel-facts.md §4, fork_process.c.\n"]
    if policy == "continue":
        lines.append("# OOMPolicy=continue: when the OOM killer kills a backend, the postmaster resets the others\n"
                     "# and recovers by itself; systemd's default (stop) would stop the whole service during\n"
                     "# that recovery and leave it down. Needs systemd %d; older versions ignore the key.\n"
                     % OOM_POLICY_SINCE)
    lines += ["[Service]\n", "OOMScoreAdjust=%d\n" % score]
    if policy:
        lines.append("OOMPolicy=%s\n" % policy)
    if uses_pg_ctlcluster(exec_start):
        lines.append("# pg_ctlcluster replaces the environment: PG_OOM_ADJUST_* are set in %s\n"
                     % (env_file or "the cluster's environment file"))
        lines.append("ExecStartPost=-/bin/sh -c 'echo %d > /proc/$MAINPID/oom_score_adj'\n" % score)
    else:
        lines.append("Environment=PG_OOM_ADJUST_FILE=%s\n" % OOM_FILE)
        lines.append("Environment=PG_OOM_ADJUST_VALUE=%d\n" % backend_score)
    return "".join(lines)


ENV_BEGIN = "# BEGIN pghost.hardening (role pg_service): OOM split for the backends, docs/postgres-kernel-facts.md §4"
ENV_END = "# END pghost.hardening"


def env_block(text, backend_score):
    """Debian's per-cluster `environment` file (postgresql.conf syntax, read by
    pg_ctlcluster; a later line wins) with the collection's block at its end."""
    block = "%s\nPG_OOM_ADJUST_FILE = '%s'\nPG_OOM_ADJUST_VALUE = '%d'\n%s\n" % (
        ENV_BEGIN, OOM_FILE, backend_score, ENV_END)
    lines = (text or "").splitlines(True)
    kept, inside = [], False
    for line in lines:
        stripped = line.strip()
        if stripped == ENV_BEGIN:
            inside = True
            continue
        if inside:
            if stripped == ENV_END:
                inside = False
            continue
        kept.append(line)
    if inside:
        raise UnitValueError("the block starting with %r has no %r line" % (ENV_BEGIN, ENV_END))
    body = "".join(kept)
    if body and not body.endswith("\n"):
        body += "\n"
    return body + block


def shutdown_dropin(timeout_want, base_timeout):
    """Fast shutdown through the whole stop path (docs/postgres-kernel-facts.md §6), never a shorter timeout than the unit's."""
    timeout = timeout_want if base_timeout is None else max(timeout_want, base_timeout)
    rendered = "infinity" if timeout == INFINITY else "%ds" % int(round(timeout))
    return "".join([HEADER, "# SIGINT = fast shutdown; SIGKILL only for what is left after TimeoutStopSec (docs/postgres-kernel-facts.md §6).\n",
                    "[Service]\n", "KillMode=mixed\n", "KillSignal=SIGINT\n", "TimeoutStopSec=%s\n" % rendered])


def limits_values(wanted, baseline):
    """{name: (soft, hard)} to write: each wanted limit raised to at least the unit's own."""
    result = {}
    for name, dummy, dummy2 in LIMITS:
        if wanted.get(name) is None:
            continue
        result[name] = raised(wanted[name], baseline.get(name))
    return result


def limits_dropin(values, reasons):
    lines = [HEADER]
    for reason in reasons:
        lines.append("# %s\n" % reason)
    lines.append("[Service]\n")
    for name, unit_key, dummy in LIMITS:
        if name in values:
            lines.append("%s=%s\n" % (unit_key, render_limit(values[name])))
    return "".join(lines)


def dropin_settings(text):
    """[(key, value)] of a drop-in's [Service] section, for change reports."""
    return [(k, v) for section, k, v in parse_systemd_ini(text) if section == "Service"]


def changed_settings(before, after):
    """'Key=value' lines of `after` that `before` does not have."""
    old = set(dropin_settings(before))
    return ["%s=%s" % kv for kv in dropin_settings(after) if kv not in old]


# ---------------------------------------------------------------------------
# Does the running postmaster have it?


def pid1_caps(pid1_limits, pid1_can_raise):
    """The hard limits systemd is held to: PID 1's own, but only when it
    lacks CAP_SYS_RESOURCE (a container). With the capability - any real
    host - systemd grants a unit's Limit* above its own limits, so nothing
    is clamped: PID 1's `Max processes` is the kernel's boot default (half
    of threads-max, e.g. 7719 on a 2 GiB machine), not a ceiling."""
    return {} if pid1_can_raise else dict(pid1_limits)


def expected_live(pair, cap):
    """What a process started now gets for `pair`: systemd lowers a limit it
    cannot grant to the closest one it can (setrlimit_closest in
    src/basic/rlimit-util.c) when it lacks CAP_SYS_RESOURCE, i.e. to its own
    hard limit `cap` (PID 1's /proc/1/limits; see pid1_caps)."""
    if cap is None:
        return pair
    return min(pair[0], cap[1]), min(pair[1], cap[1])


def restart_reasons(oom, backend_score, limits, environ, live_limits, caps, oom_source=OOM_DROPIN,
                    limits_source=LIMITS_DROPIN, score=None, live_score=None, can_lower_score=True):
    """Why the running postmaster does not have what the unit gives a new one.

    oom: True when the OOM split is managed; oom_source names the file that
    sets PG_OOM_ADJUST_*. limits: {name: (soft, hard)} the unit gives (its
    effective Limit*, host_limits.show_limits; limits_source names where they come
    from). environ / live_limits / live_score: the postmaster's, read from
    /proc. caps: from pid1_caps. score: the unit's OOMScoreAdjust, compared
    only when the host can grant it (a negative score needs CAP_SYS_RESOURCE).
    """
    reasons = []
    if oom:
        want = {"PG_OOM_ADJUST_FILE": OOM_FILE, "PG_OOM_ADJUST_VALUE": str(backend_score)}
        for name in OOM_ENV:
            if environ.get(name) != want[name]:
                reasons.append("running postmaster has %s=%s, %s gives %s" % (
                    name, environ.get(name, "(unset)"), oom_source, want[name]))
        if (score is not None and live_score is not None and live_score != score
                and (score >= 0 or can_lower_score)):
            reasons.append("running postmaster has oom_score_adj %d, %s gives %d" % (live_score, OOM_DROPIN, score))
    for name, unit_key, dummy in LIMITS:
        if name not in limits or name not in live_limits:
            continue
        expected = expected_live(limits[name], caps.get(name))
        if tuple(live_limits[name]) != tuple(expected):
            reasons.append("running postmaster has %s %s, %s gives %s" % (
                unit_key, render_limit(live_limits[name]), limits_source, render_limit(expected)))
    return reasons


def overridden(written, effective):
    """'LimitX: ...' lines where systemd's merged unit does not give what our drop-in writes
    (a drop-in sorted after ours, e.g. 99-local.conf, wins)."""
    lines = []
    for name, unit_key, dummy in LIMITS:
        if name in written and name in effective and tuple(written[name]) != tuple(effective[name]):
            lines.append("%s: %s writes %s, the unit gives %s (a later drop-in overrides it)" % (
                unit_key, LIMITS_DROPIN, render_limit(written[name]), render_limit(effective[name])))
    return lines


def clamped(limits, caps):
    """Limits this host cannot grant in full: {name: (asked, granted)}."""
    result = {}
    for name, pair in limits.items():
        granted = expected_live(pair, caps.get(name))
        if tuple(granted) != tuple(pair):
            result[name] = (render_limit(pair), render_limit(granted))
    return result


# ---------------------------------------------------------------------------
# logind RemoveIPC (docs/postgres-kernel-facts.md §5)


def systemd_version(text):
    """`systemctl show -p Version` ('252.39-1~deb12u1', '257.9-1') -> 252, or None."""
    match = re.match(r"^\s*([0-9]+)", text or "")
    return int(match.group(1)) if match else None
