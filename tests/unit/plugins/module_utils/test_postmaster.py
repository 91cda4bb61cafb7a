# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""postmaster.pg_isready_args: where pg_isready finds the server of a postmaster.pid."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils.postmaster import parse_pid_file, pg_isready_args


def pid_text(port, socket_dir, listen_addr):
    return "4242\n/var/db/postgres/data16\n1700000000\n%s\n%s\n%s\n" % (port, socket_dir, listen_addr)


@pytest.mark.parametrize("port, socket_dir, listen_addr, expected", [
    ("5432", "/tmp", "localhost", ["-p", "5432", "-h", "/tmp"]),       # the socket directory wins
    ("5432", "/tmp", "192.0.2.13", ["-p", "5432", "-h", "/tmp"]),
    ("5433", "", "192.0.2.13", ["-p", "5433", "-h", "192.0.2.13"]),   # no Unix socket: the listen address
    ("5434", "", "*", ["-p", "5434", "-h", "localhost"]),             # every address: pg_isready cannot use *
    ("5435", "", "", ["-p", "5435", "-h", "localhost"]),              # neither: localhost
    ("5436", "", "::1", ["-p", "5436", "-h", "::1"]),
])
def test_pg_isready_args(port, socket_dir, listen_addr, expected):
    assert pg_isready_args(parse_pid_file(pid_text(port, socket_dir, listen_addr))) == expected


def test_pg_isready_args_of_a_running_servers_pid_file_with_padded_status():
    text = pid_text("5432", "/tmp", "*") + "  5432001     65536\nready   \n"
    assert pg_isready_args(parse_pid_file(text)) == ["-p", "5432", "-h", "/tmp"]
