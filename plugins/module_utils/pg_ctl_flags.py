# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_ctl flags: find the shutdown mode and make it fast, keeping every other flag.

The FreeBSD port's rc script runs, for start, stop, restart and the rest,

    su -l postgres -c "exec pg_ctl <command> -D '<data>' ${postgresql_flags}"

so the value of `postgresql_flags` (default `-w -s -m fast`, docs/postgres-kernel-facts.md §8) is
split into words by the shell su starts, and pg_ctl reads them with
getopt_long. The same two steps are modelled here:

- Words: POSIX shell quote removal - `'...'` literally, `"..."` with `\\`
  escaping only `$`, `` ` ``, `"`, `\\` and newline, a bare `\\` escaping the
  next character. Parameter expansion (`$x`) is left as text: its value is
  unknown here, and a flag never hides in one in practice. Each word keeps
  its span in the original text, so an edit changes only the mode's own
  characters and every other byte (quotes, spacing) stays as it was.
- Options: pg_ctl's getopt string `cD:e:l:m:N:o:p:P:sS:t:U:wW` and its long
  options (`--mode`, `--log`, `--pgdata`, `--options`, `--timeout` take an
  argument; unique prefixes such as `--mo` are accepted, as getopt_long
  does). Short options may be bundled (`-wsm fast`, `-wsmfast`); an option
  argument is the rest of the word or the next word, so the `-m` inside
  `-o '-m smart'` (an argument for the server) is not a pg_ctl mode. `--`
  ends the options.

pg_ctl's set_mode accepts `s`/`smart`, `f`/`fast` and `i`/`immediate`; the
last `-m` given wins. pg_ctl stops fast by default since 9.5 (docs/postgres-kernel-facts.md §6); an
explicit `-m fast` also covers older servers and states the intent.

