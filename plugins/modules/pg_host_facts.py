#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only facts about a PostgreSQL host and its clusters (thin shell over module_utils)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_host_facts
short_description: Gather the facts that size a PostgreSQL host's kernel resources
version_added: 0.1.0
description:
  - Reads, in one call per host, what the C(pghost.hardening) roles need to
    size kernel resources for the PostgreSQL clusters on the host.
  - Host part - platform, memory (C(/proc/meminfo) or C(hw.physmem)), the
    current values of every kernel setting the collection manages, whether
    each can be written and applied live here (never C(vm.*) or transparent
    huge pages from inside a container), the container or jail the host is
    in, the effective systemd-logind C(RemoveIPC) and the service manager.
  - Cluster part - every cluster found (Debian C(/etc/postgresql/VERSION/NAME),
    systemd units that start C(postgres) or C(pg_ctl) such as PGDG's
    C(postgresql-NN.service), FreeBSD C(rc.conf) C(postgresql_data) and
    C(postgresql_profiles)), or only the declared ones, with the settings that
    size shared memory and semaphores.
  - Settings of a running cluster come from one C(pg_settings) query through
    the local socket, as the owner of the data directory; those of a stopped
    cluster from C(postgres -C NAME), which on PostgreSQL 15 and later also
    reports C(shared_memory_size) and C(shared_memory_size_in_huge_pages).
    The same read gives the release (C(server_version)) and C(data_sync_retry).
  - FreeBSD only, for the fleet audit - whether each running postmaster has
    protect(1)'s C(P_PROTECTED) flag (C(ps -o flags= -p PID), the read role
    C(pg_service) makes), and the login class of each server user
    (C(pw usershow -n USER), as role C(pg_limits) reads it) with the limits
    C(/etc/login.conf) gives that class through C(tc=) for the resources
    C(pg_limits) manages, read with the parser of M(pghost.hardening.login_class).
  - Never changes anything. A discovered cluster that cannot be read is
    reported with its C(errors) and a warning. A cluster given in O(clusters)
    whose data directory does not exist or is not initialised, or whose
    settings can be neither read nor taken from the item, fails the module
    naming the item, since the user asked for it and sizing the host without it
    would leave the kernel too small for it.
author:
  - pghost.hardening developers (!UNKNOWN)
options:
  clusters:
    description:
      - The clusters to report, normally the C(pghost_clusters) variable.
        When given (non-empty), only these clusters are returned; what the
        host's own layout says about the same data directories (Debian
        cluster name, unit, configuration directory) fills in what is not
        declared.
      - When omitted or empty, clusters are discovered.
      - Declared settings (O(clusters[].max_connections) and the others) are
        used only when the server cannot be asked, for example before
        C(initdb); RV(clusters[].settings_source) is then C(declared).
  gather:
    description: What to gather.
    type: list
    elements: str
    choices: [host, clusters]
    default: [host, clusters]
notes:
  - Run it with C(become); reading data directories and asking the server as
    its owner (C(runuser), or C(su -m) on FreeBSD) needs root.
  - One psql round trip per running cluster; one short C(postgres -C) call per
    setting for a stopped cluster. On FreeBSD also one C(ps) per running
    postmaster and one C(pw usershow) per server user.
requirements:
  - Linux (systemd or not) or FreeBSD.
attributes:
  check_mode:
    details: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    details: Nothing changes, so there is never a diff.
    support: none
  facts:
    details: Sets C(pghost_host) and C(pghost_clusters_found).
    support: full
  platform:
    platforms: [linux, freebsd]
extends_documentation_fragment:
  - pghost.hardening.attributes
  - pghost.hardening.attributes.facts
  - pghost.hardening.clusters.declared
seealso:
  - module: pghost.hardening.pg_kernel_params
"""

EXAMPLES = r"""
- name: Gather host and cluster facts
  pghost.hardening.pg_host_facts:
  become: true

- name: Report only the declared clusters
  pghost.hardening.pg_host_facts:
    clusters: "{{ pghost_clusters }}"
  become: true

- name: Host facts only (no commands are run on Linux)
  pghost.hardening.pg_host_facts:
    gather: [host]

