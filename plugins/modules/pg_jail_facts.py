#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only audit of a FreeBSD host's jails (thin shell over module_utils/jail_probe.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_jail_facts
short_description: Audit the FreeBSD jails of a host for PostgreSQL SysV IPC collisions
version_added: 0.1.0
description:
  - Reads, in one call per FreeBSD host, which jails exist and whether their
    PostgreSQL servers can trample each other's SysV IPC.
  - Jails are the running ones (one C(jls -n)) and the configured ones
    (O(jail_conf) and the C(*.conf) files of O(jail_conf_d); a jail with its
    own C(jail.conf.d/NAME.conf) is read from that file alone, as
    C(/etc/rc.d/jail) does).
  - For each jail - name, jid when running, root path, the effective
    C(sysvshm), C(sysvsem) and C(sysvmsg) (from C(jls -n) when running, else
    from the configuration, where wildcards, top-level settings and the
    deprecated C(allow.sysvipc) count and the default is C(disable)), whether
    it runs PostgreSQL (C(postgresql_enable=YES) in the jail's C(rc.conf)
    files, or a data directory from C(postgresql_data), C(postgresql_profiles)
    or the default C(/var/db/postgres/dataNN) under its root), and the
    server user's UID and GID from the jail's C(/etc/passwd) and C(/etc/group).
  - Reports as collisions the groups of PostgreSQL jails that share the
    host's IPC namespace and run the server as the same UID, and the
    FreeBSD release, which decides the isolation to use - C(sysvshm=new)
    from 11.0, distinct UIDs before.
  - Never changes anything.
author:
  - pghost.hardening developers (!UNKNOWN)
options:
  server_user:
    description:
      - The PostgreSQL server user in the jails and on the host.
      - Its group is taken to have the same name.
    type: str
    default: postgres
  jails:
    description:
      - Limit the report to these jails. An unknown name fails, naming the
        jails that exist.
      - Jails left out still count for RV(uid_plan_input) - their accounts
        keep their ids - but get no plan and are not reported.
    type: list
    elements: str
  jail_conf:
    description: The main jail configuration file.
    type: path
    default: /etc/jail.conf
  jail_conf_d:
    description: The directory of per-jail configuration files (C(*.conf)).
    type: path
    default: /etc/jail.conf.d
notes:
  - Run it with C(become) when the jails' C(/etc/passwd) or the jail
    configuration are not world-readable.
  - Runs two commands - C(jls -n) and C(freebsd-version -u) (C(uname -r)
    when C(freebsd-version) is missing).
  - The release is the userland's; a host whose running kernel is older than
    its userland is not detected.
  - C(/etc/jail.NAME.conf) files (read before C(jail.conf.d) by
    C(/etc/rc.d/jail)) and C(.include) statements are not followed.
requirements:
  - FreeBSD.
attributes:
  check_mode:
    details: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    details: Nothing changes, so there is never a diff.
    support: none
  facts:
    details: Sets C(pghost_jails) to the whole result.
    support: full
  platform:
    platforms: [freebsd]
extends_documentation_fragment:
  - pghost.hardening.attributes
  - pghost.hardening.attributes.facts
seealso:
  - module: pghost.hardening.pg_host_facts
  - plugin: pghost.hardening.jail_uid_plan
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Audit the jails
  pghost.hardening.pg_jail_facts:
  become: true
  register: jail_audit

- name: Fail on jails whose PostgreSQL servers can remove each other's shared memory
  ansible.builtin.assert:
    that: jail_audit.collisions | length == 0
    fail_msg: "{{ jail_audit.collisions | map(attribute='message') | list }}"

- name: Only two jails, whose server user is pgsql
  pghost.hardening.pg_jail_facts:
    jails: [pg1, pg3]
    server_user: pgsql
  become: true

- name: Plan distinct UIDs from the audit (FreeBSD before 11.0)
  ansible.builtin.set_fact:
    pg_jail_uid_plan: >-
      {{ ansible_facts.pghost_jails.uid_plan_input.jails
         | pghost.hardening.jail_uid_plan(ansible_facts.pghost_jails.uid_plan_input.host_users, [5000, 5999],
             server_user=ansible_facts.pghost_jails.uid_plan_input.server_user,
             host_groups=ansible_facts.pghost_jails.uid_plan_input.host_groups) }}
  when: ansible_facts.pghost_jails.isolation_default == 'distinct_uid'
"""

RETURN = r"""
freebsd_release:
  description: Output of C(freebsd-version -u) (or C(uname -r)).
  returned: always
  type: str
  sample: 13.2-RELEASE-p4
supports_sysvshm_new:
  description: Whether the release has the jail parameters C(sysvshm), C(sysvsem), C(sysvmsg) (11.0 and later); null when the release cannot be read.
  returned: always
  type: bool
  sample: true
isolation_default:
  description: C(new) (give jails their own IPC namespace) on 11.0 and later, else C(distinct_uid).
  returned: always
  type: str
  sample: new
