# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One data directory's stale-IPC cleanup, as the modules run it.

pg_ipc_cleanup runs it alone; pg_cluster_restart runs it between the stop
and the start of each cluster. Both go through cleanup() so that the checks
around ipc_cleanup's gather -> plan -> execute (the data directory,
postmaster.pid, the platform, the version, the check-mode and removal
rules) and the result are one implementation, not two that could drift.

cleanup() never calls fail_json or warn: it returns whether the caller must
fail, the result in pg_ipc_cleanup's RETURN shape, and a warning line, so a
caller can fail with its own context (the restart names the cluster and the
step).
"""

from __future__ import annotations

import os
from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils import ipc_cleanup, linux_ipc, postmaster
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles, current_platform
from ansible_collections.pghost.hardening.plugins.module_utils.versions import VersionError, parse_version

PUBLIC_KEYS = ("kind", "id", "key", "path", "handle", "size", "owner", "role", "reason")

Cleanup = namedtuple("Cleanup", ["failed", "result", "warning"])
# failed: the caller must fail with result["msg"]. result: pg_ipc_cleanup's
# return values (changed, state, removed, unattributed, notes, postmaster_pid,
# msg; diff once the objects are known). warning: one line about objects left
# alone, or None.


def public(objects):
    """The objects as the modules return them (without the planner's private keys)."""
    return [dict((k, o[k]) for k in PUBLIC_KEYS if k in o) for o in objects]


def diff(data_directory, before, after):
    header = "IPC objects of %s" % data_directory
    return dict(before=ipc_cleanup.diff_text(before), after=ipc_cleanup.diff_text(after),
                before_header=header, after_header=header)


def _version(given, files, data_directory, required):
    """(VersionInfo or None, error or None) from the version given, else PG_VERSION.
    Without either the version is None, an error only when required."""
    source = "version"
    if not given:
        given = (files.read(os.path.join(data_directory, "PG_VERSION")) or "").strip()
        source = "%s/PG_VERSION" % data_directory
        if not given:
            if not required:
                return None, None
            return None, "%s cannot be read; set version (the major version, e.g. '15')" % source
    try:
        return parse_version(given, source)[0], None
    except VersionError as exc:
        return None, str(exc)


def cleanup(data_directory, version=None, check_mode=False, files=None, platform=None, ipc=None):
    """Remove (check_mode: list) the stale IPC of one stopped cluster -> Cleanup.

    The rules are ipc_cleanup's; this adds what a caller needs around them:
    refuse a missing data directory, an unreadable or garbled postmaster.pid
    and other platforms than Linux, return at once after a clean stop, and
    never remove anything in check mode.
    """
    data_directory = data_directory.rstrip("/") or "/"
    files = files or HostFiles()
    platform = platform or current_platform()
    result = dict(changed=False, state=None, removed=[], unattributed=[], notes=[], postmaster_pid=None)

    def fail(msg):
        result["msg"] = msg
        return Cleanup(True, result, None)

    def clean_stop(msg, notes=None):
        result.update(state="clean_stop", msg=msg, notes=notes or [], diff=diff(data_directory, [], []))
        return Cleanup(False, result, None)

    dir_stat = files.stat(data_directory)
    if dir_stat is None or not files.isdir(data_directory):
        return fail("data_directory: %s does not exist or is not a directory" % data_directory)

    pid_path = os.path.join(data_directory, postmaster.PID_FILE)
    text = files.read(pid_path)
    pid_file = None
    clean = "%s: no postmaster.pid; the last stop was clean, nothing to do" % data_directory
    if text is None and files.exists(pid_path):
        return fail("%s exists but cannot be read; run the module with become" % pid_path)
    if platform != "linux":
        if text is None:
            return clean_stop(clean, ["stale SysV segments are looked for on Linux only"])
        return fail("pg_ipc_cleanup supports Linux only for now (found %s); %s is left as it is" % (platform, pid_path))
    if text is not None:
        try:
            pid_file = postmaster.parse_pid_file(text)
        except postmaster.PidFileError as exc:
            return fail("%s: %s; nothing was removed" % (pid_path, exc))
        result["postmaster_pid"] = pid_file.pid
    info, error = _version(version, files, data_directory, required=pid_file is not None)
    if error:
        return fail(error)
    if info is None:
        return clean_stop(clean, ["no PG_VERSION and no version given: stale SysV segments were not looked for"])

    # Looked up here, not at import, so that tests can stand in for the kernel.
    ipc = ipc or linux_ipc.LinuxIpc()
    snapshot = ipc_cleanup.gather(data_directory, info, pid_file, files=files, ipc=ipc, dir_stat=dir_stat)
    plan = ipc_cleanup.plan(snapshot)
    if plan.state == "clean_stop":
        return clean_stop(plan.msg, plan.notes)
    result.update(state=plan.state, unattributed=public(plan.unattributed), notes=plan.notes)
    if plan.state in ("running", "in_use"):
        return fail(plan.msg)

    before = plan.remove + plan.unattributed
    stays = "; postmaster.pid stays (PostgreSQL replaces a stale one)" if pid_file else ""
    if plan.state == "nothing_stale":
        result.update(msg=plan.msg, diff=diff(data_directory, before, plan.unattributed))
    elif check_mode:
        result.update(changed=True, removed=public(plan.remove), diff=diff(data_directory, before, plan.unattributed),
                      msg="would remove %s%s" % (plan.msg, stays))
    else:
        removed, gone, errors = ipc_cleanup.execute(plan.remove, ipc)
        result["notes"] = plan.notes + ["%s was already gone" % ipc_cleanup.describe(o) for o in gone]
        remaining = [o for o in plan.remove if o not in removed and o not in gone] + plan.unattributed
        result.update(changed=bool(removed), removed=public(removed), diff=diff(data_directory, before, remaining))
        if errors:
            return fail("could not remove all stale IPC of %s: %s" % (data_directory, "; ".join(errors)))
        result["msg"] = "removed %s%s" % (plan.msg, stays)
    warning = None
    if plan.unattributed:
        warning = ("%d IPC object(s) near %s were left alone: %s"
                   % (len(plan.unattributed), data_directory,
                      "; ".join(ipc_cleanup.describe(o) for o in plan.unattributed)))
    return Cleanup(False, result, warning)


def survey(data_directory, version=None, files=None, platform=None, ipc=None):
    """What a crashed cluster left behind, read without removing anything -> dict.

    The fleet audit's evidence for ipc.stale_leftovers (pg_service_units
    reads it for each cluster it finds crashed): the objects cleanup() would
    remove, the ones it would leave alone, and its message, so the report
    shows segment ids and sizes read live, not only the crash verdict.
    state is cleanup()'s plan state ("removed" means there is something to
    remove), or "unread" when the read itself failed (msg says why).
    """
    outcome = cleanup(data_directory, version, check_mode=True, files=files, platform=platform, ipc=ipc)
    result = outcome.result
    return dict(state="unread" if outcome.failed and result.get("state") is None else result.get("state"),
                objects=result.get("removed") or [], unattributed=result.get("unattributed") or [],
                msg=result.get("msg"))
