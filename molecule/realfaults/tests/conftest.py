"""What the probe saved on each VM, read once per test module."""

import json

import pytest


@pytest.fixture(scope="module")
def runs(host):
    return json.loads(host.check_output("python3 /root/realfaults_probe.py report"))


@pytest.fixture(scope="module")
def name(host):
    return host.backend.get_hostname()


def observe(message):
    print("OBSERVED: " + message)


def oom_lines(kernel_log):
    return [line for line in kernel_log.splitlines() if "Killed process" in line or "invoked oom-killer" in line]
