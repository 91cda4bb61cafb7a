# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_jail_ipc: main() run the way Ansible runs a module, against a fake
FreeBSD jail host under tmp_path (the hand-written fixtures of
tests/unit/fixtures/freebsd-files/jails), reached through the same test
seam as the integration test (PGHOST_HARDENING_TEST_ROOT): the module is
given the host's paths (/etc/jail.conf) and must read and write under the
tree.

The host: jail.conf with pg1 (one-line stanza, IPC unset = disable), pg3
(allow.sysvipc = inherit), pg4 (sysvshm = inherit) and web1;
jail.conf.d/pg2.conf (IPC unset) and jail.conf.d/pg5.conf (all inherit).
"""

from __future__ import annotations

import os

import pytest
from fake_module import run_main

from ansible_collections.pghost.hardening.plugins.module_utils import host_files
from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import effective_ipc, parse
from ansible_collections.pghost.hardening.plugins.modules import pg_jail_ipc

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "freebsd-files", "jails")
NEW = {"sysvshm": "new", "sysvsem": "new", "sysvmsg": "new"}
DISABLE = {"sysvshm": "disable", "sysvsem": "disable", "sysvmsg": "disable"}
INHERIT = {"sysvshm": "inherit", "sysvsem": "inherit", "sysvmsg": "inherit"}
IPC_LINE = " sysvshm = new; sysvsem = new; sysvmsg = new;"
PG1_BEFORE = 'pg1 { host.hostname = "pg1.example.org"; ip4.addr = 192.0.2.11; persist; }'
PG1_AFTER = 'pg1 { host.hostname = "pg1.example.org"; ip4.addr = 192.0.2.11; persist;%s }' % IPC_LINE


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8", newline="") as handle:
        return handle.read()


def put(root, path, content):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8", newline="") as handle:
        handle.write(content)
    return full


def read(root, path):
    with open(os.path.join(str(root), path.lstrip("/")), encoding="utf-8", newline="") as handle:
        return handle.read()


def snapshot(root):
    """Every file under the tree with its bytes and mtime."""
    out = {}
    for directory, _dirs, names in os.walk(str(root)):
        for name in names:
            full = os.path.join(directory, name)
            with open(full, "rb") as handle:
                out[os.path.relpath(full, str(root))] = (handle.read(), os.stat(full).st_mtime_ns)
    return out


@pytest.fixture
def host(tmp_path, monkeypatch):
    root = tmp_path / "host"
    put(root, "/etc/jail.conf", fixture("jail.conf"))
    put(root, "/etc/jail.conf.d/pg2.conf", fixture("jail.conf.d/pg2.conf"))
    put(root, "/etc/jail.conf.d/pg5.conf", fixture("extra.conf.d/pg5.conf"))
    monkeypatch.setenv(host_files.TEST_ROOT_ENV, str(root))
    monkeypatch.setenv(host_files.TEST_PLATFORM_ENV, "freebsd")
    state = {"writes": [], "root": root}
    real_write = pg_jail_ipc.write_atomically

    def counting_write(module, path, text, mode=0o644):
        state["writes"].append(path)
        real_write(module, path, text, mode)

    monkeypatch.setattr(pg_jail_ipc, "write_atomically", counting_write)
    return state


def run_module(args, monkeypatch, capsys):
    return run_main(pg_jail_ipc.main, args, monkeypatch, capsys)


def by_name(result):
    return dict((jail["name"], jail) for jail in result["jails"])


def test_inline_stanza_gets_the_three_parameters_before_its_brace(host, monkeypatch, capsys):
    root = host["root"]
    original = read(root, "/etc/jail.conf")
    code, result = run_module({"jails": ["pg1"]}, monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert read(root, "/etc/jail.conf") == original.replace(PG1_BEFORE, PG1_AFTER)
    assert result["files"] == [{"path": "/etc/jail.conf", "jails": ["pg1"], "changed": True, "backup_file": None}]
    assert result["jails"] == [{"name": "pg1", "file": "/etc/jail.conf", "changed": True,
                                "ipc_before": DISABLE, "ipc_after": NEW}]
    assert result["lines"] == [
        "jail pg1: sysvshm=new, sysvsem=new, sysvmsg=new written to /etc/jail.conf (was disable, disable, disable)"]
    # Written under the tree, never on this machine's /etc.
    assert host["writes"] == [os.path.join(str(root), "etc", "jail.conf")]
    assert effective_ipc(read(root, "/etc/jail.conf"), "pg1") == NEW


def test_jail_in_jail_conf_d_is_edited_in_its_own_file(host, monkeypatch, capsys):
    root = host["root"]
    main_before = read(root, "/etc/jail.conf")
    code, result = run_module({"jails": ["pg2"]}, monkeypatch, capsys)
    assert code == 0, result
    original = fixture("jail.conf.d/pg2.conf")
    expected = original.replace("\tpersist;\n}", "\tpersist;\n\tsysvshm = new;\n\tsysvsem = new;\n\tsysvmsg = new;\n}")
    assert expected != original
    assert read(root, "/etc/jail.conf.d/pg2.conf") == expected
    assert read(root, "/etc/jail.conf") == main_before
    assert read(root, "/etc/jail.conf.d/pg5.conf") == fixture("extra.conf.d/pg5.conf")
    assert [f["path"] for f in result["files"]] == ["/etc/jail.conf.d/pg2.conf"]
    assert by_name(result)["pg2"]["file"] == "/etc/jail.conf.d/pg2.conf"


def test_inherit_values_are_rewritten_in_place(host, monkeypatch, capsys):
    root = host["root"]
    code, result = run_module({"jails": ["pg5"]}, monkeypatch, capsys)
    assert code == 0, result
    assert read(root, "/etc/jail.conf.d/pg5.conf") == fixture("extra.conf.d/pg5.conf").replace(" = inherit;", " = new;")
    assert by_name(result)["pg5"]["ipc_before"] == INHERIT
    assert result["lines"][0].endswith("written to /etc/jail.conf.d/pg5.conf (was inherit, inherit, inherit)")


def test_two_jails_in_one_file_are_one_write(host, monkeypatch, capsys):
    root = host["root"]
    code, result = run_module({"jails": ["pg3", "pg1", "pg2", "pg3"]}, monkeypatch, capsys)
    assert code == 0, result
    assert result["files"] == [
        {"path": "/etc/jail.conf", "jails": ["pg3", "pg1"], "changed": True, "backup_file": None},
        {"path": "/etc/jail.conf.d/pg2.conf", "jails": ["pg2"], "changed": True, "backup_file": None},
    ]
    assert sorted(host["writes"]) == sorted([os.path.join(str(root), "etc", "jail.conf"),
                                             os.path.join(str(root), "etc", "jail.conf.d", "pg2.conf")])
    assert [j["name"] for j in result["jails"]] == ["pg3", "pg1", "pg2"]
    jails = by_name(result)
    assert jails["pg3"]["ipc_before"] == INHERIT   # allow.sysvipc = 1
    assert jails["pg1"]["ipc_before"] == DISABLE
    conf = parse(read(root, "/etc/jail.conf"))
    for name in ("pg1", "pg3"):
        assert effective_ipc(conf, name) == NEW
    # pg4 and web1 were not asked for.
    assert effective_ipc(conf, "pg4")["sysvshm"] == "inherit"
    assert effective_ipc(conf, "web1") == DISABLE
    assert len(result["diff"]) == 2
    assert [d["before_header"] for d in result["diff"]] == ["/etc/jail.conf", "/etc/jail.conf.d/pg2.conf"]


def test_second_run_changes_nothing(host, monkeypatch, capsys):
    root = host["root"]
    args = {"jails": ["pg1", "pg2", "pg3", "pg4", "pg5"]}
    code, first = run_module(args, monkeypatch, capsys)
    assert code == 0 and first["changed"] is True
    before = snapshot(root)
    host["writes"][:] = []
    code, second = run_module(args, monkeypatch, capsys)
    assert code == 0, second
    assert second["changed"] is False
    assert host["writes"] == []
    assert snapshot(root) == before
    assert all(not f["changed"] for f in second["files"])
    assert all(j["ipc_before"] == NEW and not j["changed"] for j in second["jails"])
    assert second["diff"] == []
    assert second["lines"][1] == "jail pg2: sysvshm, sysvsem and sysvmsg already new in /etc/jail.conf.d/pg2.conf"


def test_check_mode_reports_the_diff_and_writes_nothing(host, monkeypatch, capsys):
    root = host["root"]
    before = snapshot(root)
    code, result = run_module({"jails": ["pg1", "pg2"], "backup": True, "_ansible_check_mode": True},
                              monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert snapshot(root) == before
    assert host["writes"] == []
    assert [f["backup_file"] for f in result["files"]] == [None, None]
    diff = dict((d["before_header"], d) for d in result["diff"])
    assert diff["/etc/jail.conf"]["before"] == fixture("jail.conf")
    assert diff["/etc/jail.conf"]["after"] == fixture("jail.conf").replace(PG1_BEFORE, PG1_AFTER)
    assert diff["/etc/jail.conf.d/pg2.conf"]["after_header"] == "/etc/jail.conf.d/pg2.conf"
    assert result["lines"][0].startswith("jail pg1: sysvshm=new, sysvsem=new, sysvmsg=new would be written to")


def test_unknown_jail_names_the_jails_there_are(host, monkeypatch, capsys):
    root = host["root"]
    before = snapshot(root)
    code, result = run_module({"jails": ["pg1", "pg9"]}, monkeypatch, capsys)
    assert code == 1
    assert result["failed"] is True
    msg = result["msg"]
    assert msg.startswith("jail pg9 is not defined in /etc/jail.conf or /etc/jail.conf.d/*.conf")
    assert "jails defined there: pg1, pg2, pg3, pg4, pg5, web1" in msg
    assert msg.endswith("nothing was changed")
    assert snapshot(root) == before


def test_malformed_file_is_named_with_its_line_and_nothing_is_written(host, monkeypatch, capsys):
    root = host["root"]
    put(root, "/etc/jail.conf.d/pg6.conf", fixture("jail.conf-missing-semicolon"))
    before = snapshot(root)
    code, result = run_module({"jails": ["pg1", "pg2"]}, monkeypatch, capsys)
    assert code == 1
    assert result["msg"].startswith("/etc/jail.conf.d/pg6.conf: line 2: missing ';' after parameter 'host.hostname'")
    assert result["msg"].endswith("nothing was changed")
    assert snapshot(root) == before
    assert host["writes"] == []


def test_a_later_override_fails_every_jail_before_any_write(host, monkeypatch, capsys):
    """pg2's file is fine, but a wildcard after pg1 in jail.conf wins over
    its stanza: the call fails with neither file written."""
    root = host["root"]
    put(root, "/etc/jail.conf", fixture("jail.conf") + "\n* { sysvshm = inherit; }\n")
    before = snapshot(root)
    code, result = run_module({"jails": ["pg2", "pg1"]}, monkeypatch, capsys)
    assert code == 1
    assert result["msg"].startswith("/etc/jail.conf: line 35: jail 'pg1': a wildcard or top-level setting")
    assert "sysvshm on line 35" in result["msg"]
    assert result["msg"].endswith("nothing was changed")
    assert snapshot(root) == before


def test_jail_started_from_its_legacy_file_is_refused(host, monkeypatch, capsys):
    root = host["root"]
    put(root, "/etc/jail.pg1.conf", PG1_BEFORE + "\n")
    code, result = run_module({"jails": ["pg1"]}, monkeypatch, capsys)
    assert code == 1
    assert result["msg"].startswith("jail pg1: /etc/rc.d/jail starts it from /etc/jail.pg1.conf")
    assert read(root, "/etc/jail.conf") == fixture("jail.conf")


def test_bytes_outside_the_stanza_are_identical(host, monkeypatch, capsys):
    """CRLF line ends, a non-ASCII comment, odd spacing and the other jails
    survive byte for byte; only pg3's stanza differs."""
    root = host["root"]
    text = fixture("jail.conf").replace("\n", "\r\n").replace("# /etc/jail.conf", "# /etc/jail.conf – Zürich rack 7")
    text = text.replace("web1 {", "web1   {\t")
    put(root, "/etc/jail.conf", text)
    code, result = run_module({"jails": ["pg3"]}, monkeypatch, capsys)
    assert code == 0, result
    after = read(root, "/etc/jail.conf")
    stanza = parse(text).stanza("pg3")
    new_stanza = parse(after).stanza("pg3")
    assert after[:stanza.start] == text[:stanza.start]
    assert after[new_stanza.end:] == text[stanza.end:]
    assert "\r\n" in after[new_stanza.start:new_stanza.end] and "\n" not in after.replace("\r\n", "")
    assert effective_ipc(after, "pg3") == NEW


def test_backup_keeps_the_old_file_and_the_mode_stays(host, monkeypatch, capsys):
    root = host["root"]
    path = os.path.join(str(root), "etc", "jail.conf.d", "pg2.conf")
    os.chmod(path, 0o600)
    code, result = run_module({"jails": ["pg2"], "backup": True}, monkeypatch, capsys)
    assert code == 0, result
    backup = result["files"][0]["backup_file"]
    assert backup and os.path.dirname(backup) == os.path.dirname(path)
    with open(backup, encoding="utf-8", newline="") as handle:
        assert handle.read() == fixture("jail.conf.d/pg2.conf")
    # The copy's name does not end in .conf, so rc.d/jail and the next run ignore it.
    assert not backup.endswith(".conf")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(os.path.dirname(path))) == sorted(["pg2.conf", "pg5.conf", os.path.basename(backup)])
