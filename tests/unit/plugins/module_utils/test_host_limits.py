# -*- coding: utf-8 -*-
"""host_limits: the one reader of /proc/<pid>/limits and of systemd's Limit* / DefaultLimit* properties."""

from __future__ import annotations

import os

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils import host_limits
from ansible_collections.pghost.hardening.plugins.module_utils.systemd_ini import parse_show

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "systemd")
INF = host_limits.INFINITY


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.parametrize("text, limits", [
    (fixture("proc-limits-postmaster"), {"nofile": (1024, 20000), "nproc": (32768, 32768),
                                         "memlock": (8388608, 8388608)}),
    ("Max locked memory         1023                 unlimited            bytes\n", {"memlock": (1023, INF)}),
    ("Max open files            lots                 20000                files\n", {}),
    ("Max open files            1024\n", {}),
    (None, {}),
])
def test_parse_proc_limits(text, limits):
    assert host_limits.parse_proc_limits(text) == limits


def test_manager_limits():
    show = {"DefaultLimitNOFILE": "524288", "DefaultLimitNOFILESoft": "1024", "DefaultLimitNPROC": "infinity",
            "DefaultLimitMEMLOCK": "8388608", "DefaultLimitMEMLOCKSoft": "8388608"}
    assert host_limits.manager_limits(show) == {"nofile": (1024, 524288), "nproc": (INF, INF),
                                                "memlock": (8388608, 8388608)}


def test_manager_limits_gaps_and_bad_values_are_left_out():
    show = parse_show("DefaultLimitMEMLOCK=infinity\nDefaultLimitMEMLOCKSoft=1025\nDefaultLimitNPROC=\n"
                      "DefaultLimitNOFILE=524288\nDefaultLimitNOFILESoft=8M\n")[0]
    assert host_limits.manager_limits(show) == {"memlock": (1025, INF)}


def test_unit_limits_from_systemctl_show():
    shown = parse_show("LimitNOFILE=524288\nLimitNOFILESoft=65536\nLimitNPROC=65536\nLimitNPROCSoft=65536\n"
                       "LimitMEMLOCK=infinity\nLimitMEMLOCKSoft=infinity\n")[0]
    assert host_limits.show_limits(shown) == {"nofile": (65536, 524288), "nproc": (65536, 65536), "memlock": (INF, INF)}
    assert host_limits.show_limits({}) == {}


def test_manager_properties_in_the_order_systemctl_is_asked():
    assert host_limits.MANAGER_PROPERTIES == (
        "DefaultLimitNOFILE", "DefaultLimitNOFILESoft", "DefaultLimitNPROC", "DefaultLimitNPROCSoft",
        "DefaultLimitMEMLOCK", "DefaultLimitMEMLOCKSoft")
