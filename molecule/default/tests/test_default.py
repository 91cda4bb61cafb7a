"""Live checks on every platform of the default scenario.

Reads state from the running container (PID 1, systemd's view of the unit,
the postmaster's /proc entry, a real query over the socket and a TCP probe),
not from files Ansible wrote.
"""

import pytest


@pytest.fixture(scope="module")
def major(host):
    return str(host.ansible.get_variables()["pghost_expected_major"])


@pytest.fixture(scope="module")
def unit(major):
    return "postgresql@%s-main.service" % major


def test_systemd_is_pid_1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_cluster_unit_is_active_under_systemd(host, unit):
    state = host.check_output("systemctl show -p ActiveState -p SubState --value %s", unit)
    assert state.split() == ["active", "running"]


def test_postmaster_is_the_units_main_process(host, unit, major):
    pid = int(host.check_output("systemctl show -p MainPID --value %s", unit))
    assert pid > 0, "systemd reports no main process for %s" % unit
    assert host.file("/proc/%d/comm" % pid).content_string.strip() == "postgres"
    exe = host.check_output("readlink /proc/%d/exe" % pid)
    assert exe == "/usr/lib/postgresql/%s/bin/postgres" % major


def test_server_answers_a_query_over_the_local_socket(host, major):
    out = host.check_output(
        "su postgres -c \"psql -XAtc 'SHOW server_version_num'\""
    )
    assert out[: len(major)] == major and len(out) == len(major) + 4


def test_server_accepts_tcp_connections_on_localhost(host):
    cmd = host.run("pg_isready -h 127.0.0.1 -p 5432 -t 10")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
