# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_probe and its parsers (linux_proc, freebsd_sysctl, logind over a tree): parsers fed
recorded /proc, /sys and command output, and gather_host over fake file trees (tests/unit/fixtures)."""

from __future__ import annotations

import os
import shutil

import pytest
from fake_module import Failed, FakeModule

from ansible_collections.pghost.hardening.plugins.module_utils import host_probe
from ansible_collections.pghost.hardening.plugins.module_utils.freebsd_sysctl import parse_swapinfo_k, parse_sysctl_e
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles
from ansible_collections.pghost.hardening.plugins.module_utils.host_probe import apply_live_map, gather_host
from ansible_collections.pghost.hardening.plugins.module_utils.kernel_keys import (
    FREEBSD_LOADER_TUNABLES,
    FREEBSD_SYSCTLS,
    LINUX_SYSCTLS,
    LINUX_THP_FILES,
    normalize_sysctl,
)
from ansible_collections.pghost.hardening.plugins.module_utils.linux_proc import (
    detect_container_linux,
    mount_read_only,
    parse_meminfo,
    parse_mountinfo,
    parse_thp,
)
from ansible_collections.pghost.hardening.plugins.module_utils.logind import effective_remove_ipc

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")

HOST_KEYS = {
    "platform", "mem_total_kb", "swap_total_kb", "hugepage_size_kb", "hugepages_total", "hugepages_free", "hugetlb_kb",
    "committed_as_kb", "commit_limit_kb", "page_size", "sysctl", "thp", "writable", "namespaced",
    "container", "apply_live", "logind_remove_ipc", "service_mgr",
}


def fixture_text(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


@pytest.fixture
def linux_tree(tmp_path):
    """A copy of /proc, /sys, /run and /etc files recorded in a privileged
    Podman container running Debian bookworm with systemd."""
    root = tmp_path / "root"
    shutil.copytree(os.path.join(FIXTURES, "trees", "linux-podman-bookworm"), str(root))
    (root / "proc" / "self").mkdir()
    (root / "proc" / "self" / "mountinfo").write_text(fixture_text("host", "mountinfo-podman-privileged.txt"))
    environ = fixture_text("host", "proc1-environ-podman.txt").replace("\n", "\0")
    (root / "proc" / "1" / "environ").write_bytes(environ.encode())
    (root / "run" / "systemd" / "system").mkdir()
    return root


# -- parsers ------------------------------------------------------------------

def test_parse_meminfo_recorded():
    values = parse_meminfo(fixture_text("host", "meminfo-podman-bookworm.txt"))
    assert values["MemTotal"] == 24684084
    assert values["SwapTotal"] == 0
    assert values["Hugepagesize"] == 2048
    assert values["HugePages_Total"] == 0
    assert values["CommitLimit"] == 12342040
    assert values["Committed_AS"] > 0


@pytest.mark.parametrize("raw, expected", [
    ("32000\t1024000000\t500\t32000\n", "32000 1024000000 500 32000"),
    ("18446744073692774399\n", "18446744073692774399"),
    ("0\n", "0"),
    ("", ""),
])
def test_normalize_sysctl(raw, expected):
    assert normalize_sysctl(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("always [madvise] never\n", "madvise"),
    ("[always] madvise never\n", "always"),
    ("always madvise [never]\n", "never"),
    ("always defer defer+madvise [madvise] never\n", "madvise"),
    ("always defer [defer+madvise] madvise never\n", "defer+madvise"),
    ("", None),
])
def test_parse_thp(raw, expected):
    assert parse_thp(raw) == expected


@pytest.mark.parametrize("fixture, path, read_only", [
    # privileged container: /proc and /sys are rw
    ("mountinfo-podman-privileged.txt", "/proc/sys/kernel/shmmax", False),
    ("mountinfo-podman-privileged.txt", "/proc/sys/vm/swappiness", False),
    ("mountinfo-podman-privileged.txt", "/sys/kernel/mm/transparent_hugepage/enabled", False),
    ("mountinfo-podman-privileged.txt", "/sys/fs/cgroup/memory/memory.limit_in_bytes", False),
    ("mountinfo-podman-privileged.txt", "/sys/fs/cgroup/x", True),
    # unprivileged container: /proc/sys and /sys are mounted read-only
    ("mountinfo-podman-unprivileged.txt", "/proc/sys/kernel/shmmax", True),
    ("mountinfo-podman-unprivileged.txt", "/proc/sys", True),
    ("mountinfo-podman-unprivileged.txt", "/proc/sysrq-trigger", False),
    ("mountinfo-podman-unprivileged.txt", "/proc/meminfo", False),
    ("mountinfo-podman-unprivileged.txt", "/sys/kernel/mm/transparent_hugepage/enabled", True),
])
def test_mount_read_only(fixture, path, read_only):
    mounts = parse_mountinfo(fixture_text("host", fixture))
    assert mount_read_only(mounts, path) is read_only


def test_mountinfo_stacked_and_escaped():
    text = (
        "22 1 0:21 / /proc rw,relatime - proc proc rw\n"
        "30 22 0:21 /sys /proc/sys ro,relatime - proc proc rw\n"
        "31 22 0:21 /sys /proc/sys rw,relatime - proc proc rw\n"
        "40 1 0:40 / /srv/my\\040data rw - ext4 /dev/sdb rw\n"
        "41 1 0:41 / /mnt/old rw - ext4 /dev/sdc ro,errors=remount-ro\n"
    )
    mounts = parse_mountinfo(text)
    # the last mount stacked on /proc/sys is the visible one
    assert mount_read_only(mounts, "/proc/sys/vm/swappiness") is False
    assert ("/srv/my data", False) in mounts
    # a read-only superblock makes the mount read-only too
    assert mount_read_only(mounts, "/mnt/old/file") is True
    assert mount_read_only([], "/proc/sys/kernel/sem") is False


@pytest.mark.parametrize("markers, environ, systemd_container, cgroup, expected", [
    ({"/run/.containerenv"}, b"container=podman\0", "podman", None, "podman"),
    ({"/.dockerenv"}, None, None, None, "docker"),
    (set(), b"PATH=/bin\0container=lxc\0HOME=/\0", None, None, "lxc"),
    (set(), None, "systemd-nspawn\n", None, "systemd-nspawn"),
    (set(), None, None, "12:pids:/docker/3f2a9c\n11:memory:/docker/3f2a9c\n", "docker"),
    (set(), None, None, "0::/kubepods/besteffort/pod1/abc\n", "kubernetes"),
    # recorded in the Podman container: cgroup v1 paths name libpod
    (set(), None, None, fixture_text("trees", "linux-podman-bookworm", "proc", "1", "cgroup"), "podman"),
    (set(), b"PATH=/bin\0", None, "0::/init.scope\n", None),
])
def test_detect_container_linux(markers, environ, systemd_container, cgroup, expected):
    result = detect_container_linux(lambda path: path in markers, environ, systemd_container, cgroup)
    assert result == {"is_container": expected is not None, "type": expected}


def test_parse_sysctl_e_and_swapinfo():
    values = parse_sysctl_e(fixture_text("freebsd", "sysctl-e-host.txt"))
    assert values["hw.physmem"] == "17058619392"
    assert values["kern.ipc.semmni"] == "50"
    assert parse_swapinfo_k(fixture_text("freebsd", "swapinfo-k.txt")) == 3145728
    assert parse_swapinfo_k("Device          1K-blocks     Used    Avail Capacity\n") == 0


@pytest.mark.parametrize("is_container, expected", [
    (True, {"kernel.sem": True, "vm.swappiness": False, "kernel.shmmax": False}),
    (False, {"kernel.sem": True, "vm.swappiness": True, "kernel.shmmax": False}),
])
def test_apply_live_map(is_container, expected):
    writable = {"kernel.sem": True, "vm.swappiness": True, "kernel.shmmax": False}
    namespaced = {"kernel.sem": True, "vm.swappiness": False, "kernel.shmmax": True}
    assert apply_live_map(writable, namespaced, is_container) == expected


# -- logind over a file tree -------------------------------------------------

@pytest.mark.parametrize("dropins, expected", [
    ({}, "yes"),
    ({"etc/systemd/logind.conf.d/50-pg.conf": "[Login]\nRemoveIPC=no\n"}, "no"),
    # lexical order across directories: 60 after 50
    ({"etc/systemd/logind.conf.d/50-pg.conf": "[Login]\nRemoveIPC=no\n",
      "usr/lib/systemd/logind.conf.d/60-vendor.conf": "[Login]\nRemoveIPC=yes\n"}, "yes"),
    # the same name in /etc masks the vendor drop-in
    ({"etc/systemd/logind.conf.d/60-vendor.conf": "[Login]\nRemoveIPC=no\n",
      "usr/lib/systemd/logind.conf.d/60-vendor.conf": "[Login]\nRemoveIPC=yes\n"}, "no"),
    ({"etc/systemd/logind.conf.d/50-pg.conf.disabled": "[Login]\nRemoveIPC=no\n"}, "yes"),
])
def test_effective_remove_ipc(linux_tree, dropins, expected):
    for relpath, text in dropins.items():
        path = linux_tree / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert effective_remove_ipc(HostFiles(str(linux_tree))) == expected


def test_effective_remove_ipc_main_file(linux_tree):
    (linux_tree / "etc" / "systemd" / "logind.conf").write_text("[Login]\nRemoveIPC=no\n")
    assert effective_remove_ipc(HostFiles(str(linux_tree))) == "no"


def test_no_logind_means_null(linux_tree):
    os.remove(str(linux_tree / "lib" / "systemd" / "systemd-logind"))
    os.remove(str(linux_tree / "usr" / "lib" / "systemd" / "systemd-logind"))
    assert effective_remove_ipc(HostFiles(str(linux_tree))) is None


# -- gather_host -------------------------------------------------------------

def test_gather_linux_privileged_podman(linux_tree):
    host = gather_host(FakeModule(), "linux", files=HostFiles(str(linux_tree)))
    assert set(host) == HOST_KEYS
    assert host["platform"] == "linux"
    assert host["mem_total_kb"] == 24684084
    assert host["hugepage_size_kb"] == 2048
    assert host["commit_limit_kb"] == 12342040
    assert host["committed_as_kb"] > 0
    assert host["page_size"] == os.sysconf("SC_PAGE_SIZE")
    assert set(host["sysctl"]) == set(LINUX_SYSCTLS)
    assert host["sysctl"]["kernel.sem"] == "32000 1024000000 500 32000"
    assert host["sysctl"]["vm.overcommit_ratio"] == "50"
    assert host["thp"] == {"transparent_hugepage.enabled": "madvise", "transparent_hugepage.defrag": "madvise"}
    every = set(LINUX_SYSCTLS) | set(LINUX_THP_FILES)
    assert set(host["writable"]) == set(host["namespaced"]) == set(host["apply_live"]) == every
    assert all(host["writable"].values())
    assert host["container"] == {"is_container": True, "type": "podman"}
    assert host["namespaced"]["kernel.shmmax"] is True
    assert host["namespaced"]["vm.swappiness"] is False
    # vm.* and THP are never applied live from a container
    assert host["apply_live"] == dict((name, name.startswith("kernel.")) for name in every)
    assert host["logind_remove_ipc"] == "yes"
    assert host["service_mgr"] == "systemd"


def test_gather_linux_unprivileged_container(linux_tree):
    (linux_tree / "proc" / "self" / "mountinfo").write_text(fixture_text("host", "mountinfo-podman-unprivileged.txt"))
    host = gather_host(FakeModule(), "linux", files=HostFiles(str(linux_tree)))
    assert not any(host["writable"].values())
    assert not any(host["apply_live"].values())


def test_gather_linux_bare_metal(linux_tree):
    for marker in ("run/.containerenv", "run/systemd/container", "proc/1/environ"):
        os.remove(str(linux_tree / marker))
    (linux_tree / "proc" / "1" / "cgroup").write_text("0::/init.scope\n")
    (linux_tree / "proc" / "meminfo").write_text(
        "MemTotal:       65831260 kB\nSwapTotal:       8388604 kB\nHugePages_Total:    1024\n"
        "HugePages_Free:      1000\nHugepagesize:       2048 kB\nHugetlb:         2097152 kB\nCommitLimit:    41304232 kB\n"
        "Committed_AS:    9812340 kB\n"
    )
    os.remove(str(linux_tree / "proc" / "sys" / "vm" / "overcommit_kbytes"))
    host = gather_host(FakeModule(), "linux", files=HostFiles(str(linux_tree)))
    assert host["container"] == {"is_container": False, "type": None}
    assert (host["mem_total_kb"], host["swap_total_kb"]) == (65831260, 8388604)
    assert (host["hugepages_total"], host["hugepages_free"], host["hugetlb_kb"]) == (1024, 1000, 2097152)
    assert "vm.overcommit_kbytes" not in host["sysctl"]
    assert host["writable"]["vm.overcommit_kbytes"] is False
    assert host["apply_live"]["vm.swappiness"] is True
    assert host["apply_live"]["transparent_hugepage.enabled"] is True


def test_gather_linux_without_systemd(linux_tree):
    (linux_tree / "run" / "systemd" / "system").rmdir()
    (linux_tree / "proc" / "1" / "comm").write_text("init\n")
    assert gather_host(FakeModule(), "linux", files=HostFiles(str(linux_tree)))["service_mgr"] == "sysvinit"


SYSCTL_ARGV = ("/sbin/sysctl", "-i", "-e", "hw.physmem", "vm.swap_total", "security.jail.jailed") + FREEBSD_SYSCTLS


@pytest.mark.parametrize("fixture, swapinfo, expected", [
    ("sysctl-e-host.txt", None,
     {"mem_total_kb": 16658808, "swap_total_kb": 4194304, "container": {"is_container": False, "type": None}}),
    ("sysctl-e-jail.txt", "swapinfo-k.txt",
     {"mem_total_kb": 8345672, "swap_total_kb": 3145728, "container": {"is_container": True, "type": "jail"}}),
])
def test_gather_freebsd(fixture, swapinfo, expected):
    # No answer to `sysctl -N -W kern.ipc` here: the built-in table decides.
    outputs = {SYSCTL_ARGV: (0, fixture_text("freebsd", fixture), "")}
    bins = {"sysctl": "/sbin/sysctl"}
    if swapinfo:
        outputs[("/usr/sbin/swapinfo", "-k")] = (0, fixture_text("freebsd", swapinfo), "")
        bins["swapinfo"] = "/usr/sbin/swapinfo"
    module = FakeModule(outputs, bins)
    host = gather_host(module, "freebsd")
    assert set(host) == HOST_KEYS | {"loader_only", "loader_only_source"}
    assert host["loader_only"] == list(FREEBSD_LOADER_TUNABLES)
    assert host["loader_only_source"].startswith("built-in table")
    for key, value in expected.items():
        assert host[key] == value
    assert module.calls[0] == list(SYSCTL_ARGV)
    assert (host["hugepage_size_kb"], host["hugepages_total"], host["hugepages_free"], host["hugetlb_kb"]) == (0, 0, 0, 0)
    assert host["committed_as_kb"] is None and host["commit_limit_kb"] is None
    assert host["sysctl"]["kern.ipc.shmall"] == "1048576"
    assert set(host["sysctl"]) == set(FREEBSD_SYSCTLS)
    assert host["thp"] == {}
    jailed = expected["container"]["is_container"]
    for name in FREEBSD_SYSCTLS:
        assert host["writable"][name] is (name not in FREEBSD_LOADER_TUNABLES and not jailed)
        assert host["namespaced"][name] is False
        assert host["apply_live"][name] is host["writable"][name]
    assert host["logind_remove_ipc"] is None
    assert host["service_mgr"] == "rc"


NW_ARGV = ("/sbin/sysctl", "-N", "-W", "kern.ipc")


@pytest.mark.parametrize("drop, loader_only", [
    # FreeBSD 13.2 (hand-written from sysv_shm.c/sysv_sem.c: CTLFLAG_RWTUN
    # for shmmax, shmmin, shmall, shm_use_phys, semmsl, semvmx, semaem;
    # CTLFLAG_RDTUN for the rest): the built-in table agrees.
    ((), FREEBSD_LOADER_TUNABLES),
    # A kernel whose semmsl is read-only at runtime: it goes to loader.conf.
    (("kern.ipc.semmsl",), FREEBSD_LOADER_TUNABLES + ("kern.ipc.semmsl",)),
])
def test_freebsd_loader_only_comes_from_the_kernel(drop, loader_only):
    writable = [n for n in fixture_text("freebsd", "sysctl-NW-kern.ipc-13.2.txt").splitlines() if n not in drop]
    outputs = {SYSCTL_ARGV: (0, fixture_text("freebsd", "sysctl-e-host.txt"), ""),
               NW_ARGV: (0, "\n".join(writable) + "\n", "")}
    module = FakeModule(outputs, {"sysctl": "/sbin/sysctl"})
    host = gather_host(module, "freebsd")
    assert module.calls[1] == list(NW_ARGV)
    assert sorted(host["loader_only"]) == sorted(loader_only)
    assert host["loader_only_source"] == "sysctl -N -W kern.ipc"
    for name in FREEBSD_SYSCTLS:
        assert host["writable"][name] is (name not in loader_only)


def test_unsupported_platform():
    with pytest.raises(Failed, match="this host runs sunos"):
        gather_host(FakeModule(), "SunOS")


def test_default_platform_is_the_running_one(monkeypatch, linux_tree):
    monkeypatch.setattr(host_probe, "current_platform", lambda: "linux")
    monkeypatch.setattr(host_probe, "HostFiles", lambda: HostFiles(str(linux_tree)))
    assert gather_host(FakeModule())["platform"] == "linux"
