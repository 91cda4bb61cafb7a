#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_sysctl
short_description: Persist and apply kernel settings without ever lowering a limit
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Writes the kernel settings the collection manages to a file it owns
    (Linux C(/etc/sysctl.d/60-pghost-postgresql.conf)) or to a managed block
    (FreeBSD C(/etc/sysctl.conf), C(/boot/loader.conf)), and applies them live
    where O(apply_live) allows, in one call for all keys.
  - A limit in O(raise_only) becomes the highest of the value asked, the value
    in force now and the value written before, field by field for values such
    as C(kernel.sem); it is never lowered, live or at boot. O(values) are set as
    asked. Keys the collection wrote before are kept; nothing outside its file
    or block is touched.
  - Live values are applied before the file is written, C(vm.overcommit_memory)
    last, so strict accounting never starts under an old limit and a value the
    kernel refuses is never persisted.
  - Unlike M(ansible.posix.sysctl) (one key per task, no never-lower rule),
    this reads, merges and applies every key in one round trip.
options:
  path:
    description: The file to write.
    type: path
    required: true
  style:
    description:
      - C(sysctl.d) owns the whole file (C(key = value)).
      - C(sysctl.conf) and C(loader.conf) keep a managed block inside the file
        (C(key=value) and C(key="value")). Changes in C(loader.conf) take effect at
        the next boot, reported as RV(reboot_required).
    type: str
    choices: [sysctl.d, sysctl.conf, loader.conf]
    default: sysctl.d
  raise_only:
    description: Limits, name to value; only ever raised.
    type: dict
    default: {}
  values:
    description: Policy values, name to value; written as given.
    type: dict
    default: {}
  reasons:
    description: Name to a one-line reason, written as a comment above the key and reported.
    type: dict
    default: {}
  apply_live:
    description:
      - Names that may be applied to the running kernel (for example the C(apply_live) keys of
        M(pghost.hardening.pg_host_facts) that are true). Others are persisted only and listed in
        RV(not_applied_live). Ignored for C(loader.conf).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    details: Reports what would change, with a diff; writes and applies nothing.
    support: full
  diff_mode:
    details: Shows the file before and after.
    support: full
  platform:
    platforms: [linux, freebsd]
extends_documentation_fragment:
  - pghost.hardening.attributes
seealso:
  - module: pghost.hardening.pg_kernel_params
  - module: pghost.hardening.pg_host_facts
"""

EXAMPLES = r"""
- name: Persist and apply what pg_kernel_params proposed
  pghost.hardening.pg_sysctl:
    path: /etc/sysctl.d/60-pghost-postgresql.conf
    raise_only:
      kernel.sem: "250 32000 32 128"
      kernel.shmmni: 4096
    values:
      vm.swappiness: 1
    reasons:
      kernel.sem: SysV semaphores for PostgreSQL 9.6 (docs/postgres-kernel-facts.md §2)
    apply_live: [kernel.sem, kernel.shmmni]

- name: FreeBSD loader tunables (next boot)
  pghost.hardening.pg_sysctl:
    path: /boot/loader.conf
    style: loader.conf
    raise_only:
      kern.ipc.semmni: 256
  register: loader
"""

RETURN = r"""
changes:
  description: One entry per key whose file or live value changes.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The setting.
      type: str
    value:
      description: The value written.
      type: str
    previous_file:
      description: The value in the collection's file or block before, null if none.
      type: str
    previous_live:
      description: The value in force before, null if unknown.
      type: str
    applied_live:
      description: Whether the value was applied to the running kernel.
      type: bool
    reason:
      description: Why the value is what it is.
      type: str
  sample:
    - name: kernel.shmmni
      value: "8192"
      previous_file: null
      previous_live: "4096"
      applied_live: true
      reason: SysV segment ids the clusters use (docs/postgres-kernel-facts.md §1)
lines:
  description: The changes as human-readable lines, with the value before and the reason.
  returned: always
  type: list
  elements: str
  sample: ["kernel.shmmni = 8192 (was 4096 live, not in file; applied live): SysV segment ids the clusters use (docs/postgres-kernel-facts.md §1)"]
not_applied_live:
  description: Keys whose persisted value differs from the running kernel and that were not applied live.
  returned: always
  type: list
  elements: str
reboot_required:
  description:
    - A loader tunable in the file differs from the running kernel; it takes effect at the next boot (also reported
      on later runs until then). The module never reboots.
  returned: always
  type: bool
content:
  description: The file's new content.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import sysctl_file
from ansible_collections.pghost.hardening.plugins.module_utils.file_write import write_atomically
from ansible_collections.pghost.hardening.plugins.module_utils.freebsd_sysctl import parse_sysctl_e
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.kernel_keys import proc_sys_path

