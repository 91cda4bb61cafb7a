# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_sysctl: its helpers with a fake module and a fake /proc/sys under
tmp_path, and main() run the way Ansible runs a module (arguments in
basic._ANSIBLE_ARGS, result on stdout, SystemExit).

FreeBSD live values come from the recorded `sysctl -e` output in
tests/unit/fixtures/freebsd; the FreeBSD files from tests/unit/fixtures/freebsd-files.
"""

from __future__ import annotations

import os
import stat

import pytest
from fake_module import Failed, run_main
from fake_module import FakeModule as BaseFakeModule

from ansible_collections.pghost.hardening.plugins.modules import pg_sysctl

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
SYSCTL = "/sbin/sysctl"

HEADER = (
    "# Managed by the pghost.hardening collection (role pg_kernel).\n"
    "# Do not edit: the next run rewrites this file. Each value is sized from\n"
    "# the PostgreSQL clusters on this host (pghost.hardening.pg_kernel_params);\n"
    "# the line above it says why.\n"
)
BEGIN = "# BEGIN pghost.hardening managed block (role pg_kernel); do not edit"
END = "# END pghost.hardening managed block"
KEPT = "the higher value already in force or written"

PROC = {
    "kernel/shmmni": "4096\n",
    "kernel/sem": "32000\t1024000000\t500\t32000\n",
    "vm/swappiness": "60\n",
    "vm/nr_hugepages": "0\n",
    "vm/overcommit_memory": "0\n",
    "vm/overcommit_ratio": "50\n",
}


def fixture_text(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as handle:
        return handle.read()


def recorded_sysctl_e(names, facts="sysctl-e-host.txt"):
    """What FreeBSD's `sysctl -e name...` prints for names: the recorded lines for them."""
    lines = [line for line in fixture_text("freebsd", facts).splitlines() if line.split("=", 1)[0] in names]
    return "".join(line + "\n" for line in lines)


class FakeModule(BaseFakeModule):
    """With FreeBSD's sysctl on the path unless told otherwise."""

    def __init__(self, outputs=None, bins=None):
        super().__init__(outputs, bins if bins is not None else {"sysctl": SYSCTL})


@pytest.fixture
def proc(tmp_path, monkeypatch):
    """A fake /proc/sys; pg_sysctl.proc_sys_path points into it."""
    root = tmp_path / "proc" / "sys"
    for rel, text in PROC.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(pg_sysctl, "proc_sys_path", lambda name: str(root / name.replace(".", "/")))
    return root


def proc_values(root):
    return dict((rel, (root / rel).read_text()) for rel in PROC)


# ---------------------------------------------------------------- read_live


def test_read_live_sysctl_d_from_proc(proc):
    live = pg_sysctl.read_live(FakeModule(), {"kernel.shmmni", "kernel.sem", "vm.swappiness", "vm.dirty_bytes"}, "sysctl.d")
    # tabs of kernel.sem normalized, an unreadable key absent
    assert live == {"kernel.shmmni": "4096", "kernel.sem": "32000 1024000000 500 32000", "vm.swappiness": "60"}


def test_read_live_sysctl_d_runs_no_command(proc):
    module = FakeModule()
    assert pg_sysctl.read_live(module, set(), "sysctl.d") == {}
    assert module.calls == []


@pytest.mark.parametrize("style", ["sysctl.conf", "loader.conf"])
@pytest.mark.parametrize("facts", ["sysctl-e-host.txt", "sysctl-e-jail.txt"])
def test_read_live_freebsd_from_recorded_sysctl_e(style, facts):
    names = ["kern.ipc.shmmax", "kern.ipc.shmall", "kern.ipc.semmsl", "kern.ipc.shmmni", "kern.ipc.semmni"]
    argv = (SYSCTL, "-e", "kern.ipc.semmni", "kern.ipc.semmsl", "kern.ipc.shmall", "kern.ipc.shmmax", "kern.ipc.shmmni")
    module = FakeModule({argv: (0, recorded_sysctl_e(names, facts), "")})
    assert pg_sysctl.read_live(module, set(names), style) == {
        "kern.ipc.shmmax": "4294967296", "kern.ipc.shmall": "1048576", "kern.ipc.semmsl": "340",
        "kern.ipc.shmmni": "192", "kern.ipc.semmni": "50",
    }
    assert module.calls == [list(argv)]


