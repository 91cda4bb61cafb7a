"""pg_ctl flags (module_utils/pg_ctl_flags.py): the shutdown mode found and made fast.

Expected values are written out by hand from how sh(1) removes quotes and how
pg_ctl's getopt_long("cD:e:l:m:N:o:p:P:sS:t:U:wW") reads the words; the last
-m wins, and s/f/i are pg_ctl's short spellings of smart/fast/immediate.
"""

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils.pg_ctl_flags import (
    FlagsError,
    fast_flags,
    parse,
    split_words,
)


@pytest.mark.parametrize("text, values", [
    ("-w -s -m fast", ["-w", "-s", "-m", "fast"]),
    ("  -w\t-s\n", ["-w", "-s"]),
    ("-o '-p 5433'", ["-o", "-p 5433"]),
    ('-o "-c x=\\"a b\\""', ["-o", '-c x="a b"']),
    ('-o "a\\nb"', ["-o", "a\\nb"]),                # \n is not an escape inside double quotes
    ("-m\\ fast", ["-m fast"]),
    ("-m'fa'st", ["-mfast"]),
    ("", []),
])
def test_split_words(text, values):
    assert [w.value for w in split_words(text)] == values


def test_words_keep_their_span():
    text = "-w  -o '-p 5433' -m fast"
    assert [text[w.start:w.end] for w in split_words(text)] == ["-w", "-o", "'-p 5433'", "-m", "fast"]


@pytest.mark.parametrize("text, where", [("-o '-p 5433", "single quote at character 4"),
                                         ('-o "-p 5433', "double quote at character 4")])
def test_unterminated_quote(text, where):
    with pytest.raises(FlagsError, match=where):
        split_words(text)


@pytest.mark.parametrize("text, expected, mode", [
    # Already fast: nothing changes.
    ("-w -s -m fast", "-w -s -m fast", "fast"),
    ("-w -s -m f", "-w -s -m f", "fast"),
    ("-wsmfast", "-wsmfast", "fast"),
    ("--mode=fast -w", "--mode=fast -w", "fast"),
    # Another mode is replaced where it stands.
    ("-w -s -m smart", "-w -s -m fast", "smart"),
    ("-w -s -m s", "-w -s -m fast", "smart"),
    ("-m immediate -w", "-m fast -w", "immediate"),
    ("-w -s -mi", "-w -s -mfast", "immediate"),
    ("-wsm smart", "-wsm fast", "smart"),
    ("-wsmsmart -t 120", "-wsmfast -t 120", "smart"),
    ("--mode smart -w", "--mode fast -w", "smart"),
    ("--mode=smart -w", "--mode=fast -w", "smart"),
    ("--mo=i", "--mo=fast", "immediate"),
    ("-m 'smart'", "-m fast", "smart"),
    ("-m'smart' -w", "-mfast -w", "smart"),
    ("'--mode=smart'", "--mode=fast", "smart"),
    ("-m bogus", "-m fast", "bogus"),             # pg_ctl would refuse it; fast is what was meant
    # Every mode is made fast; the last one was the one in use.
    ("-m smart -w -m fast", "-m fast -w -m fast", "fast"),
    ("-m fast -m smart", "-m fast -m fast", "smart"),
    # No mode: added at the end, other flags and spacing kept.
    ("-w -s", "-w -s -m fast", None),
    ("-w  -s  ", "-w  -s -m fast  ", None),
    ("-w -o '-p 5433'", "-w -o '-p 5433' -m fast", None),
    ('-w -o "-c log_min_messages=debug1"', '-w -o "-c log_min_messages=debug1" -m fast', None),
    ("-D /pg/data -l /var/log/pg.log -t 300", "-D /pg/data -l /var/log/pg.log -t 300 -m fast", None),
    ("-w -- foo", "-w -m fast -- foo", None),
    # A -m that is the argument of another option is not pg_ctl's mode.
    ("-o '-m smart'", "-o '-m smart' -m fast", None),
    ("-o -msmart", "-o -msmart -m fast", None),
    ("-l -m", "-l -m -m fast", None),
    ("--options '-m smart'", "--options '-m smart' -m fast", None),
    ("--options=-msmart -w", "--options=-msmart -w -m fast", None),
    ("-pm smart", "-pm smart -m fast", None),         # -p takes "m" as its argument
    # After --, -m is no option.
    ("-w -- -m smart", "-w -m fast -- -m smart", None),
    # Long options without argument.
    ("--wait --silent --core-files", "--wait --silent --core-files -m fast", None),
    ("--no --time 60", "--no --time 60 -m fast", None),     # unique prefixes of --no-wait, --timeout
])
def test_fast_flags(text, expected, mode):
    result = fast_flags(text)
    assert result.flags == expected
    assert result.mode == mode
    assert result.changed is (expected != text)


@pytest.mark.parametrize("text", ["", "   ", None])
def test_blank_is_the_rc_default_and_left_alone(text):
    result = fast_flags(text)
    assert result.changed is False and result.mode is None
    assert result.flags == (text or "")


def test_second_pass_changes_nothing():
    for text in ["-w -s -m smart", "-w -s", "-wsmsmart", "--mode=i -w -- x", "-o '-m smart'"]:
        once = fast_flags(text).flags
        again = fast_flags(once)
        assert again.changed is False and again.flags == once and again.mode == "fast"


@pytest.mark.parametrize("text, words", [
    ("-w -x", ["-x", "not a pg_ctl option"]),
    ("-wq", ["-q", "'-wq'"]),
    ("--bogus", ["'--bogus'", "not a pg_ctl option"]),
    ("-w -m", ["-m", "no argument"]),
    ("--mode", ["'--mode'", "no argument"]),
    ("--wait=yes", ["--wait", "takes no argument"]),
    ("-o '-p 5433", ["never closed"]),
])
def test_flags_pg_ctl_refuses(text, words):
    with pytest.raises(FlagsError) as exc:
        fast_flags(text)
    for word in words:
        assert word in str(exc.value)


def test_parse_reports_end_of_options():
    modes, end = parse("-w -m s -- rest")
    assert [(m.given, m.prefix) for m in modes] == [("s", "")]
    assert end == len("-w -m s ")
    assert parse("-w")[1] is None