- name: Show each cluster's shared memory size
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.shared_memory_size_mb }} MB ({{ item.settings_source }})"
  loop: "{{ ansible_facts.pghost_clusters_found }}"
"""

RETURN = r"""
host:
  description: Host facts; also set as the fact C(pghost_host). Empty when not gathered.
  returned: always
  type: dict
  contains:
    platform:
      description: C(linux) or C(freebsd).
      type: str
      sample: linux
    mem_total_kb:
      description: Total memory in kB (C(MemTotal), FreeBSD C(hw.physmem) / 1024).
      type: int
      sample: 24684084
    swap_total_kb:
      description: Swap in kB (C(SwapTotal), FreeBSD C(vm.swap_total) / 1024 or C(swapinfo -k)).
      type: int
      sample: 0
    hugepage_size_kb:
      description: Default huge page size in kB (C(Hugepagesize)); 0 on FreeBSD.
      type: int
      sample: 2048
    hugepages_total:
      description: C(HugePages_Total); 0 on FreeBSD.
      type: int
      sample: 0
    hugepages_free:
      description: C(HugePages_Free); 0 on FreeBSD.
      type: int
      sample: 0
    hugetlb_kb:
      description: C(Hugetlb) in kB, memory in huge page pools of every size; 0 on FreeBSD or kernels before 4.16.
      type: int
      sample: 0
    committed_as_kb:
      description: C(Committed_AS) in kB; null on FreeBSD.
      type: int
      sample: 768572
    commit_limit_kb:
      description: C(CommitLimit) in kB; null on FreeBSD.
      type: int
      sample: 12342040
    page_size:
      description: Page size in bytes.
      type: int
      sample: 4096
    sysctl:
      description:
        - Current value of each managed kernel setting that exists, as a
          string; multi-field values are separated by single spaces.
      type: dict
      sample: {"kernel.sem": "32000 1024000000 500 32000", "vm.overcommit_memory": "0"}
    thp:
      description: Transparent huge page modes (the bracketed choice); empty on FreeBSD.
      type: dict
      sample: {"transparent_hugepage.enabled": "madvise", "transparent_hugepage.defrag": "madvise"}
    writable:
      description:
        - Per setting, whether it can be written here. Linux - the file is
          writable and its mount is not read-only. FreeBSD - runtime
          settings unless jailed; loader tunables never.
      type: dict
      sample: {"kernel.shmmax": true, "vm.swappiness": true}
    loader_only:
      description:
        - FreeBSD only - the managed C(kern.ipc) settings the running kernel
          does not let C(sysctl) set (not listed by C(sysctl -N -W kern.ipc)),
          which go to C(/boot/loader.conf) and wait for the next boot.
      type: list
      elements: str
      returned: on FreeBSD
      sample: ["kern.ipc.shmmni", "kern.ipc.shmseg", "kern.ipc.semmni"]
    loader_only_source:
      description: FreeBSD only - where RV(host.loader_only) came from.
      type: str
      returned: on FreeBSD
      sample: sysctl -N -W kern.ipc
    namespaced:
      description: Per setting, whether it belongs to the IPC namespace (C(kernel.shm*), C(kernel.sem)).
      type: dict
      sample: {"kernel.shmmax": true, "vm.swappiness": false}
    container:
      description: Whether the host is a container or jail, and which kind.
      type: dict
      sample: {"is_container": true, "type": "podman"}
    apply_live:
      description: Per setting, writable and (namespaced or not in a container).
      type: dict
      sample: {"kernel.shmmax": true, "vm.swappiness": false}
    logind_remove_ipc:
      description: Effective systemd-logind C(RemoveIPC) (C(yes) or C(no)); null without systemd-logind.
      type: str
      sample: "yes"
    service_mgr:
      description: C(systemd), C(rc) (FreeBSD), C(openrc), C(sysvinit) or the name of PID 1.
      type: str
      sample: systemd
