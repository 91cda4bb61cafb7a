# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""login_conf: parse, resolve, plan and render one FreeBSD login class.

The fixtures (tests/unit/fixtures/freebsd-files/login.conf*) are written by
hand in the real format, modelled on FreeBSD 14's default /etc/login.conf;
every expected text below is written out by hand.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils import login_conf
from ansible_collections.pghost.hardening.plugins.module_utils.login_conf import (
    INFINITY, LoginConfError, capabilities, effective, fmt, parse, parse_asked, plan, read_number, read_size)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "freebsd-files")
PROPERTY = settings(max_examples=150, deadline=None, database=None)
HEADER_PG = login_conf.HEADER % "postgres"


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8", newline="") as handle:
        return handle.read()


STOCK = fixture("login.conf")
WITH_PG = fixture("login.conf-postgres")


def outside(text, record):
    """(lines before, lines after) the record."""
    lines = login_conf.split_lines(text)
    return lines[:record.start], lines[record.end + 1:]


def assert_only_record_changed(before, after, name):
    old = parse(before).find_class(name)
    new = parse(after).find_class(name)
    old_head, old_tail = outside(before, old)
    new_head, new_tail = outside(after, new)
    assert new_head == old_head
    assert new_tail == old_tail


# ------------------------------------------------------------------ parse


def test_parse_stock_file():
    doc = parse(STOCK)
    assert [r.names for r in doc.records] == [
        ["default"], ["standard"], ["xuser"], ["staff"], ["daemon"], ["news"], ["dialer"], ["root"],
        ["russian", "Russian Users Accounts"]]
    default = doc.first("default")
    assert (default.line_no, default.end + 1) == (24, 51)
    assert len(default.fields) == 27
    assert default.fields[0] == login_conf.Field("passwd_format", "=", "sha512", "passwd_format=sha512", 24, 2, 22)
    daemon = doc.first("daemon")
    assert capabilities(daemon) == {"path": "/sbin /bin /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin",
                                    "mail": "@", "memorylocked": "128M", "tc": "default"}
    assert capabilities(doc.first("root"))["ignorenologin"] is True
    # The commented-out examples (#default:\ ... continued comments) are no records.
    assert doc.first("des_users") is None and doc.first("subscriber") is None


def test_find_by_alias_and_description():
    doc = parse(STOCK)
    assert doc.find_class("Russian Users Accounts") is doc.find_class("russian")
    assert parse(WITH_PG).find_class("pgsql").name == "postgres"
    assert doc.find_class("postgres") is None


@pytest.mark.parametrize("name", ["login.conf", "login.conf-postgres"])
def test_round_trip_is_byte_identical(name):
    text = fixture(name)
    assert parse(text).text == text
    # Nothing to raise: the whole file stays as it is.
    result = plan(text, "daemon", {"memorylocked": "64M"})
    assert result.text == text and result.edits == []


def test_parse_keeps_crlf_and_missing_final_newline():
    text = "a:\\\n\t:openfiles=5:\r\n# c\r\nb:tc=a:"
    doc = parse(text)
    assert doc.text == text
    # getcap splits on "\n" only: "\r" ends up in the value, and the line ending in "\r" does not continue.
    assert capabilities(doc.first("a")) == {"openfiles": "5"}
    assert doc.first("b").fields[-1].text == "tc=a"


def test_effective_follows_tc_and_cur_max():
    doc = parse(WITH_PG)
    record = doc.first("postgres")
    open_files = effective(doc, record, "openfiles")
    assert (open_files["cur"].value, open_files["max"].value) == (8192, 16384)
    # maxproc#1024 is hidden: login_getcapnum looks for maxproc= first, and default gives it through tc=.
    proc = effective(doc, record, "maxproc")
    assert proc["cur"].value == INFINITY and proc["cur"].record.name == "default"
    # memorylocked@ cancels default's 64K.
    assert effective(doc, record, "memorylocked") == {"cur": None, "max": None}
    assert effective(doc, record, "datasize")["max"].value == 8 * 1024 ** 3


