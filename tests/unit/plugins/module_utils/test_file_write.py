"""The atomic writer every module uses (module_utils/file_write.py)."""

import os
import stat

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils import file_write


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o444])
def test_write_atomically_keeps_mode_and_replaces_content(tmp_path, mode):
    path = tmp_path / "sysctl.conf"
    path.write_text("old\nlonger old content\n")
    os.chmod(str(path), mode)
    file_write.write_atomically(str(path), "new §\n")
    assert path.read_text(encoding="utf-8") == "new §\n"
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == mode
    assert os.listdir(str(tmp_path)) == ["sysctl.conf"]


def test_write_atomically_new_file_is_0644(tmp_path):
    path = tmp_path / "60-pghost-postgresql.conf"
    file_write.write_atomically(str(path), "x\n")
    assert path.read_text() == "x\n"
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644


def test_write_atomically_failure_leaves_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "loader.conf"
    path.write_text('zfs_load="YES"\n')

    def refuse(src, dst):
        raise OSError("rename refused")

    monkeypatch.setattr(file_write.os, "rename", refuse)
    with pytest.raises(OSError, match="rename refused"):
        file_write.write_atomically(str(path), "new\n")
    assert path.read_text() == 'zfs_load="YES"\n'
    assert os.listdir(str(tmp_path)) == ["loader.conf"]


def test_write_atomically_creates_missing_directory(tmp_path):
    path = tmp_path / "postgresql@15-main.service.d" / "60-pghost-oom.conf"
    file_write.write_atomically(str(path), "[Service]\n")
    assert path.read_text() == "[Service]\n"
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o755
