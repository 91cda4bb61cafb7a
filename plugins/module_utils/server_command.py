# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a service starts PostgreSQL: systemd unit [Service] values and the
postgres/postmaster/pg_ctl command line they run (data directory, port, config file)."""

from __future__ import annotations

import os
import re
import shlex

from ansible_collections.pghost.hardening.plugins.module_utils.postmaster import POSTMASTER_NAMES
from ansible_collections.pghost.hardening.plugins.module_utils.shell_assign import shell_words
from ansible_collections.pghost.hardening.plugins.module_utils.systemd_ini import parse_systemd_ini


def merge_unit_texts(texts):
    """Unit file text followed by its drop-ins -> the [Service] values that matter:
    {"environment": {}, "environment_files": [], "exec_start": str|None, "user": str|None}.
    An empty ExecStart= resets the list, as systemd does."""
    result = {"environment": {}, "environment_files": [], "exec_start": None, "user": None}
    for text in texts:
        for section, key, value in parse_systemd_ini(text):
            if section != "Service":
                continue
            if key == "Environment":
                if not value:
                    result["environment"] = {}
                    continue
                try:
                    tokens = shlex.split(value)
                except ValueError:
                    continue
                for token in tokens:
                    name, sep, val = token.partition("=")
                    if sep:
                        result["environment"][name] = val
            elif key == "EnvironmentFile":
                if value:
                    result["environment_files"].append(value)
                else:
                    result["environment_files"] = []
            elif key == "ExecStart":
                result["exec_start"] = value or None
            elif key == "User":
                result["user"] = value or None
    return result


def split_exec(command, env):
    """systemd ExecStart -> argv: prefixes (-@:+!) dropped, ${VAR} replaced in
    place, a word that is exactly $VAR split on whitespace (systemd.service(5))."""
    command = (command or "").lstrip("-@:+!")
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    argv = []
    for word in words:
        bare = re.match(r"^\$([A-Za-z_][A-Za-z0-9_]*)$", word)
        if bare:
            argv.extend(env.get(bare.group(1), "").split())
        else:
            argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word))
    return argv


def _postgres_options(args, found):
    """postgres(1) options: -D dir, -p port, -c name=value, --name=value."""
    index = 0
    while index < len(args):
        arg = args[index]
        nxt = args[index + 1] if index + 1 < len(args) else None
        if arg in ("-D", "-p", "-c") and nxt is not None:
            value = nxt
            index += 2
        elif len(arg) > 2 and arg[:2] in ("-D", "-p", "-c"):
            value = arg[2:]
            arg = arg[:2]
            index += 1
        elif arg.startswith("--") and "=" in arg:
            value = arg[2:]
            arg = "-c"
            index += 1
        else:
            index += 1
            continue
        if arg == "-D":
            found["data"] = value
        elif arg == "-p":
            found["port"] = value
        else:
            name, sep, setting = value.partition("=")
            name = name.replace("-", "_").lower()
            if sep and name == "port":
                found["port"] = setting
            elif sep and name == "data_directory":
                found["data"] = setting
            elif sep and name == "config_file":
                found["config_file"] = setting
    return found


def parse_server_command(argv):
    """What a postgres/postmaster/pg_ctl command line says about its cluster:
    {"exe", "data", "port", "config_file"} (missing ones absent); None when the
    command starts neither."""
    if not argv:
        return None
    exe = os.path.basename(argv[0])
    found = {"exe": argv[0]}
    if exe in POSTMASTER_NAMES:
        return _postgres_options(argv[1:], found)
    if exe != "pg_ctl":
        return None
    args = argv[1:]
    index = 0
    while index < len(args):
        arg = args[index]
        nxt = args[index + 1] if index + 1 < len(args) else None
        if arg in ("-D", "--pgdata") and nxt is not None:
            found["data"] = nxt
            index += 2
            continue
        if arg.startswith("--pgdata="):
            found["data"] = arg[len("--pgdata="):]
        elif arg.startswith("-D") and len(arg) > 2:
            found["data"] = arg[2:]
        elif arg in ("-o", "--options") and nxt is not None:
            _postgres_options(shell_words(nxt), found)
            index += 2
            continue
        elif arg.startswith("--options="):
            _postgres_options(shell_words(arg[len("--options="):]), found)
        elif arg.startswith("-o") and len(arg) > 2:
            _postgres_options(shell_words(arg[2:]), found)
        index += 1
    return found
