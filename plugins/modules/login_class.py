#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: login_class
short_description: Resource limits of one FreeBSD login class in login.conf, never lowering one
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Creates or updates one class in FreeBSD's C(/etc/login.conf) (or another file in that format) with the
    resource limits C(datasize), C(maxproc), C(openfiles) and C(memorylocked), in their bare form (soft and
    hard) or as C(-cur) (soft) and C(-max) (hard), then runs C(cap_mkdb) on the file so that C(login.conf.db),
    which C(getcap) reads instead of the text when it exists, has the change.
  - Reads the file the way C(getcap(3)) does - backslash continuations, C(:) separated capabilities, C(|)
    separated names and aliases, C(#) comments, C(cap@) cancelling a capability, C(tc=other) including
    another class - and works out the soft and hard limit the class gives now, through C(tc=) too, with
    C(-cur) and C(-max) beating the bare name as C(setclassresources) does.
  - By default (O(never_lower=true)) each soft and hard limit becomes the highest of the value asked and what
    the class gives now; C(unlimited) beats any number. A class that gets C(openfiles=unlimited) from
    C(default) through C(tc=default) keeps it and nothing is written for it. With O(never_lower=false) the
    values asked are set exactly.
  - A changed capability is rewritten where it stands; a new one gets a line of its own (C(<tab>:cap=value:\))
    before the class's first C(tc=), so it beats the included classes. A new class is appended at the end of the
    file under a comment naming the collection, with C(tc=default) unless O(inherit) says otherwise. Every
    byte outside the edited class, comments included, stays as it was.
  - A malformed file is reported with its line number, and nothing is written; so is a malformed value of a
    limit the class gives, and a value asked that C(login_cap) would not read as meant.
  - Unlike M(community.general.ini_file) or M(ansible.builtin.lineinfile), this understands that a class is
    one C(getcap) record spread over several lines by continuations, where the first occurrence of a
    capability wins and C(tc=) pulls in other classes, and it runs C(cap_mkdb), which must follow every edit.
options:
  path:
    description: The login class database, in C(login.conf(5)) format. A missing file is created.
    type: path
    default: /etc/login.conf
  name:
    description: The class, by its name or any of its aliases.
    type: str
    required: true
  capabilities:
    description:
      - Capability to value. Accepted capabilities are C(datasize), C(maxproc), C(memorylocked) and C(openfiles),
        each also with C(-cur) (soft limit) or C(-max) (hard limit); the bare name is both, and C(-cur) / C(-max)
        given as well win over it.
      - C(datasize) and C(memorylocked) are sizes - bytes, or a number with one suffix C(b) (512-byte blocks),
        C(k), C(m), C(g) or C(t) in any case (C(256M)). C(maxproc) and C(openfiles) are whole numbers without a
        suffix (C(login_getcapnum) would read C(8k) as 8). Every one also takes C(unlimited) or C(infinity).
    type: dict
    required: true
  never_lower:
    description:
      - Keep a soft or hard limit the class already gives when it is higher than the value asked.
      - C(false) sets the values asked exactly, lowering limits.
    type: bool
    default: true
  aliases:
    description: Other names of the class; used only when the class is created.
    type: list
    elements: str
    default: []
  description:
    description: The description, the last name of the class (like C(Russian Users Accounts)); used only when the class is created.
    type: str
  inherit:
    description:
      - The class a new class includes with C(tc=), for the environment (C(path), C(umask), C(lang)) and the limits it
        does not set itself; used only when the class is created. An empty string for none - then every limit the class
        does not set stays what the process applying it had.
    type: str
    default: default
  backup:
    description: Keep a copy of the file, with a timestamp in its name, before changing it.
    type: bool
    default: false
notes:
  - Run it as root on FreeBSD. C(cap_mkdb) must be on the target; it is looked for before anything is written, so a
    host without it is never left with a database older than the file. When the database is older than the file (an
    edit by hand without C(cap_mkdb)), it is rebuilt even if the class needs no change.
  - Assign the class with C(pw usermod postgres -L <class>); the PostgreSQL port's rc script starts the server
    through C(su -c <class>), so the class applies to the server.
  - Two records with the same name are refused only when the name is the class managed here; C(cap_mkdb) itself
    warns and keeps the first.
attributes:
  check_mode:
    details: Reports what would change, with a diff; writes nothing and does not run C(cap_mkdb).
    support: full
  diff_mode:
    details: Shows the file before and after.
    support: full
  platform:
    details: FreeBSD (and other systems with C(getcap) login classes and C(cap_mkdb)).
    platforms: [freebsd]
extends_documentation_fragment:
  - pghost.hardening.attributes
seealso:
  - module: pghost.hardening.pg_pam_limits
  - name: login.conf(5)
    description: Login class capabilities and the resource limits they set.
    link: https://man.freebsd.org/cgi/man.cgi?query=login.conf&sektion=5
  - name: getcap(3)
    description: The capability database format, continuations, C(tc=) and C(cap@).
    link: https://man.freebsd.org/cgi/man.cgi?query=getcap&sektion=3
"""

EXAMPLES = r"""
- name: Limits of the PostgreSQL server's login class
  pghost.hardening.login_class:
    name: postgres
    description: PostgreSQL Server
    capabilities:
      openfiles: 65536
      maxproc: 2048
      memorylocked: 256M
      datasize: unlimited
  become: true
  register: pg_class

- name: Soft and hard open files apart, set exactly
  pghost.hardening.login_class:
    name: postgres
    capabilities:
      openfiles-cur: 8192
      openfiles-max: 65536
    never_lower: false
    backup: true
  become: true

- name: Put the postgres user in the class
  ansible.builtin.command: pw usermod postgres -L postgres
  become: true
  changed_when: true
"""

RETURN = r"""
class:
  description: The class after the run - its names and its own capabilities (first of each name; C(true) for a boolean, C(@) when cancelled).
  returned: always
  type: dict
  sample:
    names: [postgres, PostgreSQL Server]
    line: 168
    created: true
    capabilities: {memorylocked: 256M, tc: default}
limits:
  description: The soft and hard limit of each resource asked for, before and after, with the reason.
  returned: always
  type: list
  elements: dict
  contains:
    resource:
      description: C(datasize), C(maxproc), C(memorylocked) or C(openfiles).
      type: str
    limit:
      description: C(soft) (C(-cur)) or C(hard) (C(-max)).
      type: str
    before:
      description: The limit the class gave before, null when it set none.
      type: str
    before_from:
      description: Where that came from (value, capability, line, class through C(tc=)).
      type: str
    after:
      description: The limit the class gives now.
      type: str
    after_from:
      description: Where that comes from.
      type: str
    reason:
      description: Why the value is what it is.
      type: str
    changed:
      description: Whether the limit changes.
      type: bool
  sample:
    - resource: openfiles
      limit: soft
      before: unlimited
      before_from: "unlimited (openfiles=unlimited, line 39 in class default, through tc=)"
      after: unlimited
      after_from: "unlimited (openfiles=unlimited, line 39 in class default, through tc=)"
      reason: "asked openfiles=65536; kept unlimited (openfiles=unlimited, line 39 in class default, through tc=), never lowered"
      changed: false
lines:
  description: One line per capability written, with what the class gave before and the reason.
  returned: always
  type: list
  elements: str
  sample: ["postgres: memorylocked=256M (soft and hard; was 64K (memorylocked=64K, line 35 in class default, through tc=)): asked memorylocked=256M"]
backup_file:
  description: The copy of the file made before changing it; null when none was made (O(backup=false), no change, check mode).
  returned: always
  type: str
cap_mkdb:
  description: The command run (or, in check mode, that would run) to rebuild the database; null when none was needed.
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/cap_mkdb, /etc/login.conf]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import login_conf
from ansible_collections.pghost.hardening.plugins.module_utils.file_write import write_atomically
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles


