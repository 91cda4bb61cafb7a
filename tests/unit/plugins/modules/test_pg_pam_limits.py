# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_pam_limits: main() run the way Ansible runs a module (arguments in
basic._ANSIBLE_ARGS, result on stdout, SystemExit), against a fake
/etc/security, /etc/pam.d and /proc under tmp_path, with systemd's defaults
answered as Debian 12's systemd 252 prints them.
"""

from __future__ import annotations

import os
import stat

import pytest
from fake_module import FakeModule, run_main

from ansible_collections.pghost.hardening.plugins.module_utils.pam_limits import HEADER, Account
from ansible_collections.pghost.hardening.plugins.modules import pg_pam_limits

SYSTEMCTL = "/usr/bin/systemctl"
PROPS = ("DefaultLimitMEMLOCK,DefaultLimitMEMLOCKSoft,DefaultLimitNOFILE,DefaultLimitNOFILESoft,"
         "DefaultLimitNPROC,DefaultLimitNPROCSoft")
SYSTEMD_SHOW = ("DefaultLimitNOFILE=524288\nDefaultLimitNOFILESoft=1024\nDefaultLimitNPROC=62502\n"
                "DefaultLimitNPROCSoft=62502\nDefaultLimitMEMLOCK=8388608\nDefaultLimitMEMLOCKSoft=8388608\n")
LIMITS_CONF = (
    "# /etc/security/limits.conf\n#\n#<domain>      <type>  <item>         <value>\n#\n\n"
    "#*               soft    core            0\n#@student        hard    nproc           20\n"
    "*               soft    nofile          4096\n"
)
PAM_D = {
    "su": "auth       sufficient pam_rootok.so\nsession    required   pam_limits.so\n@include common-session\n",
    "runuser": "#%PAM-1.0\nsession\t\trequired\tpam_limits.so\nsession\t\trequired\tpam_unix.so\n",
    "common-session": "session\t[default=1]\t\t\tpam_permit.so\n",
}
CAPS_FULL = "Name:\tpython3\nCapBnd:\t000001ffffffffff\n"
CAPS_CONTAINER = "Name:\tpython3\nCapBnd:\t000001fffeffffff\n"
PROC_1_LIMITS = (
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max processes             32768                32768                processes \n"
    "Max open files            20000                20000                files     \n"
    "Max locked memory         8388608              8388608              bytes     \n"
)
CLUSTER = {"name": "15/main", "version": "15", "owner": "postgres", "data_directory": "/var/lib/postgresql/15/main",
           "huge_pages": "try", "shared_memory_size_in_huge_pages": 72, "shared_memory_size_mb": 143,
           "shared_buffers": "128MB", "max_connections": 100, "errors": [], "running": True, "pid": 59}

CONTENT = HEADER + """
# asked 65536 (nofile)
postgres        soft  nofile   65536
# asked 65536 (nofile); kept at 524288 inherited from systemd DefaultLimitNOFILE=524288
postgres        hard  nofile   524288
# asked 65536 (nproc)
postgres        soft  nproc    65536
# asked 65536 (nproc)
postgres        hard  nproc    65536
# huge pages the clusters of postgres map: 147456 KiB (memlock auto)
postgres        soft  memlock  147456
# huge pages the clusters of postgres map: 147456 KiB (memlock auto)
postgres        hard  memlock  147456
"""


def write(path, text):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w", encoding="utf-8") as handle:
        handle.write(text)


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A fake target: /etc/security with Debian's limits.conf, /etc/pam.d, /proc files, systemd running."""
    etc = tmp_path / "etc" / "security"
    write(etc / "limits.conf", LIMITS_CONF)
    os.makedirs(str(etc / "limits.d"))
    for name, text in PAM_D.items():
        write(tmp_path / "etc" / "pam.d" / name, text)
    write(tmp_path / "proc" / "nr_open", "1048576\n")
    write(tmp_path / "proc" / "self_status", CAPS_FULL)
    write(tmp_path / "proc" / "1_limits", PROC_1_LIMITS)
    os.makedirs(str(tmp_path / "run" / "systemd" / "system"))
    monkeypatch.setattr(pg_pam_limits, "NR_OPEN", str(tmp_path / "proc" / "nr_open"))
    monkeypatch.setattr(pg_pam_limits, "SELF_STATUS", str(tmp_path / "proc" / "self_status"))
    monkeypatch.setattr(pg_pam_limits, "PID1_LIMITS", str(tmp_path / "proc" / "1_limits"))
    monkeypatch.setattr(pg_pam_limits, "PAM_D", str(tmp_path / "etc" / "pam.d"))
    monkeypatch.setattr(pg_pam_limits, "SYSTEMD_RUN", str(tmp_path / "run" / "systemd" / "system"))

    calls = {"warned": [], "commands": []}

    def run_command(self, argv, **kwargs):
        calls["commands"].append(list(argv))
        if argv == [SYSTEMCTL, "show", "--property=" + PROPS]:
            return 0, SYSTEMD_SHOW, ""
        return 1, "", "no other command may run in these tests: %r" % (argv,)

    def account(name):
        if name == "postgres":
            return Account("postgres", 101, 103, frozenset({"postgres", "ssl-cert"}), frozenset({103, 102}))
        return Account(name, None, None, frozenset(), frozenset())

    monkeypatch.setattr(pg_pam_limits.AnsibleModule, "warn", lambda self, msg: calls["warned"].append(msg))
    monkeypatch.setattr(pg_pam_limits.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(pg_pam_limits.AnsibleModule, "get_bin_path",
                        lambda self, name, required=False, opt_dirs=None: SYSTEMCTL if name == "systemctl" else None)
    monkeypatch.setattr(pg_pam_limits, "account", account)
    calls["etc"] = etc
    calls["own"] = str(etc / "limits.d" / "60-pghost-postgresql.conf")
    calls["tmp"] = tmp_path
    return calls


def run_module(args, monkeypatch, capsys):
    return run_main(pg_pam_limits.main, args, monkeypatch, capsys)


def args_for(host, **extra):
    args = {"path": host["own"], "limits_conf": str(host["etc"] / "limits.conf"), "clusters": [CLUSTER],
            "hugepage_size_kb": 2048}
    args.update(extra)
    return args


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


# ---------------------------------------------------------------- main()


def test_main_first_run(host, monkeypatch, capsys):
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert result["content"] == CONTENT
    assert read(host["own"]) == CONTENT
    assert stat.S_IMODE(os.stat(host["own"]).st_mode) == 0o644
    assert sorted(os.listdir(str(host["etc"] / "limits.d"))) == ["60-pghost-postgresql.conf"]   # no temporary file left
    assert result["effective_before"] == {"postgres": {"nofile": "4096/524288", "nproc": "62502/62502", "memlock": "8192/8192 KiB"}}
    assert result["effective"] == {"postgres": {"nofile": "65536/524288", "nproc": "65536/65536", "memlock": "147456/147456 KiB"}}
    assert result["pam_services"] == ["runuser", "su"]
    assert result["ceiling"] is None
    assert result["msg"] == "6 limit(s) changed in %s for postgres" % host["own"]
    assert result["lines"][0] == ("postgres soft nofile = 65536 (not in the file; sessions had 4096 from %s:8 "
                                  "(* soft nofile 4096)): asked 65536 (nofile)" % (host["etc"] / "limits.conf"))
    assert result["memlock_reasons"]["postgres"][0].startswith("15/main: server-reported shared_memory_size_in_huge_pages 72")
    assert [(r["item"], r["type"], r["before"], r["value"], r["after"]) for r in result["limits"]] == [
        ("nofile", "soft", "4096", "65536", "65536"), ("nofile", "hard", "524288", "524288", "524288"),
        ("nproc", "soft", "62502", "65536", "65536"), ("nproc", "hard", "62502", "65536", "65536"),
        ("memlock", "soft", "8192", "147456", "147456"), ("memlock", "hard", "8192", "147456", "147456")]
    assert host["warned"] == []
    assert host["commands"] == [[SYSTEMCTL, "show", "--property=" + PROPS]]


def test_main_second_run_changes_nothing(host, monkeypatch, capsys):
    code, first = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0 and first["changed"] is True
    inode = os.stat(host["own"]).st_ino
    code, second = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0, second
    assert second["changed"] is False
    assert second["msg"] == "no change"
    assert second["lines"] == []
    assert second["content"] == first["content"] == CONTENT
    assert os.stat(host["own"]).st_ino == inode            # not rewritten
    assert second["effective_before"] == second["effective"] == first["effective"]


def test_main_check_mode_writes_nothing(host, monkeypatch, capsys):
    code, result = run_module(args_for(host, _ansible_check_mode=True), monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert not os.path.exists(host["own"])
    assert os.listdir(str(host["etc"] / "limits.d")) == []
    assert result["diff"] == {"before": "", "after": CONTENT, "before_header": host["own"], "after_header": host["own"]}
    assert len(result["lines"]) == 6
    # what sessions would get is predicted from the file that would be written
    assert result["effective"]["postgres"]["nofile"] == "65536/524288"


def test_main_check_mode_after_a_run_is_unchanged(host, monkeypatch, capsys):
    run_module(args_for(host), monkeypatch, capsys)
    code, result = run_module(args_for(host, _ansible_check_mode=True), monkeypatch, capsys)
    assert code == 0 and result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"] == CONTENT


def test_main_diff_when_a_value_rises(host, monkeypatch, capsys):
    run_module(args_for(host), monkeypatch, capsys)
    code, result = run_module(args_for(host, nproc=100000, _ansible_check_mode=True), monkeypatch, capsys)
    assert code == 0 and result["changed"] is True
    assert result["diff"]["before"] == CONTENT
    assert result["diff"]["after"] == CONTENT.replace("# asked 65536 (nproc)", "# asked 100000 (nproc)").replace(
        "nproc    65536", "nproc    100000")
    assert result["lines"] == [
        "postgres soft nproc = 100000 (was 65536 in the file; sessions had 65536 from %s:12 (postgres soft nproc 65536)): "
        "asked 100000 (nproc)" % host["own"],
        "postgres hard nproc = 100000 (was 65536 in the file; sessions had 65536 from %s:14 (postgres hard nproc 65536)): "
        "asked 100000 (nproc)" % host["own"]]
    assert read(host["own"]) == CONTENT


def test_main_never_lowers_what_it_wrote(host, monkeypatch, capsys):
    run_module(args_for(host), monkeypatch, capsys)
    code, result = run_module(args_for(host, nofile=1024), monkeypatch, capsys)
    assert code == 0, result
    assert result["effective"]["postgres"]["nofile"] == "65536/524288"
    assert result["lines"] == []                  # values stay; only the reason lines change
    assert result["changed"] is True and result["msg"] == "reasons rewritten in %s, no value changed" % host["own"]
    assert "# asked 1024 (nofile); kept at 65536 as written here before (never lowered)\n" in read(host["own"])


def test_main_in_a_container_without_cap_sys_resource(host, monkeypatch, capsys):
    write(host["tmp"] / "proc" / "self_status", CAPS_CONTAINER)
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0, result
    assert result["effective"] == {"postgres": {"nofile": "20000/20000", "nproc": "32768/32768", "memlock": "8192/8192 KiB"}}
    assert result["ceiling"] == {"nofile": "20000", "nproc": "32768", "memlock": "8192"}
    assert host["warned"] == [
        "CAP_SYS_RESOURCE is not in this host's bounding set (a container?): no session can raise a hard limit above "
        "PID 1's (nofile 20000, nproc 32768, memlock 8192 KiB), so values above it were written as that"]


def test_main_warns_about_a_later_file_and_a_missing_limits_conf(host, monkeypatch, capsys):
    os.unlink(str(host["etc"] / "limits.conf"))
    write(host["etc"] / "limits.d" / "90-site.conf", "postgres hard nofile 8192\n")
    code, result = run_module(args_for(host, nproc=0, memlock="0"), monkeypatch, capsys)
    assert code == 0, result
    assert host["warned"][0].startswith("%s is missing: Linux-PAM 1.5.2 (Debian 12) then fails every session"
                                        % (host["etc"] / "limits.conf"))
    assert host["warned"][1] == (
        "%s:1 (postgres hard nofile 8192) sets postgres hard nofile to 8192 after %s; pam_limits uses that, "
        "not the 65536 written here" % (host["etc"] / "limits.d" / "90-site.conf", host["own"]))
    assert read(str(host["etc"] / "limits.d" / "90-site.conf")) == "postgres hard nofile 8192\n"   # never touched


def test_main_extra_users_and_unknown_user(host, monkeypatch, capsys):
    code, result = run_module(args_for(host, users=["pgbackup"], memlock="unlimited"), monkeypatch, capsys)
    assert code == 0, result
    assert sorted(result["effective"]) == ["pgbackup", "postgres"]
    assert "pgbackup        hard  memlock  unlimited\n" in result["content"]
    assert host["warned"] == ["user pgbackup does not exist on this host (yet); its lines are written, but only lines "
                              "naming it or * are taken into account"]


@pytest.mark.parametrize("memlock", ["0", "unlimited"])
def test_main_clusters_not_sized_unless_memlock_needs_it(memlock, host, monkeypatch, capsys):
    # a cluster pg_host_facts could not read (no version) still names its owner
    code, result = run_module(args_for(host, clusters=[{"owner": "postgres", "errors": ["PG_VERSION unreadable"]}],
                                       memlock=memlock), monkeypatch, capsys)
    assert code == 0, result
    assert sorted(result["effective"]) == ["postgres"]
    code, result = run_module(args_for(host, clusters=[{"owner": "postgres"}], memlock="auto"), monkeypatch, capsys)
    assert code == 1 and result["msg"].startswith("clusters[0].version: missing")


def test_main_nothing_to_do_writes_no_file(host, monkeypatch, capsys):
    code, result = run_module(args_for(host, clusters=[]), monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is False
    assert result["msg"] == "no PostgreSQL OS user found and no users given: nothing to do"
    assert not os.path.exists(host["own"])


def test_main_no_pam_service_loads_pam_limits(host, monkeypatch, capsys):
    for name in PAM_D:
        os.unlink(str(host["tmp"] / "etc" / "pam.d" / name))
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 0 and result["pam_services"] == []
    assert host["warned"] == ["no service in %s loads pam_limits directly: these limits may reach no session"
                              % (host["tmp"] / "etc" / "pam.d")]


def test_main_without_systemd_nothing_is_inherited(host, monkeypatch, capsys):
    os.rmdir(str(host["tmp"] / "run" / "systemd" / "system"))
    code, result = run_module(args_for(host, nproc=0, memlock="0"), monkeypatch, capsys)
    assert code == 0, result
    assert host["commands"] == []
    assert result["effective"]["postgres"]["nofile"] == "65536/65536"
    assert result["effective"]["postgres"]["nproc"] == "?/?"


@pytest.mark.parametrize("extra, message", [
    ({"nofile": -1}, "nofile: -1 is not accepted; expected 0 (leave it alone) or a whole number above 0; nothing was written"),
    ({"nproc": -2}, "nproc: -2 is not accepted; expected 0 (leave it alone) or a whole number above 0; nothing was written"),
    ({"nofile": 2000000}, "nofile: 2000000 is above fs.nr_open (1048576), the most open files the kernel allows"),
    ({"memlock": "lots"}, "memlock: 'lots' is not accepted; expected auto, unlimited, 0 (leave it alone) or a whole "
                          "number of KiB; nothing was written"),
    ({"memlock": "-1"}, "memlock: '-1' is not accepted"),
    ({"users": ["@dba"]}, "users[0]: '@dba' is not a user name pam_limits can match"),
    ({"clusters": [dict(CLUSTER, huge_pages="maybe")]},
     "clusters[0].huge_pages: 'maybe' is not one of try, on, off; nothing was written"),
    ({"hugepage_size_kb": -1}, "hugepage_size_kb: -1 is not accepted; expected 0 (none) or the huge page size in kB"),
    ({"nofile": "lots"}, "argument 'nofile' is of type"),
    ({"unknown": 1}, "Unsupported parameters for (basic.py) module: unknown"),
])
def test_main_bad_input_writes_nothing(extra, message, host, monkeypatch, capsys):
    code, result = run_module(args_for(host, **extra), monkeypatch, capsys)
    assert code == 1
    assert result["failed"] is True
    assert message in result["msg"]
    assert os.listdir(str(host["etc"] / "limits.d")) == []


@pytest.mark.parametrize("name, message", [
    ("60-pghost-postgresql", "path: %r is not accepted; pam_limits reads only *.conf files that are not hidden"),
    (".60-pghost.conf", "path: %r is not accepted"),
])
def test_main_path_pam_limits_would_not_read(name, message, host, monkeypatch, capsys):
    path = str(host["etc"] / "limits.d" / name)
    code, result = run_module(args_for(host, path=path), monkeypatch, capsys)
    assert code == 1 and result["msg"].startswith(message % path)
    assert os.listdir(str(host["etc"] / "limits.d")) == []


def test_main_missing_limits_d(host, monkeypatch, capsys):
    path = str(host["tmp"] / "nowhere" / "60-pghost-postgresql.conf")
    code, result = run_module(args_for(host, path=path), monkeypatch, capsys)
    assert code == 1
    assert result["msg"] == ("path: the directory %s does not exist; is pam_limits (Debian libpam-modules) installed? "
                             "Nothing was written" % os.path.dirname(path))


@pytest.mark.parametrize("own, shown", [
    ("postgres hard nofile lots\n", "line 1 (postgres hard nofile lots)"),
    ("# a reason\npostgres soft nofile 65536\npostgres - core unlimited\n", "line 3 (postgres - core unlimited)"),
    ("postgres\n", "line 1 (postgres)"),
])
def test_main_refuses_an_own_file_with_lines_it_did_not_write(own, shown, host, monkeypatch, capsys):
    # Rewriting the file would drop the line (a hand edit, or a limit of an
    # item the collection does not manage): refuse, keep the file as it is.
    write(host["own"], own)
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 1
    assert "was not written by it" in result["msg"] and shown in result["msg"], result["msg"]
    assert read(host["own"]) == own


def test_main_refuses_an_own_path_that_is_a_directory(host, monkeypatch, capsys):
    os.makedirs(host["own"])
    code, result = run_module(args_for(host), monkeypatch, capsys)
    assert code == 1 and "exists and is not a regular file" in result["msg"]
    assert os.listdir(host["own"]) == []


# ---------------------------------------------------------------- helpers


def test_limits_sources_order(tmp_path):
    limits_d = tmp_path / "limits.d"
    for name in ("a.conf", "B.conf", "90-x.conf", ".hidden.conf", "notes.txt", "10-y.conf"):
        write(limits_d / name, "# %s\n" % name)
    os.makedirs(str(limits_d / "dir.conf"))
    write(tmp_path / "limits.conf", "")
    own = str(limits_d / "60-pghost-postgresql.conf")
    names = [os.path.basename(p) for p, dummy in pg_pam_limits.limits_sources(str(tmp_path / "limits.conf"), own)]
    # "C" order (B before a, seen live), no hidden files, the own file at its place even though missing
    assert names == ["limits.conf", "10-y.conf", "60-pghost-postgresql.conf", "90-x.conf", "B.conf", "a.conf"]


def test_systemd_defaults_not_read_without_systemctl(tmp_path, monkeypatch):
    monkeypatch.setattr(pg_pam_limits, "SYSTEMD_RUN", str(tmp_path))
    module = FakeModule(bins={})
    assert pg_pam_limits.systemd_defaults(module) == {}
    assert module.calls == []


def test_read_nr_open_falls_back_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(pg_pam_limits, "NR_OPEN", str(tmp_path / "missing"))
    warned = []

    class Module:
        def warn(self, msg):
            warned.append(msg)

    assert pg_pam_limits.read_nr_open(Module()) == 1048576
    assert warned == ["could not read %s; assuming the kernel default 1048576" % (tmp_path / "missing")]


def test_account_of_root_and_of_nobody_known():
    root = pg_pam_limits.account("root")
    assert (root.uid, root.gid) == (0, 0) and "root" in root.groups and 0 in root.gids
    ghost = pg_pam_limits.account("no-such-user-pghost")
    assert ghost.uid is None and ghost.groups == frozenset()