def test_fields_after_tc_lose_to_the_included_class():
    doc = parse("default:\\\n\t:openfiles=100:\n\npg:\\\n\t:tc=default:\\\n\t:openfiles=5000:\n")
    got = effective(doc, doc.first("pg"), "openfiles")
    assert got["cur"].value == 100 and got["cur"].record.name == "default"


def test_tc_loop_stops():
    doc = parse("a:openfiles=5:tc=b:\nb:tc=a:\n")
    assert effective(doc, doc.first("b"), "openfiles")["cur"].value == 5


# ------------------------------------------------------------ malformed


@pytest.mark.parametrize("text, line, message", [
    ("default:\\\n\t:openfiles=5:\\\n", 2, "ends with a continuation backslash but the file ends there"),
    ("default:\\\n\t:openfiles=5:\\", 2, "ends with a continuation backslash"),
    ("# ok\n\npostgres\n", 3, "record 'postgres' has no ':' after its name"),
    ("a:b=1:\n  :c=2:\n", 2, "starts with white space but does not continue a record"),
    ("a:b=1:\n:c=2:\n", 2, "starts with ':' but does not continue a record"),
    ("a||b:x:\n", 1, "has an empty name"),
])
def test_malformed(text, line, message):
    with pytest.raises(LoginConfError) as info:
        parse(text)
    assert info.value.line_no == line
    assert message in info.value.message
    assert str(info.value).startswith("line %d: " % line)


def test_malformed_fixture_space_after_backslash():
    with pytest.raises(LoginConfError) as info:
        parse(fixture("login.conf-malformed"))
    assert info.value.line_no == 61
    assert "a space?" in info.value.message


def test_blank_line_of_spaces_is_no_error():
    assert [r.name for r in parse("a:x:\n   \nb:y:\n").records] == ["a", "b"]


def test_duplicate_class_is_refused_only_when_managed():
    text = "pg:openfiles=1:\nother:x:\npg:openfiles=2:\n"
    with pytest.raises(LoginConfError) as info:
        plan(text, "pg", {"openfiles": 10})
    assert info.value.line_no == 3
    assert "class 'pg' is defined again (first at line 1)" in info.value.message
    assert plan(text, "other", {"openfiles": 10}).edits


@pytest.mark.parametrize("value, problem", [("lots", "not a number"), ("-5", "negative"), ("", "not a number")])
def test_malformed_value_of_the_class(value, problem):
    text = "pg:\\\n\t:openfiles=%s:\\\n\t:tc=default:\n" % value
    with pytest.raises(LoginConfError) as info:
        plan(text, "pg", {"openfiles": 10})
    assert info.value.line_no == 2
    assert info.value.message.startswith("class 'pg': capability openfiles=%s has a malformed value (%s); expected a "
                                         "whole number" % (value, problem))


def test_malformed_value_reached_through_tc():
    text = "default:\\\n\t:memorylocked=64Q:\n\npg:tc=default:\n"
    with pytest.raises(LoginConfError) as info:
        plan(text, "pg", {"memorylocked": "1G"})
    assert info.value.line_no == 2
    assert "memorylocked=64Q (in class default, reached through tc=) has a malformed value (unknown suffix 'Q')" \
        in info.value.message


def test_split_field_is_not_edited():
    text = "pg:\\\n\t:openfiles=10\\\n00:\n"
    assert effective(parse(text), parse(text).first("pg"), "openfiles")["cur"].value == 1000
    with pytest.raises(LoginConfError) as info:
        plan(text, "pg", {"openfiles": 5000})
    assert info.value.line_no == 2 and "split across lines" in info.value.message


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("raw, value", [
    ("64K", 65536), ("128M", 128 * 1024 ** 2), ("8g", 8 * 1024 ** 3), ("1t", 1024 ** 4), ("2b", 1024),
    ("1g512m", 1024 ** 3 + 512 * 1024 ** 2), ("0x10k", 16384), ("010", 8), ("1024", 1024), ("0", 0),
    ("unlimited", INFINITY), ("INFINITY", INFINITY), ("inf", INFINITY), ("Unlimit", INFINITY), ("-1", INFINITY),
])
def test_read_size(raw, value):
    assert read_size(raw) == value


