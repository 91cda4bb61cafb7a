# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_files: the one test seam (root and platform of the stand-in host)."""

from __future__ import annotations

from ansible_collections.pghost.hardening.plugins.module_utils import host_files
from ansible_collections.pghost.hardening.plugins.module_utils.host_files import HostFiles


def test_test_root_and_platform_apply_only_together(monkeypatch, tmp_path):
    monkeypatch.delenv(host_files.TEST_ROOT_ENV, raising=False)
    monkeypatch.delenv(host_files.TEST_PLATFORM_ENV, raising=False)
    real = host_files._platform.system().lower()
    assert HostFiles().root == "/"
    assert host_files.current_platform() == real

    monkeypatch.setenv(host_files.TEST_ROOT_ENV, str(tmp_path))
    assert HostFiles().root == "/", "a root without a platform is ignored"
    assert host_files.current_platform() == real

    monkeypatch.setenv(host_files.TEST_PLATFORM_ENV, "FreeBSD")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "rc.conf").write_text('postgresql_enable="YES"\n')
    assert HostFiles().root == str(tmp_path)
    assert HostFiles().read("/etc/rc.conf") == 'postgresql_enable="YES"\n'
    assert host_files.current_platform() == "freebsd"
    assert HostFiles("/").root == "/", "an explicit root still wins"
