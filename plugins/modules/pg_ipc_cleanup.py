#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remove the IPC a crashed PostgreSQL postmaster left behind (thin shell over module_utils/ipc_cleanup_run.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_ipc_cleanup
short_description: Remove the stale IPC of one PostgreSQL data directory after an unclean stop
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - After an unclean stop (the postmaster died; C(postmaster.pid) is still there
    or, see below, was removed by Debian's tools), removes only the IPC objects that belong to O(data_directory) and that no
    process uses any more - the SysV shared memory segment named on line 7 of
    C(postmaster.pid), the dynamic shared memory (DSM) segments listed in its
    control segment (C(/dev/shm/PostgreSQL.<handle>), or SysV segments with
    C(dynamic_shared_memory_type=sysv)), the control segment itself, and SysV
    semaphore sets the dead postmaster created.
  - The rules are the ones PostgreSQL applies itself at its next start, so
    the module never removes more than the server would. A SysV segment is
    the cluster's only when its header carries PostgreSQL's magic number and
    the device and inode of the data directory (C(src/backend/port/sysv_shmem.c));
    DSM segments are those the control segment lists with a non-zero reference
    count, minus those in the main region from 14 on (C(src/backend/storage/ipc/dsm.c));
    a semaphore set is the dead postmaster's when its last semaphore holds
    C(PGSemaMagic) (537) and that semaphore's last PID is the one in
    C(postmaster.pid) (C(src/backend/port/sysv_sema.c)).
  - A POSIX segment is also left alone if any process maps it or holds it open
    (C(/proc/*/maps), C(/proc/*/fd), compared by device and inode), or if it is
    not owned by the owner of the data directory.
  - Refuses (fails, RV(state=running)) while the postmaster runs - the PID on
    line 1 of C(postmaster.pid) is a C(postgres) process whose working directory
    or C(-D) is the data directory; a reused PID does not count.
  - Refuses (fails, RV(state=in_use)) while the cluster's SysV segment still has
    attached processes (backends that outlived the postmaster), naming the
    attach count and the PIDs.
  - When the last stop was clean it returns at once, RV(state=clean_stop), so
    it can sit in a restart path between stopping and starting the unit.
    Without C(postmaster.pid) it reads only C(/proc/sysvipc/shm) and the
    header of each unattached segment of the data directory's owner - Debian's
    C(pg_ctlcluster) deletes a stale C(postmaster.pid) when systemd runs the
    unit's C(ExecStop) after the postmaster was killed, leaving the segment and
    the DSM files behind (seen with Debian's 15 and 17), so a missing
    C(postmaster.pid) alone does not prove a clean stop. A segment found that
    way is handled as above, with the C(creatorPID) of its header standing in
    for the PID of C(postmaster.pid).
  - Leaves C(postmaster.pid) itself in place - PostgreSQL recognises and
    replaces a stale lock file at start.
options:
  data_directory:
    description: The cluster's data directory (where C(PG_VERSION) and C(postmaster.pid) live).
    type: path
    required: true
  version:
    description:
      - Major version (for example C(15) or C(9.6)); it selects the layout of the
        segment header and of the DSM control segment. Default - read from
        C(PG_VERSION) in the data directory.
    type: str
notes:
  - Run it with C(become) (root, or the cluster owner). Reading another
    user's C(/proc/<pid>/cwd) and the SysV segment header needs it.
  - Run it on the host (or in the container) where the cluster runs - SysV
    IPC, C(/dev/shm) and PIDs are per namespace.
  - DSM files that cannot be attributed to the cluster exactly (its SysV
    segment or DSM control segment is already gone, or the control segment is
    not sane) are only reported in RV(unattributed), never removed; another
    cluster of the same owner could own them. PostgreSQL itself would not
    remove them either.
  - C(dynamic_shared_memory_type=mmap) segments (files under
    C(pg_dynshmem/) in the data directory) are not touched; PostgreSQL removes
    them at start.
  - The SysV semaphore path is for builds that use SysV semaphores (9.6 and
    older, other platforms); Debian's and PGDG's Linux builds of 10 and later
    use unnamed POSIX semaphores inside the main shared memory area, so there
    is nothing to remove. That path is covered by unit tests with recorded
    C(/proc/sysvipc/sem) only, not exercised live.
  - Header and DSM control segment layouts were read back live on x86_64 from
    Debian's 15 and 17; the 10-13 item layout comes from PostgreSQL 13's source
    and 10-derived trees, the 9.4-9.6 one from 9.6-derived trees (9.4 and 9.5
    not checked). A control segment whose size does not fit the version's
    layout is treated as not sane and left alone, as PostgreSQL does with one
    it cannot read.
requirements:
  - Linux (C(/proc/sysvipc), C(/proc/<pid>/maps)).
attributes:
  check_mode:
    details: Reports what would be removed, with a diff; removes nothing.
    support: full
  diff_mode:
    details: Lists the IPC objects of the data directory before and after.
    support: full
  platform:
    platforms: [linux]
extends_documentation_fragment:
  - pghost.hardening.attributes
seealso:
  - module: pghost.hardening.pg_host_facts
"""

EXAMPLES = r"""
- name: Remove what a crashed postmaster left, between stop and start
  pghost.hardening.pg_ipc_cleanup:
    data_directory: /var/lib/postgresql/15/main
  become: true

- name: See what would be removed
  pghost.hardening.pg_ipc_cleanup:
    data_directory: /var/lib/postgresql/15/main
  check_mode: true
  diff: true
  become: true
  register: ipc

- name: Report objects that could not be attributed
  ansible.builtin.debug:
    var: ipc.unattributed
  when: ipc.unattributed | length > 0
"""

RETURN = r"""
state:
  description:
    - C(clean_stop) - no C(postmaster.pid) and no unattached SysV segment of the data directory; nothing changed.
    - C(running) - the postmaster runs; the module failed.
    - C(in_use) - the dead postmaster's SysV segment still has attached processes; the module failed.
    - C(removed) - stale objects were removed (in check mode - would be removed).
    - C(nothing_stale) - C(postmaster.pid) is stale but no IPC object of the cluster is left.
  returned: always
  type: str
  sample: removed
removed:
  description: The objects removed (in check mode, those that would be), in the order of removal.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: C(sysv_shm), C(sysv_sem) or C(posix_shm).
      type: str
    id:
      description: SysV shmid or semid.
      type: int
    key:
      description: SysV key.
      type: int
    path:
      description: Path of a POSIX segment.
      type: str
    handle:
      description: DSM handle of a POSIX segment.
      type: int
    size:
      description: Bytes (shared memory) or number of semaphores (semaphore set).
      type: int
    owner:
      description: Owning user.
      type: str
    role:
      description: C(interlock segment), C(main shared memory segment), C(dsm segment), C(dsm control segment) or C(semaphore set).
      type: str
  sample:
    - {kind: posix_shm, path: /dev/shm/PostgreSQL.1804289382, handle: 1804289382, size: 1048576,
       owner: postgres, role: dsm segment}
    - {kind: posix_shm, path: /dev/shm/PostgreSQL.2921233048, handle: 2921233048, size: 26976,
       owner: postgres, role: dsm control segment}
    - {kind: sysv_shm, id: 0, key: 2081270, size: 56, owner: postgres, role: interlock segment}
unattributed:
  description: Objects seen but left alone, each with a C(reason) (same keys as RV(removed)).
  returned: always
  type: list
  elements: dict
notes:
  description: What was found already gone or skipped, one line each.
  returned: always
  type: list
  elements: str
postmaster_pid:
  description: The PID in C(postmaster.pid); null when there is none (RV(msg) then names the header's C(creatorPID)).
  returned: always
  type: int
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: "removed 3 stale IPC object(s) of /var/lib/postgresql/15/main (postmaster.pid: pid 61)"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pghost.hardening.plugins.module_utils import ipc_cleanup_run
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles, current_platform


def main():
    module = AnsibleModule(
        argument_spec=dict(
            data_directory=dict(type="path", required=True),
            version=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    outcome = ipc_cleanup_run.cleanup(module.params["data_directory"], module.params["version"], module.check_mode,
                                      files=HostFiles(), platform=current_platform())
    if outcome.failed:
        module.fail_json(**outcome.result)
    if outcome.warning:
        module.warn(outcome.warning)
    module.exit_json(**outcome.result)


if __name__ == "__main__":
    main()