@pytest.mark.parametrize("raw", ["12q", "k", "08", "1 k", "-5", "99999999999t"])
def test_read_size_bad(raw):
    with pytest.raises(ValueError):
        read_size(raw)


@pytest.mark.parametrize("raw, kind, value", [
    ("8192", "=", 8192), ("100abc", "=", 100), ("0x20", "=", 32), ("017", "=", 15), ("infinity", "=", INFINITY),
    ("-1", "=", INFINITY), ("1024", "#", 1024), ("0x1F", "#", 31), ("017", "#", 15), ("", "#", 0), ("12ab", "#", 12),
])
def test_read_number(raw, kind, value):
    assert read_number(raw, kind) == value


@pytest.mark.parametrize("value, vtype, text", [
    (INFINITY, "size", "unlimited"), (256 * 1024 ** 2, "size", "256M"), (65536, "size", "64K"), (1000, "size", "1000"),
    (0, "size", "0"), (1024 ** 4, "size", "1T"), (65536, "number", "65536"), (None, "number", None),
])
def test_fmt(value, vtype, text):
    assert fmt(value, vtype) == text


@pytest.mark.parametrize("cap, raw, expected", [
    ("openfiles", 65536, ("openfiles", None, 65536)),
    ("openfiles-cur", "8192", ("openfiles", "cur", 8192)),
    ("maxproc-max", "Unlimited", ("maxproc", "max", INFINITY)),
    ("memorylocked", "256M", ("memorylocked", None, 256 * 1024 ** 2)),
    ("datasize", "infinity", ("datasize", None, INFINITY)),
    ("datasize-max", "2b", ("datasize", "max", 1024)),
])
def test_parse_asked(cap, raw, expected):
    assert parse_asked("postgres", cap, raw) == expected


@pytest.mark.parametrize("cap, raw, message", [
    ("openfiles", "8k", "class 'postgres': capability openfiles: value '8k' is not accepted; expected a whole number, "
                        "e.g. 8192, without a suffix; or unlimited / infinity (login_getcapnum would read only the "
                        "leading number of '8k')"),
    ("memorylocked", "256Q", "class 'postgres': capability memorylocked: value '256Q' is not accepted; expected a size "
                             "in bytes, optionally with one suffix b (512-byte blocks), k, m, g or t (any case), e.g. "
                             "256M; or unlimited / infinity"),
    ("maxproc", True, "capability maxproc: value True is not accepted"),
    ("maxproc", -1, "capability maxproc: value -1 is not accepted"),
    ("maxproc", "-1", "capability maxproc: value '-1' is not accepted"),
    ("maxproc", 1.5, "capability maxproc: value 1.5 is not accepted"),
    ("memorylocked", "16777216T", "(between 0 and 9223372036854775807)"),
    ("cputime", 10, "class 'postgres': capability 'cputime' is not accepted; accepted: datasize, datasize-cur, "
                    "datasize-max, maxproc, maxproc-cur, maxproc-max, memorylocked"),
])
def test_parse_asked_bad(cap, raw, message):
    with pytest.raises(LoginConfError) as info:
        parse_asked("postgres", cap, raw)
    assert message in info.value.message
    assert info.value.line_no == 0


@pytest.mark.parametrize("name", ["", "pg sql", "pg:x", "a|b", "#pg", "pg\\"])
def test_bad_class_name(name):
    with pytest.raises(LoginConfError) as info:
        plan(STOCK, name, {"openfiles": 1})
    assert info.value.message.startswith("name: %r is not accepted" % name)


# --------------------------------------------------------------- planning


