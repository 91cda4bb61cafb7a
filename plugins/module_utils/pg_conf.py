# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""postgresql.conf: its line syntax and its include directives.

Follows the server's own reading (src/backend/utils/misc/guc-file.l):
include, include_if_exists and include_dir, relative to the including file,
at most CONF_FILE_MAX_DEPTH deep; later entries win.
"""

from __future__ import annotations

import os
import re

MAX_INCLUDE_DEPTH = 10  # PostgreSQL's CONF_FILE_MAX_DEPTH

_CONF_LINE = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?)\s*=?\s*"""
    r"""(?P<value>'(?:[^'\\\n]|\\.|'')*'|[^\s#']+)\s*(?:\#.*)?$"""
)


def _unquote_conf(value):
    if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
        body = value[1:-1].replace("''", "'")
        escapes = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
        return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body)
    return value


def parse_pg_conf(text):
    """postgresql.conf text -> [(lowercased name, value)] in file order, include directives included."""
    entries = []
    for line in (text or "").splitlines():
        match = _CONF_LINE.match(line)
        if match:
            entries.append((match.group("name").lower(), _unquote_conf(match.group("value"))))
    return entries


def read_pg_conf(files, path, settings=None, depth=0, required=True):
    """Settings of a postgresql.conf with its include, include_if_exists and
    include_dir directives followed (relative paths are relative to the file
    that names them); later entries win. Returns (settings, missing_files)."""
    settings = {} if settings is None else settings
    missing = []
    text = files.read(path)
    if text is None:
        if required:
            missing.append(path)
        return settings, missing
    if depth >= MAX_INCLUDE_DEPTH:
        return settings, missing
    base = os.path.dirname(path)
    for name, value in parse_pg_conf(text):
        if name in ("include", "include_if_exists", "include_dir"):
            target = value if value.startswith("/") else os.path.join(base, value)
            if name == "include_dir":
                for entry in files.listdir(target):
                    if entry.endswith(".conf") and not entry.startswith("."):
                        dummy, more = read_pg_conf(files, os.path.join(target, entry), settings, depth + 1)
                        missing.extend(more)
            else:
                dummy, more = read_pg_conf(files, target, settings, depth + 1, required=name == "include")
                missing.extend(more)
        else:
            settings[name] = value
    return settings, missing
