#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd drop-ins for PostgreSQL units: read the units and /proc, plan in module_utils/service_plan.py, write."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_service_units
short_description: Write the OOM, shutdown and limits drop-ins of PostgreSQL's systemd units
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - For each cluster's systemd unit, writes up to three drop-ins under
    C(/etc/systemd/system/UNIT.d/) - C(60-pghost-oom.conf), C(60-pghost-shutdown.conf)
    and C(60-pghost-limits.conf) - runs one C(systemctl daemon-reload) when
    any of them changed, and says per cluster whether the running postmaster
    already has what they give (otherwise RV(clusters[].restart) is C(pending)
    with the reasons).
  - OOM - C(OOMScoreAdjust) for the postmaster, and
    C(PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj) with C(PG_OOM_ADJUST_VALUE)
    so every child process resets its own score after fork (PostgreSQL 9.5+);
    without them every backend inherits the postmaster's protection. And
    C(OOMPolicy=continue) (systemd 243+), so that a backend killed by the OOM
    killer ends in PostgreSQL's own crash restart instead of systemd stopping
    the whole unit (its default C(stop)); it needs a daemon-reload, not a restart.
  - Units that start through Debian's C(pg_ctlcluster) need two more things.
    It replaces its whole environment with the cluster's
    C(/etc/postgresql/VERSION/NAME/environment) file, so C(Environment=) lines
    never reach the server; the C(PG_OOM_ADJUST_*) variables go into a marked
    block at the end of that file instead. And it writes C(-900) to its own
    score before starting the server, replacing C(OOMScoreAdjust); an
    C(ExecStartPost) puts the configured score back on the postmaster.
  - Shutdown - C(KillMode=mixed), C(KillSignal=SIGINT) (fast shutdown, so no crash
    recovery at the next start, unlike SIGQUIT or SIGKILL) and a
    C(TimeoutStopSec) never shorter than the unit's own.
  - Limits - C(LimitNOFILE), C(LimitNPROC), C(LimitMEMLOCK) as C(soft:hard)
    pairs, each at least the wanted value and never below what the unit
    gives without these drop-ins (its files, else systemd's C(DefaultLimit*)).
  - Why a module and not M(ansible.builtin.template) per file - it reads all
    units with one C(systemctl show), keeps the never-lower rule against the
    unit's other files, reloads systemd once, and compares with the live
    postmaster in the same call.
  - Never restarts anything. Restart-pending compares what systemd's merged
    unit gives a new process (C(systemctl show) after the daemon-reload, so a
    later drop-in that overrides ours counts) with the live process
    (C(/proc/PID/environ), C(/proc/PID/limits), C(/proc/PID/oom_score_adj)),
    so it stays pending on later runs until the server is restarted, and is
    not pending once it has been. A limit the host cannot grant (systemd
    lowers it to its own hard limit only when PID 1 lacks C(CAP_SYS_RESOURCE),
    as in containers) is reported in RV(clusters[].clamped), not as pending;
    on a host where PID 1 has the capability nothing is clamped.
options:
  clusters:
    description:
      - PostgreSQL clusters, as in the C(pghost_clusters_found) fact of M(pghost.hardening.pg_host_facts).
      - Used keys C(name), C(unit), C(data_directory), C(version), C(owner), C(pid), C(running), and for
        O(limit_memlock=auto) the settings that size huge pages. Clusters without C(unit) are skipped with a warning.
    required: true
  hugepage_size_kb:
    description: The kernel's default huge page size (C(pghost_host.hugepage_size_kb)), for O(limit_memlock=auto).
    type: int
    default: 0
  oom:
    description: Manage C(60-pghost-oom.conf). When false the file is left as it is.
    type: bool
    default: true
  oom_score_adjust:
    description: C(OOMScoreAdjust) of the postmaster; -1000 exempts it from the OOM killer.
    type: int
    default: -1000
  backend_oom_score_adjust:
    description: C(PG_OOM_ADJUST_VALUE), the score each backend sets for itself after fork.
    type: int
    default: 0
  oom_policy:
    description:
      - C(OOMPolicy) of the unit, written with O(oom). C(continue) leaves a backend's OOM kill to the postmaster,
        which resets the other backends and recovers; C(stop) (systemd's default) stops the whole unit,
        C(kill) kills it. Needs systemd 243 or later; older versions ignore the key, which is warned about.
    type: str
    choices: [continue, stop, kill]
    default: continue
  shutdown:
    description: Manage C(60-pghost-shutdown.conf). When false the file is left as it is.
    type: bool
    default: true
  timeout_stop_sec:
    description: Seconds systemd waits for the fast shutdown (the final checkpoint) before SIGKILL.
    type: int
    default: 3600
  limits:
    description: Manage C(60-pghost-limits.conf). When false the file is left as it is.
    type: bool
    default: true
  limit_nofile:
    description: Least C(LimitNOFILE) (soft and hard).
    type: int
    default: 65536
  limit_nproc:
    description: Least C(LimitNPROC) (soft and hard).
    type: int
    default: 65536
  limit_memlock:
    description:
      - Least C(LimitMEMLOCK) - bytes, C(infinity), or C(auto) for the memory the cluster maps in huge pages
        (nothing is written for a cluster that uses none).
    type: str
    default: auto
  logind_remove_ipc:
    description:
      - logind's effective C(RemoveIPC) (C(pghost_host.logind_remove_ipc)); only judged and reported in
        RV(logind), never written by this module.
    type: str
  unit_dir:
    description: Where the drop-in directories are written.
    type: path
    default: /etc/systemd/system
attributes:
  check_mode:
    details: Reports what would be written, with a diff, and which restarts that would leave pending.
    support: full
  diff_mode:
    details: Shows each drop-in before and after.
    support: full
  platform:
    platforms: [linux]
extends_documentation_fragment:
  - pghost.hardening.attributes
  - pghost.hardening.clusters
seealso:
  - module: pghost.hardening.pg_host_facts
  - module: pghost.hardening.pg_cluster_restart
  - module: pghost.hardening.pg_ipc_cleanup
"""

EXAMPLES = r"""
- name: Read the clusters
  pghost.hardening.pg_host_facts:

- name: Drop-ins for every cluster's unit
  pghost.hardening.pg_service_units:
    clusters: "{{ ansible_facts.pghost_clusters_found }}"
    hugepage_size_kb: "{{ ansible_facts.pghost_host.hugepage_size_kb }}"
  register: units

- name: Say which clusters wait for a restart
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.reasons }}"
  loop: "{{ units.clusters | selectattr('restart', 'eq', 'pending') }}"
