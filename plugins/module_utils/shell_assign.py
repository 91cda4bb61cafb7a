# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shell-style NAME=VALUE files: FreeBSD rc.conf and systemd EnvironmentFile."""

from __future__ import annotations

import re
import shlex

_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _assignments(text, comment_marks):
    """(name, raw value) of each shell-style NAME=VALUE word, skipping comment lines."""
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line[0] in comment_marks:
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        for token in tokens:
            match = _ASSIGNMENT.match(token)
            if match:
                yield match.group(1), match.group(2)


def parse_env_file(text):
    """KEY=VALUE lines (systemd EnvironmentFile, shell-like quoting) -> dict."""
    return dict(_assignments(text, "#;"))


def parse_rc_conf(text, env=None):
    """FreeBSD rc.conf style shell assignments -> dict, ${var} expanded from earlier ones."""
    env = {} if env is None else env
    for name, value in _assignments(text, "#"):
        env[name] = expand_vars(value, env)
    return env


def expand_vars(text, env):
    return _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)


def shell_words(text):
    """Words of a shell-quoted string; split on whitespace when the quoting is broken."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()
