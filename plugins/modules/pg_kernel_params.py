#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_kernel_params
short_description: Compute the kernel settings a host's PostgreSQL clusters need
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Computes what the kernel must allow for the PostgreSQL clusters on a host
    (SysV shared memory and semaphores, huge pages, the commit limit under
    C(vm.overcommit_memory=2)) and which sysctl values to set.
  - Limits are only raised, never lowered - a value already at or above the
    requirement is left alone, whoever set it. Every number comes with a
    reason naming its inputs and source.
  - Refuses (fails) an overcommit ratio whose CommitLimit would fall below
    the host's current Committed_AS plus O(commit_headroom_pct), naming the
    numbers; nothing is proposed then.
  - "With O(host) and O(clusters) given it reads nothing from the target, so
    it can plan on the controller with C(connection: local). Whatever is
    omitted is read from the target, as M(pghost.hardening.pg_host_facts)
    reads it."
  - Read-only; never reports a change.
options:
  platform:
    description: Kernel to plan for. Defaults to C(platform) in O(host), else the target's.
    type: str
    choices: [linux, freebsd]
  host:
    description:
      - Host facts, as in the C(pghost_host) fact of M(pghost.hardening.pg_host_facts).
      - Read from the target when omitted.
      - Used keys C(mem_total_kb), C(swap_total_kb), C(hugepage_size_kb), C(hugepages_total), C(hugetlb_kb),
        C(page_size) (bytes), C(committed_as_kb) (whole numbers, kB unless noted) and C(sysctl) (current values by name).
    type: dict
  clusters:
    description:
      - PostgreSQL clusters, as in the C(pghost_clusters_found) fact of M(pghost.hardening.pg_host_facts)
        or the collection-wide C(pghost_clusters) variable.
      - Each needs C(version); C(max_connections), C(autovacuum_max_workers), C(max_worker_processes),
        C(max_wal_senders), C(shared_buffers), C(shared_memory_type), C(dynamic_shared_memory_type),
        C(huge_pages), C(huge_page_size) default to PostgreSQL's defaults for that version (a warning says so);
        C(shared_memory_size_mb), C(shared_memory_size_in_huge_pages) and C(num_os_semaphores) are the
        server-reported figures that replace estimates.
      - Discovered on the target when omitted.
  current:
    description:
      - Current kernel values by sysctl name (for example C(kernel.shmmax), C(kernel.sem) as "SEMMSL SEMMNS SEMOPM SEMMNI").
      - Defaults to C(sysctl) in O(host). A limit whose current value is absent is unknown; its requirement is
        returned in RV(required) and named in a warning, but not proposed, since it might lower the kernel's value.
    type: dict
  overcommit_ratio:
    description:
      - C(auto) applies the documented policy (RAM outside huge pages less a reserve of 10%, at least 1 GiB,
        at most half; so between 50 and 90), raised to the smallest safe ratio when the host has already
        committed more; or a whole number from 1 to 100, accepted or refused as given.
    type: str
    default: auto
  commit_headroom_pct:
    description: Headroom over the current Committed_AS that CommitLimit must keep, in percent (0-100).
    type: int
    default: 10
  manage_overcommit:
    description: Plan C(vm.overcommit_memory=2) and C(vm.overcommit_ratio) (Linux).
    type: bool
    default: true
  manage_hugepages:
    description: Plan C(vm.nr_hugepages) for the clusters' shared memory (Linux).
    type: bool
    default: true
attributes:
  check_mode:
    details: Runs the same in check mode; it never changes anything.
    support: full
  diff_mode:
    details: Nothing is changed, so there is no diff.
    support: none
  platform:
    platforms: [linux, freebsd]
extends_documentation_fragment:
  - pghost.hardening.attributes
  - pghost.hardening.clusters
notes:
  - Sources for every formula are in the collection's docs and in code comments
    (C(plugins/module_utils/)), citing PostgreSQL's documentation and source.
seealso:
  - module: pghost.hardening.pg_host_facts
"""

EXAMPLES = r"""
- name: Plan from what is on the target
  pghost.hardening.pg_kernel_params:
  register: kernel

- name: Plan on the controller for a host that does not exist yet
  pghost.hardening.pg_kernel_params:
    platform: linux
    host:
      mem_total_kb: 16777216
      swap_total_kb: 0
      hugepage_size_kb: 2048
      page_size: 4096
      committed_as_kb: 2000000
    clusters:
      - version: "9.6"
        max_connections: 100
        autovacuum_max_workers: 3
        max_worker_processes: 8
        max_wal_senders: 10
        shared_buffers: 128MB
        huge_pages: try
    overcommit_ratio: auto
    commit_headroom_pct: 10
  delegate_to: localhost

- name: Reuse facts gathered earlier in the play
  pghost.hardening.pg_kernel_params:
    host: "{{ ansible_facts.pghost_host }}"
    clusters: "{{ ansible_facts.pghost_clusters_found }}"
