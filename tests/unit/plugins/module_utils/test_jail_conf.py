"""jail_conf: jail.conf(5) parsing, effective IPC modes, the sysvshm=new edit, jls -n.

Fixtures are hand-written in the real formats
(tests/unit/fixtures/freebsd-files/jails/README); every expected text is
written out here.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils.jail_conf import (
    JailConfError,
    effective_ipc,
    ipc_mode,
    jls_ipc,
    parse,
    parse_jls_n,
    set_ipc_new,
)

JAILS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "freebsd-files", "jails")
PROPERTY = settings(max_examples=150, deadline=None, database=None)
NEW = {"sysvshm": "new", "sysvsem": "new", "sysvmsg": "new"}
DISABLE = {"sysvshm": "disable", "sysvsem": "disable", "sysvmsg": "disable"}
INHERIT = {"sysvshm": "inherit", "sysvsem": "inherit", "sysvmsg": "inherit"}


def fixture_text(*parts):
    with open(os.path.join(JAILS, *parts), encoding="utf-8") as handle:
        return handle.read()


def changed_lines(before, after):
    """[(line number, old, new)] for a same-length edit; asserts the rest is identical."""
    old, new = before.splitlines(), after.splitlines()
    return [(i + 1, a, b) for i, (a, b) in enumerate(zip(old, new)) if a != b]


# ---------------------------------------------------------------- parse


def test_parse_fixture_structure():
    conf = parse(fixture_text("jail.conf"))
    assert conf.jails() == ["pg1", "pg3", "pg4", "web1"]
    assert [s.name for s in conf.stanzas] == ["*", "pg1", "pg3", "pg4", "web1"]
    assert [(p.name, p.op, p.values) for p in conf.globals] == [
        ("exec.start", "=", ["/bin/sh /etc/rc"]),
        ("exec.stop", "=", ["/bin/sh /etc/rc.shutdown"]),
        ("exec.clean", None, []),
        ("mount.devfs", None, []),
        ("$jroot", "=", ["/jails"]),
        ("path", "=", ["$jroot/$name"]),
    ]
    pg1 = conf.stanza("pg1")
    assert pg1.line == 17
    assert [(p.name, p.values) for p in pg1.params] == [
        ("host.hostname", ["pg1.example.org"]), ("ip4.addr", ["192.0.2.11"]), ("persist", [])]
    pg4 = conf.stanza("pg4")
    assert pg4.params[0].values == ["pg4.example.org"]          # single quotes
    assert pg4.params[1].values == ["192.0.2.14", "192.0.2.15"]  # a list
    pg3 = conf.stanza("pg3")
    assert pg3.params[3].op == "+="
    assert pg3.params[3].values == ['/usr/sbin/protect -p "$(pgrep -j pg3 -o postgres)"']


def test_spans_cover_the_statements_and_stanzas():
    text = fixture_text("jail.conf")
    conf = parse(text)
    pg1 = conf.stanza("pg1")
    assert text[pg1.start:pg1.end] == (
        'pg1 { host.hostname = "pg1.example.org"; ip4.addr = 192.0.2.11; persist; }')
    assert text[pg1.open] == "{" and text[pg1.close] == "}"
    assert [text[p.start:p.end] for p in conf.stanza("pg3").params][:3] == [
        'host.hostname = "pg3.example.org";', 'ip4.addr = "lo1|192.0.2.13/32";', "allow.sysvipc = 1;"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a { b = 'x'\"y\"z; }", ["x" + "y" + "z"]),                  # adjacent pieces join
        ('a { b = "tab\\there\\x41\\101\\\\"; }', ["tab\there" + "AA\\"]),
        ('a { b = "one \\\ntwo"; }', ["one two"]),                   # backslash-newline
        ("a { b = one\\;two; }", ["one;two"]),                        # escaped special char
        ("a { b = ${host.hostname}.x; }", ["${host.hostname}.x"]),    # variable kept as written
        ("a { b = '$name'; }", ["$name"]),
        ("a { b c; }", ["c"]),                                        # name value, without '='
        ("a { ip4.addr+=1.2.3.4; }", ["1.2.3.4"]),
        ("a { path = /jails/a; }", ["/jails/a"]),                     # slashes in a token
    ],
)
def test_values(text, expected):
    assert parse(text).stanza("a").params[0].values == expected


def test_comments_of_all_kinds_and_several_params_per_line():
    text = "/* c\n { */ a { # x {\n b; // y }\n c = 1; d = 2; } ;;\n"
    stanza = parse(text).stanza("a")
    assert [(p.name, p.values) for p in stanza.params] == [("b", []), ("c", ["1"]), ("d", ["2"])]


def test_include_is_recognised_not_followed():
    conf = parse('.include "/etc/jail.conf.d/*.conf";\npg1 { persist; }\n')
    assert conf.includes == [("/etc/jail.conf.d/*.conf", 1)]
    assert conf.jails() == ["pg1"]


@pytest.mark.parametrize(
    "name, line, words",
    [
        ("jail.conf-unbalanced", 7, ["'pg2'", "'pg1'", "line 3", "'}' is missing"]),
        ("jail.conf-extra-brace", 4, ["unexpected '}'"]),
        ("jail.conf-unterminated-string", 2, ["unterminated string"]),
        ("jail.conf-unterminated-comment", 4, ["unterminated comment"]),
        ("jail.conf-missing-semicolon", 2, ["missing ';'", "'host.hostname'", "line 3"]),
    ],
)
def test_malformed_files_name_the_line(name, line, words):
    with pytest.raises(JailConfError) as exc:
        parse(fixture_text(name))
    assert exc.value.line == line
    assert str(exc.value).startswith("line %d: " % line)
    for word in words:
        assert word in str(exc.value)


@pytest.mark.parametrize(
    "text, line",
    [
        ("a {\n persist;\n", 1),                 # never closed
        ("a {\n b = ;\n}\n", 2),                 # '=' without a value
        ("a {\n b = 1,;\n}\n", 2),               # ',' without a value
        ("a {\n b = ${x;\n}\n", 2),              # ${ without }
        ("a {\n { persist; }\n}\n", 2),
        ("= 1;\n", 1),
    ],
)
def test_more_malformed_input(text, line):
    with pytest.raises(JailConfError) as exc:
        parse(text)
    assert exc.value.line == line


# ---------------------------------------------------------------- effective_ipc


def test_effective_ipc_of_the_fixture():
    conf = parse(fixture_text("jail.conf"))
    assert effective_ipc(conf, "pg1") == DISABLE           # unset: jail(8) default
    assert effective_ipc(conf, "pg3") == INHERIT           # allow.sysvipc = 1
    assert effective_ipc(conf, "pg4") == {"sysvshm": "inherit", "sysvsem": "disable", "sysvmsg": "disable"}
    assert effective_ipc(conf, "web1") == DISABLE
    assert effective_ipc(fixture_text("jail.conf.d", "pg2.conf"), "pg2") == DISABLE


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sysvshm = new;\na { }\n", {"sysvshm": "new", "sysvsem": "disable", "sysvmsg": "disable"}),
        ("* { sysvsem = new; }\na { }\n", {"sysvshm": "disable", "sysvsem": "new", "sysvmsg": "disable"}),
        # a later definition wins, wildcard or not
        ("a { sysvshm = new; }\n* { sysvshm = inherit; }\n", {"sysvshm": "inherit", "sysvsem": "disable", "sysvmsg": "disable"}),
        ("sysvshm = inherit;\na { sysvshm = new; }\n", {"sysvshm": "new", "sysvsem": "disable", "sysvmsg": "disable"}),
        ("a { }\nsysvmsg = new;\n", {"sysvshm": "disable", "sysvsem": "disable", "sysvmsg": "new"}),
        # partial wildcard
        ("db.* { sysvshm = new; }\ndb.a { }\n", {"sysvshm": "new", "sysvsem": "disable", "sysvmsg": "disable"}),
        # allow.sysvipc forms (config.c bool_param)
        ("a { allow.sysvipc; }", INHERIT),
        ("a { allow.sysvipc = true; }", INHERIT),
        ("a { allow.sysvipc = \"1\"; }", INHERIT),
        ("a { allow.sysvipc = 0; }", DISABLE),
        ("a { allow.sysvipc = false; }", DISABLE),
        ("a { allow.nosysvipc; }", DISABLE),
        ("allow.sysvipc;\na { allow.nosysvipc; }", DISABLE),   # same parameter, later wins
        # explicit values beat allow.sysvipc (sysv_shm.c shm_prison_set)
        ("a { allow.sysvipc = 1; sysvshm = new; }", {"sysvshm": "new", "sysvsem": "inherit", "sysvmsg": "inherit"}),
        # variables
        ("$ipc = new;\na { sysvshm = $ipc; sysvsem = \"${ipc}\"; }", {"sysvshm": "new", "sysvsem": "new", "sysvmsg": "disable"}),
        ("a { sysvshm = NEW; }", {"sysvshm": "new", "sysvsem": "disable", "sysvmsg": "disable"}),
    ],
)
def test_effective_ipc_rules(text, expected):
    assert effective_ipc(text, "db.a" if "db.a" in text else "a") == expected


def test_effective_ipc_bad_value_names_line():
    with pytest.raises(JailConfError) as exc:
        effective_ipc("a {\n sysvshm = shared;\n}\n", "a")
    assert exc.value.line == 2
    assert "'shared'" in str(exc.value) and "new, inherit, disable" in str(exc.value)


def test_unknown_jail_names_the_jails_there_are():
    with pytest.raises(JailConfError) as exc:
        effective_ipc(fixture_text("jail.conf"), "pg9")
    assert str(exc.value) == "jail 'pg9' is not defined here; jails defined: pg1, pg3, pg4, web1"
    with pytest.raises(JailConfError) as exc:
        set_ipc_new(fixture_text("jail.conf"), "*")
    assert "'*'" in str(exc.value)


def test_duplicate_jail_is_an_error():
    with pytest.raises(JailConfError) as exc:
        effective_ipc("a { }\na { persist; }\n", "a")
    assert "lines 1, 2" in str(exc.value)


# ---------------------------------------------------------------- set_ipc_new


def test_inline_stanza_gets_params_on_its_line():
    text = fixture_text("jail.conf")
    new = set_ipc_new(text, "pg1")
    assert changed_lines(text, new) == [(
        17,
        'pg1 { host.hostname = "pg1.example.org"; ip4.addr = 192.0.2.11; persist; }',
        'pg1 { host.hostname = "pg1.example.org"; ip4.addr = 192.0.2.11; persist; '
        'sysvshm = new; sysvsem = new; sysvmsg = new; }',
    )]
    assert len(new.splitlines()) == len(text.splitlines())
    assert effective_ipc(new, "pg1") == NEW
    for other in ("pg3", "pg4", "web1"):
        assert effective_ipc(new, other) == effective_ipc(text, other)


def test_allow_sysvipc_is_replaced_in_place_its_comment_kept_with_it_commented_out():
    text = fixture_text("jail.conf")
    new = set_ipc_new(text, "pg3")
    # The comment speaks of allow.sysvipc; left after the new statements it
    # would say they share the host's IPC.
    old_line = "\tallow.sysvipc = 1;\t# legacy: shares the host's IPC\n"
    assert new == text.replace(old_line, "\tsysvshm = new; sysvsem = new; sysvmsg = new;\n\t# " + old_line.lstrip("\t"))
    assert effective_ipc(new, "pg3") == NEW
    assert set_ipc_new(new, "pg3") == new


def test_existing_param_rewritten_missing_ones_inserted_with_indent():
    text = fixture_text("jail.conf")
    new = set_ipc_new(text, "pg4")
    start = text.index("pg4 {")
    assert new[:start] == text[:start]
    assert new[start:] == (
        "pg4 {\n"
        "    host.hostname = 'pg4.example.org';\n"
        "    ip4.addr = 192.0.2.14, 192.0.2.15;\n"
        "    sysvshm = new;\n"
        "    mount.fstab = \"/etc/fstab.$name\";\n"
        "    sysvsem = new;\n"
        "    sysvmsg = new;\n"
        "}\n"
        "\n"
        "web1 { host.hostname = web1.example.org; ip4.addr = 192.0.2.21; }\n"
    )


def test_jail_conf_d_file():
    text = fixture_text("jail.conf.d", "pg2.conf")
    new = set_ipc_new(text, "pg2")
    assert new == text.replace(
        "\tpersist;\n}\n", "\tpersist;\n\tsysvshm = new;\n\tsysvsem = new;\n\tsysvmsg = new;\n}\n")
    assert effective_ipc(new, "pg2") == NEW


@pytest.mark.parametrize("name", ["pg1", "pg3", "pg4", "web1"])
def test_idempotent_and_other_stanzas_untouched(name):
    text = fixture_text("jail.conf")
    once = set_ipc_new(text, name)
    assert set_ipc_new(once, name) == once
    before, after = parse(text), parse(once)
    for other in before.jails():
        if other != name:
            moved = after.stanza(other)
            assert once[moved.start:moved.end] == text[before.stanza(other).start:before.stanza(other).end]
    # everything before and after the edited stanza is byte for byte the same
    edited = before.stanza(name)
    assert once[:edited.start] == text[:edited.start]
    tail = len(text) - edited.end
    assert once[len(once) - tail:] == text[edited.end:]


def test_all_jails_in_turn():
    text = fixture_text("jail.conf")
    for name in parse(text).jails():
        text = set_ipc_new(text, name)
    for name in parse(text).jails():
        assert effective_ipc(text, name) == NEW
    assert "allow.sysvipc" not in text.replace("# allow.sysvipc = 1;", "")
    assert "mount.devfs;\n$jroot" in text  # top of file untouched


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a {}", "a { sysvshm = new; sysvsem = new; sysvmsg = new; }"),
        ("a{persist;}", "a{persist; sysvshm = new; sysvsem = new; sysvmsg = new; }"),
        ("a {\n}\n", "a {\n\tsysvshm = new;\n\tsysvsem = new;\n\tsysvmsg = new;\n}\n"),
        ("  a {\n  }\n", "  a {\n  \tsysvshm = new;\n  \tsysvsem = new;\n  \tsysvmsg = new;\n  }\n"),
        ('a { sysvshm="new"; sysvsem = inherit; sysvmsg = new; }',
         'a { sysvshm="new"; sysvsem = new; sysvmsg = new; }'),   # "new" in quotes is kept as written
        ("a {\n  allow.sysvipc;\n  persist;\n}\n",
         "a {\n  sysvshm = new;\n  sysvsem = new;\n  sysvmsg = new;\n  persist;\n}\n"),
        ("a {\n  sysvshm = new; sysvsem = new; sysvmsg = new;\n  allow.sysvipc = 1;\n}\n",
         "a {\n  sysvshm = new; sysvsem = new; sysvmsg = new;\n}\n"),
        ("a { allow.sysvipc; sysvshm = inherit; allow.sysvipc = 1; }",
         "a { sysvsem = new; sysvmsg = new; sysvshm = new; }"),
        ("a {\r\n\tpersist;\r\n}\r\n", "a {\r\n\tpersist;\r\n\tsysvshm = new;\r\n\tsysvsem = new;\r\n\tsysvmsg = new;\r\n}\r\n"),
        ("a { persist; } /* } */ b { }", "a { persist; sysvshm = new; sysvsem = new; sysvmsg = new; } /* } */ b { }"),
    ],
)
def test_set_ipc_new_shapes(text, expected):
    assert set_ipc_new(text, "a") == expected
    assert set_ipc_new(expected, "a") == expected


def test_later_wildcard_that_overrides_is_an_error():
    text = "a { persist; }\n* {\n\tsysvshm = inherit;\n}\n"
    with pytest.raises(JailConfError) as exc:
        set_ipc_new(text, "a")
    assert exc.value.line == 3
    assert "sysvshm on line 3" in str(exc.value)


def test_set_ipc_new_refuses_malformed_input():
    with pytest.raises(JailConfError) as exc:
        set_ipc_new(fixture_text("jail.conf-unbalanced"), "pg1")
    assert exc.value.line == 7


_token = st.sampled_from(["persist", "host.hostname = \"h\"", "ip4.addr = 10.0.0.1, 10.0.0.2",
                          "sysvshm = inherit", "sysvsem = disable", "allow.sysvipc", "allow.sysvipc = 0",
                          "exec.start += '/bin/sh /etc/rc'", "sysvmsg = new"])
_sep = st.sampled_from([" ", "\n\t", "\n    ", " # c\n ", " /* c */ ", " // c\n  "])


@PROPERTY
@given(before=st.lists(_token, max_size=4), own=st.lists(_token, max_size=6), seps=st.lists(_sep, min_size=12, max_size=12),
       inline=st.booleans())
def test_property_edit_is_local_idempotent_and_effective(before, own, seps, inline):
    head = "".join("%s;%s" % (t, s) for t, s in zip(before, seps)) + "\nother { persist; }\n"
    body = "".join("%s;%s" % (t, s) for t, s in zip(own, seps[4:])) if not inline else " ".join(t + ";" for t in own)
    stanza = ("pg { %s }" if inline else "pg {\n\t%s\n}") % body
    text = head + stanza + "\nlast { persist; }\n"
    once = set_ipc_new(text, "pg")
    assert set_ipc_new(once, "pg") == once
    assert effective_ipc(once, "pg") == NEW
    start = text.index("pg {")
    assert once[:start] == text[:start]
    assert once.endswith("\nlast { persist; }\n")
    assert effective_ipc(once, "other") == effective_ipc(text, "other")


# ---------------------------------------------------------------- jls -n


def test_parse_jls_n_fixture():
    jails = parse_jls_n(fixture_text("jls-n.txt"))
    assert [j["name"] for j in jails] == ["pg1", "pg2", "pg3", "pg4"]
    pg1 = jails[0]
    assert pg1["jid"] == "1" and pg1["path"] == "/jails/pg1"
    assert pg1["persist"] is True and pg1["nodying"] is True
    assert pg1["host.domainname"] == "" and pg1["ip6.addr"] == ""
    assert jails[3]["host.hostname"] == "pg4 example"
    assert jails[3]["ip4.addr"] == "192.0.2.14,192.0.2.15"
    assert [jls_ipc(j) for j in jails] == [
        DISABLE, NEW, INHERIT, {"sysvshm": "inherit", "sysvsem": "disable", "sysvmsg": "disable"}]
    assert [ipc_mode(jls_ipc(j)) for j in jails] == ["disable", "new", "inherit", "inherit"]


def test_jls_ipc_of_an_old_kernel_without_sysv_params():
    assert jls_ipc(parse_jls_n("jid=1 name=old allow.sysvipc path=/j")[0]) == INHERIT
    assert jls_ipc(parse_jls_n("jid=1 name=old allow.nosysvipc path=/j")[0]) == DISABLE


def test_parse_jls_n_escapes_and_errors():
    assert parse_jls_n('name=a path=/j\\ x host.hostname=\'b c\'\n\n')[0] == {
        "name": "a", "path": "/j x", "host.hostname": "b c"}
    with pytest.raises(JailConfError) as exc:
        parse_jls_n('name=a\nname="b\n')
    assert exc.value.line == 2
