# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, kernel: what pg_host_facts reads against what pg_kernel_params
says the clusters need (docs/postgres-kernel-facts.md §1-4, §8)."""

from __future__ import annotations

import pytest
from audit_inputs import POLICY, bare_host, by_id, cluster, container_host, kernel

from ansible_collections.pghost.hardening.plugins.module_utils import audit_kernel
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import AuditInputError


def run(host, clusters, plan=None, policy=None):
    facts = {"host": host, "clusters": clusters, "kernel": kernel(host, clusters) if plan is None else plan}
    return audit_kernel.audit(facts, POLICY if policy is None else policy)


def one(records, check_id):
    [record] = by_id(records, check_id)
    return record


# -- SysV ---------------------------------------------------------------------

def test_sysv_limits_below_what_a_9_6_cluster_needs():
    # 9.6 uses SysV semaphores: ceil((100 + 3 + 8 + 5) / 16) = 8 sets of 17 (docs/postgres-kernel-facts.md §2).
    host = bare_host(**{"kernel.sem": "250 100 32 4", "kernel.shmmni": "0"})
    record = one(run(host, [cluster(version="9.6", name="9.6/main")]), "kernel.sysv_below_need")
    assert record["status"] == "finding"
    assert record["severity"] == "high"
    assert record["cluster"] is None
    assert record["evidence"]["below"] == ["kernel.sem", "kernel.shmmni"]
    sem = record["evidence"]["limits"]["kernel.sem"]
    assert sem == {"current": "250 100 32 4", "required": {"semmsl": 17, "semmns": 136, "semmni": 8},
                   "proposed": "250 136 32 8"}


def test_sysv_limits_that_cover_the_need_pass():
    record = one(run(bare_host(), [cluster(version="9.6", name="9.6/main")]), "kernel.sysv_below_need")
    assert record["status"] == "pass"
    assert set(record["evidence"]["limits"]) == {"kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni"}
    assert record["evidence"]["below"] == []


def test_posix_semaphores_leave_kernel_sem_out():
    # From 10 on Linux PostgreSQL uses POSIX semaphores: a tiny kernel.sem is no finding.
    record = one(run(bare_host(**{"kernel.sem": "1 1 1 1"}), [cluster(version="15")]), "kernel.sysv_below_need")
    assert record["status"] == "pass"
    assert "kernel.sem" not in record["evidence"]["limits"]


def test_an_unreadable_sysv_limit_is_not_verifiable():
    host = bare_host()
    del host["sysctl"]["kernel.sem"]
    record = one(run(host, [cluster(version="9.6", name="9.6/main")]), "kernel.sysv_below_need")
    assert record["status"] == "not_verifiable"
    assert record["reason"] == "not verifiable here: the kernel does not show kernel.sem here"


def test_a_refused_plan_makes_the_plan_checks_not_verifiable():
    refused = {"failed": True, "msg": "vm.overcommit_memory=2 refused: even vm.overcommit_ratio=100 gives ..."}
    records = run(bare_host(), [cluster(huge_pages="on")], plan=refused)
    for check_id in ("kernel.sysv_below_need", "kernel.hugepages_short_on"):
        record = one(records, check_id)
        assert record["status"] == "not_verifiable"
        assert "pg_kernel_params refused to plan: vm.overcommit_memory=2 refused" in record["reason"]


def test_freebsd_kern_ipc_below_need_names_the_loader_tunables():
    host = {"platform": "freebsd", "mem_total_kb": 8388608, "swap_total_kb": 0, "hugepage_size_kb": 0,
            "hugepages_total": 0, "hugepages_free": 0, "hugetlb_kb": 0, "committed_as_kb": None,
            "commit_limit_kb": None, "page_size": 4096,
            "sysctl": {"kern.ipc.shmmax": "536870912", "kern.ipc.shmall": "131072", "kern.ipc.shmmni": "192",
                       "kern.ipc.semmni": "4", "kern.ipc.semmns": "60", "kern.ipc.semmsl": "340"},
            "thp": {}, "writable": {}, "namespaced": {}, "container": {"is_container": False, "type": None},
            "apply_live": {}, "logind_remove_ipc": None, "service_mgr": "rc",
            "loader_only": ["kern.ipc.shmmni", "kern.ipc.semmni", "kern.ipc.semmns"],
            "loader_only_source": "sysctl -N -W kern.ipc"}
    records = run(host, [cluster(version="9.6", name="/var/db/postgres/data96")])
    assert [r["id"] for r in records] == ["kernel.sysv_below_need"]  # the vm.* and THP checks are Linux's
    assert records[0]["status"] == "finding"
    assert records[0]["evidence"]["below"] == ["kern.ipc.semmni", "kern.ipc.semmns"]
    assert records[0]["evidence"]["boot_only"] == ["kern.ipc.semmni", "kern.ipc.semmns"]


# -- overcommit, swappiness, THP ------------------------------------------------

@pytest.mark.parametrize("mode, status", [("0", "finding"), ("1", "finding"), ("2", "pass")])
def test_overcommit_mode(mode, status):
    record = one(run(bare_host(**{"vm.overcommit_memory": mode}), [cluster()]), "kernel.overcommit_not_strict")
    assert (record["status"], record["evidence"]) == (status, {"vm.overcommit_memory": mode})


@pytest.mark.parametrize("check_id", ["kernel.overcommit_not_strict", "kernel.commit_limit_short",
                                      "kernel.swappiness_high", "kernel.thp_always"])
def test_global_values_in_a_container_are_not_verifiable(check_id):
    host = container_host(**{"vm.overcommit_memory": "0", "vm.swappiness": "60"})
    host["thp"]["transparent_hugepage.enabled"] = "always"
    record = one(run(host, [cluster()]), check_id)
    assert record["status"] == "not_verifiable"
    assert "global to the kernel: this podman container shows the machine's value" in record["reason"]


def test_a_value_the_kernel_does_not_show_is_not_verifiable():
    host = bare_host()
    del host["sysctl"]["vm.overcommit_memory"]
    record = one(run(host, [cluster()]), "kernel.overcommit_not_strict")
    assert record["reason"] == "not verifiable here: the kernel does not show vm.overcommit_memory here"


@pytest.mark.parametrize("committed, status", [
    # required = ceil(Committed_AS * 1.10): CommitLimit 12342040 kB covers up to 11220036 kB committed
    (11220036, "pass"),
    (11220037, "finding"),
])
def test_commit_limit_under_strict_accounting(committed, status):
    host = bare_host(**{"vm.overcommit_memory": "2"})
    host["committed_as_kb"] = committed
    record = one(run(host, [cluster()], plan={"required": {}, "proposed": {}}), "kernel.commit_limit_short")
    assert record["status"] == status
    assert record["evidence"]["required_kb"] == -(-committed * 110 // 100)
    assert record["evidence"]["commit_limit_kb"] == 12342040


def test_commit_limit_is_not_enforced_outside_mode_2():
    host = bare_host(**{"vm.overcommit_memory": "0"})
    host["committed_as_kb"] = host["commit_limit_kb"] * 3
    # pg_kernel_params refuses mode 2 on such a host; this check does not need its plan
    refused = {"failed": True, "msg": "vm.overcommit_memory=2 refused"}
    assert one(run(host, [cluster()], plan=refused), "kernel.commit_limit_short")["status"] == "pass"


def test_commit_limit_without_meminfo_figures_is_not_verifiable():
    host = bare_host(**{"vm.overcommit_memory": "2"})
    host["commit_limit_kb"] = None
    assert one(run(host, [cluster()], plan={}), "kernel.commit_limit_short")["status"] == "not_verifiable"


@pytest.mark.parametrize("value, status", [("60", "finding"), ("2", "finding"), ("1", "pass"), ("0", "pass")])
def test_swappiness_against_the_roles_value(value, status):
    record = one(run(bare_host(**{"vm.swappiness": value}), [cluster()]), "kernel.swappiness_high")
    assert record["status"] == status
    assert record["evidence"] == {"vm.swappiness": value, "pg_kernel_swappiness_value": POLICY["pg_kernel_swappiness_value"]}


def test_a_missing_policy_value_names_the_role_variable():
    with pytest.raises(AuditInputError, match="policy.pg_kernel_swappiness_value: missing"):
        run(bare_host(), [cluster()], policy={"pg_kernel_commit_headroom_pct": 10})


@pytest.mark.parametrize("mode, status", [("always", "finding"), ("madvise", "pass"), ("never", "pass")])
def test_thp(mode, status):
    record = one(run(bare_host(thp=mode), [cluster()]), "kernel.thp_always")
    assert (record["status"], record["severity"]) == (status, "low")


# -- huge pages -------------------------------------------------------------------

@pytest.mark.parametrize("setting, check_id, severity", [
    ("on", "kernel.hugepages_short_on", "critical"),
    ("try", "kernel.hugepages_short_try", "medium"),
])
@pytest.mark.parametrize("pool, status", [("0", "finding"), ("71", "finding"), ("72", "pass"), ("100", "pass")])
def test_hugepages_pool_against_the_server_figure(setting, check_id, severity, pool, status):
    # PostgreSQL 15 reports the pages it needs (docs/postgres-kernel-facts.md §3): 72 on the test VMs.
    item = cluster(huge_pages=setting, shared_memory_size_mb=143, shared_memory_size_in_huge_pages=72)
    records = run(bare_host(**{"vm.nr_hugepages": pool}), [item])
    [record] = by_id(records, check_id)
    assert (record["status"], record["severity"]) == (status, severity)
    assert record["cluster"]["name"] == "15/main"
    assert record["evidence"]["required"] == 72
    assert record["evidence"]["vm.nr_hugepages"] == int(pool)
    other = "kernel.hugepages_short_try" if setting == "on" else "kernel.hugepages_short_on"
    assert not by_id(records, other)


def test_hugepages_off_concerns_no_check():
    records = run(bare_host(), [cluster(huge_pages="off")])
    assert not [r for r in records if r["id"].startswith("kernel.hugepages")]


def test_hugepages_in_a_container_are_not_verifiable():
    [record] = by_id(run(container_host(), [cluster(huge_pages="on")]), "kernel.hugepages_short_on")
    assert record["status"] == "not_verifiable"
    assert "vm.nr_hugepages is global to the kernel" in record["reason"]