# Strict accounting is switched on only after every other value, the ratio
# in particular, is in force (docs/postgres-kernel-facts.md §4).
APPLY_LAST = ("vm.overcommit_memory",)


def read_text(path):
    """The file's text, decoded as UTF-8 (its comments carry '§'); '' when it is missing."""
    return HostFiles().read(path, "")


def read_live(module, names, style):
    """{name: value} currently in force; absent when unknown."""
    live = {}
    if style == "sysctl.d":
        for name in names:
            text = read_text(proc_sys_path(name))
            if text:
                live[name] = sysctl_file.normalize(text)
        return live
    sysctl = module.get_bin_path("sysctl")
    if sysctl and names:
        rc, out, dummy = module.run_command([sysctl, "-e"] + sorted(names))
        for key, value in parse_sysctl_e(out).items():
            live[key] = sysctl_file.normalize(value)
    return live


def apply_value(module, name, value, style):
    if style == "sysctl.d":
        try:
            with open(proc_sys_path(name), "w") as handle:
                handle.write(value + "\n")
        except (IOError, OSError) as exc:
            return str(exc)
        return None
    rc, out, err = module.run_command([module.get_bin_path("sysctl", required=True), "%s=%s" % (name, value)])
    return None if rc == 0 else (err or out).strip()


def describe(name, value, was, now, reason, applied, style):
    before = []
    if now is not None and now != value:
        before.append("was %s live" % now)
    before.append("was %s in file" % was if was is not None else "not in file")
    where = "applied live" if applied else ("at next boot" if style == "loader.conf" else "persisted only")
    return "%s = %s (%s; %s)%s" % (name, value, ", ".join(before), where, ": " + reason if reason else "")


def summary(results, not_live, path, file_changed):
    if not results:
        return "no change"
    live = sum(1 for r in results if r["applied_live"])
    return "%d setting(s) differ: %s%d applied live, %d not applied live" % (
        len(results), "%s written, " % path if file_changed else "", live, len(not_live))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            style=dict(type="str", default="sysctl.d", choices=list(sysctl_file.STYLES)),
            raise_only=dict(type="dict", default={}),
            values=dict(type="dict", default={}),
            reasons=dict(type="dict", default={}),
            apply_live=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    style, path = p["style"], p["path"]
    text = read_text(path)
    try:
        existing = sysctl_file.parse(text, style)
    except sysctl_file.BlockError as exc:
        module.fail_json(msg="%s: %s; nothing was changed" % (path, exc))
    names = set(existing) | set(p["raise_only"]) | set(p["values"])
    live = read_live(module, names, style)
    reasons = dict((k, str(v)) for k, v in p["reasons"].items())
    desired = sysctl_file.merge(existing, p["raise_only"], p["values"], live, reasons)
    new_text = sysctl_file.render(text, desired, style)

    may_apply = set() if style == "loader.conf" else set(p["apply_live"])
    pending = sysctl_file.changes(existing, desired, live)
    pending.sort(key=lambda change: change[0] in APPLY_LAST)

    results, lines, not_live = [], [], []
    for name, value, was, now, reason in pending:
        applied = False
        if now != value and name in may_apply:
            if not module.check_mode:
                error = apply_value(module, name, value, style)
                if error:
                    module.fail_json(msg="could not apply %s = %s live: %s; nothing was persisted for it"
                                     % (name, value, error), changes=results)
            applied = True
        elif now != value:
            not_live.append(name)
        results.append(dict(name=name, value=value, previous_file=was, previous_live=now,
                            applied_live=applied, reason=reason))
        lines.append(describe(name, value, was, now, reason, applied, style))

    file_changed = new_text != text
    if file_changed and not module.check_mode:
        # Through HostFiles as it was read: only the integration test maps it under a tree.
        write_atomically(module, HostFiles().path(path), new_text)
    # A tunable is pending until the running kernel has the value written,
    # i.e. until the next boot; a second run before it still says so.
    reboot_required = style == "loader.conf" and bool(not_live)
    if reboot_required:
        module.warn("%s: reboot required for %s to take effect; the collection never reboots by itself"
                    % (path, ", ".join(not_live)))
    for key in sysctl_file.set_after_block(text, style, set(desired)):
        module.warn("%s sets %s again after the pghost.hardening block; that line wins at boot" % (path, key))
    changed = file_changed or any(r["applied_live"] for r in results)
    module.exit_json(
        changed=changed,
        changes=results,
        lines=lines,
        msg=summary(results, not_live, path, file_changed),
        not_applied_live=not_live,
        reboot_required=reboot_required,
        content=new_text,
        diff=dict(before=text, after=new_text, before_header=path, after_header=path),
    )


if __name__ == "__main__":
    main()
