# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FreeBSD /etc/login.conf: parse, resolve, plan and render one class.

The format is getcap(3)'s, as libc's getcap.c and libutil's login_cap.c /
login_class.c read it (FreeBSD 14):

- A backslash right before a newline joins the next physical line to this
  one (both characters dropped; nothing may follow the backslash). Records
  and comments are the joined, logical lines.
- A logical line that is empty or starts with `#` is ignored (a comment
  ending in a backslash continues on the next line too). cap_mkdb (through
  cgetnext) also skips logical lines that start with white space or `:`;
  here they are reported as malformed, since they mean a lost continuation.
- A record is `name|alias|...|description:field:field:...`: the names up to
  the first `:` are separated by `|`, and every one of them finds the
  record (cgetmatch). Fields are separated by `:` anywhere (`\\c` is the
  escape for a literal colon); the tab that starts a continuation line is
  an empty field of its own. Fields are `cap=string`, `cap#number`, `cap`
  (boolean) and `cap@`, which hides any later `cap` of the record.
- The first field of a name wins. `tc=other` puts the fields of the record
  `other` in its place (after stripping its names), recursively, so fields
  before a `tc=` override the included ones, and what an included record
  sets still beats what the including record sets after the `tc=`.
- Resource limits (login_class.c setclassresources): `datasize` and
  `memorylocked` are sizes (login_getcapsize: numbers as strtoq reads them,
  base 0, each with an optional suffix b = 512-byte blocks, k, m, g or t,
  case-insensitive, summed, as in `1g512m`); `maxproc` and `openfiles` are
  numbers (login_getcapnum: `cap=value` first, the leading number with
  anything after it ignored, else `cap#value`). For both, `infinity`,
  `inf`, `unlimited`, `unlimit` and `-1` (any case) mean no limit. The soft
  limit is `<cap>-cur`, else `<cap>`, else what the process applying the
  class already had; the hard limit likewise with `<cap>-max`.
- After each edit, `cap_mkdb <file>` rebuilds `<file>.db`; getcap reads the
  database when it exists, so an edit without it is invisible.
- A user's class is the one master.passwd names, `default` when it names
  none; a class login.conf lacks gets `default`'s capabilities too
  (libutil login_cap.c, login_getclassbyname: "fall-back to default class").

