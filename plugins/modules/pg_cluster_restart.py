#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restart PostgreSQL clusters one at a time through their systemd units (thin shell over module_utils/cluster_restart.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_cluster_restart
short_description: Restart PostgreSQL clusters one at a time, stale IPC removed, until each accepts connections
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Restarts the clusters in O(clusters) one at a time, in the order given, in one module call. For each -
    C(systemctl stop UNIT) (the unit's own shutdown - fast with role C(pg_service)'s C(KillSignal=SIGINT) and
    Debian's C(pg_ctlcluster -m fast)), then the stale-IPC cleanup of M(pghost.hardening.pg_ipc_cleanup) (the
    same implementation, so it removes only what an unclean stop left of that data directory and refuses while a
    postmaster still runs there), then C(systemctl start UNIT), then C(postmaster.pid) is read every half second
    until its status line says C(ready) - or C(standby), a warm standby (C(hot_standby=off)) that never accepts
    connections, as C(pg_ctl) counts both - and its PID is the data directory's live postmaster, for at most
    O(timeout) seconds.
  - Stops at the first cluster that fails (the stop, the cleanup or the start fails, or the wait times out) and
    fails, naming that cluster, its unit, the step and the error, the clusters restarted before it, and that no
    other cluster was restarted after it. The clusters after it keep their running postmasters. Before the first
    stop, every data directory must exist, so a wrong path stops nothing.
  - Why a module - speed; the same steps as stock modules (M(ansible.builtin.systemd_service) twice,
    M(pghost.hardening.pg_ipc_cleanup), M(ansible.builtin.wait_for)) cost four module round trips per cluster, each
    of which starts Python on the host and unpacks Ansible's module code (4-25 s each on an emulated VM);
    this is one per host for all clusters. And safety - a crashed cluster's C(postmaster.pid) keeps saying
    C(ready) (the cleanup leaves it for PostgreSQL to replace), which M(ansible.builtin.wait_for) would take for a
    started server when a start fails without the unit noticing (Debian's unit ignores C(pg_ctl)'s exit status,
    C(ExecStart=-)); this module counts only a file whose postmaster is alive.
  - Role C(pg_service) calls it with C(pg_service_restart=if_needed) for the clusters whose restart is pending or
    which crashed.
