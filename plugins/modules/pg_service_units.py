#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd drop-ins for PostgreSQL units (thin shell over module_utils/service_units.py)."""

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


import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import service_units as su
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import ClusterError, cluster_argument_spec, cluster_spec
from ansible_collections.pghost.hardening.plugins.module_utils.file_write import write_atomically
from ansible_collections.pghost.hardening.plugins.module_utils.host_probe import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.hugepages import hugepage_lock_bytes
from ansible_collections.pghost.hardening.plugins.module_utils.pam_limits import CAP_SYS_RESOURCE, has_capability

# The properties the drop-ins manage, as systemd's merged unit gives them.
SHOW_VERIFY = ("OOMScoreAdjust", "OOMPolicy", "KillMode", "KillSignal", "TimeoutStopUSec") + tuple(
    "%s%s" % (key, soft) for dummy, key, dummy2 in su.LIMITS for soft in ("", "Soft"))
SHOW_UNIT = ("Id", "LoadState", "ActiveState", "Result", "ExecMainCode", "ExecMainStatus", "FragmentPath",
             "DropInPaths") + SHOW_VERIFY
# How a unit ends when its main process was killed (systemd.exec(5) $SERVICE_RESULT) ...
CRASH_RESULTS = ("signal", "core-dump")
# ... and how systemd records it when an ExecStop= that fails afterwards sets
# Result=exit-code (Debian's pg_ctlcluster stop exits 2 for a dead cluster):
# the main process's si_code, CLD_KILLED = 2, CLD_DUMPED = 3 (waitid(2)).
KILLED_CODES = ("2", "3")
SHOW_MANAGER = ("Version",) + tuple("Default%s%s" % (key, soft) for dummy, key, dummy2 in su.LIMITS
                                    for soft in ("", "Soft"))


def systemctl_show(module, systemctl, properties, units=()):
    rc, out, err = module.run_command([systemctl, "show", "-p", ",".join(properties)] + list(units))
    if rc != 0:
        module.fail_json(msg="systemctl show %s failed: %s" % (" ".join(units), (err or out).strip()))
    return su.parse_show(out)


def memlock_want(module, cluster, index, setting, hugepage_kb):
    if setting == "infinity":
        return su.INFINITY, None
    if setting != "auto":
        return int(setting), None
    try:
        size, reason = hugepage_lock_bytes(cluster_spec(cluster, index), hugepage_kb)
    except ClusterError as exc:
        module.warn("%s: LimitMEMLOCK left to the unit: %s" % (cluster.get("name"), exc))
        return None, None
    return (size or None), (reason if size else None)


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
    limits = su.parse_proc_limits(files.read("/proc/%d/limits" % pid, ""))
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


def crashed_reason(files, cluster, unit_info):
    """Why a not-running cluster looks crashed, or None.

    Its postmaster.pid outlived the postmaster, or - Debian's ExecStop
    (pg_ctlcluster) deletes a stale pid file - its unit failed because the
    main process was killed by a signal. A unit whose server failed to start
    or exited with an error is not a crash and is not restarted by the role.
    """
    text = files.read("%s/postmaster.pid" % cluster.get("data_directory"), None)
    if text is not None:
        first = text.splitlines()[0].strip() if text.strip() else ""
        if not (first.isdigit() and files.pid_alive(int(first))):
            return "postmaster.pid is left by PID %s, which no longer runs: the last stop was unclean" % (first or "?")
    if unit_info.get("ActiveState") != "failed":
        return None
    if unit_info.get("Result") in CRASH_RESULTS or unit_info.get("ExecMainCode") in KILLED_CODES:
        return "unit %s failed (Result=%s, main process killed by signal %s): the postmaster was killed, not stopped" % (
            cluster.get("unit"), unit_info.get("Result"), unit_info.get("ExecMainStatus") or "?")
    return None


def server_users(files, clusters):
    """{owner: {"uid", "system"}} for the clusters' OS users."""
    limit = su.system_uid_max(files.read("/etc/login.defs", ""))
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


def debian_env_file(cluster):
    """The `environment` file pg_ctlcluster reads for this cluster (PgCommon cluster_conf_filename)."""
    config = cluster.get("config_file") or ""
    if config.startswith("/etc/postgresql/"):
        return os.path.join(os.path.dirname(config), "environment")
    return "/etc/postgresql/%s/environment" % cluster.get("name")


