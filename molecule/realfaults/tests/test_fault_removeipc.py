"""Fault 5: logind's RemoveIPC and a real SSH login of the server's non-system
user (pgipc, uid 1500, cluster ipctest). When the login ends logind drops the
user and, with RemoveIPC=yes (its default), removes the user's POSIX shared
memory: the server's DSM control segment in /dev/shm, so every new connection
fails. The collection's drop-in sets RemoveIPC=no for such hosts.
"""

from conftest import observe


def test_without_logind_removes_the_servers_ipc(runs, name):
    run = runs["removeipc-without"]
    assert run["before"]["logind_remove_ipc"] == "b true", run["before"]["logind_remove_ipc"]
    assert run["before"]["view"]["query_rc"] == 0, run["before"]["view"]
    assert "State=" not in run["after"]["user_state"], "logind did not drop pgipc: %s" % run["after"]
    assert run["dsm_removed"], "logind removed nothing: %s" % run
    assert run["after"]["query_rc"] != 0 and "could not open shared memory segment" in run["after"]["query"], \
        run["after"]
    assert run["after"]["postmaster"]["pid"] == run["before"]["view"]["postmaster"]["pid"]
    assert run["rows_after"] == run["before"]["rows"]
    observe("%s without: after the SSH session ended logind removed %s; the postmaster kept running and new "
            "connections failed: %s (rows intact after a restart: %s)"
            % (name, ", ".join(run["dsm_removed"]), run["after"]["query"].splitlines()[-1], run["rows_after"]))


def test_with_the_session_ends_and_nothing_is_removed(runs, name):
    run = runs["removeipc-with"]
    assert run["before"]["logind_remove_ipc"] == "b false", run["before"]["logind_remove_ipc"]
    assert "State=" not in run["after"]["user_state"], "logind did not drop pgipc: %s" % run["after"]
    assert run["dsm_removed"] == [], run["dsm_removed"]
    assert run["after"]["dsm"] == run["before"]["view"]["dsm"]
    assert run["after"]["query_rc"] == 0, run["after"]
    assert run["after"]["postmaster"] == run["before"]["view"]["postmaster"] or \
        run["after"]["postmaster"]["pid"] == run["before"]["view"]["postmaster"]["pid"]
    assert "restarted_after" not in run
    assert run["rows_after"] == run["before"]["rows"]
    observe("%s with: the SSH session of pgipc ended, logind dropped the user, %d DSM files kept, queries work, "
            "%d rows" % (name, len(run["after"]["dsm"]), run["rows_after"]))
