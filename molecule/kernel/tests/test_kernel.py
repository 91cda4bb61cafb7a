"""Role pg_kernel, read back from the live containers and the CI machine.

kernel.shm*/sem are per IPC namespace: their live values inside the
container must equal the file and the computation. vm.* and THP are global
to the kernel: the file must hold the computed values while the machine's
own values (recorded by prepare before anything ran) must not have moved.
"""

import json

import pytest

SYSCTL_FILE = "/etc/sysctl.d/60-pghost-postgresql.conf"
HOST_BEFORE = "/tmp/pghost-molecule-kernel-host-before.json"
HOST_GLOBAL_FILES = [
    "/proc/sys/vm/overcommit_memory", "/proc/sys/vm/overcommit_ratio", "/proc/sys/vm/overcommit_kbytes",
    "/proc/sys/vm/swappiness", "/proc/sys/vm/nr_hugepages",
    "/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/mm/transparent_hugepage/defrag",
]


@pytest.fixture(scope="module")
def plan(host):
    return json.loads(host.file("/root/pghost-kernel-plan.json").content_string)


@pytest.fixture(scope="module")
def persisted(host):
    """{key: value} and the raw text of the collection's sysctl file."""
    text = host.file(SYSCTL_FILE).content_string
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = (part.strip() for part in line.split("=", 1))
            values[key] = value
    return values, text


def live(host, name):
    return " ".join(host.check_output("sysctl -n %s" % name).split())


def test_file_is_owned_sorted_and_explains_each_key(persisted):
    values, text = persisted
    lines = text.splitlines()
    assert lines[0].startswith("# Managed by the pghost.hardening collection")
    settings = [i for i, line in enumerate(lines) if line and not line.startswith("#")]
    keys = [lines[i].split("=")[0].strip() for i in settings]
    assert keys == sorted(keys)
    for i in settings:
        assert lines[i - 1].startswith("# ") and len(lines[i - 1]) > 10, "no reason above %s" % lines[i]


def test_raised_sysv_limits_are_live_and_equal_file_and_computation(host, plan, persisted):
    values = persisted[0]
    # prepare set shmmax 40 and shmall 0, below the 56-byte interlock segment.
    assert int(values["kernel.shmmax"]) == plan["required"]["shmmax"] == int(live(host, "kernel.shmmax"))
    assert int(values["kernel.shmall"]) == plan["required"]["shmall"] == int(live(host, "kernel.shmall"))


def test_limits_already_higher_are_never_lowered(host, persisted):
    # prepare set these above the need (but below the kernel defaults).
    assert live(host, "kernel.shmmni") == "5000"
    assert live(host, "kernel.sem") == "300 40000 64 200"
    assert "kernel.shmmni" not in persisted[0] and "kernel.sem" not in persisted[0]


def test_global_vm_settings_are_persisted_with_the_computed_values(plan, persisted):
    values = persisted[0]
    assert values["vm.overcommit_memory"] == "2"
    assert int(values["vm.overcommit_ratio"]) == plan["required"]["overcommit_ratio"]
    assert values["vm.swappiness"] == "1"
    assert int(values["vm.nr_hugepages"]) == plan["required"]["nr_hugepages"] > 0
    assert "vm.overcommit_kbytes" not in values


def test_global_vm_settings_were_not_applied_and_the_run_said_so(plan, persisted):
    """not_applied_live lists exactly the vm.* keys whose persisted value
    differs from the kernel's (read here, on the machine the containers share)."""
    not_live = set(plan["not_applied_live"])
    vm_keys = sorted(key for key in persisted[0] if key.startswith("vm."))
    assert vm_keys, persisted[1]
    for key in vm_keys:
        with open("/proc/sys/" + key.replace(".", "/")) as handle:
            differs = handle.read().split() != persisted[0][key].split()
        assert (key in not_live) is differs, (key, persisted[0][key], sorted(not_live))
    assert not any(key.startswith("kernel.") for key in not_live)


def test_the_ci_machines_global_kernel_values_did_not_move():
    with open(HOST_BEFORE) as handle:
        before = json.load(handle)
    now = []
    for path in HOST_GLOBAL_FILES:
        with open(path) as handle:
            now.append(handle.read().strip())
    assert now == before


def test_thp_unit_is_installed_enabled_and_skipped_in_a_container(host):
    unit = host.service("pghost-thp.service")
    assert unit.is_enabled
    # ConditionVirtualization=!container keeps it from touching the machine's
    # THP. The role does not start it in a container, so start it here: the
    # condition must be evaluated and fail, and nothing must run.
    host.run_expect([0], "systemctl start pghost-thp.service")
    shown = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show -p ConditionResult -p ExecMainStartTimestampMonotonic -p ActiveState "
        "pghost-thp.service").splitlines())
    assert shown["ConditionResult"] == "no", shown
    assert shown["ExecMainStartTimestampMonotonic"] == "0", shown
    assert "transparent_hugepage/enabled" in host.file("/etc/systemd/system/pghost-thp.service").content_string
