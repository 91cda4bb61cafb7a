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


def killed(run):
    """The processes the kernel's OOM killer killed in a run, as one phrase."""
    return ", ".join("%(comm)s %(pid)d (oom_score_adj %(oom_score_adj)d)" % k for k in run["oom_kills"])
