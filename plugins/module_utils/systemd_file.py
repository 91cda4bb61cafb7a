# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One file systemd reads (a unit, a drop-in, logind.conf.d), then what to do
with a unit: the pure decisions of pg_systemd_file and the one seam through
which it calls systemctl.

The module reads (the file, `systemctl is-enabled`, `systemctl is-active`),
plan() decides, and execute() runs what plan() chose; nothing here touches the
host except Systemctl.run.
"""

from __future__ import annotations

import re
from collections import namedtuple

# `systemctl is-enabled` answers for which `enable` has nothing to do: the
# states systemctl(1) gives exit status 0. A static, generated or transient
# unit has no [Install] section to act on, and an indirect one is enabled
# through the units its Also= names.
ENABLED = frozenset(("enabled", "static", "indirect", "generated", "transient", "alias"))
MASKED = frozenset(("masked", "masked-runtime"))
NOT_FOUND = "not-found"
BAD = "bad"
# `systemctl is-active` answers for which `start` would at most wait for a
# job already under way (ansible.builtin.systemd_service counts "activating"
# as running too).
RUNNING = frozenset(("active", "activating", "reloading", "refreshing"))

# Older systemd prints nothing on stdout for a unit it has no file for, only
# "Failed to get unit file state for X: No such file or directory" on
# stderr; newer ones print "not-found". Any other silence is an error.
_NO_UNIT_FILE = re.compile(r"unit file state for \S+: No such file or directory")

# What the module reports it did, by systemctl verb.
REPORTED = {"daemon-reload": "daemon_reloaded", "enable": "enabled", "start": "started", "restart": "restarted"}

Action = namedtuple("Action", "verb unit")


class PlanError(Exception):
    """The unit cannot be brought to the state asked for; nothing should run."""


class SystemctlError(Exception):
    """A systemctl call failed: the command, its exit status and what it said."""

    def __init__(self, argv, rc, out, err, done=()):
        self.argv = list(argv)
        self.rc = rc
        self.stdout = out or ""
        self.stderr = err or ""
        self.done = list(done)
        said = (self.stderr or self.stdout).strip() or "no output"
        super().__init__("`%s` failed (rc %s): %s" % (" ".join(self.argv), rc, said))


class Systemctl:
    """THE seam: every systemctl call of pg_systemd_file goes through run(),
    so tests answer it without a systemd."""

    def __init__(self, module):
        self.module = module
        self.binary = module.get_bin_path("systemctl", required=True)

    def run(self, *args):
        """-> (argv, rc, stdout, stderr); never raises on a non-zero exit."""
        argv = [self.binary] + list(args)
        rc, out, err = self.module.run_command(argv)
        return argv, rc, out, err


def parse_mode(value):
    """The mode option -> int. Only a quoted octal string is accepted: YAML
    reads an unquoted 0644 as the integer 420, which would pass as a valid
    octal string "420" and give the file r---w----."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError("mode: give the mode as a quoted octal string such as '0644', not %r "
                         "(an unquoted 0644 reaches the module as the number 420)" % (value,))
    if not re.match(r"^0?[0-7]{3}$", value):
        raise ValueError("mode: %r is not an octal mode such as '0644' (permission bits only)" % value)
    return int(value, 8)


def missing_directories(path, isdir):
    """The ancestors of path that do not exist, outermost first; isdir(p) -> bool."""
    missing = []
    directory = path.rsplit("/", 1)[0] or "/"
    while directory != "/" and not isdir(directory):
        missing.append(directory)
        directory = directory.rsplit("/", 1)[0] or "/"
    return list(reversed(missing))


def attribute_changes(current, wanted):
    """[(name, before, after)] for owner, group and mode; current and wanted
    are (uid, gid, mode). A file about to be created has no changes here: it
    is made with the wanted attributes."""
    if current is None:
        return []
    return [(name, before, after) for name, before, after in zip(("owner", "group", "mode"), current, wanted)
            if before != after]


def attribute_diff(path, changes):
    """The attributes part of the diff (mode as an octal string), or None without changes."""
    if not changes:
        return None

    def shown(name, value):
        return "%04o" % value if name == "mode" else value

    return dict(before=dict((name, shown(name, before)) for name, before, dummy in changes),
                after=dict((name, shown(name, after)) for name, dummy, after in changes),
                before_header="%s (attributes)" % path, after_header="%s (attributes)" % path)


def parse_is_enabled(argv, rc, out, err):
    """`systemctl is-enabled UNIT` -> its state word; NOT_FOUND for a unit
    without a file however systemd says so; SystemctlError when it answers
    nothing usable (no systemd running, no permission)."""
    word = (out or "").strip().split("\n")[0].strip()
    if word:
        return word
    if rc != 0 and _NO_UNIT_FILE.search(err or ""):
        return NOT_FOUND
    raise SystemctlError(argv, rc, out, err)