def test_new_class_is_appended_with_header():
    result = plan(STOCK, "postgres", {"openfiles": 65536, "maxproc": 2048, "memorylocked": "256M",
                                      "datasize": "unlimited"}, description="PostgreSQL Server")
    assert result.created
    assert result.text == STOCK + "\n" + HEADER_PG + (
        "postgres|PostgreSQL Server:\\\n"
        "\t:memorylocked=256M:\\\n"
        "\t:tc=default:\n")
    # default already gives unlimited open files, processes and data: nothing written for them.
    assert [(r["resource"], r["limit"], r["before"], r["after"], r["changed"]) for r in result.results] == [
        ("datasize", "soft", "unlimited", "unlimited", False), ("datasize", "hard", "unlimited", "unlimited", False),
        ("maxproc", "soft", "unlimited", "unlimited", False), ("maxproc", "hard", "unlimited", "unlimited", False),
        ("memorylocked", "soft", "64K", "256M", True), ("memorylocked", "hard", "64K", "256M", True),
        ("openfiles", "soft", "unlimited", "unlimited", False), ("openfiles", "hard", "unlimited", "unlimited", False)]
    assert result.results[6]["reason"] == ("asked openfiles=65536; kept unlimited (openfiles=unlimited, line 39 in "
                                           "class default, through tc=), never lowered")
    assert result.edits == [dict(capability="memorylocked", value="256M", previous=None, limits=["soft", "hard"],
                                 was="64K (memorylocked=64K, line 35 in class default, through tc=)",
                                 reason="asked memorylocked=256M")]
    assert result.results[4]["after_from"] == "256M (memorylocked=256M, line 169)"


def test_new_class_without_inherit_and_aliases():
    text = "default:\\\n\t:openfiles=unlimited:\n"
    result = plan(text, "postgres", {"openfiles": 65536, "maxproc-cur": 1024}, aliases=["pgsql"], inherit="")
    assert result.text == text + "\n" + HEADER_PG + (
        "postgres|pgsql:\\\n"
        "\t:maxproc-cur=1024:\\\n"
        "\t:openfiles=65536:\n")
    assert [r["limit"] for r in result.results if r["resource"] == "maxproc"] == ["soft"]


@pytest.mark.parametrize("text, sep", [("", ""), ("a:x:", "\n\n"), ("a:x:\n", "\n"), ("a:x:\n\n", "")])
def test_new_class_separator(text, sep):
    result = plan(text, "pg", {"openfiles": 5}, inherit="")
    assert result.text == text + sep + login_conf.HEADER % "pg" + "pg:\\\n\t:openfiles=5:\n"


def test_new_class_alias_taken():
    with pytest.raises(LoginConfError) as info:
        plan(STOCK, "postgres", {"openfiles": 5}, aliases=["daemon"])
    assert info.value.line_no == 69 and "already a name of class 'daemon'" in info.value.message


def test_cur_max_rewritten_in_place_by_alias():
    result = plan(WITH_PG, "pgsql", {"openfiles": 65536, "memorylocked": "256M", "datasize": "4G", "maxproc": 2048})
    assert not result.created
    assert result.text == WITH_PG.replace(
        "\t:openfiles-cur=8192:\\\n\t:openfiles-max=16384:\\\n", "\t:openfiles-cur=65536:\\\n\t:openfiles-max=65536:\\\n"
    ).replace("\t:memorylocked@:\\\n", "\t:memorylocked=256M:\\\n")
    assert_only_record_changed(WITH_PG, result.text, "postgres")
    assert [(e["capability"], e["previous"], e["value"]) for e in result.edits] == [
        ("memorylocked", "memorylocked@", "256M"), ("openfiles-cur", "openfiles-cur=8192", "65536"),
        ("openfiles-max", "openfiles-max=16384", "65536")]
    datasize = [r for r in result.results if r["resource"] == "datasize"]
    assert [r["reason"] for r in datasize] == ["asked datasize=4G; kept 8G (datasize=8g, line 100), never lowered"] * 2
    assert capabilities(result.record)["openfiles-cur"] == "65536"


def test_one_line_class_is_split_before_tc():
    result = plan(WITH_PG, "pgbouncer", {"openfiles": 65536, "memorylocked-max": "1G"})
    assert result.text == WITH_PG.replace(
        "pgbouncer:openfiles=4096:tc=default:\n",
        "pgbouncer:openfiles=65536:\\\n\t:memorylocked-max=1G:\\\n\t:tc=default:\n")
    assert_only_record_changed(WITH_PG, result.text, "pgbouncer")


