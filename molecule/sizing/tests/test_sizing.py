"""Prove the computed SysV and huge page figures against the live server.

converge left the cluster running with shared_memory_type = sysv and wrote
what pg_host_facts and pg_kernel_params computed to /root/pghost-sizing.json.
Here the kernel limits (per IPC namespace in this privileged container) are
set to exactly the computed values and to 10% less, and the real server is
restarted under each: it must start under the first and fail with
PostgreSQL's shared memory error under the second.
"""

import json

import pytest

REPORT = "/root/pghost-sizing.json"


@pytest.fixture(scope="module")
def report(host):
    return json.loads(host.file(REPORT).content_string)


@pytest.fixture(scope="module")
def cluster(report):
    (only,) = report["facts_sysv"]
    return only


def psql(host, sql):
    return host.check_output("su postgres -c \"psql -XAtc '%s'\"" % sql)


def segment_bytes(host):
    """Sizes of the SysV segments postgres owns, read from ipcs -m."""
    sizes = []
    for line in host.check_output("ipcs -m").splitlines():
        fields = line.split()
        # key shmid owner perms bytes nattch [status]
        if len(fields) >= 6 and fields[2] == "postgres" and fields[4].isdigit():
            sizes.append(int(fields[4]))
    return sizes


def set_limits(host, shmmax, shmall):
    host.check_output("sysctl -q -w kernel.shmmax=%d kernel.shmall=%d" % (shmmax, shmall))
    assert int(host.check_output("sysctl -n kernel.shmmax")) == shmmax
    assert int(host.check_output("sysctl -n kernel.shmall")) == shmall


def restart(host, unit):
    return host.run("systemctl restart %s" % unit)


def test_server_runs_with_sysv_shared_memory(host):
    assert psql(host, "SHOW shared_memory_type") == "sysv"


def test_computed_shmmax_is_within_5_percent_above_the_real_segment(host, report):
    sizes = segment_bytes(host)
    assert len(sizes) == 1, "expected one SysV segment owned by postgres, ipcs -m shows %s" % sizes
    real = sizes[0]
    shmmax = report["plan_sysv"]["shmmax"]
    assert real <= shmmax <= real * 1.05, "computed shmmax %d vs real segment %d bytes" % (shmmax, real)


def test_shmall_covers_the_segment_in_pages(host, report):
    page = int(host.check_output("getconf PAGE_SIZE"))
    (real,) = segment_bytes(host)
    assert report["plan_sysv"]["shmall"] == -(-report["plan_sysv"]["shmmax"] // page)
    assert report["plan_sysv"]["shmall"] * page >= real


def test_server_starts_under_exactly_the_computed_limits(host, report, cluster):
    set_limits(host, report["plan_sysv"]["shmmax"], report["plan_sysv"]["shmall"])
    result = restart(host, cluster["unit"])
    assert result.rc == 0, result.stderr
    assert psql(host, "SELECT 1") == "1"
    assert len(segment_bytes(host)) == 1


@pytest.mark.parametrize("lowered", ["shmmax", "shmall"])
def test_server_refuses_to_start_with_10_percent_less(host, report, cluster, lowered):
    want = dict(shmmax=report["plan_sysv"]["shmmax"], shmall=report["plan_sysv"]["shmall"])
    log = "/var/log/postgresql/postgresql-%s-main.log" % cluster["version"]
    lines_before = len(host.file(log).content_string.splitlines())
    host.check_output("systemctl stop %s" % cluster["unit"])
    try:
        limits = dict(want)
        limits[lowered] = want[lowered] * 9 // 10
        set_limits(host, limits["shmmax"], limits["shmall"])
        result = restart(host, cluster["unit"])
        assert result.rc != 0, "server started with %s 10%% below the computed value" % lowered
        new_lines = "\n".join(host.file(log).content_string.splitlines()[lines_before:])
        assert "could not create shared memory segment" in new_lines, new_lines
    finally:
        set_limits(host, want["shmmax"], want["shmall"])
        assert restart(host, cluster["unit"]).rc == 0


# Huge pages: the plan takes the server's own shared_memory_size_in_huge_pages,
# so comparing the two here would compare that figure with itself, and a
# container cannot reserve huge pages to start the server on them. The
# real-kernel VMs prove it: molecule/realkernel's
# test_server_starts_on_exactly_the_computed_huge_pages_and_not_one_fewer.


def test_no_sysv_semaphores_are_required_on_linux(report):
    # PostgreSQL 10+ uses POSIX semaphores on Linux (docs/postgres-kernel-facts.md §2).
    assert report["plan_sysv"]["semaphores"] == 0
    assert report["plan_sysv"]["semmni"] == 0