def read_text(path):
    """(text, exists); the file is decoded as UTF-8 with its line ends kept as they are."""
    if not os.path.exists(path):
        return "", False
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8"), True


def _mtime(path):
    return os.stat(path).st_mtime if os.path.exists(path) else None


def db_stale(path):
    """The database exists and is older than the file: getcap reads the old one."""
    return login_conf.database_stale(_mtime(path), _mtime(path + ".db"))


def describe(klass, edit):
    limits = " and ".join(edit["limits"])
    return "%s: %s=%s (%s; was %s): %s" % (klass, edit["capability"], edit["value"], limits, edit["was"], edit["reason"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/login.conf"),
            name=dict(type="str", required=True),
            capabilities=dict(type="dict", required=True),
            never_lower=dict(type="bool", default=True),
            aliases=dict(type="list", elements="str", default=[]),
            description=dict(type="str"),
            inherit=dict(type="str", default="default"),
            backup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    path, klass = p["path"], p["name"]
    # The file as the host sees it; only the integration test maps it under a tree.
    real = HostFiles().path(path)
    try:
        text, exists = read_text(real)
    except UnicodeDecodeError as exc:
        module.fail_json(msg="%s is not UTF-8 text (%s); nothing was changed" % (path, exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s; nothing was changed" % (path, exc))
    try:
        result = login_conf.plan(text, klass, p["capabilities"], never_lower=p["never_lower"], aliases=p["aliases"],
                                 description=p["description"], inherit=p["inherit"])
    except login_conf.LoginConfError as exc:
        where = "%s:%d: " % (path, exc.line_no) if exc.line_no else ""
        module.fail_json(msg="%s%s; nothing was changed" % (where, exc.message), path=path, line=exc.line_no or None)

    new_text = result.text
    changed_text = new_text != text
    rebuild = changed_text or db_stale(real)
    cap_mkdb = None
    if rebuild:
        # Found before anything is written: without it the database would keep the old class.
        binary = module.get_bin_path("cap_mkdb", required=not module.check_mode)
        if binary is None:
            module.warn("cap_mkdb was not found on this host; a real run would fail before writing %s" % path)
            binary = "cap_mkdb"
        cap_mkdb = [binary, real]
    backup_file = None
    if changed_text and not module.check_mode:
        if p["backup"] and exists:
            backup_file = module.backup_local(real)
        write_atomically(module, real, new_text)
    if rebuild and not module.check_mode:
        rc, out, err = module.run_command(cap_mkdb)
        if rc != 0:
            module.fail_json(msg="%s was written but %s failed (rc %d): %s; getcap still reads the old database"
                             % (path, " ".join(cap_mkdb), rc, (err or out).strip()),
                             backup_file=backup_file, cap_mkdb=cap_mkdb, changed=changed_text)
    lines = [describe(klass, edit) for edit in result.edits]
    if result.created:
        msg = "class %s added to %s" % (klass, path)
    elif lines:
        msg = "%d capability(ies) of class %s changed in %s" % (len(lines), klass, path)
    elif rebuild:
        msg = "class %s unchanged; %s.db was older than the file and is rebuilt" % (klass, path)
    else:
        msg = "no change"
    record = result.record
    module.exit_json(
        changed=rebuild,
        msg=msg,
        limits=result.results,
        lines=lines,
        backup_file=backup_file,
        cap_mkdb=cap_mkdb,
        diff=dict(before=text, after=new_text, before_header=path, after_header=path),
        **{"class": dict(names=record.names, line=record.line_no, created=result.created,
                         capabilities=login_conf.capabilities(record))}
    )


if __name__ == "__main__":
    main()
