# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oom_protect: P_PROTECTED in ps flags, per postmaster."""

from __future__ import annotations

import pytest
from fake_module import FakeModule

from ansible_collections.pghost.hardening.plugins.module_utils.oom_protect import (
    is_protected,
    protection_plan,
    protection_state,
    read_protection,
)

PS = "/bin/ps"
ARGV = (PS, "-o", "flags=", "-p", "4242")


@pytest.mark.parametrize("text, expected", [
    ("10104000", True),     # P_PROTECTED with other flags
    ("00100000", True),
    ("  100000\n", True),
    ("10004000", False),
    ("0", False),
    ("", False),
    ("zz", False),          # not hexadecimal: no flags, as Jinja's int(0, 16) read it
    (None, False),
])
def test_is_protected(text, expected):
    assert is_protected(text) is expected


@pytest.mark.parametrize("rc, text, state", [
    (0, "10104000", "protected"),
    (0, "10004000", "unprotected"),
    (1, "", "gone"),
    (0, "", "gone"),
])
def test_protection_state(rc, text, state):
    assert protection_state(rc, text) == state


def test_protection_plan_skips_postmasters_ps_did_not_read():
    plan = protection_plan([("a", 10, 0, "10104000\n"), ("b", 11, 0, "4000"), ("c", 12, 1, ""), ("d", 13, None, "")])
    assert plan == {
        "a": {"name": "a", "pid": 10, "state": "protected", "flags": "10104000"},
        "b": {"name": "b", "pid": 11, "state": "unprotected", "flags": "4000"},
        "c": {"name": "c", "pid": 12, "state": "gone", "flags": ""},
    }


@pytest.mark.parametrize("answer, expected", [
    ((0, "10104002\n", ""), {"state": "protected", "flags": "10104002", "error": None}),
    ((0, "10004002\n", ""), {"state": "unprotected", "flags": "10004002", "error": None}),
    # ps exits 1 and prints nothing when the process is gone
    ((1, "", ""), {"state": "gone", "flags": None, "error": None}),
    ((2, "", "ps: illegal option -- o\n"),
     {"state": None, "flags": None, "error": "/bin/ps -o flags= -p 4242 failed (rc 2): ps: illegal option -- o"}),
])
def test_read_protection_runs_the_roles_ps_read_once(answer, expected):
    module = FakeModule({ARGV: answer}, bins={"ps": PS})
    assert read_protection(module, 4242) == expected
    assert module.calls == [list(ARGV)]


def test_read_protection_without_ps_says_so():
    module = FakeModule(bins={})
    assert read_protection(module, 4242) == {"state": None, "flags": None, "error": "ps was not found on this host"}
    assert module.calls == []