Planning never lowers by default: each soft and hard limit becomes the
highest of the value asked and what the class gives now (its own fields
or, through `tc=`, another class's). Every byte outside the edited record
stays as it was; inside it, changed fields are rewritten in place and new
fields go on lines of their own (`<tab>:cap=value:\\`) before the first
`tc=`, in the record's own indentation.

Why one file over 500 lines: it is one grammar, getcap(3) as login.conf
uses it. The planner edits records by the line spans the parser records and
judges values with the same size and number readers that resolve `tc=`;
split apart, each half would reach into the other's internals.
"""

from __future__ import annotations

import re
from collections import namedtuple

INFINITY = float("inf")
SIZE, NUMBER = "size", "number"
# The resource limits this module manages and how libutil reads them.
RESOURCES = {"datasize": SIZE, "memorylocked": SIZE, "maxproc": NUMBER, "openfiles": NUMBER}
RESOURCE_ORDER = ("datasize", "maxproc", "memorylocked", "openfiles")
KINDS = ("cur", "max")
KIND_WORDS = {"cur": "soft", "max": "hard"}
# rlim_t is a signed 64-bit integer on FreeBSD.
RLIM_MAX = 2 ** 63 - 1
# getcap.c's MAX_RECURSION for tc= chains.
MAX_TC_DEPTH = 32
INFINITE_WORDS = ("infinity", "inf", "unlimited", "unlimit", "-1")
SIZE_UNITS = {"": 1, "b": 512, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}
RENDER_UNITS = (("T", 1024 ** 4), ("G", 1024 ** 3), ("M", 1024 ** 2), ("K", 1024))
# The class login_getclassbyname falls back to.
DEFAULT_CLASS = "default"
# The two mtimes come from different clocks: atomic_move stamps the file with
# Python's time.time(), cap_mkdb's write gets the kernel's file time, which
# lags by up to a clock tick (Linux's coarse clock; FreeBSD's
# vfs.timestamp_precision, whole seconds at 0). Measured here: a database
# touched right after such a write looked older than the file 270 times in
# 300, so a run after ours rebuilt it and reported a change. A hand edit
# without cap_mkdb within this many seconds of the last rebuild goes unseen.
CLOCK_SLACK_SECONDS = 2
HEADER = (
    "# Login class %s: resource limits for PostgreSQL, added by the\n"
    "# pghost.hardening collection (module pghost.hardening.login_class).\n"
    "# Run cap_mkdb on this file after editing it by hand.\n"
)

# One field of a record. kind: "=", "#", "@" or "" (boolean); value: the raw
# text after "=" or "#", else None. line is the physical line (0-based) the
# field starts on; start and end its columns there, None when it spans lines.
Field = namedtuple("Field", ["name", "kind", "value", "text", "line", "start", "end"])
# Where a value came from: the field and the record holding it.
Source = namedtuple("Source", ["value", "field", "record"])


class LoginConfError(ValueError):
    """Malformed login.conf text or unacceptable input; line_no is 1-based, 0 when not about a line."""

    def __init__(self, line_no, message):
        self.line_no = line_no
        self.message = message
        ValueError.__init__(self, ("line %d: %s" % (line_no, message)) if line_no else message)


class Record(object):
    """One class: its names, physical line span (0-based, inclusive) and fields."""

    def __init__(self, names, start, end, fields):
        self.names, self.start, self.end, self.fields = names, start, end, fields

    @property
    def name(self):
        return self.names[0]

    @property
    def line_no(self):
        return self.start + 1

    def __repr__(self):
        return "Record(%r, lines %d-%d)" % ("|".join(self.names), self.start + 1, self.end + 1)


class Document(object):
    """A parsed file: its physical lines (with their newlines) and records in file order."""

    def __init__(self, lines, records):
        self.lines, self.records = lines, records

    @property
    def text(self):
        return "".join(self.lines)

    def matching(self, name):
        return [r for r in self.records if name in r.names]

    def first(self, name):
        """The record getcap finds for a name (the first in the file), or None."""
        found = self.matching(name)
        return found[0] if found else None

    def find_class(self, name):
        """The record of a class by any of its names; None when absent; an error when several records have it."""
        found = self.matching(name)
        if len(found) > 1:
            raise LoginConfError(found[1].line_no, "class %r is defined again (first at line %d); getcap and "
                                 "cap_mkdb use only the first one - merge or remove one by hand"
                                 % (name, found[0].line_no))
        return found[0] if found else None


def split_lines(text):
    """Physical lines, each with its "\\n" (the last one may lack it); getcap splits on "\\n" only."""
    parts = (text or "").split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _content(line):
    return line[:-1] if line.endswith("\n") else line


def _fields(lines, start, end):
    """(names text, [Field]) of the logical line made of physical lines start..end."""
    raw = []
    current = None
    for index in range(start, end + 1):
        content = _content(lines[index])
        if index < end:
            content = content[:-1]   # the continuation backslash
        if current is None or not current["text"]:
            # A field with nothing before the line break starts on this line.
            current = {"text": "", "line": index, "start": 0}
        for col, char in enumerate(content):
            if char == ":":
                current.update(end_line=index, end=col)
                raw.append(current)
                current = {"text": "", "line": index, "start": col + 1}
            else:
                current["text"] += char
        current.update(end_line=index, end=len(content))
    raw.append(current)
    fields = []
    for item in raw[1:]:
        text = item["text"]
        if not text.strip():
            continue
        match = re.match(r"([^=#@]*)([=#@]?)(.*)\Z", text, re.S)
        name, kind, value = match.group(1), match.group(2), match.group(3)
        col_start, col_end = item["start"], item["end"]
        if item["end_line"] != item["line"]:
            col_start = col_end = None
        fields.append(Field(name, kind, value if kind in ("=", "#") else None, text, item["line"], col_start, col_end))
    return raw[0]["text"], fields


def parse(text):
    """Document of login.conf text; LoginConfError for what getcap would misread.

    Malformed: a continuation backslash on the last line; a line that
    starts with white space or ':' without continuing a record (a lost
    continuation, e.g. a space after the backslash); a record without ':'
    after its names or with an empty name.
    """
    lines = split_lines(text)
    records = []
    index = 0
    while index < len(lines):
        start = index
        while _content(lines[index]).endswith("\\"):
            if index + 1 >= len(lines) or not lines[index].endswith("\n"):
                raise LoginConfError(index + 1, "the line ends with a continuation backslash but the file ends "
                                     "there (line %d starts the record); a class added after it would be "
                                     "joined to it" % (start + 1))
            index += 1
        end = index
        index += 1
        logical = "".join(_content(lines[i])[:-1] if i < end else _content(lines[i]) for i in range(start, end + 1))
        if not logical or logical.startswith("#") or not logical.strip(" \t\r\f\v"):
            continue
        if logical[0] in " \t\r\f\v:":
            raise LoginConfError(start + 1, "the line starts with %s but does not continue a record: is there "
                                 "something (a space?) after the backslash at the end of the line before? "
                                 "getcap skips it" % ("white space" if logical[0] != ":" else "':'"))
        if ":" not in logical:
            raise LoginConfError(start + 1, "record %r has no ':' after its name" % logical.split("|", 1)[0])
        names_text, fields = _fields(lines, start, end)
        names = names_text.split("|")
        if any(not n for n in names):
            raise LoginConfError(start + 1, "record %r has an empty name (two '|' in a row, or '|' at the "
                                 "start or end of the names)" % names_text)
        records.append(Record(names, start, end, fields))
    return Document(lines, records)


# ------------------------------------------------------------------ values


def fmt(value, vtype=NUMBER):
    """The text written for a value: unlimited, a number, or a size with the largest exact suffix."""
    if value is None:
        return None
    if value == INFINITY:
        return "unlimited"
    if vtype == SIZE and value:
        for suffix, unit in RENDER_UNITS:
            if value % unit == 0:
                return "%d%s" % (value // unit, suffix)
    return str(int(value))


_STRTOQ = re.compile(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def _strtoq(text, pos):
    """(value, end) of the number strtoq(3) with base 0 reads at pos, or None when it reads none."""
    match = _STRTOQ.match(text, pos)
    if not match:
        return None
    digits = match.group(2)
    if digits[:2] in ("0x", "0X"):
        value = int(digits[2:], 16)
    elif digits.startswith("0") and len(digits) > 1:
        value = int(digits[1:], 8)
    else:
        value = int(digits)
    return (-value if match.group(1) == "-" else value), match.end()


def read_size(raw):
    """What login_getcapsize makes of a `cap=raw` value; ValueError when it reports a bad value."""
    if raw.lower() in INFINITE_WORDS:
        return INFINITY
    total, pos = 0, 0
    if not raw:
        return 0
    while pos < len(raw):
        number = _strtoq(raw, pos)
        if number is None:
            raise ValueError("not a size")
        value, pos = number
        unit = 1
        if pos < len(raw):
            suffix = raw[pos].lower()
            if suffix not in "bkmgt":
                raise ValueError("unknown suffix %r" % raw[pos])
            unit = SIZE_UNITS[suffix]
            pos += 1
        if value < 0:
            raise ValueError("negative")
        total += value * unit
        if total > RLIM_MAX:
            raise ValueError("too large")
    return total


def read_number(raw, kind="="):
    """What login_getcapnum makes of `cap=raw` (anything after the leading number is ignored) or
    of `cap#raw` (cgetnum: octal after 0, hex after 0x, up to the first other character)."""
    if kind == "#":
        match = re.match(r"0[xX]([0-9a-fA-F]*)|0([0-7]*)|([0-9]*)", raw)
        hexa, octal, decimal = match.groups()
        if hexa is not None:
            return int(hexa or "0", 16)
        if octal is not None:
            return int(octal or "0", 8)
        return int(decimal or "0")
    if raw.lower() in INFINITE_WORDS:
        return INFINITY
    number = _strtoq(raw, 0)
    if number is None:
        raise ValueError("not a number")
    if number[0] < 0:
        raise ValueError("negative")
    if number[0] > RLIM_MAX:
        raise ValueError("too large")
    return number[0]


def split_capability(cap):
    """(resource, kind) of an accepted capability name; kind None for the bare name (soft and hard)."""
    for resource in RESOURCES:
        if cap == resource:
            return resource, None
        for kind in KINDS:
            if cap == "%s-%s" % (resource, kind):
                return resource, kind
    return None


def accepted_capabilities():
    return [c for r in RESOURCE_ORDER for c in (r, r + "-cur", r + "-max")]


def _allowed(vtype):
    if vtype == SIZE:
        return ("a size in bytes, optionally with one suffix b (512-byte blocks), k, m, g or t (any case), "
                "e.g. 256M; or unlimited / infinity")
    return "a whole number, e.g. 8192, without a suffix; or unlimited / infinity"


def parse_asked(klass, cap, raw):
    """(resource, kind, value) of one entry of the capabilities option; LoginConfError naming
    the class, capability, value and what is accepted."""
    split = split_capability(cap)
    if split is None:
        raise LoginConfError(0, "class %r: capability %r is not accepted; accepted: %s"
                             % (klass, cap, ", ".join(accepted_capabilities())))
    resource, kind = split
    vtype = RESOURCES[resource]
    bad = "class %r: capability %s: value %r is not accepted; expected %s" % (klass, cap, raw, _allowed(vtype))
    if isinstance(raw, bool) or raw is None or isinstance(raw, float):
        raise LoginConfError(0, bad)
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip().lower()
        if text in ("unlimited", "infinity"):
            return resource, kind, INFINITY
        pattern = r"([0-9]+)([bkmgt]?)\Z" if vtype == SIZE else r"([0-9]+)()\Z"
        match = re.match(pattern, text)
        if not match:
            if vtype == NUMBER and re.match(r"[0-9]+[a-z]", text):
                bad += " (login_getcapnum would read only the leading number of %r)" % raw
            raise LoginConfError(0, bad)
        value = int(match.group(1)) * SIZE_UNITS[match.group(2)]
    if value < 0 or value > RLIM_MAX:
        raise LoginConfError(0, bad + " (between 0 and %d)" % RLIM_MAX)
    return resource, kind, value


def check_name(option, name, description=False):
    """A class name (or alias, or description) getcap can store in a name field."""
    bad = re.search(r"[:|\\\n\r^]" if description else r"[:|\\\n\r^\s#=@]", name or "")
    if not name or bad or name[0] in " \t#":
        raise LoginConfError(0, "%s: %r is not accepted; a class name is not empty and has no %s" % (
            option, name, "':', '|', '\\', '^' or line break" if description
            else "':', '|', '\\', '^', '#', '=', '@' or white space"))
    return name


# ---------------------------------------------------------- resolution


def expand(doc, record, depth=0):
    """[(Field, Record)] of a record in the order getcap sees them, tc= references expanded."""
    out = []
    for field in record.fields:
        if field.name == "tc" and field.kind == "=":
            target = doc.first(field.value)
            if target is not None and depth < MAX_TC_DEPTH:
                out.extend(expand(doc, target, depth + 1))
            continue
        out.append((field, record))
    return out


def _lookup(expanded, cap, kind):
    """cgetcap: the first field named cap of that kind, None when absent or hidden by `cap@`."""
    for field, record in expanded:
        if field.name != cap:
            continue
        if field.kind == "@":
            return None
        if field.kind == kind:
            if (field.value or "").startswith("@"):
                return None
            return field, record
    return None


def value_of(expanded, cap, vtype, klass, owner=None):
    """Source of what libutil reads for cap, None when the class does not set it."""
    found = _lookup(expanded, cap, "=")
    kind = "="
    if found is None and vtype == NUMBER:
        found, kind = _lookup(expanded, cap, "#"), "#"
    if found is None:
        return None
    field, record = found
    try:
        value = read_size(field.value) if vtype == SIZE else read_number(field.value, kind)
    except ValueError as exc:
        where = "" if record is owner or owner is None else " (in class %s, reached through tc=)" % record.name
        raise LoginConfError(field.line + 1, "class %r: capability %s%s%s%s has a malformed value (%s); expected %s; "
                             "fix it by hand" % (klass, cap, kind, field.value, where, exc, _allowed(vtype)))
    return Source(value, field, record)


def effective(doc, record, resource, klass=None):
    """{kind: Source or None}: the soft and hard limit the class gives for a resource."""
    vtype = RESOURCES[resource]
    fields = expand(doc, record)
    out = {}
    for kind in KINDS:
        out[kind] = (value_of(fields, "%s-%s" % (resource, kind), vtype, klass or record.name, record)
                     or value_of(fields, resource, vtype, klass or record.name, record))
    return out


def describe_source(source, record, vtype):
    """Where a limit comes from, for reasons: the value, the field and its line (and class, through tc=)."""
    if source is None:
        return "not set (the process applying the class keeps its own limit)"
    where = "line %d" % (source.field.line + 1)
    if source.record is not record:
        where += " in class %s, through tc=" % source.record.name
    return "%s (%s, %s)" % (fmt(source.value, vtype), source.field.text, where)


def class_limits(text, name, resources=RESOURCE_ORDER):
    """What a process put in class `name` gets of each resource, read as libutil does.

    -> {"found": whether a record has that name, "effective": the first name
    of the record whose capabilities apply (`default` when `name` is missing,
    as login_getclassbyname falls back; None when that is missing too),
    "limits": {resource: {"soft": text, "hard": text}}} with each limit as
    fmt() writes it, through tc=, None where the class sets none (the process
    keeps its own). LoginConfError for a file or value libutil would misread.
    """
    doc = parse(text)
    record = doc.first(name)
    found = record is not None
    if record is None:
        record = doc.first(DEFAULT_CLASS)
    limits = {}
    for resource in resources:
        given = effective(doc, record, resource, name) if record is not None else dict.fromkeys(KINDS)
        limits[resource] = dict((KIND_WORDS[kind], fmt(given[kind].value, RESOURCES[resource]) if given[kind] else None)
                                for kind in KINDS)
    return {"found": found, "effective": record.name if record is not None else None, "limits": limits}


def database_stale(mtime, db_mtime):
    """Whether login.conf.db (modified at db_mtime; None when absent) is older than
    the file (mtime): getcap reads the database, so it misses the file's edits."""
    return mtime is not None and db_mtime is not None and db_mtime + CLOCK_SLACK_SECONDS < mtime


# --------------------------------------------------------------- editing


def new_class_text(text, klass, aliases, description, inherit):
    """text with an empty class appended (header comment, names, optional tc=)."""
    names = "|".join([klass] + list(aliases or []) + ([description] if description else []))
    if not text:
        sep = ""
    elif not text.endswith("\n"):
        sep = "\n\n"
    elif text.endswith("\n\n"):
        sep = ""
    else:
        sep = "\n"
    body = names + (":\\\n\t:tc=%s:\n" % inherit if inherit else ":\n")
    return text + sep + HEADER % klass + body


def _insert(lines, record, texts):
    """Lines with new fields inserted in the record: before its first tc=, else at its end."""
    lines = list(lines)
    tc = next((f for f in record.fields if f.name == "tc" and f.kind == "="), None)
    if tc is not None and tc.start is None:
        raise LoginConfError(tc.line + 1, "class %r: its tc= field is split across lines; edit it by hand" % record.name)
    if tc is not None:
        line = lines[tc.line]
        head, tail = line[:tc.start], line[tc.start:]
        if re.match(r"[ \t]*:\Z", head):
            lines[tc.line:tc.line] = [head + t + ":\\\n" for t in texts]
        else:
            lines[tc.line:tc.line + 1] = ([head + "\\\n"] + ["\t:" + t + ":\\\n" for t in texts] + ["\t:" + tail])
        return lines
    last = lines[record.end]
    newline = last.endswith("\n")
    content = _content(last).rstrip(" \t")
    if not content.endswith(":"):
        content += ":"
    indent = "\t"
    if record.end > record.start:
        indent = re.match(r"[ \t]*", last).group(0) or "\t"
    added = [indent + ":" + t + ":" for t in texts]
    lines[record.end] = content + "\\\n" + "\\\n".join(added) + ("\n" if newline else "")
    return lines


def _replace(lines, replacements):
    """Lines with fields rewritten in place: [(Field, new field text)]."""
    lines = list(lines)
    for field, new in sorted(replacements, key=lambda r: (r[0].line, r[0].start), reverse=True):
        line = lines[field.line]
        lines[field.line] = line[:field.start] + new + line[field.end:]
    return lines


Plan = namedtuple("Plan", ["text", "created", "record", "results", "edits", "doc"])


def _desired(resource, kinds_asked, before, never_lower, klass, record):
    """({kind: value}, {kind: reason}) for one resource."""
    vtype = RESOURCES[resource]
    new, reasons = {}, {}
    for kind in KINDS:
        source = before[kind]
        had = source.value if source else None
        want, cap = kinds_asked.get(kind, (None, None))
        if want is None:
            new[kind], reasons[kind] = had, "not asked"
        elif never_lower and had is not None and had >= want:
            new[kind] = had
            reasons[kind] = ("asked %s=%s; already %s" % (cap, fmt(want, vtype), describe_source(source, record, vtype))
                             if had == want else "asked %s=%s; kept %s, never lowered"
                             % (cap, fmt(want, vtype), describe_source(source, record, vtype)))
        else:
            new[kind] = want
            reasons[kind] = "asked %s=%s" % (cap, fmt(want, vtype))
            if had is not None and had > want:
                reasons[kind] += " (lowered from %s: never_lower is false)" % fmt(had, vtype)
    if new["cur"] is not None and new["max"] is not None and new["cur"] > new["max"]:
        if not never_lower and "cur" in kinds_asked and "max" in kinds_asked and \
                kinds_asked["cur"][0] > kinds_asked["max"][0]:
            raise LoginConfError(0, "class %r: %s soft limit %s is above its hard limit %s; setrlimit refuses that"
                                 % (klass, resource, fmt(new["cur"], vtype), fmt(new["max"], vtype)))
        new["max"] = new["cur"]
        reasons["max"] = ("raised to the soft limit %s (setrlimit refuses a soft limit above the hard one)"
                          % fmt(new["cur"], vtype))
    return new, reasons


def plan(text, klass, asked, never_lower=True, aliases=(), description=None, inherit="default"):
    """Plan of the new text for one class.

    asked: {capability: value} as the module option gives it (validated here).
    Creates the class at the end of the file when no record has the name.
    """
    check_name("name", klass)
    parsed = {}
    for cap in sorted(asked, key=lambda c: accepted_capabilities().index(c) if split_capability(c) else -1):
        resource, kind, value = parse_asked(klass, cap, asked[cap])
        for k in ([kind] if kind else list(KINDS)):
            # A -cur/-max entry beats the bare one, as in login_class.c.
            if kind or k not in parsed.get(resource, {}):
                parsed.setdefault(resource, {})[k] = (value, cap)
    doc = parse(text)
    record = doc.find_class(klass)
    created = record is None
    if created:
        for alias in aliases or ():
            check_name("aliases", alias)
            if doc.matching(alias):
                raise LoginConfError(doc.matching(alias)[0].line_no, "alias %r of the new class %r is already "
                                     "a name of class %r" % (alias, klass, doc.matching(alias)[0].name))
        if description:
            check_name("description", description, description=True)
        if inherit:
            check_name("inherit", inherit)
        doc = parse(new_class_text(text, klass, aliases, description, inherit))
        record = doc.find_class(klass)
    results, replacements, inserts, edits = [], [], [], []
    local_before_tc = []
    for field in record.fields:
        if field.name == "tc" and field.kind == "=":
            break
        local_before_tc.append(field)
    for resource in RESOURCE_ORDER:
        if resource not in parsed:
            continue
        vtype = RESOURCES[resource]
        before = effective(doc, record, resource, klass)
        new, reasons = _desired(resource, parsed[resource], before, never_lower, klass, record)
        changed = [k for k in KINDS if new[k] != (before[k].value if before[k] else None)]
        governing = dict((k, before[k].field.name if before[k] else None) for k in KINDS)
        if not changed:
            writes = []
        elif (len(changed) == 2 and new["cur"] == new["max"]
              and all(governing[k] in (resource, None) for k in KINDS)):
            writes = [(resource, new["cur"], KINDS)]
        else:
            writes = [("%s-%s" % (resource, k), new[k], (k,)) for k in changed]
        for cap, value, kinds in writes:
            text_new = "%s=%s" % (cap, fmt(value, vtype))
            own = next((f for f in local_before_tc if f.name == cap), None)
            if own is not None and own.start is None:
                raise LoginConfError(own.line + 1, "class %r: capability %s is split across lines; "
                                     "edit it by hand" % (klass, own.text))
            if own is not None:
                replacements.append((own, text_new))
            else:
                inserts.append(text_new)
            was = [describe_source(before[k], record, vtype) for k in kinds]
            edits.append(dict(capability=cap, value=fmt(value, vtype),
                              previous=None if own is None else own.text,
                              limits=[KIND_WORDS[k] for k in kinds],
                              was=" / ".join(sorted(set(was))),
                              reason="; ".join(sorted(set(reasons[k] for k in kinds)))))
        for kind in KINDS:
            if (kind not in parsed[resource]) and kind not in changed:
                continue
            results.append(dict(resource=resource, limit=KIND_WORDS[kind],
                                before=fmt(before[kind].value, vtype) if before[kind] else None,
                                before_from=describe_source(before[kind], record, vtype),
                                after=fmt(new[kind], vtype), reason=reasons[kind],
                                changed=kind in changed))
    new_text = "".join(_replace(doc.lines, replacements))
    if inserts:
        # Fields rewritten in place may have moved columns: insert into the text read again.
        replaced = parse(new_text)
        new_text = "".join(_insert(replaced.lines, replaced.find_class(klass), inserts))
    # Read the result back the way getcap will, and refuse to write anything else.
    after_doc = parse(new_text)
    after_record = after_doc.find_class(klass)
    for entry in results:
        vtype = RESOURCES[entry["resource"]]
        kind = "cur" if entry["limit"] == "soft" else "max"
        got = effective(after_doc, after_record, entry["resource"], klass)[kind]
        if fmt(got.value if got else None, vtype) != entry["after"]:
            raise RuntimeError("internal error: class %r would give %s %s limit %s, not %s; nothing was written"
                               % (klass, entry["resource"], entry["limit"],
                                  fmt(got.value if got else None, vtype), entry["after"]))
        entry["after_from"] = describe_source(got, after_record, vtype)
    return Plan(new_text, created, after_record, results, edits, after_doc)


def capabilities(record):
    """{name: value} of a record's own fields, first of each name: the text after '=' or '#',
    True for a boolean, '@' for a cancelled one."""
    out = {}
    for field in record.fields:
        if field.name in out:
            continue
        if field.kind == "@":
            out[field.name] = "@"
        elif field.kind in ("=", "#"):
            out[field.name] = field.value if field.kind == "=" else "#" + field.value
        else:
            out[field.name] = True
    return out
