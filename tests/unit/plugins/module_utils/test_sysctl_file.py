# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sysctl_file: parse, merge and render of the files the collection owns.

FreeBSD files are realistic /etc/sysctl.conf and /boot/loader.conf texts
(tests/unit/fixtures/freebsd-files); live values come from the recorded
`sysctl -e` output (tests/unit/fixtures/freebsd). Every expected text is
written out by hand.
"""

from __future__ import annotations

import os
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils import sysctl_file
from ansible_collections.pghost.hardening.plugins.module_utils.freebsd_sysctl import parse_sysctl_e
from ansible_collections.pghost.hardening.plugins.module_utils.kernel_keys import FREEBSD_LOADER_TUNABLES, FREEBSD_RUNTIME
from ansible_collections.pghost.hardening.plugins.module_utils.kernel_plan import plan
from ansible_collections.pghost.hardening.plugins.module_utils.sysctl_file import Entry, changes, higher, merge, parse, render

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
PROPERTY = settings(max_examples=200, deadline=None, database=None)

BEGIN = "# BEGIN pghost.hardening managed block (role pg_kernel); do not edit"
END = "# END pghost.hardening managed block"
HEADER = (
    "# Managed by the pghost.hardening collection (role pg_kernel).\n"
    "# Do not edit: the next run rewrites this file. Each value is sized from\n"
    "# the PostgreSQL clusters on this host (pghost.hardening.pg_kernel_params);\n"
    "# the line above it says why.\n"
)
KEPT = "the higher value already in force or written"


def fixture_text(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as handle:
        return handle.read()


def sample_entries():
    return {
        "kern.ipc.shmmax": Entry("kern.ipc.shmmax", 8589934592, "largest SysV segment (docs/postgres-kernel-facts.md §1)"),
        "kern.ipc.semmsl": Entry("kern.ipc.semmsl", "340", ""),
        "kern.ipc.shmall": Entry("kern.ipc.shmall", "2097152", "all clusters: 2097152 pages"),
    }


# ---------------------------------------------------------------- the constants the tests spell out


def test_markers_and_header_are_the_ones_written_out_here():
    assert sysctl_file.BEGIN == BEGIN
    assert sysctl_file.END == END
    assert sysctl_file.HEADER == HEADER
    assert sysctl_file.STYLES == ("sysctl.d", "sysctl.conf", "loader.conf")


# ---------------------------------------------------------------- render, one style at a time


def test_render_sysctl_d_whole_file_sorted_with_header_and_reasons():
    # sorted: semmsl < shmall < shmmax
    expected = (
        HEADER + "\n"
        "kern.ipc.semmsl = 340\n"
        "# all clusters: 2097152 pages\n"
        "kern.ipc.shmall = 2097152\n"
        "# largest SysV segment (docs/postgres-kernel-facts.md §1)\n"
        "kern.ipc.shmmax = 8589934592\n"
    )
    assert render("whatever was there is replaced\n", sample_entries(), "sysctl.d") == expected


def test_render_sysctl_conf_block_appended_to_an_empty_file():
    assert render("", sample_entries(), "sysctl.conf") == (
        BEGIN + "\n"
        "kern.ipc.semmsl=340\n"
        "# all clusters: 2097152 pages\n"
        "kern.ipc.shmall=2097152\n"
        "# largest SysV segment (docs/postgres-kernel-facts.md §1)\n"
        "kern.ipc.shmmax=8589934592\n"
        + END + "\n"
    )


def test_render_loader_conf_block_quotes_values():
    assert render("", sample_entries(), "loader.conf") == (
        BEGIN + "\n"
        'kern.ipc.semmsl="340"\n'
        "# all clusters: 2097152 pages\n"
        'kern.ipc.shmall="2097152"\n'
        "# largest SysV segment (docs/postgres-kernel-facts.md §1)\n"
        'kern.ipc.shmmax="8589934592"\n'
        + END + "\n"
    )


def test_render_sysctl_d_multi_field_value_is_single_spaced():
    entries = {"kernel.sem": Entry("kernel.sem", "250\t32000  32\t128", "SysV semaphores (docs/postgres-kernel-facts.md §2)")}
    assert render("", entries, "sysctl.d") == HEADER + "\n# SysV semaphores (docs/postgres-kernel-facts.md §2)\nkernel.sem = 250 32000 32 128\n"


@pytest.mark.parametrize("style", ["sysctl.conf", "loader.conf"])
@pytest.mark.parametrize("name", ["sysctl.conf", "loader.conf"])
def test_empty_merge_keeps_a_foreign_file_byte_for_byte(style, name):
    text = fixture_text("freebsd-files", name)
    assert parse(text, style) == {}
    assert render(text, merge({}, {}, {}, {}, {}), style) == text


@pytest.mark.parametrize("style", ["sysctl.conf", "loader.conf"])
def test_empty_block_is_not_rendered(style):
    text = "zfs_load=\"YES\"\n%s\n%s\nautoboot_delay=\"3\"\n" % (BEGIN, END)
    assert render(text, {}, style) == 'zfs_load="YES"\nautoboot_delay="3"\n'
    assert render("", {}, style) == ""


def test_sysctl_d_with_nothing_managed_is_just_the_header():
    assert render("", {}, "sysctl.d") == HEADER + "\n"


@pytest.mark.parametrize("style", ["sysctl.conf", "loader.conf"])
def test_empty_merge_keeps_a_file_without_final_newline(style):
    text = fixture_text("freebsd-files", "loader.conf").rstrip("\n")
    assert render(text, {}, style) == text


# ---------------------------------------------------------------- parse


def test_parse_sysctl_d_file_written_by_render():
    text = (
        HEADER + "\n"
        "# SysV semaphores (docs/postgres-kernel-facts.md §2)\n"
        "kernel.sem = 250\t32000\t32\t128\n"
        "kernel.shmmni=8192\n"
        "\n"
        "# a comment followed by a blank line is no reason\n"
        "\n"
        "vm.swappiness = 1\n"
        "# last of two comments wins\n"
        "## strict accounting (docs/postgres-kernel-facts.md §4)\n"
        "vm.overcommit_memory = 2\n"
        "this line is not a setting\n"
    )
    assert parse(text, "sysctl.d") == {
        "kernel.sem": Entry("kernel.sem", "250 32000 32 128", "SysV semaphores (docs/postgres-kernel-facts.md §2)"),
        "kernel.shmmni": Entry("kernel.shmmni", "8192", ""),
        "vm.swappiness": Entry("vm.swappiness", "1", ""),
        "vm.overcommit_memory": Entry("vm.overcommit_memory", "2", "strict accounting (docs/postgres-kernel-facts.md §4)"),
    }


def test_parse_reads_only_the_block_of_sysctl_conf():
    text = fixture_text("freebsd-files", "sysctl.conf-with-block")
    # kern.randompid and security.bsd.* are outside the block: not the collection's
    assert parse(text, "sysctl.conf") == {
        "kern.ipc.shmmax": Entry("kern.ipc.shmmax", "4294967296",
                                 "largest SysV segment of the PostgreSQL clusters: 4294967296 bytes (docs/postgres-kernel-facts.md §1)"),
        "kern.ipc.semmsl": Entry("kern.ipc.semmsl", "340", "SysV semaphores for the clusters: 50 sets of 17 (docs/postgres-kernel-facts.md §2)"),
    }


def test_parse_reads_only_the_block_of_loader_conf_and_unquotes():
    text = fixture_text("freebsd-files", "loader.conf-with-block")
    assert parse(text, "loader.conf") == {
        "kern.ipc.semmni": Entry("kern.ipc.semmni", "50", "SysV semaphores for the clusters: 50 sets of 17 (docs/postgres-kernel-facts.md §2)"),
        "kern.ipc.shmmni": Entry("kern.ipc.shmmni", "192", "SysV segment ids of all clusters: 192 (docs/postgres-kernel-facts.md §1)"),
    }


@pytest.mark.parametrize("name, style", [("sysctl.conf", "sysctl.conf"), ("loader.conf", "loader.conf")])
def test_parse_without_block_is_empty(name, style):
    assert parse(fixture_text("freebsd-files", name), style) == {}


@pytest.mark.parametrize("text", [None, ""])
@pytest.mark.parametrize("style", ["sysctl.d", "sysctl.conf", "loader.conf"])
def test_parse_nothing(text, style):
    assert parse(text, style) == {}


@pytest.mark.parametrize("style", ["sysctl", "loader", "", "SYSCTL.D"])
def test_parse_unknown_style(style):
    with pytest.raises(ValueError, match="is not one of sysctl.d, sysctl.conf, loader.conf"):
        parse("", style)


# ---------------------------------------------------------------- round trip (hypothesis)

KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,7}(\.[a-z0-9_]{1,10}){1,3}", fullmatch=True)
NUMBER = st.integers(min_value=0, max_value=2 ** 64).map(str)
VALUES = st.one_of(NUMBER, st.lists(NUMBER, min_size=4, max_size=4).map(" ".join),
                   st.sampled_from(["madvise", "never", "always", "YES", "NO"]))
REASON_CHARS = string.ascii_letters + string.digits + " .,;:()'%-+/=<>[]§"
REASONS = st.one_of(st.just(""), st.text(REASON_CHARS, min_size=1, max_size=60).map(str.strip))
OUTSIDE_LINE = st.text(string.ascii_letters + string.digits + string.punctuation + " \t", max_size=40).filter(
    lambda line: line not in (BEGIN, END))


@st.composite
def entry_maps(draw):
    keys = draw(st.lists(KEYS, unique=True, max_size=8))
    return dict((key, Entry(key, draw(VALUES), draw(REASONS))) for key in keys)


@PROPERTY
@given(entries=entry_maps())
def test_round_trip_sysctl_d(entries):
    text = render("", entries, "sysctl.d")
    assert text.startswith(HEADER + "\n")
    assert parse(text, "sysctl.d") == entries
    assert render(text, parse(text, "sysctl.d"), "sysctl.d") == text


@PROPERTY
@given(entries=entry_maps(), style=st.sampled_from(["sysctl.conf", "loader.conf"]),
       before=st.lists(OUTSIDE_LINE, max_size=6), after=st.lists(OUTSIDE_LINE, max_size=6),
       old=entry_maps())
def test_round_trip_block_styles_keep_outside_lines(entries, style, before, after, old):
    # a file with an old block between foreign lines
    old_block = render("", old, style).splitlines()
    text = "".join(line + "\n" for line in before + old_block + after)
    new = render(text, entries, style)
    assert parse(new, style) == entries
    lines = new.splitlines()
    if entries:
        start, end = lines.index(BEGIN), lines.index(END)
        # the block sits where the old one was (or at the end), outside lines untouched
        if old:
            assert (lines[:start], lines[end + 1:]) == (before, after)
        else:
            assert (lines[:start], lines[end + 1:]) == (before + after, [])
        body = lines[start + 1:end]
        assert [line for line in body if not line.startswith("#")] == [
            ('%s="%s"' if style == "loader.conf" else "%s=%s") % (k, entries[k].value) for k in sorted(entries)]
    else:
        assert lines == before + after
    # idempotence: the rendered file re-renders to itself
    assert render(new, parse(new, style), style) == new


# ---------------------------------------------------------------- block position and neighbours


def test_existing_sysctl_conf_block_is_replaced_in_place():
    text = fixture_text("freebsd-files", "sysctl.conf-with-block")
    existing = parse(text, "sysctl.conf")
    desired = merge(existing, {"kern.ipc.shmmax": 8589934592, "kern.ipc.shmall": 2097152}, {}, {},
                    {"kern.ipc.shmmax": "largest SysV segment of the PostgreSQL clusters: 8589934592 bytes (docs/postgres-kernel-facts.md §1)",
                     "kern.ipc.shmall": "SysV shared memory of all clusters: 2097152 pages of 4096 bytes (docs/postgres-kernel-facts.md §1)"})
    assert render(text, desired, "sysctl.conf") == (
        "# $FreeBSD$\n"
        "#\n"
        "#  This file is read when going to multi-user and its contents piped thru\n"
        "#  ``sysctl'' to adjust kernel values.  ``man 5 sysctl.conf'' for details.\n"
        "#\n"
        "\n"
        "security.bsd.see_other_uids=0\n"
        "security.bsd.see_other_gids=0\n"
        "# BEGIN pghost.hardening managed block (role pg_kernel); do not edit\n"
        "# SysV semaphores for the clusters: 50 sets of 17 (docs/postgres-kernel-facts.md §2)\n"
        "kern.ipc.semmsl=340\n"
        "# SysV shared memory of all clusters: 2097152 pages of 4096 bytes (docs/postgres-kernel-facts.md §1)\n"
        "kern.ipc.shmall=2097152\n"
        "# largest SysV segment of the PostgreSQL clusters: 8589934592 bytes (docs/postgres-kernel-facts.md §1)\n"
        "kern.ipc.shmmax=8589934592\n"
        "# END pghost.hardening managed block\n"
        "kern.randompid=1\n"
        "# Added after the collection's first run.\n"
        "net.inet.tcp.blackhole=2\n"
        "net.inet.udp.blackhole=1\n"
    )


def test_existing_loader_conf_block_keeps_keys_not_asked_about():
    text = fixture_text("freebsd-files", "loader.conf-with-block")
    desired = merge(parse(text, "loader.conf"), {"kern.ipc.semmns": 2176}, {}, {},
                    {"kern.ipc.semmns": "SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)"})
    assert render(text, desired, "loader.conf") == (
        'kern.geom.label.disk_ident.enable="0"\n'
        'kern.geom.label.gptid.enable="0"\n'
        'zfs_load="YES"\n'
        "# BEGIN pghost.hardening managed block (role pg_kernel); do not edit\n"
        "# SysV semaphores for the clusters: 50 sets of 17 (docs/postgres-kernel-facts.md §2)\n"
        'kern.ipc.semmni="50"\n'
        "# SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)\n"
        'kern.ipc.semmns="2176"\n'
        "# SysV segment ids of all clusters: 192 (docs/postgres-kernel-facts.md §1)\n"
        'kern.ipc.shmmni="192"\n'
        "# END pghost.hardening managed block\n"
        'autoboot_delay="3"\n'
    )


@pytest.mark.parametrize("name, style", [
    ("sysctl.conf", "sysctl.conf"), ("loader.conf", "loader.conf"),
    ("sysctl.conf-with-block", "sysctl.conf"), ("loader.conf-with-block", "loader.conf"),
])
def test_rerendering_an_unchanged_block_is_identical(name, style):
    text = fixture_text("freebsd-files", name)
    assert render(text, parse(text, style), style) == text
    # and a merge asking for nothing new (same values, their reasons) changes nothing either
    existing = parse(text, style)
    again = merge(existing, dict((k, e.value) for k, e in existing.items()), {}, {},
                  dict((k, e.reason) for k, e in existing.items()))
    assert render(text, again, style) == text


# ---------------------------------------------------------------- higher / merge: never lower

SEM_DEFAULT = "32000 1024000000 500 32000"


@pytest.mark.parametrize("values, expected", [
    ((SEM_DEFAULT, "17 136 32 8"), SEM_DEFAULT),
    (("10 100 32 4", "17 136 32 8"), "17 136 32 8"),
    (("250 32000 32 128", "17 136 500 8"), "250 32000 500 128"),
    (("17 136 32 8", "250\t100\t32\t4", "1 1 100 1"), "250 136 100 8"),
    (("4096", "8192", None), "8192"),
    ((None, "4096"), "4096"),
    ((None, None), None),
    (("2147483648", "18446744073692774399"), "18446744073692774399"),
    (("0010", "9"), "10"),
    # text loses to numbers; text alone is kept (normalized)
    (("madvise", "3"), "3"),
    (("never  ", None), "never"),
    # fewer fields than the widest value: not compared
    (("250 32000 32 128", "999999"), "250 32000 32 128"),
])
def test_higher(values, expected):
    assert higher(*values) == expected


@pytest.mark.parametrize("asked, live, written, expected", [
    (SEM_DEFAULT, "17 136 32 8", None, SEM_DEFAULT),
    ("10 100 32 4", "17 136 32 8", None, "17 136 32 8"),
    ("10 100 32 4", None, "17 136 32 8", "17 136 32 8"),
    ("250 32000 32 128", "32000\t1024000000\t500\t32000", None, SEM_DEFAULT),
    ("250 100 32 128", "17 136 32 8", "300 50 40 1", "300 136 40 128"),
    ("250 32000 32 128", "17 136 32 8", "10 10 10 10", "250 32000 32 128"),
])
def test_merge_raise_only_kernel_sem_field_by_field(asked, live, written, expected):
    existing = {"kernel.sem": Entry("kernel.sem", written, "before")} if written else {}
    desired = merge(existing, {"kernel.sem": asked}, {}, {"kernel.sem": live}, {"kernel.sem": "SysV semaphores (docs/postgres-kernel-facts.md §2)"})
    reason = "SysV semaphores (docs/postgres-kernel-facts.md §2)"
    if expected != " ".join(asked.split()):
        reason += "; kept at %s, %s" % (expected, KEPT)
    assert desired == {"kernel.sem": Entry("kernel.sem", expected, reason)}


def test_merge_raise_only_single_values():
    existing = {"kern.ipc.shmmax": Entry("kern.ipc.shmmax", "8589934592", "old reason")}
    desired = merge(existing, {"kern.ipc.shmmax": 4294967296, "kern.ipc.shmall": 2097152, "kern.ipc.semmsl": 17},
                    {}, {"kern.ipc.shmmax": "4294967296", "kern.ipc.shmall": "1048576", "kern.ipc.semmsl": "340"},
                    {"kern.ipc.shmall": "pages (docs/postgres-kernel-facts.md §1)"})
    assert desired == {
        # written before higher: kept; no new reason given, so the old one plus why
        "kern.ipc.shmmax": Entry("kern.ipc.shmmax", "8589934592", "old reason; kept at 8589934592, " + KEPT),
        "kern.ipc.shmall": Entry("kern.ipc.shmall", "2097152", "pages (docs/postgres-kernel-facts.md §1)"),
        # live higher, no reason at all
        "kern.ipc.semmsl": Entry("kern.ipc.semmsl", "340", "kept at 340, " + KEPT),
    }


def test_merge_exact_values_are_written_as_given_even_when_lower():
    existing = {"vm.overcommit_ratio": Entry("vm.overcommit_ratio", "95", "old"),
                "vm.swappiness": Entry("vm.swappiness", "10", "old swappiness")}
    desired = merge(existing, {}, {"vm.overcommit_ratio": 50, "vm.swappiness": "1", "vm.overcommit_memory": 2},
                    {"vm.overcommit_ratio": "90", "vm.swappiness": "60", "vm.overcommit_memory": "0"},
                    {"vm.overcommit_ratio": "set by the user to 50 (docs/postgres-kernel-facts.md §4)"})
    assert desired == {
        "vm.overcommit_ratio": Entry("vm.overcommit_ratio", "50", "set by the user to 50 (docs/postgres-kernel-facts.md §4)"),
        "vm.swappiness": Entry("vm.swappiness", "1", "old swappiness"),
        "vm.overcommit_memory": Entry("vm.overcommit_memory", "2", ""),
    }


def test_merge_keeps_keys_written_before_and_not_asked_about():
    existing = {"kernel.shmmni": Entry("kernel.shmmni", "8192", "ids (docs/postgres-kernel-facts.md §1)"),
                "vm.nr_hugepages": Entry("vm.nr_hugepages", "74", "huge pages (docs/postgres-kernel-facts.md §3)")}
    desired = merge(existing, {"kernel.shmmax": 56}, {}, {"vm.nr_hugepages": "0", "kernel.shmmni": "4096"}, {})
    assert desired == {
        "kernel.shmmni": Entry("kernel.shmmni", "8192", "ids (docs/postgres-kernel-facts.md §1)"),
        "vm.nr_hugepages": Entry("vm.nr_hugepages", "74", "huge pages (docs/postgres-kernel-facts.md §3)"),
        "kernel.shmmax": Entry("kernel.shmmax", "56", ""),
    }
    # the caller's dict is not modified
    assert list(existing) == ["kernel.shmmni", "vm.nr_hugepages"]


def test_merge_exact_wins_over_raise_only_for_the_same_key():
    desired = merge({}, {"vm.overcommit_ratio": 95}, {"vm.overcommit_ratio": 50}, {"vm.overcommit_ratio": "90"}, {})
    assert desired["vm.overcommit_ratio"].value == "50"


def test_second_run_with_reasons_is_identical():
    live = {"kern.ipc.semmni": "512"}
    reasons = {"kern.ipc.semmni": "SysV semaphores for the clusters: 256 sets of 17 (docs/postgres-kernel-facts.md §2)"}
    text = ""
    texts = []
    for dummy in range(3):
        desired = merge(parse(text, "loader.conf"), {"kern.ipc.semmni": 256}, {}, live, reasons)
        text = render(text, desired, "loader.conf")
        texts.append(text)
    assert texts[0] == texts[1] == texts[2] == (
        BEGIN + "\n"
        "# SysV semaphores for the clusters: 256 sets of 17 (docs/postgres-kernel-facts.md §2); kept at 512, " + KEPT + "\n"
        'kern.ipc.semmni="512"\n'
        + END + "\n"
    )


def test_second_run_without_reasons_is_identical():
    live = {"kern.ipc.semmni": "512"}
    first = render("", merge({}, {"kern.ipc.semmni": 256}, {}, live, {}), "loader.conf")
    second = render(first, merge(parse(first, "loader.conf"), {"kern.ipc.semmni": 256}, {}, live, {}), "loader.conf")
    assert second == first


WIDTH_VALUES = st.integers(min_value=1, max_value=4).flatmap(
    lambda width: st.tuples(*[st.lists(st.integers(min_value=0, max_value=2 ** 63), min_size=width, max_size=width)
                              for dummy in range(3)]))
SEPARATORS = st.sampled_from([" ", "\t", "  "])


@PROPERTY
@given(values=WIDTH_VALUES, present=st.tuples(st.booleans(), st.booleans()), sep=SEPARATORS)
def test_merge_never_lowers_property(values, present, sep):
    asked, live, written = values
    has_live, has_file = present
    existing = {"k.v": Entry("k.v", " ".join(map(str, written)), "w")} if has_file else {}
    live_map = {"k.v": sep.join(map(str, live))} if has_live else {}
    merged = [int(f) for f in merge(existing, {"k.v": sep.join(map(str, asked))}, {}, live_map, {})["k.v"].value.split()]
    candidates = [asked] + ([live] if has_live else []) + ([written] if has_file else [])
    assert len(merged) == len(asked)
    for i, field in enumerate(merged):
        assert all(field >= c[i] for c in candidates)
        assert field in [c[i] for c in candidates]


# ---------------------------------------------------------------- changes()


def test_changes_reports_file_or_live_differences():
    existing = {"kernel.shmmni": Entry("kernel.shmmni", "4096", ""),
                "kernel.sem": Entry("kernel.sem", SEM_DEFAULT, "sem"),
                "vm.swappiness": Entry("vm.swappiness", "1", "swap")}
    desired = {"kernel.shmmni": Entry("kernel.shmmni", "8192", "ids"),
               "kernel.sem": Entry("kernel.sem", SEM_DEFAULT, "sem"),
               "vm.swappiness": Entry("vm.swappiness", "1", "swap"),
               "vm.nr_hugepages": Entry("vm.nr_hugepages", "74", "huge")}
    live = {"kernel.shmmni": "4096", "kernel.sem": "32000\t1024000000\t500\t32000", "vm.swappiness": "60"}
    assert changes(existing, desired, live) == [
        ("kernel.shmmni", "8192", "4096", "4096", "ids"),
        ("vm.nr_hugepages", "74", None, None, "huge"),      # not in file, live unknown
        ("vm.swappiness", "1", "1", "60", "swap"),           # file right, live not
    ]


@pytest.mark.parametrize("live", [
    {"kernel.shmmni": "8192", "kernel.sem": "32000\t1024000000\t500\t32000"},
    {"kernel.shmmni": "8192"},            # unknown live values are no change
    {"kernel.shmmni": None, "kernel.sem": None},
    {},
])
def test_changes_nothing_on_second_run(live):
    entries = {"kernel.shmmni": Entry("kernel.shmmni", "8192", "ids"), "kernel.sem": Entry("kernel.sem", SEM_DEFAULT, "sem")}
    assert changes(dict(entries), dict(entries), live) == []


def test_changes_ignores_a_reason_only_difference():
    before = {"kernel.shmmni": Entry("kernel.shmmni", "8192", "old")}
    after = {"kernel.shmmni": Entry("kernel.shmmni", "8192", "new")}
    assert changes(before, after, {"kernel.shmmni": "8192"}) == []


# ---------------------------------------------------------------- FreeBSD placement (docs/postgres-kernel-facts.md §8)

# What pg_kernel_params proposes for a FreeBSD host whose clusters need more
# than the recorded values (all six kern.ipc.* limits it sizes).
FREEBSD_PROPOSED = {
    "kern.ipc.shmmax": 8589934592,
    "kern.ipc.shmall": 2097152,
    "kern.ipc.shmmni": 256,
    "kern.ipc.semmni": 128,
    "kern.ipc.semmns": 2176,
    "kern.ipc.semmsl": 17,
}
SEM_WHY = "SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)"
FREEBSD_WHY = {
    "kern.ipc.shmmax": "largest SysV segment of the PostgreSQL clusters: 8589934592 bytes (docs/postgres-kernel-facts.md §1)",
    "kern.ipc.shmall": "SysV shared memory of all clusters: 2097152 pages of 4096 bytes (docs/postgres-kernel-facts.md §1)",
    "kern.ipc.shmmni": "SysV segment ids of all clusters: 256 (docs/postgres-kernel-facts.md §1)",
    "kern.ipc.semmni": SEM_WHY,
    "kern.ipc.semmns": SEM_WHY,
    "kern.ipc.semmsl": SEM_WHY,
    "vm.overcommit_memory": "not a FreeBSD key; ignored",
}


def split(proposed):
    runtime = dict((k, v) for k, v in proposed.items() if k in FREEBSD_RUNTIME)
    loader = dict((k, v) for k, v in proposed.items() if k in FREEBSD_LOADER_TUNABLES)
    return runtime, loader


def test_freebsd_split_by_kernel_keys():
    runtime, loader = split(FREEBSD_PROPOSED)
    assert runtime == {"kern.ipc.shmmax": 8589934592, "kern.ipc.shmall": 2097152, "kern.ipc.semmsl": 17}
    assert loader == {"kern.ipc.shmmni": 256, "kern.ipc.semmni": 128, "kern.ipc.semmns": 2176}
    assert not set(FREEBSD_RUNTIME) & set(FREEBSD_LOADER_TUNABLES)


@pytest.mark.parametrize("facts", ["sysctl-e-host.txt", "sysctl-e-jail.txt"])
def test_freebsd_files_rendered_from_recorded_facts(facts):
    live = parse_sysctl_e(fixture_text("freebsd", facts))
    runtime, loader = split(FREEBSD_PROPOSED)

    sysctl_conf = fixture_text("freebsd-files", "sysctl.conf")
    desired = merge(parse(sysctl_conf, "sysctl.conf"), runtime, {}, live, FREEBSD_WHY)
    new_sysctl_conf = render(sysctl_conf, desired, "sysctl.conf")
    assert new_sysctl_conf == (
        "# $FreeBSD$\n"
        "#\n"
        "#  This file is read when going to multi-user and its contents piped thru\n"
        "#  ``sysctl'' to adjust kernel values.  ``man 5 sysctl.conf'' for details.\n"
        "#\n"
        "\n"
        "# Uncomment this to prevent users from seeing information about processes that\n"
        "# are being run under another UID.\n"
        "#security.bsd.see_other_uids=0\n"
        "security.bsd.see_other_uids=0\n"
        "security.bsd.see_other_gids=0\n"
        "security.bsd.unprivileged_read_msgbuf=0\n"
        "security.bsd.unprivileged_proc_debug=0\n"
        "kern.randompid=1\n"
        "security.bsd.stack_guard_page=1\n"
        "\n"
        "# Set by hand for an old PostgreSQL 9.2 install (2016).\n"
        "kern.ipc.shmmax=2147483648\n"
        "kern.ipc.shmall=524288\n"
        "# BEGIN pghost.hardening managed block (role pg_kernel); do not edit\n"
        "# SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2); kept at 340, "
        "the higher value already in force or written\n"
        "kern.ipc.semmsl=340\n"
        "# SysV shared memory of all clusters: 2097152 pages of 4096 bytes (docs/postgres-kernel-facts.md §1)\n"
        "kern.ipc.shmall=2097152\n"
        "# largest SysV segment of the PostgreSQL clusters: 8589934592 bytes (docs/postgres-kernel-facts.md §1)\n"
        "kern.ipc.shmmax=8589934592\n"
        "# END pghost.hardening managed block\n"
    )

    loader_conf = fixture_text("freebsd-files", "loader.conf")
    desired = merge(parse(loader_conf, "loader.conf"), loader, {}, live, FREEBSD_WHY)
    new_loader_conf = render(loader_conf, desired, "loader.conf")
    assert new_loader_conf == (
        'kern.geom.label.disk_ident.enable="0"\n'
        'kern.geom.label.gptid.enable="0"\n'
        'cryptodev_load="YES"\n'
        'zfs_load="YES"\n'
        "security.bsd.allow_destructive_dtrace=0\n"
        "\n"
        "# Boot menu: shorter wait on the console.\n"
        'autoboot_delay="3"\n'
        "# BEGIN pghost.hardening managed block (role pg_kernel); do not edit\n"
        "# SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)\n"
        'kern.ipc.semmni="128"\n'
        "# SysV semaphores for the clusters: 128 sets of 17 (docs/postgres-kernel-facts.md §2)\n"
        'kern.ipc.semmns="2176"\n'
        "# SysV segment ids of all clusters: 256 (docs/postgres-kernel-facts.md §1)\n"
        'kern.ipc.shmmni="256"\n'
        "# END pghost.hardening managed block\n"
    )

    # second run (values now in force for the runtime keys, loader keys still pending a reboot): same texts
    live_after = dict(live, **{"kern.ipc.shmmax": "8589934592", "kern.ipc.shmall": "2097152"})
    for text, asked, style in ((new_sysctl_conf, runtime, "sysctl.conf"), (new_loader_conf, loader, "loader.conf")):
        again = merge(parse(text, style), asked, {}, live_after, FREEBSD_WHY)
        assert render(text, again, style) == text
    assert changes(parse(new_sysctl_conf, "sysctl.conf"), parse(new_sysctl_conf, "sysctl.conf"), live_after) == []


def test_freebsd_plan_boot_only_matches_the_split():
    cluster = {"version": "9.6", "max_connections": 100, "autovacuum_max_workers": 3, "max_worker_processes": 8,
               "max_wal_senders": 10, "shared_buffers": "128MB", "huge_pages": "try"}
    current = dict((name, "0") for name in FREEBSD_PROPOSED)
    result = plan("freebsd", {"page_size": 4096}, [cluster], current=current)
    runtime, loader = split(result["proposed"])
    assert sorted(runtime) == ["kern.ipc.semmsl", "kern.ipc.shmall", "kern.ipc.shmmax"]
    assert sorted(loader) == sorted(result["boot_only"]) == ["kern.ipc.semmni", "kern.ipc.semmns", "kern.ipc.shmmni"]
    # every proposed key lands in exactly one file
    assert sorted(list(runtime) + list(loader)) == sorted(result["proposed"])
    assert render("", merge({}, loader, {}, current, result["why"]), "loader.conf") == (
        BEGIN + "\n"
        "# SysV semaphores for the clusters: 8 sets of 17 (docs/postgres-kernel-facts.md §2)\n"
        'kern.ipc.semmni="8"\n'
        "# SysV semaphores for the clusters: 8 sets of 17 (docs/postgres-kernel-facts.md §2)\n"
        'kern.ipc.semmns="136"\n'
        "# SysV segment ids of all clusters: 1 (docs/postgres-kernel-facts.md §1)\n"
        'kern.ipc.shmmni="1"\n'
        + END + "\n"
    )


@pytest.mark.parametrize("text", [
    "zfs_load=\"YES\"\n" + sysctl_file.BEGIN + "\nkern.ipc.semmni=\"256\"\n",
    "kern.ipc.shmmax=1\n" + sysctl_file.END + "\n",
])
def test_a_damaged_block_is_refused_not_guessed(text):
    # A lone BEGIN or END would make the block swallow the admin's lines.
    with pytest.raises(sysctl_file.BlockError):
        sysctl_file.parse(text, "loader.conf")


def test_a_key_set_again_after_the_block_is_reported():
    text = "\n".join([
        "kern.ipc.shmmax=1",                      # before the block: the block wins
        sysctl_file.BEGIN, "kern.ipc.shmmax=2000", "kern.ipc.shmall=10", sysctl_file.END,
        "# kern.ipc.shmall=5",                    # a comment sets nothing
        "kern.ipc.shmall=5",                      # after the block: this line wins at boot
    ]) + "\n"
    assert sysctl_file.set_after_block(text, "sysctl.conf", {"kern.ipc.shmmax", "kern.ipc.shmall"}) == ["kern.ipc.shmall"]
    assert sysctl_file.set_after_block("kernel.shmmax = 1\n", "sysctl.d", {"kernel.shmmax"}) == []
