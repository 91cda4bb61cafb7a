"""Fault 4 (seed 002): kill -9 of the postmaster under pgbench load, then a
start. What the kill leaves (the SysV segment of postmaster.pid line 7, and
the DSM files in /dev/shm that the cluster's processes had mapped) is read
from /proc/sysvipc/shm, /proc/PID/maps and /dev/shm; what the next start did
with it, from the same places and the server log.

Measured on PostgreSQL 15 and 17: a plain `systemctl start` removes both
leftovers itself (the old segment is found again under the same key and
dropped once nothing is attached; the old DSM control segment's handle in it
lets the server unlink the DSM files). The baseline pins that; it is not a
fault the collection rescues on these versions. With the collection the site
playbook's restart path (pg_ipc_cleanup's cleanup, then start) brings the crashed
cluster back with nothing left over, without an operator's start.
"""

from conftest import observe

RECOVERY = ("database system was interrupted", "database system was not properly shut down",
            "automatic recovery in progress")


def leftovers(kill):
    return "segment %s (nattch %s), %d DSM files" % (
        kill["pid_file_shmid"], ",".join(seg["nattch"] for seg in kill["left_segment"]) or "gone",
        len(kill["left_dsm"]))


def check_kill(kill):
    assert kill["left_segment"], "the kill left no SysV segment: %s" % kill
    assert all(seg["nattch"] == "0" for seg in kill["left_segment"]), kill["left_segment"]
    assert kill["left_dsm"], "the kill left no DSM file"
    # The postmaster's children notice its death, and systemd ends the rest of the unit.
    assert kill["children_before_kill"] > 0
    assert kill["children_left"] == [], kill["children_left"]


def check_recovered(after):
    assert after["ready_again"], after["unit_log"][-3000:]
    assert any(text in after["server_log"] for text in RECOVERY), after["server_log"][-3000:]
    assert after["rows_before_after"] == 5000
    assert after["pgbench_reported"] is None or after["history_after"] - after["history_before"] >= \
        after["pgbench_reported"]


def check_nothing_left(after):
    assert after["old_segment_still_there"] == [], after["old_segment_still_there"]
    assert after["old_dsm_still_there"] == [], after["old_dsm_still_there"]


def kept(after):
    return "rows %d of 5000 kept, pgbench history %d of %s acknowledged" % (
        after["rows_before_after"], after["history_after"] - after["history_before"], after["pgbench_reported"])


def test_without_the_kill_leaves_ipc_and_a_plain_start_removes_it(runs, name):
    kill, after = runs["sigkill-kill-without"], runs["sigkill-after-without"]
    check_kill(kill)
    check_recovered(after)
    # PostgreSQL copes by itself on these versions; pinned, so a change shows.
    check_nothing_left(after)
    observe("%s without: the kill left %s; the operator's `systemctl start` took %.1f s, ran crash recovery "
            "and removed the old segment and DSM files itself (PostgreSQL copes; no rescue to claim); %s"
            % (name, leftovers(kill), after["start_seconds"], kept(after)))


def test_with_the_restart_path_leaves_nothing(runs, name):
    kill, after = runs["sigkill-kill-with"], runs["sigkill-after-with"]
    check_kill(kill)
    check_recovered(after)
    check_nothing_left(after)
    observe("%s with: the kill left %s; the site playbook's restart path recovered the cluster (%.1f s to "
            "ready after it) and neither is left; %s" % (name, leftovers(kill), after["start_seconds"], kept(after)))
