# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `clusters` option, documented once for the modules that take it.

The suboptions match module_utils/cluster_spec.py's cluster_argument_spec():
pghost.hardening.clusters (every key pg_host_facts reports, none required)
for the modules fed pghost_clusters_found, pghost.hardening.clusters.declared
(what a user declares, data_directory required) for pg_host_facts;
pghost.hardening.clusters.filter_input for filters that read the clusters. A module
keeps its own description of the option, and required or default; Ansible
merges the module's keys over the fragment's.
"""

from __future__ import annotations


class ModuleDocFragment(object):
    # ansible-test reads each fragment as one string literal, so the declared
    # suboptions are written in both; tests/unit/plugins/doc_fragments/
    # test_clusters_fragment.py keeps both equal to cluster_argument_spec().
    DOCUMENTATION = r"""
options:
  clusters:
    type: list
    elements: dict
    suboptions:
      data_directory:
        description: The cluster's data directory (where C(PG_VERSION) lives).
        type: path
      name:
        description: Name to report; default the Debian C(VERSION/NAME), the unit or the data directory.
        type: str
      version:
        description: Major version, used when C(PG_VERSION) cannot be read.
        type: str
      unit:
        description: The systemd unit that runs the cluster.
        type: str
      owner:
        description: User that owns the cluster; default the owner of the data directory.
        type: str
      port:
        description: Port; a running server's C(postmaster.pid) takes precedence.
        type: int
      config_dir:
        description:
          - Directory holding C(postgresql.conf) when it is not the data
            directory (Debian C(/etc/postgresql/VERSION/NAME)); passed to C(postgres -D).
        type: path
      max_connections:
        description: Declared C(max_connections).
        type: int
      autovacuum_max_workers:
        description: Declared C(autovacuum_max_workers).
        type: int
      max_worker_processes:
        description: Declared C(max_worker_processes).
        type: int
      max_wal_senders:
        description: Declared C(max_wal_senders).
        type: int
      shared_buffers:
        description: Declared C(shared_buffers) with its unit, for example C(4GB).
        type: str
      shared_memory_type:
        description: Declared C(shared_memory_type).
        type: str
      dynamic_shared_memory_type:
        description: Declared C(dynamic_shared_memory_type).
        type: str
      huge_pages:
        description: Declared C(huge_pages).
        type: str
      huge_page_size:
        description: Declared C(huge_page_size) (C(0) or with a unit, for example C(2MB)).
        type: str
      shared_memory_size_mb:
        description: Declared C(shared_memory_size) in MB.
        type: int
      shared_memory_size_in_huge_pages:
        description: Declared C(shared_memory_size_in_huge_pages).
        type: int
      num_os_semaphores:
        description: Declared C(num_os_semaphores).
        type: int
      config_file:
        description: The main C(postgresql.conf), as M(pghost.hardening.pg_host_facts) reports it.
        type: str
      rc_name:
        description: FreeBSD rc script name, as M(pghost.hardening.pg_host_facts) reports it.
        type: str
      running:
        description: Whether the postmaster runs, as M(pghost.hardening.pg_host_facts) reports it.
        type: bool
      pid:
        description: Postmaster pid when running, as M(pghost.hardening.pg_host_facts) reports it.
        type: int
      settings_source:
        description: Where M(pghost.hardening.pg_host_facts) read the settings from.
        type: str
      server_version:
        description: The server's release as C(SHOW server_version) prints it, as M(pghost.hardening.pg_host_facts) reports it.
        type: str
      data_sync_retry:
        description: C(on) or C(off), null where the release has no such setting, as M(pghost.hardening.pg_host_facts) reports it.
        type: str
      oom_protection:
        description: FreeBSD - whether the running postmaster has protect(1)'s flag, as M(pghost.hardening.pg_host_facts) reports it.
        type: dict
      login_class:
        description: FreeBSD - the server user's login class and its limits, as M(pghost.hardening.pg_host_facts) reports it.
        type: dict
      errors:
        description: What M(pghost.hardening.pg_host_facts) could not read for this cluster.
        type: list
        elements: str
"""

    DECLARED = r"""
options:
  clusters:
    type: list
    elements: dict
    suboptions:
      data_directory:
        description: The cluster's data directory (where C(PG_VERSION) lives).
        type: path
        required: true
      name:
        description: Name to report; default the Debian C(VERSION/NAME), the unit or the data directory.
        type: str
      version:
        description: Major version, used when C(PG_VERSION) cannot be read.
        type: str
      unit:
        description: The systemd unit that runs the cluster.
        type: str
      owner:
        description: User that owns the cluster; default the owner of the data directory.
        type: str
      port:
        description: Port; a running server's C(postmaster.pid) takes precedence.
        type: int
      config_dir:
        description:
          - Directory holding C(postgresql.conf) when it is not the data
            directory (Debian C(/etc/postgresql/VERSION/NAME)); passed to C(postgres -D).
        type: path
      max_connections:
        description: Declared C(max_connections).
        type: int
      autovacuum_max_workers:
        description: Declared C(autovacuum_max_workers).
        type: int
      max_worker_processes:
        description: Declared C(max_worker_processes).
        type: int
      max_wal_senders:
        description: Declared C(max_wal_senders).
        type: int
      shared_buffers:
        description: Declared C(shared_buffers) with its unit, for example C(4GB).
        type: str
      shared_memory_type:
        description: Declared C(shared_memory_type).
        type: str
      dynamic_shared_memory_type:
        description: Declared C(dynamic_shared_memory_type).
        type: str
      huge_pages:
        description: Declared C(huge_pages).
        type: str
      huge_page_size:
        description: Declared C(huge_page_size) (C(0) or with a unit, for example C(2MB)).
        type: str
      shared_memory_size_mb:
        description: Declared C(shared_memory_size) in MB.
        type: int
      shared_memory_size_in_huge_pages:
        description: Declared C(shared_memory_size_in_huge_pages).
        type: int
      num_os_semaphores:
        description: Declared C(num_os_semaphores).
        type: int
"""

    # The clusters as a filter's input (pg_service's and pg_limits' FreeBSD filters).
    FILTER_INPUT = r"""
options:
  _input:
    description: The clusters, as in the C(pghost_clusters_found) fact of M(pghost.hardening.pg_host_facts).
    type: list
    elements: dict
    required: true
"""
