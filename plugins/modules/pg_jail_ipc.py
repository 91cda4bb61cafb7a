#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Give FreeBSD jails their own SysV IPC namespace in jail.conf: read the files,
plan in module_utils/jail_ipc_plan.py, write."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_jail_ipc
short_description: Set sysvshm, sysvsem and sysvmsg to new for FreeBSD jails in jail.conf
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Sets C(sysvshm = new; sysvsem = new; sysvmsg = new;) for the jails in O(jails), in one call per host, so that
    each jail gets its own SysV IPC key namespace and PostgreSQL servers in different jails can no longer take
    each other's shared memory for stale and remove it (FreeBSD 11.0 and later; PostgreSQL 13+ documentation).
  - Each jail is edited in the file C(/etc/rc.d/jail) starts it from - C(jail.conf.d/NAME.conf) when that file
    defines it, else O(jail_conf), else the first other C(jail.conf.d/*.conf) file that defines it - as
    M(pghost.hardening.pg_jail_facts) decides. Several jails in one file are one write.
  - Only the jail's own stanza changes. A C(sysvshm), C(sysvsem) or C(sysvmsg) already there is rewritten in
    place; a missing one takes the place of a deprecated C(allow.sysvipc) in the stanza (which means C(inherit))
    or goes before the closing brace with the stanza's indentation. Every other byte of the file - comments,
    quoting, line ends, other jails - stays as it was, and a second run changes nothing.
  - Every file is read, parsed and edited in memory before anything is written; an unknown jail, a malformed
    file (named with its line), a jail defined twice, or a wildcard or top-level setting after the stanza that
    would override it fails the whole call with nothing changed. Files are replaced atomically.
  - Changes only the configuration. A running jail keeps the IPC namespace it was created with until it is
    restarted (C(service jail restart NAME)); compare the live modes of M(pghost.hardening.pg_jail_facts)
    (RV(pghost.hardening.pg_jail_facts#module:jails[].ipc)) with RV(jails[].ipc_after) to know which jails
    wait for a restart. This module never restarts anything.
options:
  jails:
    description:
      - The jails to give their own IPC namespace, by name. Duplicates count once.
      - Every one must be defined in O(jail_conf) or a C(*.conf) file of O(jail_conf_d); an unknown name fails,
        naming the jails that are defined.
    type: list
    elements: str
    required: true
  jail_conf:
    description: The main jail configuration file (C(jail_conf) in C(rc.conf)).
    type: path
    default: /etc/jail.conf
  jail_conf_d:
    description: The directory of per-jail configuration files (C(*.conf)).
    type: path
    default: /etc/jail.conf.d
  backup:
    description: Keep a copy of each file, with a timestamp in its name, before changing it.
    type: bool
    default: false
notes:
  - Run it as root on FreeBSD 11.0 or later; older releases have no C(sysvshm) jail parameter and C(jail -c)
    would refuse the edited configuration. M(pghost.hardening.pg_jail_facts) reports the release
    (RV(pghost.hardening.pg_jail_facts#module:supports_sysvshm_new)).
  - Files are read as UTF-8.
  - C(/etc/rc.d/jail) reads C(/etc/jail.NAME.conf) before anything else; a jail with such a file is refused,
    because editing O(jail_conf) or O(jail_conf_d) would not reach it. C(.include) statements are not followed.
  - Jails started by other tools (C(jail -c) by hand, jail managers with their own configuration) are unknown
    here; give them C(sysvshm=new) where they are configured.
attributes:
  check_mode:
    details: Reports what would change, with a diff; writes nothing.
    support: full
  diff_mode:
    details: One diff per file that changes.
    support: full
  platform:
    details: FreeBSD.
    platforms: [freebsd]
extends_documentation_fragment:
  - pghost.hardening.attributes
seealso:
  - module: pghost.hardening.pg_jail_facts
  - name: jail(8)
    description: The jail parameters C(sysvshm), C(sysvsem) and C(sysvmsg).
    link: https://man.freebsd.org/cgi/man.cgi?query=jail&sektion=8
  - name: jail.conf(5)
    description: The configuration file format.
    link: https://man.freebsd.org/cgi/man.cgi?query=jail.conf&sektion=5
"""

EXAMPLES = r"""
- name: Give two PostgreSQL jails their own SysV IPC
  pghost.hardening.pg_jail_ipc:
    jails: [pg1, pg3]
  become: true
  register: pg_jail_ipc

- name: Show what was written
  ansible.builtin.debug:
    msg: "{{ pg_jail_ipc.lines }}"

- name: Every PostgreSQL jail the audit found, keeping a copy of each file
  pghost.hardening.pg_jail_ipc:
    jails: "{{ ansible_facts.pghost_jails.jails | selectattr('has_postgresql') | map(attribute='name') | list }}"
    backup: true
  become: true
"""

RETURN = r"""
files:
  description: The files holding the jails asked for, in the order first needed.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
      sample: /etc/jail.conf
    jails:
      description: The jails of O(jails) defined there.
      type: list
      elements: str
      sample: [pg1, pg3]
    changed:
      description: Whether the file changes (or would, in check mode).
      type: bool
      sample: true
    backup_file:
      description: The copy made before changing it; null when none was made.
      type: str
      sample: /etc/jail.conf.12345.2024-05-01@10:00:00~
  sample:
    - {path: /etc/jail.conf, jails: [pg1, pg3], changed: true, backup_file: null}
jails:
  description: Each jail of O(jails), in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The jail.
      type: str
      sample: pg1
    file:
      description: The file its stanza is in.
      type: str
      sample: /etc/jail.conf
    changed:
      description: Whether its stanza changes.
      type: bool
      sample: true
    ipc_before:
      description:
        - The effective C(sysvshm), C(sysvsem) and C(sysvmsg) the configuration gave before (wildcards, top-level
          settings and C(allow.sysvipc) counted; C(disable) when unset). Not what a running jail has now.
      type: dict
      sample: {"sysvshm": "disable", "sysvsem": "disable", "sysvmsg": "disable"}
    ipc_after:
      description: What the configuration gives now (always all C(new) on success).
      type: dict
      sample: {"sysvshm": "new", "sysvsem": "new", "sysvmsg": "new"}
lines:
  description: One sentence per jail saying what was written where, or that nothing needed to change.
  returned: always
  type: list
  elements: str
  sample:
    - "jail pg1: sysvshm=new, sysvsem=new, sysvmsg=new written to /etc/jail.conf (was disable, disable, disable)"
    - "jail pg2: sysvshm, sysvsem and sysvmsg already new in /etc/jail.conf.d/pg2.conf"
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import jail_ipc_plan
from ansible_collections.pghost.hardening.plugins.module_utils.file_write import write_atomically
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.jail_ipc_plan import NOTHING, IpcError
from ansible_collections.pghost.hardening.plugins.module_utils.jail_probe import dropin_paths

ARGUMENT_SPEC = dict(
    jails=dict(type="list", elements="str", required=True),
    jail_conf=dict(type="path", default="/etc/jail.conf"),
    jail_conf_d=dict(type="path", default="/etc/jail.conf.d"),
    backup=dict(type="bool", default=False),
)


def read_text(files, path):
    """The file's text (line ends kept), or None when there is no such file.

    Read through files.path() so the integration test's tree stands in for
    the host; decoded strictly, since the text is written back.
    """
    real = files.path(path)
    if not os.path.isfile(real):
        return None
    try:
        with open(real, "rb") as handle:
            return handle.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IpcError("%s is not UTF-8 text (%s); %s" % (path, exc, NOTHING))
    except (IOError, OSError) as exc:
        raise IpcError("cannot read %s: %s; %s" % (path, exc, NOTHING))


def read_dropins(files, jail_conf_d):
    """[(path, text)] of jail.conf.d/*.conf in name order."""
    return [(path, read_text(files, path)) for path in dropin_paths(files, jail_conf_d)]


def legacy_file(files, name):
    """/etc/jail.NAME.conf when it exists: rc.d/jail reads it first (the name
    with '/' and '.' as '_', as rc.d/jail spells it; the plain name too)."""
    for stem in (name, name.replace("/", "_").replace(".", "_")):
        path = "/etc/jail.%s.conf" % stem
        if files.isfile(path):
            return path
    return None


def apply(module, files, result):
    """Write each changed file (backup first when asked); fail naming what was already written."""
    written = []
    for row in result.files:
        if not row["changed"]:
            continue
        # The file as the host sees it; only the integration test maps it
        # under a tree. A symlinked file is written where the link points.
        real = os.path.realpath(files.path(row["path"]))
        try:
            if module.params["backup"]:
                row["backup_file"] = module.backup_local(real)
            write_atomically(module, real, result.edits[row["path"]][1])
        except (IOError, OSError) as exc:
            module.fail_json(
                msg="cannot write %s: %s; %s" % (
                    row["path"], exc, "already written: %s" % ", ".join(written) if written else NOTHING),
                changed=bool(written), files=result.files, jails=result.jails)
        written.append(row["path"])


def run(module):
    """The module's result for validated params (no exit)."""
    params = module.params
    names = jail_ipc_plan.unique(params["jails"])
    files = HostFiles()
    try:
        result = jail_ipc_plan.plan(
            names, params["jail_conf"], params["jail_conf_d"], read_text(files, params["jail_conf"]),
            read_dropins(files, params["jail_conf_d"]), dict((n, legacy_file(files, n)) for n in names))
    except IpcError as exc:
        module.fail_json(msg=str(exc))
    if not module.check_mode:
        apply(module, files, result)
    return dict(
        changed=any(f["changed"] for f in result.files),
        files=result.files,
        jails=result.jails,
        lines=[jail_ipc_plan.sentence(j, module.check_mode) for j in result.jails],
        diff=jail_ipc_plan.diffs(result),
    )


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
