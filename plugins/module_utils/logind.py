# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd-logind RemoveIPC: what the host has in force and whether the servers need RemoveIPC=no.

logind removes a user's SysV and POSIX IPC when the user's last session
ends, unless the user is a system user (docs/postgres-kernel-facts.md §5).
"""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils.systemd_ini import parse_systemd_ini

LOGIND_BINARIES = ("/lib/systemd/systemd-logind", "/usr/lib/systemd/systemd-logind")

# systemd reads the first logind.conf found in this order, then the drop-ins
# of every logind.conf.d below, sorted by file name; a drop-in in an earlier
# directory masks one with the same name in a later directory.
LOGIND_CONF_DIRS = ("/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd", "/lib/systemd")

_BOOL_WORDS = {
    "1": "yes", "yes": "yes", "y": "yes", "true": "yes", "t": "yes", "on": "yes",
    "0": "no", "no": "no", "n": "no", "false": "no", "f": "no", "off": "no",
}


def remove_ipc_from(texts):
    """Effective RemoveIPC from logind config texts in reading order (later wins);
    None when none of them sets it in [Login]. Unparsable values are ignored,
    as logind does."""
    value = None
    for text in texts:
        for section, key, raw in parse_systemd_ini(text):
            if section == "Login" and key == "RemoveIPC":
                word = _BOOL_WORDS.get(raw.lower())
                if word is not None:
                    value = word
    return value


def effective_remove_ipc(files):
    """logind's RemoveIPC ("yes"/"no"), None when systemd-logind is not installed.

    Upstream default is yes (docs/postgres-kernel-facts.md §5); RHEL builds default to no, which this
    cannot see from the configuration, so "yes" is reported there: the safe
    answer for a hardening run (it leads to writing RemoveIPC=no).
    """
    if not any(files.exists(path) for path in LOGIND_BINARIES):
        return None
    texts = []
    for directory in LOGIND_CONF_DIRS:
        text = files.read(directory + "/logind.conf")
        if text is not None:
            texts.append(text)
            break
    dropins = {}
    for directory in LOGIND_CONF_DIRS:
        for name in files.listdir(directory + "/logind.conf.d"):
            if name.endswith(".conf") and name not in dropins:
                dropins[name] = directory + "/logind.conf.d/" + name
    for name in sorted(dropins):
        text = files.read(dropins[name])
        if text is not None:
            texts.append(text)
    return remove_ipc_from(texts) or "yes"


def system_uid_max(login_defs):
    """Highest uid logind treats as a system user: SYS_UID_MAX, else UID_MIN - 1, else 999.

    logind spares system users' IPC (uid_is_system(), SYSTEM_UID_MAX which
    distributions build from login.defs; docs/postgres-kernel-facts.md §5).
    """
    values = {}
    for line in (login_defs or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and not fields[0].startswith("#") and fields[1].isdigit():
            values[fields[0]] = int(fields[1])
    if "SYS_UID_MAX" in values:
        return values["SYS_UID_MAX"]
    if "UID_MIN" in values:
        return values["UID_MIN"] - 1
    return 999


def remove_ipc_verdict(owners, remove_ipc):
    """(needs RemoveIPC=no, sentence) for the server users {name: {"uid", "system"}}
    and logind's effective RemoveIPC ("yes"/"no"/None when logind is absent)."""
    exposed = sorted(name for name, info in owners.items() if not info.get("system"))
    if remove_ipc is None:
        return False, "systemd-logind is not installed; nothing removes the servers' IPC at logout"
    if not exposed:
        return False, ("already safe: every server user (%s) is a system user, whose IPC logind never removes"
                       % ", ".join(sorted(owners)) if owners else "no server user found")
    if remove_ipc == "no":
        return False, "already safe: RemoveIPC=no is in force for %s" % ", ".join(exposed)
    return True, ("RemoveIPC=yes would delete the shared memory and semaphores of %s (not system users) when "
                  "their last session ends" % ", ".join(exposed))