def test_class_without_tc_gets_fields_at_its_end():
    text = "# top\nstaff:\\\n    :umask=022:\\\n    :lang=C.UTF-8\n# after\n"
    result = plan(text, "staff", {"openfiles": 100, "maxproc": "200"})
    assert result.text == ("# top\nstaff:\\\n    :umask=022:\\\n    :lang=C.UTF-8:\\\n    :maxproc=200:\\\n"
                           "    :openfiles=100:\n# after\n")
    # The last field keeps its value: a ':' closes it before the new line.
    assert capabilities(result.record)["lang"] == "C.UTF-8"


def test_class_without_newline_at_end_of_file():
    result = plan("pg:umask=022:", "pg", {"openfiles": 100})
    assert result.text == "pg:umask=022:\\\n\t:openfiles=100:"


def test_field_after_tc_is_not_reused():
    text = "default:\\\n\t:openfiles=100:\n\npg:\\\n\t:tc=default:\\\n\t:openfiles=5000:\n"
    result = plan(text, "pg", {"openfiles": 8192})
    assert result.text == "default:\\\n\t:openfiles=100:\n\npg:\\\n\t:openfiles=8192:\\\n\t:tc=default:\\\n\t:openfiles=5000:\n"


def test_unlimited_beats_any_number():
    text = "pg:\\\n\t:openfiles=unlimited:\\\n\t:memorylocked=-1:\n"
    result = plan(text, "pg", {"openfiles": 2 ** 40, "memorylocked": "1T"})
    assert result.text == text and result.edits == []


def test_asking_unlimited_raises_a_number():
    text = "pg:\\\n\t:openfiles=1024:\n"
    assert plan(text, "pg", {"openfiles": "unlimited"}).text == "pg:\\\n\t:openfiles=unlimited:\n"


def test_exact_mode_lowers_and_overrides_tc():
    text = "default:\\\n\t:openfiles=unlimited:\n\npg:\\\n\t:maxproc=9000:\\\n\t:tc=default:\n"
    result = plan(text, "pg", {"openfiles": 65536, "maxproc": 2048}, never_lower=False)
    assert result.text == ("default:\\\n\t:openfiles=unlimited:\n\npg:\\\n\t:maxproc=2048:\\\n\t:openfiles=65536:\\\n"
                           "\t:tc=default:\n")
    assert result.results[0]["reason"] == "asked maxproc=2048 (lowered from 9000: never_lower is false)"


def test_cur_max_win_over_bare_in_the_request():
    result = plan("pg:x:\n", "pg", {"openfiles": 1000, "openfiles-max": 4000})
    assert result.text == "pg:x:\\\n\t:openfiles-cur=1000:\\\n\t:openfiles-max=4000:\n"


def test_bare_value_over_inherited_cur():
    # default's openfiles-cur would beat a bare openfiles in pg: write -cur and -max.
    text = "default:\\\n\t:openfiles-cur=64:\\\n\t:openfiles=1024:\n\npg:tc=default:\n"
    result = plan(text, "pg", {"openfiles": 8192})
    assert result.text == text.replace("pg:tc=default:", "pg:\\\n\t:openfiles-cur=8192:\\\n\t:openfiles-max=8192:\\\n"
                                       "\t:tc=default:")


def test_soft_above_hard_raises_hard():
    text = "pg:\\\n\t:openfiles=1024:\n"
    result = plan(text, "pg", {"openfiles-cur": 4096})
    assert result.text == "pg:\\\n\t:openfiles=4096:\n"
    assert result.results[1]["reason"].startswith("raised to the soft limit 4096")


def test_soft_above_hard_asked_exactly_is_refused():
    with pytest.raises(LoginConfError) as info:
        plan("pg:x:\n", "pg", {"openfiles-cur": 4096, "openfiles-max": 1024}, never_lower=False)
    assert info.value.message == ("class 'pg': openfiles soft limit 4096 is above its hard limit 1024; "
                                  "setrlimit refuses that")


def test_numeric_capability_is_replaced():
    text = "pg:\\\n\t:maxproc#1024:\n"
    result = plan(text, "pg", {"maxproc": 2048})
    assert result.text == "pg:\\\n\t:maxproc=2048:\n"
    assert result.edits[0]["was"] == "1024 (maxproc#1024, line 2)"


