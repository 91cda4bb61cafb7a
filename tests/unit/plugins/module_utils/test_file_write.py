"""The atomic writer every module uses (module_utils/file_write.py), with a real AnsibleModule's atomic_move."""

import json
import os
import stat

import pytest
from ansible.module_utils import basic

from ansible_collections.pghost.hardening.plugins.module_utils import file_write


@pytest.fixture
def module(monkeypatch):
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": {}}).encode("utf-8"))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
    return basic.AnsibleModule(argument_spec={})


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o444])
def test_write_atomically_keeps_mode_and_replaces_content(tmp_path, module, mode):
    path = tmp_path / "sysctl.conf"
    path.write_text("old\nlonger old content\n")
    os.chmod(str(path), mode)
    file_write.write_atomically(module, str(path), "new §\n")
    assert path.read_text(encoding="utf-8") == "new §\n"
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == mode
    assert os.listdir(str(tmp_path)) == ["sysctl.conf"]


def test_write_atomically_keeps_owner_and_group(tmp_path, module):
    path = tmp_path / "login.conf"
    path.write_text("default:\\\n\t:tc=x:\n")
    before = os.stat(str(path))
    file_write.write_atomically(module, str(path), "default:\n")
    after = os.stat(str(path))
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_ino != before.st_ino  # replaced by rename, not rewritten in place


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_write_atomically_new_file_is_0644_whatever_the_umask(tmp_path, module, umask):
    path = tmp_path / "60-pghost-postgresql.conf"
    old = os.umask(umask)
    try:
        file_write.write_atomically(module, str(path), "x\n")
    finally:
        os.umask(old)
    assert path.read_text() == "x\n"
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644


def test_write_atomically_failure_leaves_file_and_no_temp(tmp_path, module, monkeypatch):
    path = tmp_path / "loader.conf"
    path.write_text('zfs_load="YES"\n')

    def refuse(src, dst):
        raise OSError("rename refused")

    monkeypatch.setattr(basic.os, "rename", refuse)
    with pytest.raises(OSError, match="rename refused"):
        file_write.write_atomically(module, str(path), "new\n")
    assert path.read_text() == 'zfs_load="YES"\n'
    assert os.listdir(str(tmp_path)) == ["loader.conf"]


def test_write_atomically_creates_missing_directory(tmp_path, module):
    path = tmp_path / "postgresql@15-main.service.d" / "60-pghost-oom.conf"
    file_write.write_atomically(module, str(path), "[Service]\n")
    assert path.read_text() == "[Service]\n"
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o755