def plan_unit(module, files, cluster, index, unit_info, manager):
    """[(path, desired text)] for one cluster's unit, the limits written and where PG_OOM_ADJUST_* live."""
    p = module.params
    unit = cluster["unit"]
    dropin_dir = "%s/%s.d" % (p["unit_dir"], unit)
    ours = set("%s/%s" % (dropin_dir, name) for name in su.DROPINS)
    paths = [unit_info.get("FragmentPath")] + (unit_info.get("DropInPaths") or "").split()
    texts = [files.read(path, "") for path in paths if path and path not in ours]
    base = su.unit_baseline(texts, manager)

    desired, oom_source = [], su.OOM_DROPIN
    if p["oom"]:
        env_file = debian_env_file(cluster) if su.uses_pg_ctlcluster(base["exec_start"]) else None
        desired.append((dropin_dir + "/" + su.OOM_DROPIN, su.oom_dropin(
            p["oom_score_adjust"], p["backend_oom_score_adjust"], base["exec_start"], env_file, p["oom_policy"])))
        if env_file:
            try:
                desired.append((env_file, su.env_block(files.read(env_file, ""), p["backend_oom_score_adjust"])))
            except su.UnitValueError as exc:
                module.fail_json(msg="%s: %s; nothing was written" % (env_file, exc))
            oom_source = env_file
    if p["shutdown"]:
        shutdown = su.shutdown_dropin(p["timeout_stop_sec"], base["timeout_stop"])
        desired.append((dropin_dir + "/" + su.SHUTDOWN_DROPIN, shutdown))
    limits = {}
    if p["limits"]:
        memlock, memlock_reason = memlock_want(module, cluster, index, p["limit_memlock"], p["hugepage_size_kb"])
        wanted = {"nofile": p["limit_nofile"], "nproc": p["limit_nproc"], "memlock": memlock}
        limits = su.limits_values(wanted, base["limits"])
        notes = ["LimitMEMLOCK: " + memlock_reason] if memlock_reason else []
        desired.append((dropin_dir + "/" + su.LIMITS_DROPIN, su.limits_dropin(limits, notes)))
    return desired, limits, oom_source


def judge(module, files, cluster, result, unit_info, judged):
    """Fill result's restart verdict from the live postmaster (or the pid file and unit state).

    judged: (limits the unit gives, where they come from, oom_source, caps, can_raise, children)."""
    p = module.params
    limits, limits_source, oom_source, caps, can_raise, children = judged
    live = live_state(files, cluster.get("pid"), children) if cluster.get("running") else {}
    if live:
        result["reasons"] = su.restart_reasons(
            p["oom"], p["backend_oom_score_adjust"], limits, live["environ"], live.pop("limits_raw"),
            caps, oom_source, limits_source, score=p["oom_score_adjust"], live_score=live["oom_score_adj"],
            can_lower_score=can_raise)
        result["restart"] = "pending" if result["reasons"] else "not needed"
        result["live"] = live
    else:
        why = crashed_reason(files, cluster, unit_info)
        result["restart"] = "crashed" if why else "not running"
        result["reasons"] = [why] if why else []