def test_read_live_freebsd_unknown_oid_is_absent():
    # sysctl -e prints what it knows and complains on stderr about the rest
    argv = (SYSCTL, "-e", "kern.ipc.nosuch", "kern.ipc.shmmax")
    module = FakeModule({argv: (1, "kern.ipc.shmmax=4294967296\n", "sysctl: unknown oid 'kern.ipc.nosuch'\n")})
    assert pg_sysctl.read_live(module, {"kern.ipc.shmmax", "kern.ipc.nosuch"}, "sysctl.conf") == {"kern.ipc.shmmax": "4294967296"}


@pytest.mark.parametrize("bins, names", [({}, {"kern.ipc.shmmax"}), ({"sysctl": SYSCTL}, set())])
def test_read_live_freebsd_without_sysctl_or_names(bins, names):
    module = FakeModule(bins=bins)
    assert pg_sysctl.read_live(module, names, "sysctl.conf") == {}
    assert module.calls == []


# ---------------------------------------------------------------- apply_value


def test_apply_value_sysctl_d_writes_the_proc_file(proc):
    assert pg_sysctl.apply_value(FakeModule(), "kernel.sem", "250 32000 32 128", "sysctl.d") is None
    assert (proc / "kernel" / "sem").read_text() == "250 32000 32 128\n"
    assert pg_sysctl.apply_value(FakeModule(), "kernel.shmmni", "8192", "sysctl.d") is None
    assert (proc / "kernel" / "shmmni").read_text() == "8192\n"


def test_apply_value_sysctl_d_error_is_returned(proc):
    error = pg_sysctl.apply_value(FakeModule(), "net.core.somaxconn", "4096", "sysctl.d")
    assert "No such file or directory" in error
    assert not (proc / "net").exists()


def test_apply_value_freebsd_runs_sysctl():
    module = FakeModule({(SYSCTL, "kern.ipc.shmmax=8589934592"): (0, "kern.ipc.shmmax: 4294967296 -> 8589934592\n", "")})
    assert pg_sysctl.apply_value(module, "kern.ipc.shmmax", "8589934592", "sysctl.conf") is None
    assert module.calls == [[SYSCTL, "kern.ipc.shmmax=8589934592"]]


def test_apply_value_freebsd_refused_tunable():
    err = "sysctl: oid 'kern.ipc.semmni' is a read only tunable\nsysctl: Tunable values are set in /boot/loader.conf\n"
    module = FakeModule({(SYSCTL, "kern.ipc.semmni=128"): (1, "", err)})
    assert pg_sysctl.apply_value(module, "kern.ipc.semmni", "128", "sysctl.conf") == err.strip()


def test_apply_value_freebsd_needs_sysctl():
    with pytest.raises(Failed, match="no sysctl"):
        pg_sysctl.apply_value(FakeModule(bins={}), "kern.ipc.shmmax", "1", "sysctl.conf")


# ---------------------------------------------------------------- describe


@pytest.mark.parametrize("args, line", [
    (("kernel.shmmni", "8192", None, "4096", "SysV segment ids of all clusters: 2 (docs/postgres-kernel-facts.md §1)", True, "sysctl.d"),
     "kernel.shmmni = 8192 (was 4096 live, not in file; applied live): SysV segment ids of all clusters: 2 (docs/postgres-kernel-facts.md §1)"),
    (("kernel.sem", "32000 1024000000 500 32000", None, "32000 1024000000 500 32000", "", False, "sysctl.d"),
     "kernel.sem = 32000 1024000000 500 32000 (not in file; persisted only)"),
    (("vm.swappiness", "1", "1", "60", "swap", False, "sysctl.d"),
     "vm.swappiness = 1 (was 60 live, was 1 in file; persisted only): swap"),
    (("kern.ipc.semmni", "128", "50", "50", "", False, "loader.conf"),
     "kern.ipc.semmni = 128 (was 50 live, was 50 in file; at next boot)"),
    (("kern.ipc.shmmax", "8589934592", "4294967296", None, "x", False, "sysctl.conf"),
     "kern.ipc.shmmax = 8589934592 (was 4294967296 in file; persisted only): x"),
    (("kern.ipc.shmmax", "8589934592", None, "4294967296", "", True, "sysctl.conf"),
     "kern.ipc.shmmax = 8589934592 (was 4294967296 live, not in file; applied live)"),
])
def test_describe(args, line):
    assert pg_sysctl.describe(*args) == line