def test_second_plan_is_unchanged():
    once = plan(WITH_PG, "postgres", {"openfiles": 65536, "maxproc": 2048, "memorylocked": "256M"}).text
    twice = plan(once, "postgres", {"openfiles": 65536, "maxproc": 2048, "memorylocked": "256M"})
    assert twice.text == once and twice.edits == []
    created = plan(STOCK, "postgres", {"memorylocked": "256M"}).text
    again = plan(created, "postgres", {"memorylocked": "256M"})
    assert again.text == created and not again.created


# ----------------------------------------------------------- properties

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=8)
OTHER_CAPS = st.sampled_from(["lang=C.UTF-8", "umask=022", "ignorenologin", "mail@", "path=/bin /usr/bin",
                              "setenv=BLOCKSIZE=K", "priority=0", "cputime=1h30m", "requirehome@"])
LIMIT_CAPS = st.builds(
    lambda cap, kind, value: "%s%s=%s" % (cap, kind, value),
    st.sampled_from(["openfiles", "maxproc", "memorylocked", "datasize"]),
    st.sampled_from(["", "-cur", "-max"]),
    st.sampled_from(["unlimited", "infinity", "1024", "64", "8192"]))
FIELDS = st.lists(st.one_of(OTHER_CAPS, LIMIT_CAPS), max_size=6)


@st.composite
def records(draw, name):
    fields = draw(FIELDS)
    if draw(st.booleans()):
        fields.append("tc=base")
    style = draw(st.sampled_from(["tab", "spaces", "one-line"]))
    if style == "one-line" or not fields:
        return name + ":" + "".join(f + ":" for f in fields) + "\n"
    indent = "\t" if style == "tab" else "        "
    body = "".join("%s:%s:\\\n" % (indent, f) for f in fields)
    return name + ":\\\n" + body[:-2] + "\n"


@st.composite
def documents(draw):
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True).filter(
        lambda n: "base" not in n and "pg" not in n))
    parts = ["base:\\\n\t:openfiles=512:\\\n\t:memorylocked=64K:\n"]
    for name in names:
        parts.append(draw(st.sampled_from(["", "# a comment\n", "\n", "#old:\\\n#\t:x=1:\n"])))
        parts.append(draw(records(name)))
    return "".join(parts), names


ASKED = st.dictionaries(
    st.sampled_from(["openfiles", "openfiles-cur", "maxproc-max", "memorylocked", "datasize-cur"]),
    st.sampled_from([100, 4096, 65536, "unlimited", "1G"]), min_size=1).filter(
        lambda d: all(not (k.startswith(("openfiles", "maxproc")) and v == "1G") for k, v in d.items()))


@PROPERTY
@given(documents())
def test_property_round_trip(doc):
    text, names = doc
    parsed = parse(text)
    assert parsed.text == text
    assert [r.name for r in parsed.records] == ["base"] + names


@PROPERTY
@given(documents(), ASKED, st.booleans())
def test_property_edit_touches_only_the_class_and_is_idempotent(doc, asked, never_lower):
    text, names = doc
    name = names[-1]
    try:
        result = plan(text, name, asked, never_lower=never_lower)
    except LoginConfError as exc:
        # Only a soft limit asked above the hard one, set exactly, is refused.
        assert not never_lower and "setrlimit refuses that" in exc.message
        return
    assert_only_record_changed(text, result.text, name)
    # Every limit asked is now in force, or a higher one was kept; with
    # never_lower none is below what the class had before.
    before = parse(text)
    after = parse(result.text)
    record = after.find_class(name)
    for cap, raw in asked.items():
        resource, kind, value = parse_asked(name, cap, raw)
        for k in ([kind] if kind else ["cur", "max"]):
            if kind is None and ("%s-%s" % (resource, k)) in asked:
                continue
            got = effective(after, record, resource)[k]
            assert got is not None
            assert got.value >= value if never_lower or k == "max" else got.value == value
            had = effective(before, before.find_class(name), resource)[k]
            if never_lower and had is not None:
                assert got.value >= had.value, (cap, had.value, got.value)
    again = plan(result.text, name, asked, never_lower=never_lower)
    assert again.text == result.text and again.edits == []