def verify_unit(module, result, limits, shown, systemd_version):
    """What systemd's merged unit gives, as `systemctl show` reports it, and a warning where it is
    not what the drop-ins write. Returns the unit's effective limits ({} when not readable)."""
    p = module.params
    result["unit_properties"] = dict((k, shown[k]) for k in SHOW_VERIFY if k in shown)
    effective = su.unit_limits(shown)
    if not effective:
        return {}
    for line in su.overridden(limits, effective):
        module.warn("%s: %s" % (result["unit"], line))
    if p["oom"] and shown.get("OOMPolicy", "") != p["oom_policy"]:
        module.warn("%s: OOMPolicy is %r, not %s as 60-pghost-oom.conf writes: %s" % (
            result["unit"], shown.get("OOMPolicy", ""), p["oom_policy"],
            "systemd %s predates OOMPolicy= (%d); a backend killed by the OOM killer stops the whole unit"
            % (systemd_version, su.OOM_POLICY_SINCE) if systemd_version and systemd_version < su.OOM_POLICY_SINCE
            else "a later drop-in overrides it"))
    return effective


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
    with_unit = [(i, c) for i, c in enumerate(p["clusters"]) if c.get("unit")]
    for c in p["clusters"]:
        if not c.get("unit"):
            module.warn("%s: no systemd unit is known for this cluster; give `unit` in pghost_clusters to manage it"
                        % (c.get("name") or c.get("data_directory")))
    units = sorted(set(c["unit"] for dummy, c in with_unit))
    shown = show_units(module, systemctl, units)
    manager = systemctl_show(module, systemctl, SHOW_MANAGER)[0] if units else {}
    systemd_version = su.systemd_version(manager.get("Version"))
    # PID 1 holds systemd's limits to its own only without CAP_SYS_RESOURCE.
    can_raise = has_capability(files.read("/proc/1/status", ""), CAP_SYS_RESOURCE, "CapEff")
    caps = su.pid1_caps(su.parse_proc_limits(files.read("/proc/1/limits", "")), can_raise)

    results, diffs, lines, written = [], [], [], {}
    for index, cluster in enumerate(p["clusters"]):
        result = dict(name=cluster.get("name"), unit=cluster.get("unit"), data_directory=cluster.get("data_directory"),
                      files={}, changed=[], restart="not needed", reasons=[], limits={}, clamped={}, live={},
                      unit_properties={})
        results.append(result)
        if not cluster.get("unit"):
            result["restart"] = "no unit"
            continue
        info = shown.get(cluster["unit"], {})
        if info.get("LoadState") not in ("loaded", None):
            module.fail_json(msg="%s: unit %s is %s; check `unit` of this cluster; nothing was written"
                             % (result["name"], cluster["unit"], info.get("LoadState")))
        desired, limits, oom_source = plan_unit(module, files, cluster, index, info, su.manager_limits(manager))
        result["limits"] = dict((k, su.render_limit(v)) for k, v in limits.items())
        result["clamped"] = su.clamped(limits, caps)
        written[index] = (limits, oom_source, info)
        diffs.extend(write_changes(module, files, desired, result))

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
    for index, (cluster, result) in enumerate(zip(p["clusters"], results)):
        if index not in written:
            continue
        limits, oom_source, info = written[index]
        effective = (verify_unit(module, result, limits, shown.get(cluster["unit"], {}), systemd_version)
                     if trust_show else {})
        if cluster.get("running") and children is None:
            children = children_by_ppid(files)
        source = ("unit %s" % cluster["unit"]) if effective else su.LIMITS_DROPIN
        judge(module, files, cluster, result, info,
              (effective or limits, source, oom_source, caps, can_raise, children))
        lines.append("%s (%s): %s; restart %s%s" % (
            result["name"], cluster["unit"], ", ".join(result["changed"]) or "no change", result["restart"],
            ": " + "; ".join(result["reasons"]) if result["reasons"] else ""))

    owners = server_users(files, p["clusters"])
    needs_no, verdict = su.remove_ipc_verdict(owners, p["logind_remove_ipc"])
    module.exit_json(changed=bool(diffs), clusters=results, daemon_reload=units_changed,
                     systemd_version=systemd_version, server_users=owners,
                     logind=dict(remove_ipc=p["logind_remove_ipc"], needs_remove_ipc_no=needs_no, verdict=verdict),
                     msg="\n".join(lines), diff=diffs)


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


def show_units(module, systemctl, units):
    """{unit: properties} from one `systemctl show` for all units."""
    return dict((b.get("Id"), b) for b in systemctl_show(module, systemctl, SHOW_UNIT, units)) if units else {}


def write_changes(module, files, desired, result):
    """Write each (path, text) that differs (not in check mode); record it in result; return the diffs."""
    diffs = []
    for path, text in desired:
        before = files.read(path, "")
        if before == text:
            result["files"][path] = "unchanged"
            continue
        result["files"][path] = "changed"
        if path.endswith(".conf"):
            result["changed"].extend(su.changed_settings(before, text))
        else:
            result["changed"].append("%s: PG_OOM_ADJUST_VALUE=%d" % (path, module.params["backend_oom_score_adjust"]))
        diffs.append(dict(before=before, after=text, before_header=path, after_header=path))
        if not module.check_mode:
            write_atomically(files.path(path), text)
    return diffs


if __name__ == "__main__":
    main()