def parse_is_active(argv, rc, out, err):
    """`systemctl is-active UNIT` -> its state word (an unknown unit is "inactive");
    SystemctlError when it prints none."""
    word = (out or "").strip().split("\n")[0].strip()
    if word:
        return word
    raise SystemctlError(argv, rc, out, err)


def read_unit(systemctl, unit, enable, start):
    """{"is_enabled", "is_active"} of unit, each read only when enable or start needs it (else None)."""
    state = {"is_enabled": None, "is_active": None}
    if unit and (enable or start):
        # Asked even for start alone: a masked unit cannot be started either.
        state["is_enabled"] = parse_is_enabled(*systemctl.run("is-enabled", unit))
    if unit and start:
        state["is_active"] = parse_is_active(*systemctl.run("is-active", unit))
    return state


def plan(file_changed, check_mode, daemon_reload=False, unit=None, enable=False, start=False,
         restart_on_change=None, is_enabled=None, is_active=None):
    """The systemctl actions to run, in order, as [Action].

    file_changed: the file's content differs (is written, or would be in check
    mode). is_enabled / is_active: what systemctl answered for unit, read after
    the write (in check mode before it: the answers then describe the old file
    or no file at all).

    Raises PlanError when the unit cannot be enabled or started at all.
    """
    actions = []
    if file_changed and daemon_reload:
        actions.append(Action("daemon-reload", None))
    if unit and (enable or start):
        # In check mode the file is not written yet, so systemd cannot know
        # what it will say: a unit missing or unreadable now may be fine once
        # written, and counts as "would be enabled / started".
        answers_old_file = check_mode and file_changed
        if is_enabled in MASKED:
            raise PlanError("%s is %s (linked to /dev/null): systemd will neither enable nor start it; "
                            "`systemctl unmask %s` first if it should run" % (unit, is_enabled, unit))
        if is_enabled == NOT_FOUND and not answers_old_file:
            raise PlanError("systemd finds no unit file for %s; the file written must be in a unit directory "
                            "(such as /etc/systemd/system) and named after the unit" % unit)
        if is_enabled == BAD and not answers_old_file:
            raise PlanError("systemd reports the unit file of %s as bad (`systemctl is-enabled`: bad); "
                            "see `systemd-analyze verify %s`" % (unit, unit))
        if enable and is_enabled not in ENABLED:
            actions.append(Action("enable", unit))
        restarting_it = file_changed and restart_on_change == unit
        if start and is_active not in RUNNING and not restarting_it:
            actions.append(Action("start", unit))
    if file_changed and restart_on_change:
        actions.append(Action("restart", restart_on_change))
    return actions


def execute(systemctl, actions):
    """Run actions in order; stop at the first failure with a SystemctlError
    whose `done` lists the actions that ran before it."""
    done = []
    for action in actions:
        args = (action.verb,) if action.unit is None else (action.verb, action.unit)
        argv, rc, out, err = systemctl.run(*args)
        if rc != 0:
            raise SystemctlError(argv, rc, out, err, done)
        done.append(action)
    return done


def lost_on_rerun(planned, done):
    """The planned actions that did not run and that only a content change
    triggers (daemon-reload, restart): a later run, finding the file as
    written, would not plan them again. enable and start are judged from
    systemd's answers each run, so they are never lost."""
    return [action for action in planned if action not in done and action.verb in ("daemon-reload", "restart")]


def reported(actions):
    """{daemon_reloaded, enabled, started, restarted} -> bool, from the actions run (or planned)."""
    verbs = set(action.verb for action in actions)
    return dict((key, verb in verbs) for verb, key in REPORTED.items())


def describe(action):
    return "systemctl %s" % action.verb if action.unit is None else "systemctl %s %s" % (action.verb, action.unit)


def summary(path, written, attributes, actions, check_mode):
    """One line: what was done, or in check mode what would be."""
    if check_mode:
        parts = ["write %s" % path] if written else []
        parts += ["set the %s of %s" % (", ".join(attributes), path)] if attributes else []
        parts += ["run " + describe(action) for action in actions]
        return "would " + "; ".join(parts) if parts else "%s is as asked; nothing to do" % path
    parts = ["wrote %s" % path] if written else []
    parts += ["set the %s of %s" % (", ".join(attributes), path)] if attributes else []
    parts += ["ran " + describe(action) for action in actions]
    return "; ".join(parts) if parts else "%s is as asked; nothing to do" % path
