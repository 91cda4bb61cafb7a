# -*- coding: utf-8 -*-
"""pg_jail_facts: main() run the way Ansible runs a module, against a fake
FreeBSD jail host under tmp_path built from the hand-written fixtures in
tests/unit/fixtures/freebsd-files/jails, with `jls -n` and
`freebsd-version -u` answered from recorded output.

The host (FreeBSD 13.2): pg1 (running, IPC disable), pg2 (running,
sysvshm=new, jail.conf.d/pg2.conf), pg3 (running, allow.sysvipc), pg4
(running, sysvshm=inherit), pg5 (running, jail.conf.d/pg5.conf, all
inherit) and web1 (configured, stopped, no PostgreSQL). pg1, pg3 and pg5
run PostgreSQL as UID 770; only pg3 and pg5 share the host's IPC.
"""

from __future__ import annotations

import os

import pytest
from fake_module import run_main

from ansible_collections.pghost.hardening.plugins.module_utils import host_files, jail_probe
from ansible_collections.pghost.hardening.plugins.module_utils.jail_uids import plan
from ansible_collections.pghost.hardening.plugins.modules import pg_jail_facts

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "freebsd-files", "jails")
JLS = "/usr/sbin/jls"
FREEBSD_VERSION = "/bin/freebsd-version"
RELEASE = "13.2-RELEASE-p4\n"
IPC_INHERIT = {"sysvshm": "inherit", "sysvsem": "inherit", "sysvmsg": "inherit"}
IPC_DISABLE = {"sysvshm": "disable", "sysvsem": "disable", "sysvmsg": "disable"}
IPC_NEW = {"sysvshm": "new", "sysvsem": "new", "sysvmsg": "new"}


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


def put(root, path, content):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(content)


