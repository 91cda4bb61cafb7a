"""Inputs of the fleet audit shaped exactly as the fact modules return them.

The host is what pg_host_facts' gatherer reads from the recorded bookworm
container tree (tests/unit/fixtures/trees/linux-podman-bookworm); clusters
carry cluster_discovery's keys; the kernel result is kernel_plan.plan() on
them, as pg_kernel_params returns it; pg_service_units' entries start from
service_plan.new_result() and its logind verdict is logind.remove_ipc_verdict().
A FreeBSD cluster's protect(1) flag and login class are read by
freebsd_server.py's own readers from ps and pw answers in their output
formats and the hand-written login.conf fixtures.
Tests change only the values a case is about. The policy is the variables
the audit playbook passes, valued from the roles' defaults, so no threshold
or key list is typed in twice. tests/unit is on
sys.path (see fake_module.py), so tests import this as `audit_inputs`.
"""

import copy
import os

import yaml
from fake_module import FakeModule

from ansible_collections.pghost.hardening.plugins.module_utils.cluster_discovery import CLUSTER_KEYS
from ansible_collections.pghost.hardening.plugins.module_utils.freebsd_server import login_class
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.host_probe import apply_live_map, gather_host
from ansible_collections.pghost.hardening.plugins.module_utils.kernel_plan import plan
from ansible_collections.pghost.hardening.plugins.module_utils.logind import remove_ipc_verdict
from ansible_collections.pghost.hardening.plugins.module_utils.oom_protect import read_protection
from ansible_collections.pghost.hardening.plugins.module_utils.service_plan import new_result

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TREE = os.path.join(ROOT, "tests", "unit", "fixtures", "trees", "linux-podman-bookworm")
AUDIT_PLAYBOOK = os.path.join(ROOT, "playbooks", "audit.yml")
FREEBSD_FILES = os.path.join(ROOT, "tests", "unit", "fixtures", "freebsd-files")


def playbook_policy():
    """The audit playbook's policy mapping ({variable: template}): the one list of the role variables the checks
    compare with (tests/unit/playbooks/test_audit_playbook.py holds it equal to what the checks read)."""
    with open(AUDIT_PLAYBOOK) as handle:
        tasks = yaml.safe_load(handle)[0]["tasks"]
    [judge] = [task for task in tasks if "pghost_audit_policy" in (task.get("vars") or {})]
    return judge["vars"]["pghost_audit_policy"]


POLICY_KEYS = tuple(playbook_policy())


def role_defaults():
    merged = {}
    for role in ("pg_kernel", "pg_service", "pg_limits"):
        with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
            merged.update(yaml.safe_load(handle))
    return merged


POLICY = dict((key, role_defaults()[key]) for key in POLICY_KEYS)
_RECORDED = gather_host(FakeModule(), "linux", files=HostFiles(TREE))


def container_host(**sysctl):
    """pghost_host of the recorded privileged podman container, sysctl values replaced."""
    host = copy.deepcopy(_RECORDED)
    host["sysctl"].update(sysctl)
    return host


def bare_host(thp="madvise", **sysctl):
    """The same host as a real machine: no container, so vm.* and THP are its own."""
    host = container_host(**sysctl)
    host["container"] = {"is_container": False, "type": None}
    host["apply_live"] = apply_live_map(host["writable"], host["namespaced"], False)
    host["thp"]["transparent_hugepage.enabled"] = thp
    return host


def cluster(version="15", name="15/main", running=True, pid=4242, **settings):
    """A pghost_clusters_found item of a Debian cluster read through pg_settings."""
    item = dict.fromkeys(CLUSTER_KEYS)
    item.update(name=name, version=version, data_directory="/var/lib/postgresql/%s" % name,
                config_file="/etc/postgresql/%s/postgresql.conf" % name,
                unit="postgresql@%s.service" % name.replace("/", "-"), owner="postgres", port=5432,
                running=running, pid=pid if running else None, settings_source="pg_settings",
                max_connections=100, autovacuum_max_workers=3, max_worker_processes=8, max_wal_senders=10,
                shared_buffers="128MB", huge_pages="try", errors=[])
    if version not in ("9.2", "9.3"):
        item["dynamic_shared_memory_type"] = "posix"
    else:
        item["huge_pages"] = None
    # Only keys pg_host_facts reports, so a check cannot rest on a key no module gives it.
    unknown = sorted(set(settings) - set(CLUSTER_KEYS))
    assert not unknown, "not a pghost_clusters_found key: %s" % ", ".join(unknown)
    item.update(settings)
    return item


def kernel(host, clusters, **options):
    """pg_kernel_params' result for the host and clusters (its warnings go to Ansible's `warnings`)."""
    result = plan(host["platform"], host, clusters, **options)
    result["warnings"] = result.pop("warnings")
    return dict(result, changed=False)


DEBIAN_UNIT = {"OOMScoreAdjust": "-900", "OOMPolicy": "stop", "KillMode": "control-group", "KillSignal": "15",
               "TimeoutStopUSec": "1h", "LimitNOFILE": "524288", "LimitNOFILESoft": "1024",
               "LimitNPROC": "7719", "LimitNPROCSoft": "7719", "LimitMEMLOCK": "8388608",
               "LimitMEMLOCKSoft": "8388608"}
CONVERGED_UNIT = dict(DEBIAN_UNIT, OOMScoreAdjust="-1000", OOMPolicy="continue", KillMode="mixed", KillSignal="2",
                      LimitNOFILE="65536", LimitNOFILESoft="65536", LimitNPROC="65536", LimitNPROCSoft="65536")


