# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail_ready.ready_checks and its filter jail_ready_checks: pg_jail's wait for PostgreSQL in a jail."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.filter import jail_ready_checks
from ansible_collections.pghost.hardening.plugins.module_utils.jail_ready import ready_checks

LOOP_VAR = "pg_jail_data_directory"
PG_ISREADY = "/usr/local/bin/pg_isready"


def cat(data_directory, stdout="", rc=0, **extra):
    """One registered result of `jexec JAIL cat DIR/postmaster.pid` in the role's loop."""
    return dict({"rc": rc, "stdout": stdout, "stdout_lines": stdout.splitlines(), LOOP_VAR: data_directory,
                 "ansible_loop_var": LOOP_VAR, "failed": False, "changed": False}, **extra)


def pid_text(port, socket_dir, listen_addr, pid="4242"):
    return "%s\n/db\n1700000000\n%s\n%s\n%s\n  5432001     65536\nready   " % (pid, port, socket_dir, listen_addr)


def test_one_check_per_server_with_its_port_and_host():
    out = ready_checks([cat("/db1", pid_text("5432", "/tmp", "localhost")),
                        cat("/db2", pid_text("5433", "", "192.0.2.13")),
                        cat("/db3", pid_text("5434", "", "*"))], "pg1")
    assert out == {"missing": [], "checks": [
        {"label": "port 5432", "argv": ["jexec", "pg1", PG_ISREADY, "-p", "5432", "-h", "/tmp"]},
        {"label": "port 5433", "argv": ["jexec", "pg1", PG_ISREADY, "-p", "5433", "-h", "192.0.2.13"]},
        {"label": "port 5434", "argv": ["jexec", "pg1", PG_ISREADY, "-p", "5434", "-h", "localhost"]},
    ]}


@pytest.mark.parametrize("result", [
    cat("/db2", rc=1, stdout=""),                                       # cat failed: no file yet
    cat("/db2", rc=1, stdout=pid_text("5433", "/tmp", "*")),            # rc decides, not the text
    cat("/db2", "4242\n/db\n1700000000\n5433\n/tmp\n"),                 # five lines: no listen address yet
    cat("/db2", pid_text("5433", "/tmp", "*", pid="")),                 # not a postmaster.pid
    cat("/db2", pid_text("", "/tmp", "*")),                             # no port to ask
    {"rc": 2, "msg": "[Errno 2] No such file or directory: b'jexec'", LOOP_VAR: "/db2",
     "ansible_loop_var": LOOP_VAR},                                     # jexec did not run: no stdout at all
])
def test_an_incomplete_pid_file_names_its_data_directory(result):
    out = ready_checks([cat("/db1", pid_text("5432", "/tmp", "*")), result], "pg1")
    assert out["missing"] == ["/db2"]
    assert [check["label"] for check in out["checks"]] == ["port 5432"]


def test_the_data_directory_comes_from_the_loop_variable_or_item():
    assert ready_checks([cat("/db9", rc=1)], "pg1")["missing"] == ["/db9"]
    assert ready_checks([{"rc": 1, "stdout": "", "item": "/db8"}], "pg1")["missing"] == ["/db8"]


@pytest.mark.parametrize("results", [[], None])
def test_no_data_directory_one_check_with_pg_isreadys_defaults(results):
    assert ready_checks(results, "pg4") == {"missing": [], "checks": [
        {"label": "default port", "argv": ["jexec", "pg4", PG_ISREADY]}]}


def test_filter_shell():
    filters = jail_ready_checks.FilterModule().filters()
    assert set(filters) == {"jail_ready_checks"}
    out = filters["jail_ready_checks"]([cat("/db1", pid_text("5433", "", "*"))], "pg3")
    argv = ["jexec", "pg3", PG_ISREADY, "-p", "5433", "-h", "localhost"]
    assert out["checks"] == [{"label": "port 5433", "argv": argv}]