# ---------------------------------------------------------------- read_text


def test_read_text_missing_is_empty(tmp_path):
    assert pg_sysctl.read_text(str(tmp_path / "nope")) == ""


# ---------------------------------------------------------------- main()


@pytest.fixture
def host(monkeypatch):
    """Records warnings and every command; FreeBSD's sysctl answered from the recorded output."""
    calls = {"warned": [], "commands": [], "applied": []}

    def run_command(self, argv, **kwargs):
        calls["commands"].append(list(argv))
        if argv[:2] == [SYSCTL, "-e"]:
            return 0, recorded_sysctl_e(argv[2:]), ""
        return 1, "", "no command may run in these tests: %r" % (argv,)

    real_apply = pg_sysctl.apply_value

    def apply_value(module, name, value, style):
        calls["applied"].append((name, value))
        return real_apply(module, name, value, style)

    monkeypatch.setattr(pg_sysctl.AnsibleModule, "warn", lambda self, msg: calls["warned"].append(msg))
    monkeypatch.setattr(pg_sysctl.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(pg_sysctl.AnsibleModule, "get_bin_path",
                        lambda self, name, required=False, opt_dirs=None: SYSCTL if name == "sysctl" else None)
    monkeypatch.setattr(pg_sysctl, "apply_value", apply_value)
    return calls


def run_module(args, monkeypatch, capsys):
    return run_main(pg_sysctl.main, args, monkeypatch, capsys)


SEM_WHY = "SysV semaphores for the clusters: 8 sets of 17 (docs/postgres-kernel-facts.md §2)"
LINUX_ARGS = {
    "style": "sysctl.d",
    "raise_only": {"kernel.shmmni": 8192, "kernel.sem": "250 32000 32 128", "vm.nr_hugepages": 74},
    "values": {"vm.swappiness": 1},
    "reasons": {"kernel.shmmni": "SysV segment ids of all clusters: 8192 (docs/postgres-kernel-facts.md §1)", "kernel.sem": SEM_WHY,
                "vm.nr_hugepages": "huge pages of 2048 kB for the clusters' shared memory: 74 (docs/postgres-kernel-facts.md §3)"},
    "apply_live": ["kernel.shmmni", "kernel.sem"],
}
LINUX_CONTENT = (
    HEADER + "\n"
    "# SysV semaphores for the clusters: 8 sets of 17 (docs/postgres-kernel-facts.md §2); kept at 32000 1024000000 500 32000, " + KEPT + "\n"
    "kernel.sem = 32000 1024000000 500 32000\n"
    "# SysV segment ids of all clusters: 8192 (docs/postgres-kernel-facts.md §1)\n"
    "kernel.shmmni = 8192\n"
    "# huge pages of 2048 kB for the clusters' shared memory: 74 (docs/postgres-kernel-facts.md §3)\n"
    "vm.nr_hugepages = 74\n"
    "vm.swappiness = 1\n"
)


def linux_args(tmp_path, **extra):
    etc = tmp_path / "etc" / "sysctl.d"
    etc.mkdir(parents=True, exist_ok=True)
    args = dict(LINUX_ARGS, path=str(etc / "60-pghost-postgresql.conf"))
    args.update(extra)
    return args


def test_main_first_run(tmp_path, proc, host, monkeypatch, capsys):
    args = linux_args(tmp_path)
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert result["content"] == LINUX_CONTENT
    with open(args["path"], encoding="utf-8") as handle:
        assert handle.read() == LINUX_CONTENT
    assert stat.S_IMODE(os.stat(args["path"]).st_mode) == 0o644
    assert result["changes"] == [
        {"name": "kernel.sem", "value": "32000 1024000000 500 32000", "previous_file": None,
         "previous_live": "32000 1024000000 500 32000", "applied_live": False,
         "reason": SEM_WHY + "; kept at 32000 1024000000 500 32000, " + KEPT},
        {"name": "kernel.shmmni", "value": "8192", "previous_file": None, "previous_live": "4096", "applied_live": True,
         "reason": "SysV segment ids of all clusters: 8192 (docs/postgres-kernel-facts.md §1)"},
        {"name": "vm.nr_hugepages", "value": "74", "previous_file": None, "previous_live": "0", "applied_live": False,
         "reason": "huge pages of 2048 kB for the clusters' shared memory: 74 (docs/postgres-kernel-facts.md §3)"},
        {"name": "vm.swappiness", "value": "1", "previous_file": None, "previous_live": "60", "applied_live": False,
         "reason": ""},
    ]
    assert result["lines"] == [
        "kernel.sem = 32000 1024000000 500 32000 (not in file; persisted only): " + SEM_WHY
        + "; kept at 32000 1024000000 500 32000, " + KEPT,
        "kernel.shmmni = 8192 (was 4096 live, not in file; applied live): SysV segment ids of all clusters: 8192 (docs/postgres-kernel-facts.md §1)",
        "vm.nr_hugepages = 74 (was 0 live, not in file; persisted only): "
        "huge pages of 2048 kB for the clusters' shared memory: 74 (docs/postgres-kernel-facts.md §3)",
        "vm.swappiness = 1 (was 60 live, not in file; persisted only)",
    ]
    # kernel.sem already matched live: 2 keys differ live and were not applied
    assert result["msg"] == "4 setting(s) differ: %s written, 1 applied live, 2 not applied live" % args["path"]
    assert result["not_applied_live"] == ["vm.nr_hugepages", "vm.swappiness"]
    assert result["reboot_required"] is False
    assert host["applied"] == [("kernel.shmmni", "8192")]
    assert host["commands"] == [] and host["warned"] == []
    assert proc_values(proc) == dict(PROC, **{"kernel/shmmni": "8192\n"})


def test_main_second_identical_run(tmp_path, proc, host, monkeypatch, capsys):
    args = linux_args(tmp_path)
    code, first = run_module(args, monkeypatch, capsys)
    assert code == 0 and first["changed"] is True
    inode = os.stat(args["path"]).st_ino
    host["applied"][:] = []

    code, second = run_module(args, monkeypatch, capsys)
    assert code == 0, second
    assert second["changed"] is False
    assert second["content"] == first["content"] == LINUX_CONTENT
    assert os.stat(args["path"]).st_ino == inode          # not rewritten
    assert host["applied"] == []
    # the persisted-only keys still differ from the running kernel and say so
    assert [c["name"] for c in second["changes"]] == ["vm.nr_hugepages", "vm.swappiness"]
    assert [c["previous_file"] for c in second["changes"]] == ["74", "1"]
    assert not any(c["applied_live"] for c in second["changes"])
    assert second["not_applied_live"] == ["vm.nr_hugepages", "vm.swappiness"]
    assert second["msg"] == "2 setting(s) differ: 0 applied live, 2 not applied live"


def test_main_check_mode(tmp_path, proc, host, monkeypatch, capsys):
    args = linux_args(tmp_path, _ansible_check_mode=True)
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert not os.path.exists(args["path"])
    assert os.listdir(os.path.dirname(args["path"])) == []
    assert proc_values(proc) == PROC
    assert host["applied"] == []
    assert result["content"] == LINUX_CONTENT
    assert result["diff"] == {"before": "", "after": LINUX_CONTENT, "before_header": args["path"], "after_header": args["path"]}
    # what would be applied live is reported as such
    assert [(c["name"], c["applied_live"]) for c in result["changes"]] == [
        ("kernel.sem", False), ("kernel.shmmni", True), ("vm.nr_hugepages", False), ("vm.swappiness", False)]


def test_main_check_mode_after_a_run_is_unchanged(tmp_path, proc, host, monkeypatch, capsys):
    run_module(linux_args(tmp_path), monkeypatch, capsys)
    code, result = run_module(linux_args(tmp_path, _ansible_check_mode=True), monkeypatch, capsys)
    assert code == 0 and result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"] == LINUX_CONTENT


def test_main_overcommit_memory_applied_after_the_ratio(tmp_path, proc, host, monkeypatch, capsys):
    args = linux_args(tmp_path, raise_only={}, reasons={},
                      values={"vm.overcommit_memory": 2, "vm.overcommit_ratio": 90, "vm.swappiness": 1},
                      apply_live=["vm.overcommit_memory", "vm.overcommit_ratio", "vm.swappiness"])
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 0, result
    assert host["applied"] == [("vm.overcommit_ratio", "90"), ("vm.swappiness", "1"), ("vm.overcommit_memory", "2")]
    assert [c["name"] for c in result["changes"]] == ["vm.overcommit_ratio", "vm.swappiness", "vm.overcommit_memory"]
    assert proc_values(proc) == dict(PROC, **{"vm/overcommit_memory": "2\n", "vm/overcommit_ratio": "90\n",
                                              "vm/swappiness": "1\n"})
    assert result["not_applied_live"] == []
    # the file itself stays sorted by key
    assert result["content"] == HEADER + "\nvm.overcommit_memory = 2\nvm.overcommit_ratio = 90\nvm.swappiness = 1\n"


def test_main_refused_live_value_is_not_persisted(tmp_path, proc, host, monkeypatch, capsys):
    # net/ does not exist in the fake /proc/sys: writing it fails like a refused value
    args = linux_args(tmp_path, raise_only={"net.core.somaxconn": 4096}, values={}, reasons={},
                      apply_live=["net.core.somaxconn"])
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 1
    assert result["failed"] is True
    assert result["msg"].startswith("could not apply net.core.somaxconn = 4096 live: ")
    assert result["msg"].endswith("; nothing was persisted for it")
    assert not os.path.exists(args["path"])


LOADER_WHY = {
    "kern.ipc.shmmni": "SysV segment ids of all clusters: 256 (docs/postgres-kernel-facts.md §1)",
    "kern.ipc.semmni": "SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)",
    "kern.ipc.semmns": "SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)",
}
LOADER_CONTENT = (
    'kern.geom.label.disk_ident.enable="0"\n'
    'kern.geom.label.gptid.enable="0"\n'
    'cryptodev_load="YES"\n'
    'zfs_load="YES"\n'
    "security.bsd.allow_destructive_dtrace=0\n"
    "\n"
    "# Boot menu: shorter wait on the console.\n"
    'autoboot_delay="3"\n'
    + BEGIN + "\n"
    "# SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)\n"
    'kern.ipc.semmni="128"\n'
    "# SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)\n"
    'kern.ipc.semmns="2176"\n'
    "# SysV segment ids of all clusters: 256 (docs/postgres-kernel-facts.md §1)\n"
    'kern.ipc.shmmni="256"\n'
    + END + "\n"
)


def loader_args(tmp_path, **extra):
    path = tmp_path / "boot" / "loader.conf"
    if not path.exists():
        path.parent.mkdir(parents=True)
        path.write_text(fixture_text("freebsd-files", "loader.conf"), encoding="utf-8")
        os.chmod(str(path), 0o644)
    args = {"path": str(path), "style": "loader.conf",
            "raise_only": {"kern.ipc.shmmni": 256, "kern.ipc.semmni": 128, "kern.ipc.semmns": 2176},
            "reasons": LOADER_WHY, "apply_live": ["kern.ipc.shmmni", "kern.ipc.semmni", "kern.ipc.semmns"]}
    args.update(extra)
    return args


def test_main_loader_conf_needs_a_reboot_and_applies_nothing(tmp_path, host, monkeypatch, capsys):
    args = loader_args(tmp_path)
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert result["reboot_required"] is True
    assert result["content"] == LOADER_CONTENT
    with open(args["path"], encoding="utf-8") as handle:
        assert handle.read() == LOADER_CONTENT
    # live values read with one sysctl -e, nothing set
    assert host["commands"] == [[SYSCTL, "-e", "kern.ipc.semmni", "kern.ipc.semmns", "kern.ipc.shmmni"]]
    assert host["applied"] == []
    assert [(c["name"], c["value"], c["previous_live"], c["applied_live"]) for c in result["changes"]] == [
        ("kern.ipc.semmni", "128", "50", False), ("kern.ipc.semmns", "2176", "340", False),
        ("kern.ipc.shmmni", "256", "192", False)]
    assert result["not_applied_live"] == ["kern.ipc.semmni", "kern.ipc.semmns", "kern.ipc.shmmni"]
    assert result["lines"] == [
        "kern.ipc.semmni = 128 (was 50 live, not in file; at next boot): SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)",
        "kern.ipc.semmns = 2176 (was 340 live, not in file; at next boot): "
        "SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)",
        "kern.ipc.shmmni = 256 (was 192 live, not in file; at next boot): SysV segment ids of all clusters: 256 (docs/postgres-kernel-facts.md §1)",
    ]
    assert len(host["warned"]) == 1
    assert "reboot required for kern.ipc.semmni, kern.ipc.semmns, kern.ipc.shmmni" in host["warned"][0]


def test_main_loader_conf_second_run(tmp_path, host, monkeypatch, capsys):
    run_module(loader_args(tmp_path), monkeypatch, capsys)
    host["warned"][:] = []
    code, result = run_module(loader_args(tmp_path), monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is False
    assert result["content"] == LOADER_CONTENT
    assert host["applied"] == []
    # The running kernel still has the old values until the next boot, so
    # the reboot is still pending and still said.
    assert result["reboot_required"] is True
    assert len(host["warned"]) == 1 and "reboot required" in host["warned"][0]


def test_main_loader_conf_check_mode(tmp_path, host, monkeypatch, capsys):
    args = loader_args(tmp_path, _ansible_check_mode=True)
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is True and result["reboot_required"] is True
    with open(args["path"], encoding="utf-8") as handle:
        assert handle.read() == fixture_text("freebsd-files", "loader.conf")
    assert result["diff"]["before"] == fixture_text("freebsd-files", "loader.conf")
    assert result["diff"]["after"] == LOADER_CONTENT


def test_main_loader_conf_nothing_asked_is_no_change(tmp_path, host, monkeypatch, capsys):
    args = loader_args(tmp_path, raise_only={}, reasons={}, apply_live=[])
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 0, result
    assert result["changed"] is False and result["reboot_required"] is False
    assert result["changes"] == [] and result["msg"] == "no change"
    assert result["content"] == fixture_text("freebsd-files", "loader.conf")
    assert host["commands"] == []


def test_main_loader_conf_without_final_newline_nothing_asked(tmp_path, host, monkeypatch, capsys):
    args = loader_args(tmp_path, raise_only={}, reasons={}, apply_live=[])
    with open(args["path"], "w", encoding="utf-8") as handle:
        handle.write('zfs_load="YES"\nautoboot_delay="3"')
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 0
    assert result["changed"] is False
    assert result["reboot_required"] is False


def test_main_second_run_without_reasons_is_unchanged(tmp_path, host, monkeypatch, capsys):
    # the module's own EXAMPLES call it this way; recorded live kern.ipc.semmni is 50
    args = loader_args(tmp_path, raise_only={"kern.ipc.semmni": 16}, reasons={}, apply_live=[])
    run_module(args, monkeypatch, capsys)
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 0
    assert result["changed"] is False
    assert result["reboot_required"] is False


def test_main_sysctl_conf_applies_runtime_keys_with_sysctl(tmp_path, host, monkeypatch, capsys):
    path = tmp_path / "sysctl.conf"
    path.write_text(fixture_text("freebsd-files", "sysctl.conf"), encoding="utf-8")
    applied = []

    def run_command(self, argv, **kwargs):
        if argv[:2] == [SYSCTL, "-e"]:
            return 0, recorded_sysctl_e(argv[2:]), ""
        applied.append(argv)
        return 0, "", ""

    monkeypatch.setattr(pg_sysctl.AnsibleModule, "run_command", run_command)
    args = {"path": str(path), "style": "sysctl.conf",
            "raise_only": {"kern.ipc.shmmax": 8589934592, "kern.ipc.shmall": 2097152, "kern.ipc.semmsl": 17},
            "apply_live": ["kern.ipc.shmmax", "kern.ipc.shmall", "kern.ipc.semmsl"],
            "reasons": {"kern.ipc.shmmax": "segment", "kern.ipc.shmall": "pages", "kern.ipc.semmsl": "sem"}}
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 0, result
    assert applied == [[SYSCTL, "kern.ipc.shmall=2097152"], [SYSCTL, "kern.ipc.shmmax=8589934592"]]
    assert result["changed"] is True and result["reboot_required"] is False
    assert result["not_applied_live"] == []
    assert path.read_text(encoding="utf-8") == fixture_text("freebsd-files", "sysctl.conf") + (
        BEGIN + "\n"
        "# sem; kept at 340, " + KEPT + "\n"
        "kern.ipc.semmsl=340\n"
        "# pages\n"
        "kern.ipc.shmall=2097152\n"
        "# segment\n"
        "kern.ipc.shmmax=8589934592\n"
        + END + "\n"
    )


@pytest.mark.parametrize("args, message", [
    ({}, "missing required arguments: path"),
    ({"path": "/tmp/x", "style": "rc.conf"}, "value of style must be one of: sysctl.d, sysctl.conf, loader.conf"),
])
def test_main_argument_errors(args, message, host, monkeypatch, capsys):
    code, result = run_module(args, monkeypatch, capsys)
    assert code == 1
    assert message in result["msg"]