options:
  clusters:
    description:
      - The clusters to restart, in order. Each needs C(unit) and C(data_directory); C(name) names it in the
        report (default the unit), C(restart) is why it restarts (C(crashed) reports it as RV(clusters[].outcome)
        C(recovered)), C(version) is passed to the cleanup (default - read from C(PG_VERSION)).
      - Other keys are ignored, so entries of RV(pghost.hardening.pg_service_units#module:clusters) and of
        C(pghost_clusters_found) (M(pghost.hardening.pg_host_facts)) can be passed as they are.
    type: list
    elements: dict
    required: true
  timeout:
    description:
      - Seconds each cluster has, after C(systemctl start) returned, to write C(ready) or C(standby) to
        C(postmaster.pid).
      - C(systemctl start) itself is bounded by the unit (C(TimeoutStartSec); Debian's C(pg_ctlcluster) waits
        for C(pg_ctl -w) too).
    type: int
    default: 300
notes:
  - Run it with C(become) (root) - C(systemctl start) and C(stop), the cleanup and the liveness test (the
    postmaster's C(/proc/PID/cwd)) need it.
  - PostgreSQL before 10 writes no status line to C(postmaster.pid), so a 9.x cluster never counts as started
    and the module times out for it.
requirements:
  - Linux with systemd.
attributes:
  check_mode:
    details: Stops, cleans and starts nothing; reports changed for a non-empty O(clusters).
    support: full
  diff_mode:
    details: Before - each cluster and why it restarts; after - what its restart reported (in check mode - that it would be restarted).
    support: full
  platform:
    platforms: [linux]
extends_documentation_fragment:
  - pghost.hardening.attributes
seealso:
  - module: pghost.hardening.pg_service_units
  - module: pghost.hardening.pg_ipc_cleanup
"""

EXAMPLES = r"""
- name: Judge the units
  pghost.hardening.pg_service_units:
    clusters: "{{ ansible_facts.pghost_clusters_found }}"
  register: units

- name: Restart the clusters that wait for it and recover the crashed ones, one at a time
  pghost.hardening.pg_cluster_restart:
    clusters: "{{ units.clusters | selectattr('restart', 'in', ['pending', 'crashed']) }}"
    timeout: 300
  become: true
  register: restart
  when: units.clusters | selectattr('restart', 'in', ['pending', 'crashed']) | length > 0

- name: Restart one cluster
  pghost.hardening.pg_cluster_restart:
    clusters:
      - name: 15/main
        unit: postgresql@15-main.service
        data_directory: /var/lib/postgresql/15/main
  become: true
"""

RETURN = r"""
clusters:
  description: One entry per cluster restarted, in order (in check mode none).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The cluster's name.
      type: str
    unit:
      description: Its systemd unit.
      type: str
    data_directory:
      description: Its data directory.
      type: str
    reason:
      description: The C(restart) given for it (C(pending), C(crashed)), or null.
      type: str
    outcome:
      description: C(recovered) when its reason was C(crashed), else C(done).
      type: str
    removed:
      description: The stale IPC objects removed before its start, as RV(pghost.hardening.pg_ipc_cleanup#module:removed).
      type: list
      elements: dict
    ipc_cleanup:
      description:
        - What the cleanup returned - C(state), C(msg), C(removed), C(unattributed), C(notes) and
          C(postmaster_pid), as M(pghost.hardening.pg_ipc_cleanup) returns them.
      type: dict
    seconds:
      description: Seconds from its stop to its start seen.
      type: float
  sample:
    - {name: 15/main, unit: postgresql@15-main.service, data_directory: /var/lib/postgresql/15/main,
       reason: crashed, outcome: recovered, seconds: 4.5,
       removed: [{kind: sysv_shm, id: 3, key: 2081270, size: 56, owner: postgres, role: interlock segment}],
       ipc_cleanup: {state: removed, msg: "removed 1 stale IPC object(s) of /var/lib/postgresql/15/main (dead postmaster pid 540)",
                     removed: [{kind: sysv_shm, id: 3, key: 2081270, size: 56, owner: postgres, role: interlock segment}],
                     unattributed: [], notes: [], postmaster_pid: 540}}
restarted:
  description:
    - Cluster name to what its restart reported - C(done) or C(recovered), then, when the cleanup removed
      stale IPC objects, their number as in the sample. Role C(pg_service) reports it per cluster.
  returned: always
  type: dict
  sample: {15/main: "recovered (stale IPC removed: 1 objects)", 15/second: done}
failure:
  description:
    - When the module failed at a cluster - its C(name) and C(unit), the C(step) (C(stop), C(ipc cleanup),
      C(start) or C(wait)), the C(error), and C(ipc_cleanup) once the cleanup ran (else null).
  returned: failure
  type: dict
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: "restarted 15/main, 15/second one at a time"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import cluster_restart
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles, current_platform


def main():
    module = AnsibleModule(
        argument_spec=dict(
            clusters=dict(type="list", elements="dict", required=True),
            timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    timeout = module.params["timeout"]
    result = dict(changed=False, clusters=[], restarted={})
    if timeout < 0:
        module.fail_json(msg="timeout: %d is negative; give the seconds a cluster has to start" % timeout, **result)
    try:
        targets = cluster_restart.restart_targets(module.params["clusters"])
    except cluster_restart.RestartInputError as exc:
        module.fail_json(msg="%s; nothing was restarted" % exc, **result)
    names = ", ".join(t.name for t in targets)
    if not targets:
        module.exit_json(msg="no cluster to restart", **result)
    if module.check_mode:
        module.exit_json(changed=True, clusters=[], restarted={}, diff=cluster_restart.diff(targets, [], True),
                         msg="would restart %s one at a time" % names)
    platform = current_platform()
    if platform != "linux":
        module.fail_json(msg="pg_cluster_restart restarts systemd units on Linux only (found %s); "
                             "nothing was restarted" % platform, **result)
    host = cluster_restart.SystemdHost(module.run_command, module.get_bin_path("systemctl", required=True),
                                       HostFiles(), platform)
    missing = cluster_restart.missing_directories(targets, host.is_directory)
    if missing:
        module.fail_json(msg=missing, **result)

    run = cluster_restart.restart_clusters(targets, host, timeout)
    for warning in run.warnings:
        module.warn(warning)
    result.update(changed=bool(run.results) or run.failure is not None, clusters=run.results,
                  restarted=cluster_restart.restarted_report(run.results))
    if run.failure:
        failure = run.failure
        module.fail_json(msg=cluster_restart.failure_message(failure, run.results, timeout),
                         failure=dict(name=failure.target.name, unit=failure.target.unit, step=failure.step,
                                      error=failure.error, ipc_cleanup=failure.ipc_cleanup), **result)
    module.exit_json(msg="restarted %s one at a time" % names, diff=cluster_restart.diff(targets, run.results, False),
                     **result)


if __name__ == "__main__":
    main()
