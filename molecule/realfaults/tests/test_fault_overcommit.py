"""Fault 1 (seed 003): one backend asks for more memory than the VM has.

Without the collection the kernel's heuristic overcommit grants it, the OOM
killer SIGKILLs a process, and the postmaster ends every session to
reinitialize. With vm.overcommit_memory=2 and the computed ratio the request
fails inside PostgreSQL: one `ERROR: out of memory`, nothing killed.
"""

from conftest import killed, observe

SESSIONS_LOST = ("terminating connection because of crash of another server process",
                 "server closed the connection unexpectedly", "connection to server was lost")


def error_line(stderr):
    lines = stderr.strip().splitlines()
    return next((line for line in lines if "ERROR" in line), lines[0] if lines else "")


def describe(run):
    return ("overcommit_memory=%s, CommitLimit %s kB, MemTotal %s kB; %d rows committed before, "
            "%s after; %d writer commits acknowledged during, %s present after; %s of 3 held transactions committed"
            % (run["memory"]["sysctl"]["overcommit_memory"], run["memory"]["meminfo"]["CommitLimit"],
               run["memory"]["meminfo"]["MemTotal"], run["rows_before"], run["rows_before_after"],
               run["acked_during"], run["rows_during_after"], sum(1 for s in run["held"] if s["committed"])))


def test_without_the_oom_killer_ends_every_session(runs, name):
    run = runs["overcommit-without"]
    assert run["memory"]["sysctl"]["overcommit_memory"] == "0", "the baseline is Debian's heuristic overcommit"
    assert run["oom_kills"], "the allocation did not reach the OOM killer:\n" + run["hog"]["stderr"]
    assert "terminated by signal 9" in run["server_log"], run["server_log"][-3000:]
    assert "all server processes terminated; reinitializing" in run["server_log"]
    dropped = [s for s in run["held"] if not s["committed"]]
    assert dropped, "no other session was dropped: %s" % run["held"]
    assert all(any(text in s["output"] for text in SESSIONS_LOST) for s in dropped), dropped
    settled = run["settled"]
    if settled["ready_by_itself"]:
        after = "PostgreSQL reinitialized by itself"
    else:
        # Debian's unit keeps systemd's OOMPolicy=stop: the kill stops the unit.
        assert settled.get("started_again", {}).get("ready"), settled
        after = "systemd then stopped the unit (OOMPolicy=stop%s); started again by the test" % (
            ", the stop hung until killed" if settled["started_again"]["stop_stuck"] else "")
    # Committed rows are in the WAL; what was lost is the open transactions.
    assert run["rows_before_after"] == run["rows_before"]
    assert run["rows_during_after"] >= run["acked_during"]
    observe("%s without (%.0f s): the kernel killed %s; %s; %d of 3 other sessions lost their open "
            "transaction; %s" % (name, run["seconds"], killed(run), after, len(dropped), describe(run)))


def test_with_the_request_fails_inside_postgresql(runs, name):
    run = runs["overcommit-with"]
    assert run["memory"]["sysctl"]["overcommit_memory"] == "2", run["memory"]
    assert run["hog"]["rc"] != 0 and "out of memory" in run["hog"]["stderr"], run["hog"]
    assert run["oom_kills"] == [], run["kernel_log"][-3000:]
    before, after = run["postmaster_before"], run["postmaster_after"]
    assert (after["pid"], after["starttime"]) == (before["pid"], before["starttime"])
    assert run["settled"] == {"ready_by_itself": True}, run["settled"]
    for text in ("terminated by signal", "reinitializing", "database system was interrupted"):
        assert text not in run["server_log"], text
    assert all(s["committed"] for s in run["held"]), run["held"]
    assert run["rows_before_after"] == run["rows_before"]
    assert run["rows_held_after"] == 3
    assert run["rows_during_after"] >= run["acked_during"] > 0
    observe("%s with (%.0f s): `%s`; no OOM kill, postmaster %d kept, no crash restart; %s"
            % (name, run["seconds"], error_line(run["hog"]["stderr"]), after["pid"], describe(run)))