@pytest.fixture
def host(tmp_path, monkeypatch):
    root = tmp_path
    put(root, "/etc/jail.conf", fixture("jail.conf"))
    put(root, "/etc/jail.conf.d/pg2.conf", fixture("jail.conf.d/pg2.conf"))
    put(root, "/etc/jail.conf.d/pg5.conf", fixture("extra.conf.d/pg5.conf"))
    put(root, "/etc/passwd", fixture("passwd.host"))
    put(root, "/etc/group", fixture("group.host"))
    put(root, "/etc/rc.conf", fixture("rc.conf.host"))
    for jail in ("pg1", "pg2", "pg3", "pg4", "pg5"):
        put(root, "/jails/%s/etc/passwd" % jail, fixture("passwd.%s" % jail))
        put(root, "/jails/%s/etc/group" % jail, fixture("group.%s" % jail))
    for jail in ("pg1", "pg3", "pg4", "pg5"):
        put(root, "/jails/%s/etc/rc.conf" % jail, fixture("rc.conf.jail"))
    # pg2: not enabled in rc.conf, but an initialised default data directory.
    put(root, "/jails/pg2/var/db/postgres/data16/PG_VERSION", "16\n")
    put(root, "/jails/web1/etc/rc.conf", fixture("rc.conf.web1"))

    state = {"jls": fixture("jls-n.txt") + fixture("jls-n-pg5.txt"), "release": RELEASE,
             "calls": [], "warned": [], "bins": {"jls": JLS, "freebsd-version": FREEBSD_VERSION}}

    def run_command(self, argv, **kwargs):
        state["calls"].append(list(argv))
        if argv == [JLS, "-n"]:
            return 0, state["jls"], ""
        if argv == [FREEBSD_VERSION, "-u"]:
            return 0, state["release"], ""
        if argv == ["/usr/bin/uname", "-r"]:
            return 0, state["release"], ""
        return 1, "", "unexpected %r" % (argv,)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        found = state["bins"].get(name)
        if found is None and required:
            self.fail_json(msg="no %s" % name)
        return found

    monkeypatch.setattr(pg_jail_facts.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(pg_jail_facts.AnsibleModule, "get_bin_path", get_bin_path)
    monkeypatch.setattr(pg_jail_facts.AnsibleModule, "warn", lambda self, msg: state["warned"].append(msg))
    monkeypatch.setattr(pg_jail_facts, "HostFiles", lambda: host_files.HostFiles(str(root)))
    monkeypatch.setattr(pg_jail_facts, "current_platform", lambda: "freebsd")
    return root, state


def run_module(args, monkeypatch, capsys):
    return run_main(pg_jail_facts.main, args, monkeypatch, capsys)


def by_name(result):
    return dict((jail["name"], jail) for jail in result["jails"])


def test_two_postgresql_jails_in_the_host_ipc_with_one_uid_are_a_collision(host, monkeypatch, capsys):
    root, state = host
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is False
    assert state["calls"] == [[JLS, "-n"], [FREEBSD_VERSION, "-u"]]
    assert [c["jails"] for c in result["collisions"]] == [["pg3", "pg5"]]
    collision = result["collisions"][0]
    assert collision["uid"] == 770
    assert collision["message"].startswith(
        "jails pg3 and pg5 share the host's SysV IPC namespace and run PostgreSQL as postgres with the same UID 770")
    assert collision["message"] in state["warned"]
    assert result["freebsd_release"] == "13.2-RELEASE-p4"
    assert result["supports_sysvshm_new"] is True and result["isolation_default"] == "new"
    assert result["host"] == {"server_user": "postgres", "uid": 770, "gid": 770, "has_postgresql": False}
    assert result["ansible_facts"]["pghost_jails"]["collisions"] == result["collisions"]

    jails = by_name(result)
    assert sorted(jails) == ["pg1", "pg2", "pg3", "pg4", "pg5", "web1"]
    pg3 = jails["pg3"]
    assert (pg3["jid"], pg3["running"], pg3["path"], pg3["config_file"]) == (3, True, "/jails/pg3", "/etc/jail.conf")
    assert pg3["ipc"] == IPC_INHERIT and pg3["ipc_source"] == "jls" and pg3["ipc_config"] == IPC_INHERIT
    assert pg3["has_postgresql"] and pg3["postgresql_enabled"]
    assert pg3["postgresql_evidence"] == ["postgresql_enable=YES in /etc/rc.conf"]
    assert (pg3["uid"], pg3["gid"], pg3["shares_host_ipc"], pg3["shares_uid_with_host"]) == (770, 770, True, True)
    assert jails["pg5"]["config_file"] == "/etc/jail.conf.d/pg5.conf" and jails["pg5"]["uid"] == 770
    # pg1: UID 770 too, but its IPC is disabled; pg4 shares the host's shared memory with its own UID.
    assert jails["pg1"]["ipc"] == IPC_DISABLE and jails["pg1"]["ipc_mode"] == "disable"
    assert (jails["pg4"]["ipc_mode"], jails["pg4"]["uid"]) == ("inherit", 5003)
    assert jails["pg4"]["ipc"] == {"sysvshm": "inherit", "sysvsem": "disable", "sysvmsg": "disable"}
    # pg2 has PostgreSQL through its default data directory alone.
    pg2 = jails["pg2"]
    assert pg2["has_postgresql"] and not pg2["postgresql_enabled"]
    assert pg2["data_directories"] == ["/var/db/postgres/data16"]
    assert pg2["config_file"] == "/etc/jail.conf.d/pg2.conf" and pg2["ipc"] == IPC_NEW


def test_a_jail_with_sysvshm_new_is_no_collision(host, monkeypatch, capsys):
    root, state = host
    # pg2 (sysvshm=new) takes the port's UID 770 as well: still only pg3 and pg5.
    put(root, "/jails/pg2/etc/passwd", fixture("passwd.pg1"))
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 0, result
    assert by_name(result)["pg2"]["uid"] == 770
    assert [c["jails"] for c in result["collisions"]] == [["pg3", "pg5"]]


def test_stopped_jails_are_read_from_the_configuration(host, monkeypatch, capsys):
    root, state = host
    state["jls"] = fixture("jls-n.txt")  # pg5 not running
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 0, result
    jails = by_name(result)
    pg5 = jails["pg5"]
    assert (pg5["running"], pg5["jid"], pg5["configured"]) == (False, None, True)
    assert pg5["path"] == "/jails/pg5" and pg5["ipc"] == IPC_INHERIT and pg5["ipc_source"] == "config"
    # A stopped jail with the host's IPC still collides when it starts.
    assert [c["jails"] for c in result["collisions"]] == [["pg3", "pg5"]]
    web1 = jails["web1"]
    # path = "$jroot/$name" at the top of jail.conf, resolved.
    assert (web1["running"], web1["path"], web1["ipc"]) == (False, "/jails/web1", IPC_DISABLE)
    assert (web1["has_postgresql"], web1["uid"]) == (False, None)


def test_limit_to_named_jails(host, monkeypatch, capsys):
    root, state = host
    code, result = run_module({"jails": ["pg5", "pg3"]}, monkeypatch, capsys)
    assert code == 0, result
    assert [j["name"] for j in result["jails"]] == ["pg3", "pg5"]
    assert [c["jails"] for c in result["collisions"]] == [["pg3", "pg5"]]
    planned = dict((j["name"], j["has_postgresql"]) for j in result["uid_plan_input"]["jails"])
    assert planned == {"pg1": False, "pg2": False, "pg3": True, "pg4": False, "pg5": True, "web1": False}


def test_unknown_jail_name_fails_naming_it_and_the_jails(host, monkeypatch, capsys):
    code, result = run_module({"jails": ["pg3", "pg9"]}, monkeypatch, capsys)
    assert code == 1 and result["failed"]
    assert result["msg"] == "jail pg9 not found; jails on this host: pg1, pg2, pg3, pg4, pg5, web1"


@pytest.mark.parametrize("where, text, message", [
    ("/etc/jail.conf", fixture("jail.conf-missing-semicolon"),
     "line 2: missing ';' after parameter 'host.hostname' (found 'persist' on line 3)"),
    ("/etc/jail.conf.d/pg5.conf", fixture("jail.conf-unterminated-comment"),
     "line 4: unterminated comment: '/*' is never closed with '*/'"),
    ("/etc/jail.conf.d/pg5.conf", fixture("extra.conf.d/pg5.conf").replace("sysvsem = inherit", "sysvsem = shared"),
     "line 10: jail 'pg5': sysvsem = 'shared' is not one of new, inherit, disable"),
])
def test_malformed_jail_conf_fails_with_file_and_line(host, monkeypatch, capsys, where, text, message):
    root, state = host
    put(root, where, text)
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 1 and result["failed"]
    assert result["msg"] == "%s: %s" % (where, message)


def test_freebsd_10_3_isolates_by_distinct_uid(host, monkeypatch, capsys):
    root, state = host
    os.remove(os.path.join(str(root), "etc/jail.conf.d/pg5.conf"))
    state["jls"] = fixture("jls-n-10.3.txt")
    state["release"] = "10.3-RELEASE-p29\n"
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 0, result
    assert result["supports_sysvshm_new"] is False and result["isolation_default"] == "distinct_uid"
    jails = by_name(result)
    # jls on 10.x has only allow.sysvipc: pg1 runs in the host's IPC although jail.conf says nothing.
    assert jails["pg1"]["ipc"] == IPC_INHERIT and jails["pg1"]["ipc_config"] == IPC_DISABLE
    assert [c["jails"] for c in result["collisions"]] == [["pg1", "pg3"]]
    assert jails["pg2"]["running"] is False


def test_uname_when_freebsd_version_is_missing(host, monkeypatch, capsys):
    root, state = host
    state["bins"] = {"jls": JLS, "uname": "/usr/bin/uname"}
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 0, result
    assert state["calls"][-1] == ["/usr/bin/uname", "-r"]
    assert result["isolation_default"] == "new"


def test_uid_plan_input_feeds_the_plan(host, monkeypatch, capsys):
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 0, result
    data = result["uid_plan_input"]
    assert set(data) == {"jails", "host_users", "host_groups", "server_user", "server_group"}
    pg3 = [j for j in data["jails"] if j["name"] == "pg3"][0]
    assert pg3["users"]["postgres"] == 770 and pg3["groups"]["pgsql"] == 70 and pg3["path"] == "/jails/pg3"
    assert data["host_users"]["postgres"] == 770
    got = plan(data["jails"], data["host_users"], [6000, 6099], server_user=data["server_user"],
               server_group=data["server_group"], host_groups=data["host_groups"])
    moved = dict((j["name"], j["target_uid"]) for j in got["jails"] if j["change_uid"])
    # 770 is the host's own postgres: every jail using it moves; 5001 and 5003 stay.
    assert moved == {"pg1": 6000, "pg3": 6001, "pg5": 6002}


def test_host_with_postgresql_warns_about_jails_on_its_uid(host, monkeypatch, capsys):
    root, state = host
    put(root, "/etc/rc.conf", fixture("rc.conf.host") + 'postgresql_enable="YES"\n')
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 0, result
    assert result["host"]["has_postgresql"] is True
    assert [w for w in state["warned"] if "host's own PostgreSQL" in w] == [
        "jail pg3 shares the host's SysV IPC namespace and runs PostgreSQL as UID 770, "
        "the UID of the host's own PostgreSQL server",
        "jail pg5 shares the host's SysV IPC namespace and runs PostgreSQL as UID 770, "
        "the UID of the host's own PostgreSQL server"]


def test_not_freebsd_fails(host, monkeypatch, capsys):
    root, state = host
    monkeypatch.setattr(pg_jail_facts, "current_platform", lambda: "linux")
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 1
    assert result["msg"] == "pg_jail_facts audits FreeBSD jails; this host runs linux"
    assert state["calls"] == []


def test_check_mode_reports_the_same(host, monkeypatch, capsys):
    code, result = run_module({"_ansible_check_mode": True}, monkeypatch, capsys)
    assert code == 0 and result["changed"] is False
    assert [c["jails"] for c in result["collisions"]] == [["pg3", "pg5"]]


@pytest.mark.parametrize("text, release, supported", [
    ("13.2-RELEASE-p4\n", (13, 2), True),
    ("11.0-RELEASE\n", (11, 0), True),
    ("10.3-RELEASE-p29\n", (10, 3), False),
    ("15.0-CURRENT\n", (15, 0), True),
    ("", None, None),
])
def test_release(text, release, supported):
    assert jail_probe.parse_release(text) == release
    assert jail_probe.supports_sysvshm_new(release) is supported


def test_a_jail_conf_d_file_of_the_jails_own_name_wins():
    # /etc/rc.d/jail: jail.conf.d/NAME.conf before jail.conf for jail NAME.
    main = "pg2 { path = /old/pg2; sysvshm = inherit; }\npg1 { path = /jails/pg1; }\n"
    sources = jail_probe.config_sources("/etc/jail.conf", main, [
        ("/etc/jail.conf.d/pg2.conf", fixture("jail.conf.d/pg2.conf")),
        ("/etc/jail.conf.d/other.conf", "pg1 { path = /elsewhere; }\npg7 { path = /jails/pg7; }\n"),
    ])
    assert dict((name, path) for name, (path, conf) in sources.items()) == {
        "pg1": "/etc/jail.conf", "pg2": "/etc/jail.conf.d/pg2.conf", "pg7": "/etc/jail.conf.d/other.conf"}
    assert jail_probe.config_value(sources["pg2"][1], "pg2", "path") == "/jails/pg2"


def test_undefined_variable_in_path_names_the_jail():
    conf = jail_probe.parse('path = "$root/$name";\npg1 { persist; }\n')
    with pytest.raises(jail_probe.JailConfError, match=r"line 1: jail 'pg1': path: variable 'root' is not defined"):
        jail_probe.config_value(conf, "pg1", "path")


def test_postgresql_jail_without_readable_passwd_is_named(host, monkeypatch, capsys):
    root, state = host
    os.remove(os.path.join(str(root), "jails/pg4/etc/passwd"))
    code, result = run_module({}, monkeypatch, capsys)
    assert code == 0, result
    assert by_name(result)["pg4"]["uid"] is None
    assert [w for w in state["warned"] if "passwd" in w] == [
        "jail pg4 runs PostgreSQL but /jails/pg4/etc/passwd cannot be read (use become); its server UID is unknown"]
