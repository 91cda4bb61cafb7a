# -*- coding: utf-8 -*-
"""jail_ipc_plan: what pg_jail_ipc writes, from texts alone (the module's reading and writing are
covered by tests/unit/plugins/modules/test_pg_jail_ipc.py)."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils import jail_ipc_plan
from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import effective_ipc
from ansible_collections.pghost.hardening.plugins.module_utils.jail_ipc_plan import IpcError, plan

MAIN = "/etc/jail.conf"
CONF_D = "/etc/jail.conf.d"
NEW = {"sysvshm": "new", "sysvsem": "new", "sysvmsg": "new"}
DISABLE = {"sysvshm": "disable", "sysvsem": "disable", "sysvmsg": "disable"}
TEXT = "a { persist; }\nb {\n\tpersist;\n\tsysvshm = new;\n\tsysvsem = new;\n\tsysvmsg = new;\n}\n"
DROPIN = ("/etc/jail.conf.d/c.conf", "c {\n\tpersist;\n}\n")


def run(names, main=TEXT, dropins=(DROPIN,), legacy=None):
    return plan(names, MAIN, CONF_D, main, list(dropins), legacy or {})


@pytest.mark.parametrize("names, files, changed", [
    (["a"], [MAIN], {"a": True}),
    (["b"], [MAIN], {"b": False}),
    (["c", "a"], [DROPIN[0], MAIN], {"c": True, "a": True}),
    (["a", "b"], [MAIN], {"a": True, "b": False}),
])
def test_jails_are_grouped_by_the_file_they_are_started_from(names, files, changed):
    result = run(names)
    assert [f["path"] for f in result.files] == files
    assert dict((j["name"], j["changed"]) for j in result.jails) == changed
    for jail in result.jails:
        assert jail["ipc_after"] == NEW
        assert effective_ipc(result.edits[jail["file"]][1], jail["name"]) == NEW


def test_a_file_is_edited_once_for_all_its_jails_and_only_changed_ones_diff():
    result = run(["a", "b"])
    before, after = result.edits[MAIN]
    assert before == TEXT and after.startswith("a { persist; sysvshm = new; sysvsem = new; sysvmsg = new; }\n")
    assert result.files == [{"path": MAIN, "jails": ["a", "b"], "changed": True, "backup_file": None}]
    assert [d["before_header"] for d in jail_ipc_plan.diffs(result)] == [MAIN]
    assert jail_ipc_plan.diffs(run(["b"])) == []


@pytest.mark.parametrize("names, main, legacy, words", [
    (["x"], TEXT, {}, "jail x is not defined in /etc/jail.conf or /etc/jail.conf.d/*.conf (jails defined there: a, b, c)"),
    (["x", "y"], TEXT, {}, "jails x, y are not defined"),
    (["a"], None, {}, "jail a is not defined"),
    (["a"], TEXT, {"a": "/etc/jail.a.conf"}, "jail a: /etc/rc.d/jail starts it from /etc/jail.a.conf"),
    (["a"], "a { persist; ", {}, "/etc/jail.conf: line"),
])
def test_refusals_change_nothing(names, main, legacy, words):
    with pytest.raises(IpcError) as info:
        run(names, main=main, legacy=legacy)
    assert words in str(info.value) and str(info.value).endswith("nothing was changed")


def test_unique_keeps_the_order_given():
    assert jail_ipc_plan.unique(["b", "a", "b"]) == ["b", "a"]


@pytest.mark.parametrize("check_mode, changed, line", [
    (False, True, "jail a: sysvshm=new, sysvsem=new, sysvmsg=new written to /etc/jail.conf (was disable, disable, disable)"),
    (True, True, "jail a: sysvshm=new, sysvsem=new, sysvmsg=new would be written to /etc/jail.conf (was disable, disable, disable)"),
    (False, False, "jail a: sysvshm, sysvsem and sysvmsg already new in /etc/jail.conf"),
])
def test_sentence(check_mode, changed, line):
    jail = dict(name="a", file=MAIN, changed=changed, ipc_before=DISABLE, ipc_after=NEW)
    assert jail_ipc_plan.sentence(jail, check_mode) == line