"""

RETURN = r"""
clusters:
  description: One entry per cluster, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The cluster's name.
      type: str
    unit:
      description: Its systemd unit; null when it has none (skipped).
      type: str
    data_directory:
      description: Its data directory.
      type: str
    files:
      description: Path of each file managed for the cluster -> C(changed) or C(unchanged).
      type: dict
    changed:
      description: C(Key=value) settings written or changed by this run.
      type: list
      elements: str
    restart:
      description:
        - C(pending) - the running postmaster lacks what the drop-ins give (see RV(clusters[].reasons));
          C(not needed); C(not running) - nothing runs, the next start gets it;
          C(crashed) - no postmaster runs and C(postmaster.pid) is left, or the unit failed because its main
          process was killed (Debian's C(ExecStop) deletes the stale pid file); C(no unit) - skipped.
      type: str
    reasons:
      description: Why the restart is pending, or why the cluster crashed.
      type: list
      elements: str
    stale_ipc:
      description:
        - Only for a C(crashed) cluster - the IPC it left behind, read without removing anything, as
          M(pghost.hardening.pg_ipc_cleanup) in check mode finds it.
        - C(state) is that module's RV(pghost.hardening.pg_ipc_cleanup#module:state) (C(removed) - there is
          something to remove), or C(unread) when the read failed; C(objects) are what the cleanup would remove
          (kind, id, key, path, size, owner, role), C(unattributed) what it would leave alone, C(msg) its message.
      type: dict
      returned: when restart is crashed
    limits:
      description: Limit* written (soft:hard).
      type: dict
    clamped:
      description: Limits the host cannot grant in full, C(name -> [asked, granted]) (systemd lowers them).
      type: dict
    unit_properties:
      description:
        - The managed properties as systemd's merged unit gives them (C(systemctl show), read after the
          daemon-reload) - C(OOMScoreAdjust), C(OOMPolicy), C(KillMode), C(KillSignal), C(TimeoutStopUSec),
          C(LimitX) (hard) and C(LimitXSoft). Empty in check mode while a drop-in would change.
      type: dict
    live:
      description:
        - What the running postmaster has, read from C(/proc) - C(pid), C(oom_score_adj), C(environ) (the
          C(PG_OOM_ADJUST_*) variables), C(limits) (soft:hard) and C(backends) (pid -> oom_score_adj of its
          children). Empty when it does not run.
      type: dict