"""

RETURN = r"""
platform:
  description: The kernel planned for.
  returned: success
  type: str
  sample: linux
required:
  description: What the clusters need, summed over them.
  returned: success
  type: dict
  contains:
    semaphores:
      description: SysV semaphores (sets of 17); 0 where the build uses POSIX semaphores.
      type: int
    semmni:
      description: SysV semaphore sets (SEMMNI minimum).
      type: int
    semmns:
      description: SysV semaphores in all sets (SEMMNS minimum).
      type: int
    semmsl:
      description: Semaphores per set (SEMMSL minimum); 0 when no SysV semaphores are used.
      type: int
    shmmax:
      description: Largest SysV shared memory segment, bytes (SHMMAX minimum).
      type: int
    shmall:
      description: All SysV shared memory, in pages of the host's C(page_size) (SHMALL minimum).
      type: int
    shmmni:
      description: SysV shared memory segment ids (SHMMNI minimum).
      type: int
    nr_hugepages:
      description: Huge pages of the default size the clusters use; 0 when off or not Linux.
      type: int
    overcommit_ratio:
      description: The ratio to use with vm.overcommit_memory=2; null when not planned.
      type: int
    commit_limit_kb:
      description: CommitLimit that ratio gives, kB; null when not planned.
      type: int
  sample:
    semaphores: 136
    semmni: 8
    semmns: 136
    semmsl: 17
    shmmax: 56
    shmall: 1
    shmmni: 1
    nr_hugepages: 74
    overcommit_ratio: 90
    commit_limit_kb: 14963097
proposed:
  description:
    - Sysctl name to value, only for values that raise what is set now or that policy sets.
  returned: success
  type: dict
  sample: {"vm.nr_hugepages": 74, "vm.overcommit_memory": 2, "vm.overcommit_ratio": 90}
proposed_by_concern:
  description:
    - RV(proposed) split by the concern that computes each key, named like the role pghost.hardening.pg_kernel's
      switches (C(sysv_ipc), C(hugepages), C(overcommit); FreeBSD has only C(sysv_ipc)). Every concern is present,
      empty when it proposes nothing.
  returned: success
  type: dict
  sample: {"sysv_ipc": {"kernel.shmmni": 4096}, "hugepages": {"vm.nr_hugepages": 74}, "overcommit": {}}
boot_only:
  description: Names in RV(proposed) that are FreeBSD loader tunables, settable only in C(/boot/loader.conf) and effective at the next boot.
  returned: success
  type: list
  elements: str
  sample: ["kern.ipc.semmni"]
why:
  description:
    - Per proposed key (and the overcommit policy keys), a reason that depends only on the clusters and the policy,
      never on the values in force; suitable as a comment in a file that must not change from run to run.
  returned: success
  type: dict
  sample: {"kernel.sem": "SysV semaphores for the clusters: 8 sets of 17 (docs/postgres-kernel-facts.md §2)"}
reasons:
  description: One human-readable line per value, naming its inputs and source.
  returned: success
  type: list
  elements: str
warnings:
  description:
    - Inputs that were defaulted, requirements not proposed because the current value is unknown, and
      discovery problems; shown as Ansible warnings.
  returned: when there are any
  type: list
  elements: str
clusters:
  description: Each cluster planned for, with the settings that fell back to PostgreSQL's defaults.
  returned: success
  type: list
  elements: dict
"""

import platform as _platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils.cluster_discovery import discover_clusters
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import cluster_argument_spec
from ansible_collections.pghost.hardening.plugins.module_utils.host_probe import gather_host
from ansible_collections.pghost.hardening.plugins.module_utils.kernel_plan import PlanError, plan
from ansible_collections.pghost.hardening.plugins.module_utils.overcommit import GuardError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            platform=dict(type="str", choices=["linux", "freebsd"]),
            host=dict(type="dict"),
            clusters=cluster_argument_spec(),
            current=dict(type="dict"),
            overcommit_ratio=dict(type="str", default="auto"),
            commit_headroom_pct=dict(type="int", default=10),
            manage_overcommit=dict(type="bool", default=True),
            manage_hugepages=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    host = p["host"]
    if host is None:
        host = gather_host(module, p["platform"])
    platform = p["platform"] or host.get("platform") or _platform.system().lower()
    clusters, warnings = p["clusters"], []
    if clusters is None:
        clusters, warnings = discover_clusters(module)

    try:
        result = plan(
            platform, host, clusters,
            overcommit_ratio=p["overcommit_ratio"],
            commit_headroom_pct=p["commit_headroom_pct"],
            manage_overcommit=p["manage_overcommit"],
            manage_hugepages=p["manage_hugepages"],
            current=p["current"],
        )
    except (PlanError, GuardError) as exc:
        module.fail_json(msg=str(exc))

    # Ansible returns these as the result's `warnings` list and shows them.
    for line in warnings + result.pop("warnings"):
        module.warn(line)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