host:
  description: The host's own server user.
  returned: always
  type: dict
  contains:
    server_user:
      description: O(server_user).
      type: str
      sample: postgres
    uid:
      description: Its UID in the host's C(/etc/passwd); null when missing.
      type: int
      sample: 770
    gid:
      description: The GID of the group of the same name in the host's C(/etc/group); null when missing.
      type: int
      sample: 770
    has_postgresql:
      description: Whether the host itself runs PostgreSQL (same tests as for a jail).
      type: bool
      sample: false
jails:
  description: The jails, in name order (only those of O(jails) when given).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Jail name.
      type: str
      sample: pg3
    jid:
      description: Jail id when running, else null.
      type: int
      sample: 3
    running:
      description: Whether C(jls -n) lists the jail.
      type: bool
      sample: true
    configured:
      description: Whether a configuration file defines the jail.
      type: bool
      sample: true
    config_file:
      description: The file the jail is started from, or null.
      type: str
      sample: /etc/jail.conf
    path:
      description: The jail's root directory (from C(jls) when running, else the configuration, variables resolved).
      type: str
      sample: /jails/pg3
    ipc:
      description: Effective C(sysvshm), C(sysvsem), C(sysvmsg) (C(new), C(inherit) or C(disable)).
      type: dict
      sample: {"sysvshm": "inherit", "sysvsem": "inherit", "sysvmsg": "inherit"}
    ipc_source:
      description: C(jls) for a running jail, C(config) for a stopped one.
      type: str
      sample: jls
    ipc_config:
      description: What the configuration gives (null when not configured); differs from RV(jails[].ipc) until the jail restarts.
      type: dict
      sample: {"sysvshm": "inherit", "sysvsem": "inherit", "sysvmsg": "inherit"}
    ipc_mode:
      description: C(inherit) when shared memory or semaphores are the host's, else C(new) when its own, else C(disable).
      type: str
      sample: inherit
    shares_host_ipc:
      description: RV(jails[].ipc_mode) is C(inherit).
      type: bool
      sample: true
    has_postgresql:
      description: Whether PostgreSQL is enabled or has a data directory in the jail.
      type: bool
      sample: true
    postgresql_enabled:
      description: C(postgresql_enable) is yes in the jail's C(rc.conf) files.
      type: bool
      sample: true
    postgresql_evidence:
      description: What showed PostgreSQL, one sentence each.
      type: list
      elements: str
      sample: ["postgresql_enable=YES in /etc/rc.conf"]
    data_directories:
      description: Data directories found under the jail's root (paths inside the jail).
      type: list
      elements: str
      sample: ["/var/db/postgres/data16"]
    server_user:
      description: O(server_user).
      type: str
      sample: postgres
    uid:
      description: The server user's UID in the jail; null when missing.
      type: int
      sample: 770
    gid:
      description: The GID of its group in the jail; null when missing.
      type: int
      sample: 770
    shares_uid_with_host:
      description: The jail runs PostgreSQL in the host's IPC namespace as the UID of the host's own server user.
      type: bool
      sample: true
collisions:
  description:
    - Groups of PostgreSQL jails that share the host's IPC namespace and run
      the server as the same UID (each also given as a warning).
  returned: always
  type: list
  elements: dict
  contains:
    jails:
      description: The jail names, sorted.
      type: list
      elements: str
      sample: [pg3, pg5]
    uid:
      description: The UID they share.
      type: int
      sample: 770
    message:
      description: One sentence naming the jails and the UID.
      type: str
uid_plan_input:
  description:
    - The input of the filter P(pghost.hardening.jail_uid_plan#filter)
      (and of C(jail_uids.plan)) - every jail with C(name), C(path), C(users),
      C(groups), C(has_postgresql) and C(ipc); the host's C(host_users) and
      C(host_groups); C(server_user) and C(server_group).
  returned: always
  type: dict
ansible_facts:
  description: C(pghost_jails), the whole result.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles, current_platform
from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import JailConfError
from ansible_collections.pghost.hardening.plugins.module_utils.jail_probe import AuditError, audit

ARGUMENT_SPEC = dict(
    server_user=dict(type="str", default="postgres"),
    jails=dict(type="list", elements="str"),
    jail_conf=dict(type="path", default="/etc/jail.conf"),
    jail_conf_d=dict(type="path", default="/etc/jail.conf.d"),
)


def _command(module, argv):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg="%s failed (rc %d): %s" % (" ".join(argv), rc, (err or out or "").strip()))
    return out


def run(module):
    """The module's result for validated params (no exit)."""
    platform = current_platform()
    if platform != "freebsd":
        module.fail_json(msg="pg_jail_facts audits FreeBSD jails; this host runs %s" % platform)
    jls = module.get_bin_path("jls", required=True)
    jls_out = _command(module, [jls, "-n"])
    version = module.get_bin_path("freebsd-version", opt_dirs=["/bin"])
    if version:
        release = _command(module, [version, "-u"])
    else:
        release = _command(module, [module.get_bin_path("uname", required=True), "-r"])
    params = module.params
    try:
        result = audit(HostFiles(), jls_out, release, server_user=params["server_user"],
                       only=params["jails"], jail_conf=params["jail_conf"], jail_conf_d=params["jail_conf_d"])
    except (JailConfError, AuditError) as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    return dict(changed=False, ansible_facts={"pghost_jails": result}, **result)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