@PROPERTY
@given(documents(), ASKED)
def test_property_new_class_leaves_the_file_as_a_prefix(doc, asked):
    text, dummy = doc
    result = plan(text, "pg", asked)
    assert result.created and result.text.startswith(text)
    assert result.text[len(text):].lstrip("\n").startswith(login_conf.HEADER % "pg" + "pg:")


# ------------------------------------------------- what a class gives (pg_host_facts)

MANAGED = ("maxproc", "memorylocked", "openfiles")
ALL_UNLIMITED = {"soft": "unlimited", "hard": "unlimited"}


@pytest.mark.parametrize("text, name, found, effective_name, limits", [
    # the stock default class
    (STOCK, "default", True, "default",
     {"maxproc": ALL_UNLIMITED, "memorylocked": {"soft": "64K", "hard": "64K"}, "openfiles": ALL_UNLIMITED}),
    # daemon's own memorylocked beats default's, the rest comes through tc=default
    (STOCK, "daemon", True, "daemon",
     {"maxproc": ALL_UNLIMITED, "memorylocked": {"soft": "128M", "hard": "128M"}, "openfiles": ALL_UNLIMITED}),
    # the hand-made class, found by its alias: -cur/-max, memorylocked@ cancels default's 64K
    (WITH_PG, "pgsql", True, "postgres",
     {"maxproc": ALL_UNLIMITED, "memorylocked": {"soft": None, "hard": None},
      "openfiles": {"soft": "8192", "hard": "16384"}}),
    # a class login.conf lacks: login_getclassbyname falls back to default
    (STOCK, "postgres", False, "default",
     {"maxproc": ALL_UNLIMITED, "memorylocked": {"soft": "64K", "hard": "64K"}, "openfiles": ALL_UNLIMITED}),
    # neither the class nor default: the process keeps its own limits
    ("staff:\\\n\t:tc=default:\n", "postgres", False, None,
     {"maxproc": {"soft": None, "hard": None}, "memorylocked": {"soft": None, "hard": None},
      "openfiles": {"soft": None, "hard": None}}),
    ("", "default", False, None,
     {"maxproc": {"soft": None, "hard": None}, "memorylocked": {"soft": None, "hard": None},
      "openfiles": {"soft": None, "hard": None}}),
])
def test_class_limits(text, name, found, effective_name, limits):
    expected = {"found": found, "effective": effective_name, "limits": limits}
    assert login_conf.class_limits(text, name, MANAGED) == expected


def test_class_limits_default_resources_and_the_first_of_two_records():
    # getcap finds the first record of a name; every resource by default
    got = login_conf.class_limits("pg:openfiles=5:\npg:openfiles=9:\n", "pg")
    assert sorted(got["limits"]) == sorted(login_conf.RESOURCE_ORDER)
    assert got["limits"]["openfiles"] == {"soft": "5", "hard": "5"}


@pytest.mark.parametrize("text, line, message", [
    ("postgres:\\\n\t:openfiles=lots:\n", 2, "capability openfiles=lots has a malformed value"),
    ("default:\\\n\t:openfiles=5:\\\n", 2, "ends with a continuation backslash"),
])
def test_class_limits_refuses_what_libutil_would_misread(text, line, message):
    with pytest.raises(LoginConfError) as info:
        login_conf.class_limits(text, "postgres", MANAGED)
    assert info.value.line_no == line and message in info.value.message


@pytest.mark.parametrize("mtime, db_mtime, stale", [
    (1000.0, 1000.0, False),
    (1000.0, 990.0, True),
    # within the clock slack of a write followed by cap_mkdb
    (1000.0, 1000.0 - login_conf.CLOCK_SLACK_SECONDS, False),
    (1000.0, 1000.0 - login_conf.CLOCK_SLACK_SECONDS - 0.5, True),
    (1000.0, 2000.0, False),
    # no database: getcap reads the file itself
    (1000.0, None, False),
    (None, 1000.0, False),
])
def test_database_stale(mtime, db_mtime, stale):
    assert login_conf.database_stale(mtime, db_mtime) is stale