clusters:
  description: The clusters found; also set as the fact C(pghost_clusters_found). Empty when not gathered.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: C(VERSION/NAME) on Debian, else the unit (without C(.service)), the rc name or the data directory.
      type: str
      sample: 15/main
    version:
      description: Content of C(PG_VERSION).
      type: str
      sample: "15"
    data_directory:
      description: The data directory.
      type: str
      sample: /var/lib/postgresql/15/main
    config_file:
      description: The main C(postgresql.conf).
      type: str
      sample: /etc/postgresql/15/main/postgresql.conf
    unit:
      description: systemd unit, or null.
      type: str
      sample: postgresql@15-main.service
    rc_name:
      description: FreeBSD rc script name, or null.
      type: str
      sample: null
    owner:
      description: Owner of the data directory.
      type: str
      sample: postgres
    port:
      description: Port (from C(postmaster.pid) when running, else the configuration).
      type: int
      sample: 5432
    running:
      description: Whether the postmaster named in C(postmaster.pid) is alive.
      type: bool
      sample: true
    pid:
      description: Postmaster pid when running, else null.
      type: int
      sample: 59
    settings_source:
      description: C(pg_settings), C(postgres -C), C(declared), or null when no settings could be read.
      type: str
      sample: pg_settings
    max_connections:
      description: C(max_connections).
      type: int
      sample: 100
    autovacuum_max_workers:
      description: C(autovacuum_max_workers).
      type: int
      sample: 3
    max_worker_processes:
      description: C(max_worker_processes); null before 9.4.
      type: int
      sample: 8
    max_wal_senders:
      description: C(max_wal_senders).
      type: int
      sample: 10
    shared_buffers:
      description: C(shared_buffers) with its unit, as C(SHOW) prints it.
      type: str
      sample: 128MB
    shared_memory_type:
      description: C(shared_memory_type); null before 12.
      type: str
      sample: mmap
    dynamic_shared_memory_type:
      description: C(dynamic_shared_memory_type); null before 9.4.
      type: str
      sample: posix
    huge_pages:
      description: C(huge_pages); null before 9.4.
      type: str
      sample: try
    huge_page_size:
      description: C(huge_page_size) (C(0) = kernel default); null before 14.
      type: str
      sample: "0"
    shared_memory_size_mb:
      description: Server-reported C(shared_memory_size) in MB; null before 15.
      type: int
      sample: 143
    shared_memory_size_in_huge_pages:
      description: Server-reported huge pages needed (-1 = not supported); null before 15.
      type: int
      sample: 72
    num_os_semaphores:
      description: Server-reported semaphores needed; null before 18.
      type: int
      sample: null
    server_version:
      description:
        - The release exactly as C(SHOW server_version) prints it (with the
          minor and any distribution suffix), from C(pg_settings) or
          C(postgres -C server_version); null when the server could not be asked.
        - The fleet audit compares the minor with the first release that
          PANICs on an fsync failure.
      type: str
      sample: 15.18 (Debian 15.18-0+deb12u1)
    data_sync_retry:
      description:
        - C(on) or C(off); null where the release has no such setting (before
          11.2, 10.7, 9.6.12, 9.5.16 and 9.4.21) or it could not be read.
        - A stopped server is asked for it only when its release has it.
      type: str
      sample: "off"
    oom_protection:
      description:
        - FreeBSD - whether the running postmaster has protect(1)'s
          C(P_PROTECTED) flag (0x00100000), from C(ps -o flags= -p PID). Null
          on Linux and when the server is not running.
        - When C(ps) cannot answer, RV(clusters[].oom_protection.error) says
          why; RV(clusters[].errors) (and the warnings) stay for what sizes the kernel.
      type: dict
      sample: {"state": "unprotected", "flags": "10004002", "error": null}
      contains:
        state:
          description:
            - C(protected), C(unprotected), or C(gone) when C(ps) found no such
              process (the postmaster exited after C(postmaster.pid) was read);
              null when C(ps) could not answer.
          type: str
        flags:
          description: The process flags as C(ps) printed them (hexadecimal); null when it printed none.
          type: str
        error:
          description: Why C(ps) could not answer; null when it did.
          type: str
    login_class:
      description:
        - FreeBSD - the login class of the cluster's owner and the limits
          C(/etc/login.conf) gives it of C(maxproc), C(memorylocked) and
          C(openfiles), the resources role C(pg_limits) manages. Null on Linux.
        - A user whose class is not in the file gets the C(default) class's
          capabilities, as login_cap(3) falls back to it.
      type: dict
      sample:
        user: postgres
        name: default
        found: true
        effective: default
        limits:
          maxproc: {soft: unlimited, hard: unlimited}
          memorylocked: {soft: 64K, hard: 64K}
          openfiles: {soft: unlimited, hard: unlimited}
        database_stale: false
        error: null
      contains:
        user:
          description: The cluster's owner.
          type: str
        name:
          description: The class C(pw usershow -n USER) shows for the user, C(default) when it names none.
          type: str
        found:
          description: Whether C(/etc/login.conf) has a class of that name (or alias).
          type: bool
        effective:
          description: The class whose capabilities apply - RV(clusters[].login_class.name), or C(default) when it is not found; null when neither is.
          type: str
        limits:
          description:
            - Per resource, the C(soft) and C(hard) limit the class gives (its own
              capabilities, then those of C(tc=) classes; C(-cur) and C(-max)
              before the bare name), as C(unlimited), a number or a size with
              its suffix; null where the class sets none and the process keeps
              its own.
          type: dict
        database_stale:
          description: Whether C(/etc/login.conf.db), which getcap reads instead of the file, is older than the file.
          type: bool
        error:
          description:
            - Why the class or its limits could not be read (no such user, the
              file unreadable or malformed); null when they were. Not repeated
              in RV(clusters[].errors).
          type: str
    errors:
      description: What could not be read for this cluster.
      type: list
      elements: str
      sample: []
