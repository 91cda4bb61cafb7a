# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What pg_jail_ipc writes: sysvshm/sysvsem/sysvmsg = new for the jails asked for.

Pure: takes the texts the module read (jail.conf, jail.conf.d/*.conf and
which jails have a legacy /etc/jail.NAME.conf) and returns the rows the
module reports and the new text of each file. Everything that can refuse
does so here, before the module writes anything.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import (
    IPC_PARAMS,
    JailConfError,
    effective_ipc,
    parse,
    set_ipc_new,
)
from ansible_collections.pghost.hardening.plugins.module_utils.jail_probe import config_sources

NOTHING = "nothing was changed"

# files: [{path, jails, changed, backup_file}]; jails: [{name, file, changed, ipc_before, ipc_after}]
# in the order asked; edits: {path: (old text, new text)}.
Plan = namedtuple("Plan", ["files", "jails", "edits"])


class IpcError(Exception):
    """A reason to change nothing; the message names the file, line or jail."""


def unique(names):
    """The names in the order given, each once."""
    seen = []
    for name in names:
        if name not in seen:
            seen.append(name)
    return seen


def sources_of(jail_conf, main_text, dropins):
    """{jail: (path, JailConf)}: the file each configured jail is started from (jail_probe.config_sources,
    as pg_jail_facts decides it). main_text: None when jail.conf is absent; dropins: [(path, text)]."""
    try:
        return config_sources(jail_conf, main_text, dropins)
    except JailConfError as exc:  # "<path>: line N: ..."
        raise IpcError("%s; %s" % (exc, NOTHING))


def check_known(names, sources, legacy, jail_conf, jail_conf_d):
    """IpcError for a jail not defined in the files read, or started from its /etc/jail.NAME.conf (legacy: {name: path})."""
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise IpcError(
            "jail%s %s %s not defined in %s or %s/*.conf (jails defined there: %s); a jail started another way "
            "(jail -c by hand, a jail manager) must get sysvshm=new where it is configured; %s" % (
                "s" if len(unknown) > 1 else "", ", ".join(unknown), "are" if len(unknown) > 1 else "is",
                jail_conf, jail_conf_d.rstrip("/"), ", ".join(sorted(sources)) or "none", NOTHING))
    for name in names:
        if legacy.get(name):
            raise IpcError(
                "jail %s: /etc/rc.d/jail starts it from %s, which this module does not edit (it would keep "
                "starting the jail from there); set sysvshm = new; sysvsem = new; sysvmsg = new; there by hand, "
                "or move the jail to %s; %s" % (name, legacy[name], sources[name][0], NOTHING))


def plan(names, jail_conf, jail_conf_d, main_text, dropins, legacy):
    """Plan for every jail in `names` (already unique); IpcError when one cannot be done.

    main_text / dropins: see sources_of; legacy: {name: /etc/jail.NAME.conf} for the jails that have one.
    """
    sources = sources_of(jail_conf, main_text, dropins)
    check_known(names, sources, legacy, jail_conf, jail_conf_d)
    texts = dict(dropins)
    if main_text is not None:
        texts[jail_conf] = main_text
    order, by_file = [], {}
    for name in names:
        path = sources[name][0]
        if path not in by_file:
            order.append(path)
            by_file[path] = []
        by_file[path].append(name)
    edits, file_rows, jail_rows = {}, [], {}
    for path in order:
        text = new = texts[path]
        conf = sources[by_file[path][0]][1]
        for name in by_file[path]:
            try:
                before = effective_ipc(conf, name)
                edited = set_ipc_new(new, name)
                after = effective_ipc(parse(edited), name)
            except JailConfError as exc:
                raise IpcError("%s: %s; %s" % (path, exc, NOTHING))
            jail_rows[name] = dict(name=name, file=path, changed=edited != new, ipc_before=before, ipc_after=after)
            new = edited
        edits[path] = (text, new)
        file_rows.append(dict(path=path, jails=list(by_file[path]), changed=new != text, backup_file=None))
    return Plan(file_rows, [jail_rows[n] for n in names], edits)


def diffs(result):
    """One diff per file that changes."""
    return [dict(before=result.edits[f["path"]][0], after=result.edits[f["path"]][1],
                 before_header=f["path"], after_header=f["path"]) for f in result.files if f["changed"]]


def sentence(jail, check_mode):
    """What was (or would be) written for one jail row."""
    if not jail["changed"]:
        return "jail %s: sysvshm, sysvsem and sysvmsg already new in %s" % (jail["name"], jail["file"])
    return "jail %s: %s %s %s (was %s)" % (
        jail["name"], ", ".join("%s=new" % k for k in IPC_PARAMS),
        "would be written to" if check_mode else "written to", jail["file"],
        ", ".join(jail["ipc_before"][k] for k in IPC_PARAMS))