def live(score=-900, environ=None, limits=None, backends=None, pid=4242):
    """A running postmaster's `live` entry, as pg_service_units reads it from /proc."""
    return {"pid": pid, "oom_score_adj": score,
            "environ": {"PG_OOM_ADJUST_FILE": "/proc/self/oom_score_adj"} if environ is None else environ,
            "limits": limits or {"nofile": "1024:524288", "nproc": "7719:7719", "memlock": "8388608:8388608"},
            "backends": {"4250": 0, "4251": 0, "4252": 0} if backends is None else backends}


def service_entry(item, restart="not needed", reasons=None, live_state=None, unit_properties=None, files=None):
    """One cluster's entry of pg_service_units' `clusters`."""
    entry = new_result(item)
    entry.update(restart=restart, reasons=list(reasons or []), files=files or {},
                 unit_properties=dict(DEBIAN_UNIT if unit_properties is None else unit_properties))
    if item.get("running") and live_state is None:
        live_state = live(pid=item.get("pid"))
    entry["live"] = live_state or {}
    return entry


def service(entries, users=None, remove_ipc="yes"):
    """pg_service_units' result for the entries (check mode, nothing to write)."""
    users = {"postgres": {"uid": 105, "system": True}} if users is None else users
    needs, verdict = remove_ipc_verdict(users, remove_ipc)
    return {"changed": False, "clusters": entries, "daemon_reload": False, "systemd_version": 252,
            "server_users": users, "logind": {"remove_ipc": remove_ipc, "needs_remove_ipc_no": needs, "verdict": verdict},
            "msg": "", "diff": []}


def fresh_debian(host=None):
    """A Debian host as installed: PostgreSQL 15 from Debian, nothing hardened."""
    host = host or bare_host(thp="always")
    item = cluster(server_version="15.4 (Debian 15.4-2.pgdg120+1)")
    return {"host": host, "clusters": [item], "kernel": kernel(host, [item]),
            "service": service([service_entry(item)])}


def converged_debian():
    """The same host with what the roles write in force (docs/design.md data flow)."""
    host = bare_host(thp="never", **{"vm.overcommit_memory": "2", "vm.overcommit_ratio": "90", "vm.swappiness": "1",
                                     "vm.nr_hugepages": "74"})
    host["commit_limit_kb"] = 22079276
    item = cluster(server_version="15.4 (Debian 15.4-2.pgdg120+1)", data_sync_retry="off")
    plan = kernel(host, [item])
    # 74 pages of 2048 kB: the memlock role pg_service asks for (hugepages.hugepage_lock_bytes)
    limits = {"nofile": "65536:65536", "nproc": "65536:65536", "memlock": "155189248:155189248"}
    state = live(score=-1000, limits=limits)
    unit = dict(CONVERGED_UNIT, LimitMEMLOCK="155189248", LimitMEMLOCKSoft="155189248")
    entry = service_entry(item, live_state=state, unit_properties=unit)
    return {"host": host, "clusters": [item], "kernel": plan, "service": service([entry])}


PS, PW = "/bin/ps", "/usr/sbin/pw"


def freebsd_cluster(flags="10004002", user_class="", login_conf="login.conf", running=True, stale=False,
                    login_conf_text=None, **settings):
    """A pghost_clusters_found item of the port's layout, its oom_protection and login_class read by
    freebsd_server's readers: `ps -o flags=` printing `flags`, `pw usershow -n postgres` with `user_class`
    (empty: default), /etc/login.conf from the fixture `login_conf` (or `login_conf_text`)."""
    item = cluster(version="16", name="postgresql", running=running, pid=4242, **settings)
    item.update(data_directory="/var/db/postgres/data16", config_file="/var/db/postgres/data16/postgresql.conf",
                unit=None, rc_name="postgresql")
    passwd = "postgres:*:770:770:%s:0:0:PostgreSQL Daemon:/var/db/postgres:/bin/sh\n" % user_class
    module = FakeModule({(PS, "-o", "flags=", "-p", "4242"): (0, flags + "\n", ""),
                         (PW, "usershow", "-n", "postgres"): (0, passwd, "")}, bins={"ps": PS, "pw": PW})
    text = login_conf_text
    if text is None:
        with open(os.path.join(FREEBSD_FILES, login_conf)) as handle:
            text = handle.read()
    item["oom_protection"] = read_protection(module, 4242) if running else None
    item["login_class"] = login_class(module, "postgres", text, stale)
    return item


def freebsd_jails(collisions=()):
    """pg_jail_facts' result (its RETURN) for a FreeBSD 13.2 host whose jails run no PostgreSQL."""
    result = {"freebsd_release": "13.2-RELEASE-p4", "supports_sysvshm_new": True, "isolation_default": "new",
              "host": {"server_user": "postgres", "uid": 770, "gid": 770, "has_postgresql": True},
              "jails": [], "collisions": list(collisions), "uid_plan_input": {}, "changed": False}
    result["ansible_facts"] = {"pghost_jails": dict(result)}
    return result


def freebsd_facts(clusters=None, jailed=False):
    """A FreeBSD host (a jail with `jailed`) with the port's cluster, as freshly installed."""
    host = {"platform": "freebsd", "sysctl": {}, "service_mgr": "rc",
            "container": {"is_container": jailed, "type": "jail" if jailed else None}}
    clusters = [freebsd_cluster()] if clusters is None else clusters
    return {"host": host, "clusters": clusters, "jails": freebsd_jails()}


def by_id(records, check_id, name=None):
    """The records of one check (and cluster name), for assertions."""
    return [r for r in records if r["id"] == check_id and (name is None or (r["cluster"] or {}).get("name") == name)]
