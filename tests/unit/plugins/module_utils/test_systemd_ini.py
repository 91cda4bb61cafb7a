# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd_ini.parse_show: `systemctl show` output, one block per unit or the manager."""

from __future__ import annotations

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils.systemd_ini import parse_show


def test_parse_show_blocks():
    text = "Id=a.service\nLoadState=loaded\n\nId=b.service\nLoadState=not-found\nDropInPaths=\n"
    assert parse_show(text) == [{"Id": "a.service", "LoadState": "loaded"},
                                {"Id": "b.service", "LoadState": "not-found", "DropInPaths": ""}]


def test_parse_show_of_the_manager_is_one_block():
    # What pg_pam_limits reads: `systemctl show -p Version,DefaultLimit...` of the manager, no unit.
    text = "Version=252.22-1~deb12u1\nDefaultLimitNOFILE=524288\nDefaultLimitNOFILESoft=1024\n"
    assert parse_show(text) == [{"Version": "252.22-1~deb12u1", "DefaultLimitNOFILE": "524288",
                                 "DefaultLimitNOFILESoft": "1024"}]


def test_parse_show_keeps_everything_after_the_first_equals_sign_untrimmed():
    # ExecStart= and Environment= values hold '=' themselves; systemd prints them as they are.
    text = "Environment=PGDATA=/srv/db LANG=C\nExecStart={ path=/usr/bin/pg_ctlcluster ; argv[]=x ; }\n"
    assert parse_show(text) == [{"Environment": "PGDATA=/srv/db LANG=C",
                                 "ExecStart": "{ path=/usr/bin/pg_ctlcluster ; argv[]=x ; }"}]


@pytest.mark.parametrize("text", [None, "", "\n\n", "not a property\n"])
def test_parse_show_of_nothing(text):
    assert parse_show(text) == []


def test_parse_show_several_blank_lines_between_blocks():
    assert parse_show("\nId=a\n\n\n\nId=b\n") == [{"Id": "a"}, {"Id": "b"}]
