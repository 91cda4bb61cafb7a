#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write one file systemd reads, then reload, enable, start or restart a unit as needed
(thin shell over module_utils/systemd_file.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_systemd_file
short_description: Write one systemd file, then enable, start or restart a unit, in one call
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Writes one file that systemd or one of its daemons reads (a unit, a drop-in, a
    C(logind.conf.d) file) with the given content, owner, group and mode, then, as asked,
    runs C(systemctl daemon-reload) if the content changed, enables and starts a unit if it
    is not enabled or not running, and restarts a unit if the content changed.
  - "Why a module: speed. M(ansible.builtin.template) (a stat and a copy) and
    M(ansible.builtin.systemd_service) are three module round trips on every run, changed or
    not; M(ansible.builtin.file), M(ansible.builtin.copy) and a restart handler are four. This
    is one. On a slow target (a VM under emulation) each round trip costs seconds."
  - "And safety: the unit's state is read after the file is written, so a new or changed
    C([Install]) section is what C(enable) is judged against; the restart runs in the same
    call as the write, with no handler to lose or flush; a masked unit and a path that is a
    symbolic link are refused instead of silently replaced; a failing C(systemctl) command
    fails the task with the command, its exit status and its error output, and says what was
    already done."
  - Parent directories that do not exist are created, mode C(0755), owned by the user the
    module runs as (root with C(become)).
options:
  path:
    description:
      - The file to write. It is replaced atomically (a temporary file in the same directory,
        renamed over it), so systemd never reads half of it.
      - A symbolic link at O(path) is refused (for a unit, a link to C(/dev/null) is a mask).
    type: path
    required: true
  content:
    description: The file's whole content.
    type: str
    required: true
  owner:
    description: Owner of the file, a user name or a numeric id.
    type: str
    default: root
  group:
    description: Group of the file, a group name or a numeric id.
    type: str
    default: root
  mode:
    description:
      - Permission bits of the file, as a quoted octal string such as C("0644").
      - An unquoted C(0644) is refused, since YAML turns it into the number 420.
    type: raw
    default: "0644"
  daemon_reload:
    description: Run C(systemctl daemon-reload) when the content changed (for a unit or a unit's drop-in).
    type: bool
    default: false
  unit:
    description: The unit O(enable) and O(start) act on, for example C(pghost-thp.service).
    type: str
  enable:
    description:
      - Enable O(unit) unless C(systemctl is-enabled) already says C(enabled), C(static),
        C(indirect), C(generated), C(transient) or C(alias).
      - C(false) leaves the unit's enablement as it is; it never disables.
    type: bool
    default: false
  start:
    description:
      - Start O(unit) unless C(systemctl is-active) says C(active), C(activating),
        C(reloading) or C(refreshing).
      - C(false) leaves the unit running or stopped as it is; it never stops. A running unit is
        not restarted when the file changed; use O(restart_on_change) for that.
    type: bool
    default: false
  restart_on_change:
    description:
      - A unit to restart (C(systemctl restart)) when the content changed, for example
        C(systemd-logind.service) after a C(logind.conf.d) drop-in. It need not be O(unit).
    type: str
notes:
  - Order of the steps - write, C(daemon-reload), C(enable), C(start), C(restart); the
    first C(systemctl) command that fails stops the rest.
  - A file written before a failing C(daemon-reload) or C(restart) stays written, and a
    later run sees no change to act on; the error message says so and names the command to
    run by hand.
  - Only the file's content decides C(daemon-reload) and C(restart); a change of owner,
    group or mode alone changes the file's attributes and nothing else.
requirements:
  - systemd (C(systemctl)) when O(unit), O(daemon_reload) or O(restart_on_change) is used.
attributes:
  check_mode:
    details:
      - Reports what would be written and which C(systemctl) commands would run; runs only
        C(systemctl is-enabled) and C(is-active), which change nothing.
      - A unit whose file is not installed yet (or is replaced by this call) cannot be
        judged by systemd before the write; it counts as "would be enabled" and "would be
        started" instead of failing.
    support: full
  diff_mode:
    details: The file's content before and after, and its owner, group and mode when they change.
    support: full
  platform:
    platforms: [linux]
extends_documentation_fragment:
  - pghost.hardening.attributes
seealso:
  - module: ansible.builtin.systemd_service
  - module: ansible.builtin.template
"""

EXAMPLES = r"""
- name: Install, enable and start a oneshot unit rendered from a role template
  pghost.hardening.pg_systemd_file:
    path: /etc/systemd/system/pghost-thp.service
    content: "{{ lookup('ansible.builtin.template', 'pghost-thp.service.j2') }}"
    daemon_reload: true
    unit: pghost-thp.service
    enable: true
    start: true
  become: true

- name: A logind drop-in; logind re-reads its configuration on a restart
  pghost.hardening.pg_systemd_file:
    path: /etc/systemd/logind.conf.d/60-pghost-removeipc.conf
    content: |
      [Login]
      RemoveIPC=no
    restart_on_change: systemd-logind.service
  become: true
"""

RETURN = r"""
written:
  description: The content differed and the file was written (in check mode - would be).
  returned: always
  type: bool
directories_created:
  description: Parent directories created (in check mode - that would be), outermost first.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/logind.conf.d]
attributes_changed:
  description: Which of owner, group and mode of an existing file were changed (in check mode - would be).
  returned: always
  type: list
  elements: str
  sample: [mode]
daemon_reloaded:
  description: C(systemctl daemon-reload) ran (in check mode - would run).
  returned: always
  type: bool
enabled:
  description: C(systemctl enable) ran for O(unit) (in check mode - would run); false when it was enabled already.
  returned: always
  type: bool
started:
  description: C(systemctl start) ran for O(unit) (in check mode - would run); false when it was running already.
  returned: always
  type: bool
restarted:
  description: C(systemctl restart) ran for O(restart_on_change) (in check mode - would run).
  returned: always
  type: bool
unit_state:
  description:
    - What systemd answered for O(unit) before any C(systemctl) command of this call ran (after
      the write; in check mode, for the file as it is now). Null where it was not asked.
  returned: always
  type: dict
  contains:
    is_enabled:
      description: C(systemctl is-enabled) (C(not-found) for a unit without a file); asked when O(enable) or O(start).
      type: str
    is_active:
      description: C(systemctl is-active); asked when O(start).
      type: str
  sample: {is_enabled: disabled, is_active: inactive}
commands:
  description: The C(systemctl) commands run (in check mode - that would run), in order.
  returned: always
  type: list
  elements: str
  sample: ["systemctl daemon-reload", "systemctl enable pghost-thp.service"]
cmd:
  description: The C(systemctl) command that failed.
  returned: when a systemctl command failed
  type: list
  elements: str
  sample: [/usr/bin/systemctl, restart, systemd-logind.service]
rc:
  description: Its exit status.
  returned: when a systemctl command failed
  type: int
stdout:
  description: What it printed.
  returned: when a systemctl command failed
  type: str
stderr:
  description: Its error output.
  returned: when a systemctl command failed
  type: str
msg:
  description: One line saying what was done (in check mode - what would be).
  returned: always
  type: str
  sample: "wrote /etc/systemd/system/pghost-thp.service; ran systemctl daemon-reload; ran systemctl enable pghost-thp.service"
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import systemd_file
from ansible_collections.pghost.hardening.plugins.module_utils.file_write import write_atomically


def resolve_id(module, kind, value):
    """A user or group name (or numeric id) -> its id; fails before anything is written."""
    if value.isdigit():
        return int(value)
    try:
        return pwd.getpwnam(value).pw_uid if kind == "owner" else grp.getgrnam(value).gr_gid
    except KeyError:
        module.fail_json(msg="%s: no %s named %r on this host; nothing was written"
                         % (kind, "user" if kind == "owner" else "group", value))


def read_current(module, path):
    """(content bytes or None when missing, (uid, gid, mode) or None)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        module.fail_json(msg="cannot read %s: %s; nothing was written" % (path, exc))
    if stat.S_ISLNK(st.st_mode):
        module.fail_json(msg="%s is a symbolic link (to %s); it is not replaced: for a unit, a link to /dev/null "
                         "is a mask. Remove the link first if this file should be written; nothing was written"
                         % (path, os.readlink(path)))
    if not stat.S_ISREG(st.st_mode):
        module.fail_json(msg="%s exists and is not a regular file; nothing was written" % path)
    try:
        with open(path, "rb") as handle:
            return handle.read(), (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    except OSError as exc:
        module.fail_json(msg="cannot read %s: %s; nothing was written" % (path, exc))


def make_directories(directories):
    for directory in directories:
        os.mkdir(directory)
        # mkdir's mode is filtered by the umask; systemd's directories are 0755.
        os.chmod(directory, 0o755)


def set_attributes(path, uid, gid, mode):
    """Owner, group and mode as wanted (after the write: a new file belongs to the module's user)."""
    st = os.lstat(path)
    if (st.st_uid, st.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def content_diff(path, current, content):
    before = "" if current is None else current.decode("utf-8", errors="replace")
    return dict(before=before, after=content, before_header=path, after_header=path)


def new_module():
    return AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            content=dict(type="str", required=True),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            mode=dict(type="raw", default="0644"),
            daemon_reload=dict(type="bool", default=False),
            unit=dict(type="str"),
            enable=dict(type="bool", default=False),
            start=dict(type="bool", default=False),
            restart_on_change=dict(type="str"),
        ),
        required_if=[("enable", True, ("unit",)), ("start", True, ("unit",))],
        supports_check_mode=True,
    )


def checked_file_params(module):
    """(path, mode, uid, gid), or fail naming the bad option before anything is read or written."""
    p = module.params
    if not os.path.isabs(p["path"]):
        module.fail_json(msg="path: %r is not absolute" % p["path"])
    try:
        mode = systemd_file.parse_mode(p["mode"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    return p["path"], mode, resolve_id(module, "owner", p["owner"]), resolve_id(module, "group", p["group"])


def main():
    module = new_module()
    p = module.params
    path, mode, uid, gid = checked_file_params(module)
    content = p["content"]

    current, attributes = read_current(module, path)
    written = current != content.encode("utf-8")
    directories = systemd_file.missing_directories(path, os.path.isdir)
    attribute_changes = systemd_file.attribute_changes(attributes, (uid, gid, mode))
    result = dict(
        changed=False, written=written, directories_created=directories,
        attributes_changed=[name for name, dummy, dummy in attribute_changes],
        daemon_reloaded=False, enabled=False, started=False, restarted=False,
        unit_state={"is_enabled": None, "is_active": None}, commands=[],
    )
    diff = [content_diff(path, current, content)]
    extra = systemd_file.attribute_diff(path, attribute_changes)
    if extra:
        diff.append(extra)
    result["diff"] = diff

    if not module.check_mode and (written or attribute_changes):
        try:
            make_directories(directories)
            if written:
                write_atomically(module, path, content, mode)
            set_attributes(path, uid, gid, mode)
        except OSError as exc:
            module.fail_json(msg="could not write %s: %s; no systemctl command was run" % (path, exc), **result)

    def fail(message, done=(), planned=()):
        # What already happened stays reported, so the caller knows what to finish by hand.
        result.update(systemd_file.reported(done))
        result["commands"] = [systemd_file.describe(action) for action in done]
        result["changed"] = (written or bool(attribute_changes) or bool(done)) and not module.check_mode
        lost = systemd_file.lost_on_rerun(planned, done)
        if written and not module.check_mode and lost:
            message += ("; %s was written, so a later run sees no change and will not repeat %s: run it by hand"
                        % (path, " and ".join("`%s`" % systemd_file.describe(action) for action in lost)))
        module.fail_json(msg=message, **result)

    unit, enable, start = p["unit"], p["enable"], p["start"]
    needs_systemctl = (unit and (enable or start)) or (written and (p["daemon_reload"] or p["restart_on_change"]))
    actions = []
    if needs_systemctl:
        systemctl = systemd_file.Systemctl(module)
        try:
            result["unit_state"] = systemd_file.read_unit(systemctl, unit, enable, start)
            actions = systemd_file.plan(written, module.check_mode, p["daemon_reload"], unit, enable, start,
                                        p["restart_on_change"], **result["unit_state"])
            if not module.check_mode:
                actions = systemd_file.execute(systemctl, actions)
        except systemd_file.PlanError as exc:
            fail("%s; no systemctl command was run" % exc)
        except systemd_file.SystemctlError as exc:
            result.update(cmd=exc.argv, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
            fail(str(exc), exc.done, actions)

    result.update(systemd_file.reported(actions))
    result["commands"] = [systemd_file.describe(action) for action in actions]
    result["changed"] = written or bool(attribute_changes) or bool(actions)
    result["msg"] = systemd_file.summary(path, written, result["attributes_changed"], actions, module.check_mode)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
