# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""logind: RemoveIPC from logind configuration texts, system users, and the verdict
for the server users (docs/postgres-kernel-facts.md §5)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils import logind
from ansible_collections.pghost.hardening.plugins.module_utils.logind import remove_ipc_from

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


def fixture_text(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


@pytest.mark.parametrize("texts, expected", [
    ([fixture_text("trees", "linux-podman-bookworm", "etc", "systemd", "logind.conf")], None),
    (["[Login]\nRemoveIPC=no\n"], "no"),
    (["[Login]\nRemoveIPC=no\n", "[Login]\nRemoveIPC=yes\n"], "yes"),
    (["[Login]\nRemoveIPC=false\n"], "no"),
    (["[Login]\nRemoveIPC = off\n"], "no"),
    (["[Login]\nRemoveIPC=no\n", "[Login]\nRemoveIPC=maybe\n"], "no"),
    (["[Other]\nRemoveIPC=no\n"], None),
    (["RemoveIPC=no\n"], None),
    (["[Login]\n; RemoveIPC=no\n# RemoveIPC=no\n"], None),
])
def test_remove_ipc_from(texts, expected):
    assert remove_ipc_from(texts) == expected


@pytest.mark.parametrize("text, limit", [
    ("UID_MIN\t\t\t 1000\n#SYS_UID_MIN\t\t  100\n#SYS_UID_MAX\t\t  999\n", 999),  # Debian's, recorded
    ("SYS_UID_MAX 499\nUID_MIN 500\n", 499),
    ("UID_MIN 500\n", 499),
    ("", 999),
])
def test_system_uid_max(text, limit):
    assert logind.system_uid_max(text) == limit


@pytest.mark.parametrize("owners, remove_ipc, needed, words", [
    ({"postgres": {"uid": 101, "system": True}}, "yes", False, "already safe: every server user"),
    ({"pgipc": {"uid": 1500, "system": False}}, "yes", True, "RemoveIPC=yes would delete"),
    ({"pgipc": {"uid": 1500, "system": False}}, "no", False, "RemoveIPC=no is in force"),
    ({"pgipc": {"uid": 1500, "system": False}}, None, False, "not installed"),
    ({}, "yes", False, "no server user"),
])
def test_remove_ipc_verdict(owners, remove_ipc, needed, words):
    verdict = logind.remove_ipc_verdict(owners, remove_ipc)
    assert verdict[0] is needed
    assert words in verdict[1]