daemon_reload:
  description: Whether C(systemctl daemon-reload) ran (or would run in check mode).
  returned: always
  type: bool
systemd_version:
  description: systemd's major version (C(systemctl show -p Version)); null without units or when unreadable.
  returned: always
  type: int
server_users:
  description: The clusters' OS users, C(name -> {uid, system}); system users are those logind spares.
  returned: always
  type: dict
logind:
  description:
    - C(remove_ipc) as given, C(needs_remove_ipc_no) (true when a server user is not a system user and
      RemoveIPC is not C(no)) and C(verdict), a sentence saying why.
  returned: always
  type: dict
msg:
  description: One line per cluster.
  returned: always
  type: str
"""


import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import host_limits, ipc_cleanup_run, logind, service_plan
from ansible_collections.pghost.hardening.plugins.module_utils import service_units as su
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import cluster_argument_spec
from ansible_collections.pghost.hardening.plugins.module_utils.file_write import write_atomically
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles, current_platform
from ansible_collections.pghost.hardening.plugins.module_utils.pam_limits import CAP_SYS_RESOURCE, has_capability
from ansible_collections.pghost.hardening.plugins.module_utils.postmaster import pid_file_liveness
from ansible_collections.pghost.hardening.plugins.module_utils.systemd_ini import parse_show

SHOW_UNIT = ("Id", "LoadState", "ActiveState", "Result", "ExecMainCode", "ExecMainStatus", "FragmentPath",
             "DropInPaths") + service_plan.SHOW_VERIFY
SHOW_MANAGER = ("Version",) + host_limits.MANAGER_PROPERTIES


def systemctl_show(module, systemctl, properties, units=()):
    rc, out, err = module.run_command([systemctl, "show", "-p", ",".join(properties)] + list(units))
    if rc != 0:
        module.fail_json(msg="systemctl show %s failed: %s" % (" ".join(units), (err or out).strip()))
    return parse_show(out)


def show_units(module, systemctl, units):
    """{unit: properties} from one `systemctl show` for all units."""
    return dict((b.get("Id"), b) for b in systemctl_show(module, systemctl, SHOW_UNIT, units)) if units else {}


def children_by_ppid(files):
    """{ppid: [pid, ...]} of every process, from one pass over /proc/*/stat
    (shared by all clusters of the host)."""
    children = {}
    for entry in files.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = files.read("/proc/%s/stat" % entry, "")
        # ppid is the 2nd field after the parenthesised command name
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(entry)
    return children


def live_state(files, pid, children):
    """The postmaster's environment, limits, score and its children's scores from /proc;
    children is children_by_ppid(files)."""
    if not pid or not files.pid_alive(pid):
        return {}
    environ = su.parse_environ(files.read_bytes("/proc/%d/environ" % pid, b""))
    limits = host_limits.parse_proc_limits(files.read("/proc/%d/limits" % pid, ""))
    backends = {}
    for entry in children.get(pid, ()):
        score = (files.read("/proc/%s/oom_score_adj" % entry, "") or "").strip()
        if score:
            backends[entry] = int(score)
    score = (files.read("/proc/%d/oom_score_adj" % pid, "") or "").strip()
    return {
        "pid": pid,
        "oom_score_adj": int(score) if score else None,
        "environ": dict((k, environ[k]) for k in su.OOM_ENV if k in environ),
        "limits": dict((k, su.render_limit(v)) for k, v in limits.items()),
        "limits_raw": limits,
        "backends": backends,
    }


def server_users(files, clusters):
    """{owner: {"uid", "system"}} for the clusters' OS users."""
    limit = logind.system_uid_max(files.read("/etc/login.defs", ""))
    owners = {}
    for cluster in clusters:
        name = cluster.get("owner")
        if not name or name in owners:
            continue
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        owners[name] = {"uid": uid, "system": uid <= limit}
    return owners


def units_of(module):
    """The clusters' units, sorted; a warning for each cluster without one."""
    for cluster in module.params["clusters"]:
        if not cluster.get("unit"):
            module.warn("%s: no systemd unit is known for this cluster; give `unit` in pghost_clusters to manage it"
                        % (cluster.get("name") or cluster.get("data_directory")))
    return sorted(set(c["unit"] for c in module.params["clusters"] if c.get("unit")))


def read_pid1_caps(files):
    """(whether PID 1 has CAP_SYS_RESOURCE, the hard limits it holds units to): only without the
    capability does systemd lower a unit's limits to its own (service_units.pid1_caps)."""
    can_raise = has_capability(files.read("/proc/1/status", ""), CAP_SYS_RESOURCE, "CapEff")
    return can_raise, su.pid1_caps(host_limits.parse_proc_limits(files.read("/proc/1/limits", "")), can_raise)


def plan_cluster(module, files, cluster, index, info, manager, result):
    """Read the unit's files, plan its drop-ins, write what differs (not in check mode); return the UnitPlan and diffs."""
    p = module.params
    if info.get("LoadState") not in ("loaded", None):
        module.fail_json(msg="%s: unit %s is %s; check `unit` of this cluster; nothing was written"
                         % (result["name"], cluster["unit"], info.get("LoadState")))
    texts = [files.read(path, "") for path in service_plan.own_files(info, p["unit_dir"], cluster["unit"])]
    current = dict((path, files.read(path, "")) for path in service_plan.managed_paths(p, cluster))
    try:
        plan = service_plan.plan_unit(p, cluster, index, texts, current, manager)
    except su.UnitValueError as exc:
        module.fail_json(msg=str(exc))
    for warning in plan.warnings:
        module.warn(warning)
    changes = service_plan.file_changes(plan.desired, current, p["backend_oom_score_adjust"])
    result.update(files=changes.files, changed=changes.changed,
                  limits=dict((k, su.render_limit(v)) for k, v in plan.limits.items()))
    if not module.check_mode:
        for path, text in changes.writes:
            write_atomically(module, files.path(path), text)
    return plan, changes.diffs


def judge(module, files, cluster, result, info, judged, children):
    """Fill result's restart verdict from the live postmaster (or the pid file and unit state)."""
    live = live_state(files, cluster.get("pid"), children) if cluster.get("running") else {}
    data = cluster.get("data_directory")
    pid_file = pid_file_liveness(files, current_platform(), data) if data else None
    crash = None if live else service_plan.crashed_reason(pid_file, cluster.get("unit"), info)
    result["restart"], result["reasons"] = service_plan.restart_verdict(module.params, live, judged, crash)
    if result["restart"] == "crashed" and data:
        # Read only: the objects the restart path's cleanup would remove (the audit's evidence).
        result["stale_ipc"] = ipc_cleanup_run.survey(data, cluster.get("version"), files=files)
    if live:
        live.pop("limits_raw")
        result["live"] = live


def main():
    module = AnsibleModule(
        argument_spec=dict(
            clusters=cluster_argument_spec(required=True),
            hugepage_size_kb=dict(type="int", default=0),
            logind_remove_ipc=dict(type="str"),
            oom=dict(type="bool", default=True),
            oom_score_adjust=dict(type="int", default=-1000),
            backend_oom_score_adjust=dict(type="int", default=0),
            oom_policy=dict(type="str", default="continue", choices=list(su.OOM_POLICIES)),
            shutdown=dict(type="bool", default=True),
            timeout_stop_sec=dict(type="int", default=3600),
            limits=dict(type="bool", default=True),
            limit_nofile=dict(type="int", default=65536),
            limit_nproc=dict(type="int", default=65536),
            limit_memlock=dict(type="str", default="auto"),
            unit_dir=dict(type="path", default="/etc/systemd/system"),
        ),
        supports_check_mode=True,
    )
    check_input(module)
    p = module.params
    files = HostFiles()
    systemctl = module.get_bin_path("systemctl", required=True)
    units = units_of(module)
    shown = show_units(module, systemctl, units)
    manager = systemctl_show(module, systemctl, SHOW_MANAGER)[0] if units else {}
    systemd_version = su.systemd_version(manager.get("Version"))
    can_raise, caps = read_pid1_caps(files)

    results = [service_plan.new_result(c) for c in p["clusters"]]
    diffs, plans, infos = [], {}, {}
    for index, (cluster, result) in enumerate(zip(p["clusters"], results)):
        if not cluster.get("unit"):
            result["restart"] = "no unit"
            continue
        # The unit's state before any daemon-reload is what says whether it crashed.
        infos[index] = shown.get(cluster["unit"], {})
        plans[index], unit_diffs = plan_cluster(
            module, files, cluster, index, infos[index], host_limits.manager_limits(manager), result)
        result["clamped"] = su.clamped(plans[index].limits, caps)
        diffs.extend(unit_diffs)

    units_changed = any(path.endswith(".conf") for r in results for path, state in r["files"].items()
                        if state == "changed")
    if units_changed and not module.check_mode:
        rc, out, err = module.run_command([systemctl, "daemon-reload"])
        if rc != 0:
            module.fail_json(msg="systemctl daemon-reload failed: %s" % (err or out).strip(), clusters=results)
        shown = show_units(module, systemctl, units)
    # In check mode with changes pending, systemd still has the old unit:
    # judge against the drop-ins' own values instead.
    trust_show = not (units_changed and module.check_mode)

    children = None  # read from /proc once, when the first running cluster needs it
    for index, plan in sorted(plans.items()):
        cluster, result = p["clusters"][index], results[index]
        effective = {}
        if trust_show:
            result["unit_properties"], effective, warnings = service_plan.verify(
                p, cluster["unit"], plan.limits, shown.get(cluster["unit"], {}), systemd_version)
            for warning in warnings:
                module.warn(warning)
        if cluster.get("running") and children is None:
            children = children_by_ppid(files)
        source = ("unit %s" % cluster["unit"]) if effective else su.LIMITS_DROPIN
        judge(module, files, cluster, result, infos[index],
              (effective or plan.limits, source, plan.oom_source, caps, can_raise), children)

    owners = server_users(files, p["clusters"])
    needs_no, verdict = logind.remove_ipc_verdict(owners, p["logind_remove_ipc"])
    module.exit_json(changed=bool(diffs), clusters=results, daemon_reload=units_changed,
                     systemd_version=systemd_version, server_users=owners,
                     logind=dict(remove_ipc=p["logind_remove_ipc"], needs_remove_ipc_no=needs_no, verdict=verdict),
                     msg="\n".join(service_plan.summary_line(results[i]) for i in sorted(plans)), diff=diffs)


def check_input(module):
    """Refuse values systemd or the kernel would refuse, before anything is read or written."""
    p = module.params
    for name in ("oom_score_adjust", "backend_oom_score_adjust"):
        if not -1000 <= p[name] <= 1000:
            module.fail_json(msg="%s: %d is outside -1000..1000 (the kernel's oom_score_adj range); nothing was written"
                             % (name, p[name]))
    for name, least in (("timeout_stop_sec", 1), ("limit_nofile", 1), ("limit_nproc", 1)):
        if p[name] < least:
            module.fail_json(msg="%s: %d is not allowed; give a whole number of at least %d; nothing was written"
                             % (name, p[name], least))
    memlock = p["limit_memlock"]
    if memlock not in ("auto", "infinity") and not (memlock.isdigit() and int(memlock) > 0):
        module.fail_json(msg="limit_memlock: %r is not allowed; give auto, infinity or a positive number of bytes; "
                             "nothing was written" % memlock)


if __name__ == "__main__":
    main()