ansible_facts:
  description: The same data as facts.
  returned: always
  type: dict
  contains:
    pghost_host:
      description: Same as RV(host); only when gathered.
      type: dict
    pghost_clusters_found:
      description: Same as RV(clusters); only when gathered.
      type: list
      elements: dict
warnings:
  description:
    - Discovery notes and one line per cluster error; Ansible also displays
      them.
  returned: when there are any
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils.cluster_discovery import discover_clusters
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import cluster_argument_spec
from ansible_collections.pghost.hardening.plugins.module_utils.host_probe import gather_host

ARGUMENT_SPEC = dict(
    clusters=cluster_argument_spec(declared_only=True),
    gather=dict(type="list", elements="str", choices=["host", "clusters"], default=["host", "clusters"]),
)


def declared_problems(declared, clusters):
    """A sentence per declared cluster the roles cannot act on: its data directory
    is missing or not initialised, or no settings could be read or were given.

    The user named these clusters, so they are input, and sizing the kernel
    without them would leave it too small for them; discovered clusters with
    errors stay warnings."""
    by_directory = dict((c["data_directory"], c) for c in clusters)
    problems = []
    for index, item in enumerate(declared):
        cluster = by_directory.get(str(item["data_directory"]).rstrip("/") or "/")
        if cluster is None or not cluster.get("errors"):
            continue
        fatal = [e for e in cluster["errors"] if "does not exist" in e or "no PG_VERSION" in e]
        if fatal or not cluster.get("settings_source"):
            problems.append("pghost_clusters[%d] (data_directory %s): %s; expected the data directory of an "
                            "initialised cluster whose settings can be read (or are given in the item)"
                            % (index, cluster["data_directory"], "; ".join(fatal or cluster["errors"])))
    return problems


def run(module):
    """The module's result for validated params (no exit)."""
    gather = module.params["gather"]
    facts = {}
    host = {}
    clusters = []
    if "host" in gather:
        host = gather_host(module)
        facts["pghost_host"] = host
    if "clusters" in gather:
        declared = [dict((k, v) for k, v in item.items() if v is not None) for item in module.params["clusters"] or []]
        clusters, warnings = discover_clusters(module, declared or None)
        unusable = declared_problems(declared, clusters)
        if unusable:
            module.fail_json(msg="; ".join(unusable) + ". Nothing was written.", clusters=clusters)
        for warning in warnings:
            module.warn(warning)
        facts["pghost_clusters_found"] = clusters
    return dict(changed=False, host=host, clusters=clusters, ansible_facts=facts)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
