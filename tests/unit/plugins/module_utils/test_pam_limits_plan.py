# -*- coding: utf-8 -*-
"""pam_limits_plan: the module's decisions from plain data (what is wanted, whether the own file may be
rewritten, the outcome); plan() itself is covered in test_pam_limits.py."""

from __future__ import annotations

import re

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils.pam_limits import HEADER, UNLIMITED, Account, LimitsError
from ansible_collections.pghost.hardening.plugins.module_utils.pam_limits_plan import outcome, refusal, wanted

CONF = "/etc/security/limits.conf"
OWN = "/etc/security/limits.d/60-pghost-postgresql.conf"
POSTGRES = Account("postgres", 101, 103, frozenset({"postgres"}), frozenset({103}))
GHOST = Account("ghost", None, None, frozenset(), frozenset())
V15 = {"version": "15", "owner": "postgres", "name": "15/main", "shared_memory_size_in_huge_pages": 72}
PAM_D = {"su": "session    required   pam_limits.so\n"}


@pytest.mark.parametrize("clusters, users, memlock, names, items", [
    ([V15], [], "auto", ["postgres"], {"postgres": ["nofile", "nproc", "memlock"]}),
    ([V15], ["backup"], "auto", ["backup", "postgres"],
     {"postgres": ["nofile", "nproc", "memlock"], "backup": ["nofile", "nproc"]}),
    ([V15], [], "0", ["postgres"], {"postgres": ["nofile", "nproc"]}),
    ([{"owner": "postgres"}], [], "unlimited", ["postgres"], {"postgres": ["nofile", "nproc", "memlock"]}),
    ([], [], "auto", [], {}),
])
def test_wanted(clusters, users, memlock, names, items):
    want = wanted(clusters, users, 2048, 65536, 65536, memlock, 1048576)
    assert want.users == names
    assert dict((user, list(asked)) for user, asked in want.asked.items()) == items


@pytest.mark.parametrize("users, words", [
    (["@dba"], "users[0]: '@dba' is not a user name"),
    (["post gres"], "users[0]: 'post gres' is not a user name"),
])
def test_wanted_refuses_names_pam_limits_cannot_match(users, words):
    with pytest.raises(LimitsError, match=re.escape(words)):
        wanted([], users, 0, 65536, 65536, "auto", 1048576)


@pytest.mark.parametrize("text, refused", [
    ("", None),
    (HEADER + "postgres soft nofile 65536\n", None),
    (HEADER + "postgres soft core 0\n", "line 6 (postgres soft core 0) was not written by it"),
])
def test_refusal(text, refused):
    problem = refusal(OWN, text)
    assert (problem is None) is (refused is None)
    if refused:
        assert refused in problem and problem.endswith("nothing was written")


def run(users=("postgres",), own_text="", ceiling=None, pam_d=None, accounts=None):
    want = wanted([V15] if "postgres" in users else [], [u for u in users if u != "postgres"], 2048, 65536, 65536,
                  "auto", 1048576)
    accounts = accounts or dict((u, POSTGRES if u == "postgres" else GHOST) for u in want.users)
    return outcome(want, accounts, [(CONF, ""), (OWN, own_text)], OWN, own_text, {}, 1048576, ceiling,
                   PAM_D if pam_d is None else pam_d, "/etc/pam.d")


def test_outcome_first_then_second_run():
    first = run()
    assert first.changed and first.msg == "6 limit(s) changed in %s for postgres" % OWN
    assert first.services == ["su"] and first.warnings == []
    second = run(own_text=first.text)
    assert not second.changed and second.msg == "no change" and second.lines == []


@pytest.mark.parametrize("kwargs, warning", [
    ({"users": ("postgres", "ghost")}, "user ghost does not exist on this host (yet)"),
    ({"pam_d": {}}, "no service in /etc/pam.d loads pam_limits directly"),
    ({"ceiling": {"nofile": 20000, "nproc": 32768, "memlock": UNLIMITED}},
     "CAP_SYS_RESOURCE is not in this host's bounding set (a container?): no session can raise a hard limit above "
     "PID 1's (nofile 20000, nproc 32768, memlock unlimited)"),
])
def test_outcome_warnings(kwargs, warning):
    assert any(w.startswith(warning) for w in run(**kwargs).warnings), run(**kwargs).warnings


def test_outcome_without_users_leaves_the_file_alone():
    result = run(users=())
    assert not result.changed and result.text == ""
    assert result.msg == "no PostgreSQL OS user found and no users given: nothing to do"