Flags pg_ctl would refuse (an unknown option, an option without its
argument, an unterminated quote) raise FlagsError: the rc script fails with
them already, and rewriting what is not understood could make it worse.
"""

from __future__ import annotations

from collections import namedtuple

# getopt string of pg_ctl (src/bin/pg_ctl/pg_ctl.c, PostgreSQL 9.5-18); a
# letter followed by ":" takes an argument.
OPTSTRING = "cD:e:l:m:N:o:p:P:sS:t:U:wW"
SHORT_WITH_ARGUMENT = frozenset(OPTSTRING[i] for i in range(len(OPTSTRING) - 1)
                                if OPTSTRING[i] != ":" and OPTSTRING[i + 1] == ":")
SHORT_OPTIONS = frozenset(c for c in OPTSTRING if c != ":")
# Long option -> (takes an argument, short equivalent).
LONG_OPTIONS = {
    "help": (False, "?"),
    "version": (False, "V"),
    "log": (True, "l"),
    "mode": (True, "m"),
    "pgdata": (True, "D"),
    "options": (True, "o"),
    "silent": (False, "s"),
    "timeout": (True, "t"),
    "core-files": (False, "c"),
    "wait": (False, "w"),
    "no-wait": (False, "W"),
}
# pg_ctl's set_mode.
MODES = {"s": "smart", "smart": "smart", "f": "fast", "fast": "fast", "i": "immediate", "immediate": "immediate"}
FAST = "fast"
BLANKS = " \t\n"
DOUBLE_QUOTE_ESCAPES = "$`\"\\\n"

# A shell word: its span [start, end) in the text and its value after quote removal.
Word = namedtuple("Word", ["start", "end", "value"])
# Where a shutdown mode is given: the characters [start, end) of the text
# hold the mode argument, whose value is `given`; prefix is the option text
# that must stay in front of it when it is rewritten inside its word.
Mode = namedtuple("Mode", ["start", "end", "given", "prefix"])
# The result of fast_flags: the new text, the mode pg_ctl used before
# (normalised, or as given when pg_ctl does not know it; None when no -m),
# and whether the text changed.
FastFlags = namedtuple("FastFlags", ["flags", "mode", "changed"])


class FlagsError(ValueError):
    """pg_ctl flags that cannot be read (as pg_ctl or the shell would refuse them)."""


def split_words(text):
    """[Word] of a shell command line fragment; FlagsError on an unterminated quote."""
    words = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in BLANKS:
            i += 1
            continue
        start, value = i, []
        while i < n and text[i] not in BLANKS:
            char = text[i]
            if char == "'":
                end = text.find("'", i + 1)
                if end < 0:
                    raise FlagsError("the single quote at character %d is never closed" % (i + 1))
                value.append(text[i + 1:end])
                i = end + 1
            elif char == '"':
                opened = i
                i += 1
                while True:
                    if i >= n:
                        raise FlagsError("the double quote at character %d is never closed" % (opened + 1))
                    char = text[i]
                    if char == '"':
                        i += 1
                        break
                    if char == "\\" and i + 1 < n and text[i + 1] in DOUBLE_QUOTE_ESCAPES:
                        value.append(text[i + 1])
                        i += 2
                        continue
                    value.append(char)
                    i += 1
            elif char == "\\" and i + 1 < n:
                value.append(text[i + 1])
                i += 2
            else:
                value.append(char)
                i += 1
        words.append(Word(start, i, "".join(value)))
    return words


def _long_option(name, word):
    """(long name, takes argument) of a long option as getopt_long matches it: exact, else a unique prefix."""
    if name in LONG_OPTIONS:
        return name, LONG_OPTIONS[name][0]
    matches = sorted(option for option in LONG_OPTIONS if option.startswith(name))
    if len(matches) == 1:
        return matches[0], LONG_OPTIONS[matches[0]][0]
    # No two of pg_ctl's long options share a first letter, so several
    # matches cannot happen today; getopt_long would refuse them as ambiguous.
    raise FlagsError("option %r is not a pg_ctl option; pg_ctl refuses it" % word)


def _plain(text, word):
    """The mode can be rewritten inside a word only when the word is written without quotes or escapes."""
    return text[word.start:word.end] == word.value


def parse(text):
    """(modes, end_of_options) of pg_ctl flags.

    modes: [Mode] in order (pg_ctl uses the last one). end_of_options: the
    index in the text where `-m fast` can be inserted so that pg_ctl still
    reads it as an option - the start of a `--` word, else None (append).
    FlagsError for flags pg_ctl would refuse.
    """
    words = split_words(text or "")
    modes = []
    i = 0
    while i < len(words):
        word = words[i]
        value = word.value
        if value == "--":
            return modes, word.start
        if value.startswith("--"):
            name, has_equals, argument = value[2:].partition("=")
            option, takes_argument = _long_option(name, value)
            if not takes_argument:
                if has_equals:
                    raise FlagsError("option --%s takes no argument (%r); pg_ctl refuses it" % (option, value))
            elif not has_equals:
                if i + 1 >= len(words):
                    raise FlagsError("option %r has no argument after it; pg_ctl refuses it" % value)
                i += 1
                if option == "mode":
                    nxt = words[i]
                    modes.append(Mode(nxt.start, nxt.end, nxt.value, ""))
            elif option == "mode":
                if not _plain(text, word):
                    # Rewritten as a whole word: the option and "=fast".
                    modes.append(Mode(word.start, word.end, argument, "--%s=" % name))
                else:
                    cut = word.start + len(value) - len(argument)
                    modes.append(Mode(cut, word.end, argument, ""))
            i += 1
            continue
        if value.startswith("-") and len(value) > 1:
            j = 1
            while j < len(value):
                letter = value[j]
                if letter not in SHORT_OPTIONS:
                    raise FlagsError("option -%s (in %r) is not a pg_ctl option; pg_ctl refuses it" % (letter, value))
                if letter in SHORT_WITH_ARGUMENT:
                    if j + 1 < len(value):
                        argument = value[j + 1:]
                        if letter == "m":
                            if _plain(text, word):
                                modes.append(Mode(word.start + j + 1, word.end, argument, ""))
                            else:
                                modes.append(Mode(word.start, word.end, argument, value[:j + 1]))
                    else:
                        if i + 1 >= len(words):
                            raise FlagsError("option -%s (in %r) has no argument after it; pg_ctl refuses it"
                                             % (letter, value))
                        i += 1
                        if letter == "m":
                            nxt = words[i]
                            modes.append(Mode(nxt.start, nxt.end, nxt.value, ""))
                    break
                j += 1
        # Anything else is a non-option argument; getopt_long moves those
        # aside and goes on reading options after them.
        i += 1
    return modes, None


def fast_flags(text):
    """FastFlags of pg_ctl flags: every shutdown mode given made fast, or `-m fast` added.

    Blank text is returned as it is: the port's rc script reads an empty
    postgresql_flags as unset (${postgresql_flags:-...}) and uses its
    default, `-w -s -m fast`; adding only `-m fast` would drop `-w -s`.
    """
    text = "" if text is None else str(text)
    if not text.strip():
        return FastFlags(text, None, False)
    modes, end_of_options = parse(text)
    current = None
    if modes:
        given = modes[-1].given
        current = MODES.get(given, given)
    pieces, last = [], 0
    for mode in modes:
        if MODES.get(mode.given) == FAST:
            continue
        pieces.append(text[last:mode.start])
        pieces.append(mode.prefix + FAST)
        last = mode.end
    pieces.append(text[last:])
    new = "".join(pieces)
    if not modes:
        if end_of_options is None:
            new = text.rstrip(BLANKS) + " -m " + FAST + text[len(text.rstrip(BLANKS)):]
        else:
            new = text[:end_of_options] + "-m " + FAST + " " + text[end_of_options:]
    return FastFlags(new, current, new != text)
