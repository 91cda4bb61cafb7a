"""Fault 2 (seed 003): a process outside PostgreSQL exhausts memory the kernel
cannot refuse (overcommit 0 while it runs), so the OOM killer must choose.

Two servers on each VM, read before the pressure from /proc/PID/oom_score
(the kernel's badness, 0 = never chosen) and oom_score_adj:
- the Debian cluster: pg_ctlcluster, run as root by the unit, writes -900 for
  the postmaster itself (and PG_OOM_ADJUST_FILE for its children), so without
  the collection it is already scored far below its size, but still above 0;
- the hand-made unit (postgres -D, no OOMScoreAdjust): postmaster at 0, a
  candidate like any process of its size.
With the collection both postmasters are at -1000 (badness 0) and their
backends at 0, not an inherited -1000 that would make the kernel kill
everything else on the host first. On a 2 GiB VM the allocating process is by
far the largest, so the kernel picks it in both runs; the test asserts the
scores and the kernel's choice and says so, instead of arranging a victim.
"""

from conftest import killed, observe


def postgres_candidates(run):
    return [c for c in run["candidates_before"] if c["comm"] == "postgres"]


def test_without_the_postmasters_are_candidates(runs, name):
    run = runs["oomchoice-without"]
    assert run["oom_kills"], "no OOM kill happened: " + run["kernel_log"][-2000:]
    debian, plain = run["postmaster_before"], run["plain_postmaster_before"]
    assert debian["oom_score_adj"] > -1000 and debian["oom_score"] > 0, debian
    assert plain["oom_score_adj"] == 0 and plain["oom_score"] > 0, plain
    postmasters = (debian["pid"], plain["pid"])
    picked = [k for k in run["oom_kills"] if k["pid"] in postmasters]
    observe("%s without (%.0f s): Debian's postmaster %d at oom_score_adj %d (pg_ctlcluster's own) has kernel "
            "badness %d, the hand-made unit's postmaster %d at %d has %d: both candidates; the kernel killed %s%s; "
            "rows %d before, %s after"
            % (name, run["seconds"], debian["pid"], debian["oom_score_adj"], debian["oom_score"], plain["pid"],
               plain["oom_score_adj"], plain["oom_score"], killed(run),
               " -- a postmaster" if picked else
               " (the allocating process, the largest; not a postmaster this time)",
               run["rows_before"], run["rows_before_after"]))


def test_with_the_postmaster_is_never_a_candidate_and_backends_are_not_protected(runs, name):
    run = runs["oomchoice-with"]
    assert run["oom_kills"], "no OOM kill happened: " + run["kernel_log"][-2000:]
    pm, after = run["postmaster_before"], run["postmaster_after"]
    plain, plain_after = run["plain_postmaster_before"], run["plain_postmaster_after"]
    for postmaster, children in ((pm, run["backends_before"]), (plain, run["plain_backends_before"])):
        assert postmaster["oom_score_adj"] == -1000 and postmaster["oom_score"] == 0, postmaster
        assert children, "no backend to check"
        assert all(child["oom_score_adj"] == 0 for child in children), children
    assert all(k["pid"] not in (pm["pid"], plain["pid"]) for k in run["oom_kills"])
    assert all(k["oom_score_adj"] != -1000 for k in run["oom_kills"])
    assert (after["pid"], after["starttime"]) == (pm["pid"], pm["starttime"])
    assert (plain_after["pid"], plain_after["starttime"]) == (plain["pid"], plain["starttime"])
    assert run["settled"] == {"ready_by_itself": True}, run["settled"]
    assert run["rows_before_after"] == run["rows_before"]
    observe("%s with (%.0f s): both postmasters (%d, %d) at -1000 (badness 0), their %d and %d children at 0; "
            "the kernel killed %s; postmasters kept; rows %d before, %s after"
            % (name, run["seconds"], pm["pid"], plain["pid"], len(run["backends_before"]),
               len(run["plain_backends_before"]), killed(run), run["rows_before"], run["rows_before_after"]))
