# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail.conf(5): parse, read the effective SysV IPC mode of a jail, edit it.

Pure functions on text; nothing here touches a host.

  parse(text)                -> JailConf: stanzas and top-level parameters
                                with their offsets into the text
  effective_ipc(conf, name)  -> {"sysvshm": .., "sysvsem": .., "sysvmsg": ..}
  set_ipc_new(text, name)    -> the text with sysvshm/sysvsem/sysvmsg = new
                                in that jail's stanza, every other byte kept
  parse_jls_n(text)          -> [{param: value}] from `jls -n`
  jls_ipc(entry)             -> the IPC modes of one `jls -n` line

Facts relied on (docs/postgres-kernel-facts.md §8, checked against FreeBSD's sources):
- jail(8): sysvshm, sysvsem, sysvmsg take "new" (own key namespace),
  "inherit" (the host's objects and keys) or "disable". allow.sysvipc is
  deprecated; when set it equals all three "inherit".
- sys/kern/sysv_shm.c, sysv_sem.c, sysv_msg.c (*_prison_set): an explicit
  sysvXXX parameter wins; only when it is absent does allow.sysvipc
  (inherit) or allow.nosysvipc (disable) count; a jail created with neither
  has no IPC slot, which jls shows as "disable". So the default is "disable".
- jail.conf(5) and usr.sbin/jail/config.c (load_config, add_param): top-level
  parameters and "*" (or "foo.*") stanzas are wildcards; a jail gets them
  merged with its own parameters in file order, and a later definition
  replaces an earlier one ("+=" appends). The "no" prefix names the same
  parameter (allow.nosysvipc replaces allow.sysvipc). Booleans are true when
  valueless, "true" or a non-zero number (config.c bool_param).
- jail.conf(5): comments "#", "//" and "/* */" wherever whitespace may be;
  values are tokens or single/double quoted strings with C backslash escapes;
  "$name" and "${name}" substitute in tokens and double quotes only.
- /etc/rc.d/jail reads /etc/jail.conf.d/<name>.conf for a jail when that file
  exists; such a file holds the jail's stanza and is edited the same way.

Offsets are indexes into the text as given (str); for ASCII files they are
byte offsets too.

Why one file over 500 lines: it is one grammar. The lexer's token offsets
are what the editor uses to change three parameters and keep every other
byte, and the effective-value rules read the same tokens; split apart, each
half would reach into the other's internals.
"""

from __future__ import annotations

import bisect
import re

IPC_PARAMS = ("sysvshm", "sysvsem", "sysvmsg")
IPC_VALUES = ("new", "inherit", "disable")
DEFAULT_IPC = "disable"
LEGACY = "allow.sysvipc"

_PUNCT = ";,={}"
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_VAR_NAME = re.compile(r"[A-Za-z0-9_.]+")


class JailConfError(ValueError):
    """Malformed jail.conf text or a jail that is not defined; names the line."""

    def __init__(self, message, line=None):
        ValueError.__init__(self, "line %d: %s" % (line, message) if line else message)
        self.line = line


class Token(object):
    __slots__ = ("kind", "value", "start", "end", "line", "variables", "quoted")

    def __init__(self, kind, value, start, end, line, variables=(), quoted=False):
        self.kind, self.value, self.start, self.end, self.line = kind, value, start, end, line
        self.variables, self.quoted = tuple(variables), quoted

    def __repr__(self):
        return "Token(%r, %r, %d, %d)" % (self.kind, self.value, self.start, self.end)


class Param(object):
    """One statement `name [= | += value[, value...]];`.

    start: offset of the name; end: offset just after the ';'.
    values: decoded strings (quotes and escapes resolved, variables left as
    written); op: "=", "+=", "" (name followed by a value) or None (no value).
    """

    __slots__ = ("name", "op", "values", "start", "end", "line", "value_tokens")

    def __init__(self, name, op, values, start, end, line, value_tokens=()):
        self.name, self.op, self.values = name, op, list(values)
        self.start, self.end, self.line = start, end, line
        self.value_tokens = list(value_tokens)

    @property
    def is_variable(self):
        return self.name.startswith("$")

    @property
    def value(self):
        """The last value, as jail(8) reads a scalar parameter; None if valueless."""
        return self.values[-1] if self.values else None

    def __repr__(self):
        return "Param(%r, %r, %r, line=%d)" % (self.name, self.op, self.values, self.line)


class Stanza(object):
    """`name { params }`; start: offset of the name, end: just after '}'."""

    __slots__ = ("name", "start", "open", "close", "end", "line", "params")

    def __init__(self, name, start, open_, close, line, params):
        self.name, self.start, self.open, self.close = name, start, open_, close
        self.end, self.line, self.params = close + 1, line, params

    @property
    def is_wildcard(self):
        return self.name == "*" or self.name.endswith(".*")

    def matches(self, jail):
        """A wildcard stanza applies to the jail (config.c wild_jail_match)."""
        if self.name == "*":
            return True
        if self.is_wildcard:
            return jail.startswith(self.name[:-1])
        return self.name == jail

    def __repr__(self):
        return "Stanza(%r, line=%d, %d params)" % (self.name, self.line, len(self.params))


class JailConf(object):
    """A parsed file: items in file order (Stanza or top-level Param)."""

    def __init__(self, text, items):
        self.text = text
        self.items = items

    @property
    def stanzas(self):
        return [i for i in self.items if isinstance(i, Stanza)]

    @property
    def globals(self):
        return [i for i in self.items if isinstance(i, Param)]

    @property
    def includes(self):
        """[(file, line)] of `.include` statements; recognised, not followed."""
        return [(p.value, p.line) for p in self.globals if p.name == ".include"]

    def jails(self):
        """Names of the jails defined here (wildcard stanzas left out), in file order."""
        return [s.name for s in self.stanzas if not s.is_wildcard]

    def stanza(self, name):
        """The one stanza of a jail; JailConfError naming the jails there are."""
        found = [s for s in self.stanzas if s.name == name and not s.is_wildcard]
        if not found:
            known = self.jails()
            raise JailConfError(
                "jail %r is not defined here; jails defined: %s"
                % (name, ", ".join(known) if known else "none"))
        if len(found) > 1:
            raise JailConfError(
                "jail %r is defined %d times (lines %s); merge them by hand first"
                % (name, len(found), ", ".join(str(s.line) for s in found)), found[1].line)
        return found[0]


# ---------------------------------------------------------------- lexer


class _Lexer(object):
    def __init__(self, text):
        self.text = text
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]

    def line(self, offset):
        return bisect.bisect_left(self.newlines, offset) + 1

    def tokens(self):
        text, i, n, out = self.text, 0, len(self.text), []
        while i < n:
            c = text[i]
            if c in " \t\r\n\f\v":
                i += 1
            elif c == "#" or text.startswith("//", i):
                j = text.find("\n", i)
                i = n if j < 0 else j
            elif text.startswith("/*", i):
                j = text.find("*/", i + 2)
                if j < 0:
                    raise JailConfError("unterminated comment: '/*' is never closed with '*/'", self.line(i))
                i = j + 2
            elif text.startswith("+=", i):
                out.append(Token("+=", "+=", i, i + 2, self.line(i)))
                i += 2
            elif c in _PUNCT:
                out.append(Token(c, c, i, i + 1, self.line(i)))
                i += 1
            else:
                token = self._word(i)
                out.append(token)
                i = token.end
        return out

    def _word(self, start):
        """A value token: unquoted pieces and quoted strings without space between."""
        text, n, i = self.text, len(self.text), start
        value, variables, quoted = [], [], False
        while i < n:
            c = text[i]
            if c in " \t\r\n\f\v" or c in _PUNCT or text.startswith("+=", i):
                break
            if c in "\"'":
                i = self._quoted(i, value, variables)
                quoted = True
            elif c == "\\":
                i = self._escape(i, value)
            elif c == "$":
                i = self._variable(i, value, variables)
            else:
                value.append(c)
                i += 1
        return Token("word", "".join(value), start, i, self.line(start), variables, quoted)

    def _quoted(self, start, value, variables):
        text, n, quote, i = self.text, len(self.text), self.text[start], start + 1
        while i < n:
            c = text[i]
            if c == quote:
                return i + 1
            if c == "\\":
                i = self._escape(i, value)
            elif c == "$" and quote == '"':
                i = self._variable(i, value, variables)
            else:
                value.append(c)
                i += 1
        raise JailConfError("unterminated string: the %s opened here is never closed" % quote, self.line(start))

    def _escape(self, i, value):
        text = self.text
        if i + 1 >= len(text):
            raise JailConfError("backslash at the end of the file", self.line(i))
        c = text[i + 1]
        if c == "\n":  # line continuation
            return i + 2
        if c in _SIMPLE_ESCAPES:
            value.append(_SIMPLE_ESCAPES[c])
            return i + 2
        if c == "x":
            digits = re.match(r"[0-9A-Fa-f]{1,2}", text[i + 2:i + 4])
            if digits:
                value.append(chr(int(digits.group(0), 16)))
                return i + 2 + len(digits.group(0))
        octal = re.match(r"[0-7]{1,3}", text[i + 1:i + 4])
        if octal:
            value.append(chr(int(octal.group(0), 8)))
            return i + 1 + len(octal.group(0))
        value.append(c)
        return i + 2

    def _variable(self, i, value, variables):
        text = self.text
        if text.startswith("${", i):
            j = text.find("}", i + 2)
            if j < 0 or "\n" in text[i:j]:
                raise JailConfError("unterminated variable: '${' is never closed on its line", self.line(i))
            name = text[i + 2:j]
            end = j + 1
        else:
            match = _VAR_NAME.match(text, i + 1)
            if not match:
                value.append("$")
                return i + 1
            name, end = match.group(0), match.end()
        variables.append(name)
        value.append(text[i:end])  # left as written; effective values resolve it
        return end


# ---------------------------------------------------------------- parser


def parse(text):
    """JailConf of a jail.conf(5) text; JailConfError with the line when malformed."""
    lexer = _Lexer(text or "")
    tokens = lexer.tokens()
    items, pos = [], 0
    while pos < len(tokens):
        tok = tokens[pos]
        if tok.kind == ";":
            pos += 1
        elif tok.kind == "word" and pos + 1 < len(tokens) and tokens[pos + 1].kind == "{":
            stanza, pos = _stanza(tokens, pos, lexer)
            items.append(stanza)
        elif tok.kind == "word":
            param, pos = _param(tokens, pos, None)
            items.append(param)
        elif tok.kind == "}":
            raise JailConfError("unexpected '}' with no jail definition open", tok.line)
        else:
            raise JailConfError("unexpected %r where a parameter or jail name belongs" % tok.value, tok.line)
    return JailConf(text or "", items)


def _stanza(tokens, pos, lexer):
    name_tok, open_tok = tokens[pos], tokens[pos + 1]
    if not name_tok.value:
        raise JailConfError("a jail definition needs a name before '{'", open_tok.line)
    params, pos = [], pos + 2
    while True:
        if pos >= len(tokens):
            raise JailConfError(
                "jail %r opened here is never closed: missing '}'" % name_tok.value, name_tok.line)
        tok = tokens[pos]
        if tok.kind == "}":
            return Stanza(name_tok.value, name_tok.start, open_tok.start, tok.start, name_tok.line, params), pos + 1
        if tok.kind == ";":
            pos += 1
        elif tok.kind == "word" and pos + 1 < len(tokens) and tokens[pos + 1].kind == "{":
            raise JailConfError(
                "jail %r starts inside jail %r opened on line %d: a '}' is missing before it "
                "(nested definitions are not supported)" % (tok.value, name_tok.value, name_tok.line), tok.line)
        elif tok.kind == "word":
            param, pos = _param(tokens, pos, name_tok)
            params.append(param)
        elif tok.kind == "{":
            raise JailConfError("unexpected '{' inside jail %r (line %d)" % (name_tok.value, name_tok.line), tok.line)
        else:
            raise JailConfError("unexpected %r inside jail %r" % (tok.value, name_tok.value), tok.line)


def _param(tokens, pos, stanza_tok):
    name_tok = tokens[pos]
    pos += 1
    op, values, value_tokens = None, [], []

    def need_semicolon(at):
        where = tokens[at] if at < len(tokens) else None
        raise JailConfError(
            "missing ';' after parameter %r%s" % (
                name_tok.value, "" if where is None else " (found %r on line %d)" % (where.value, where.line)),
            name_tok.line)

    if pos < len(tokens) and tokens[pos].kind in ("=", "+="):
        op = tokens[pos].kind
        pos += 1
        if pos >= len(tokens) or tokens[pos].kind != "word":
            raise JailConfError("parameter %r has %r but no value" % (name_tok.value, op), name_tok.line)
    elif pos < len(tokens) and tokens[pos].kind == "word":
        op = ""
    if op is not None:
        while True:
            if pos >= len(tokens) or tokens[pos].kind != "word":
                raise JailConfError("parameter %r: a value is missing after ','" % name_tok.value, name_tok.line)
            value_tokens.append(tokens[pos])
            values.append(tokens[pos].value)
            pos += 1
            if pos < len(tokens) and tokens[pos].kind == ",":
                pos += 1
                continue
            break
    if pos >= len(tokens) or tokens[pos].kind != ";":
        need_semicolon(pos)
    end = tokens[pos].end
    return Param(name_tok.value, op, values, name_tok.start, end, name_tok.line, value_tokens), pos + 1


# ---------------------------------------------------------------- effective values


def _param_key(name):
    """The parameter a name sets, with the "no" prefix of its last part removed
    (config.c equalopts): allow.nosysvipc and allow.sysvipc are one parameter."""
    head, dot, last = name.rpartition(".")
    if last.startswith("no") and not name.startswith("$") and name not in IPC_PARAMS:
        return head + dot + last[2:]
    return name


def effective_params(conf, name):
    """The parameters that reach jail `name`, in the order jail(8) merges them."""
    conf.stanza(name)  # unknown or duplicate jail -> JailConfError
    merged = []
    for item in conf.items:
        if isinstance(item, Param):
            merged.append(item)
        elif item.matches(name):
            merged.extend(item.params)
    return merged


def resolve_variables(value, variables, lookup, depth=0):
    """`value` with its $name / ${name} references (`variables`) replaced.

    lookup maps a name to the Param that defines it, or to a plain string
    for values jail(8) supplies itself (such as the jail's $name).
    """
    if depth > 10:
        raise JailConfError("variable loop while resolving %r" % value)
    for var in variables:
        for written in ("${%s}" % var, "$%s" % var):
            if written in value:
                found = lookup.get(var)
                if found is None:
                    raise JailConfError("variable %r is not defined" % var)
                if isinstance(found, str):
                    replacement = found
                else:
                    replacement = resolve_variables(found.value or "", found_vars(found), lookup, depth + 1)
                value = value.replace(written, replacement)
    return value


def found_vars(param):
    return [v for tok in param.value_tokens for v in tok.variables]


def _bool(param):
    """config.c bool_param: "no" prefix flips; valueless, "true" or a non-zero number is true."""
    last = param.name.rpartition(".")[2]
    value = param.value
    if value is None:
        truth = True
    else:
        text = value.strip().lower()
        match = re.match(r"[+-]?\d+", text)
        truth = text == "true" or bool(match and int(match.group(0)))
    return truth != last.startswith("no")


def effective_ipc(conf, name):
    """{"sysvshm", "sysvsem", "sysvmsg"} -> "new" | "inherit" | "disable" for a jail.

    conf: a JailConf or the text of a jail.conf. An explicit sysvXXX
    wins; otherwise allow.sysvipc means "inherit"; unset means "disable".
    """
    if not isinstance(conf, JailConf):
        conf = parse(conf)
    params = effective_params(conf, name)
    lookup = {"name": Param("name", "=", [name], 0, 0, 0)}
    for p in params:
        lookup[p.name.lstrip("$")] = p
    last = {}
    for p in params:
        last[_param_key(p.name)] = p
    legacy = last.get(LEGACY)
    result = {}
    for key in IPC_PARAMS:
        p = last.get(key)
        if p is None:
            result[key] = "inherit" if legacy is not None and _bool(legacy) else DEFAULT_IPC
            continue
        value = resolve_variables(p.value or "", found_vars(p), lookup).strip().lower()
        if value not in IPC_VALUES:
            raise JailConfError(
                "jail %r: %s = %r is not one of %s" % (name, key, p.value, ", ".join(IPC_VALUES)), p.line)
        result[key] = value
    return result


# ---------------------------------------------------------------- editing


def _line_bounds(text, start, end):
    """(line start, line end incl. newline) around text[start:end]."""
    ls = text.rfind("\n", 0, start) + 1
    le = text.find("\n", end)
    return ls, (len(text) if le < 0 else le + 1)


def _alone_on_line(text, start, end):
    ls, le = _line_bounds(text, start, end)
    return not text[ls:start].strip() and not text[end:le].strip()


def _indent_of(text, offset):
    ls = text.rfind("\n", 0, offset) + 1
    return re.match(r"[ \t]*", text[ls:]).group(0)


def _newline(text):
    return "\r\n" if "\r\n" in text else "\n"


def _statement(key):
    return "%s = new;" % key


def set_ipc_new(text, name):
    """Text with sysvshm, sysvsem and sysvmsg = new in jail `name`'s stanza.

    Parameters already there are rewritten in place; missing ones take the
    place of an allow.sysvipc in the stanza (it conflicts: it means inherit)
    or go before the closing brace with the stanza's indentation (on the
    same line for a one-line stanza). Nothing outside the stanza changes; a
    second call returns the text unchanged. JailConfError when the jail is
    not defined, the text is malformed, or a later wildcard or top-level
    setting would override the stanza.
    """
    text = text or ""
    conf = parse(text)
    stanza = conf.stanza(name)
    nl = _newline(text)
    edits = []  # (start, end, replacement)
    present = set()
    for p in stanza.params:
        if p.name in IPC_PARAMS:
            present.add(p.name)
            if not (p.op == "=" and p.values == ["new"]):
                edits.append((p.start, p.end, _statement(p.name)))
    missing = [k for k in IPC_PARAMS if k not in present]
    legacy = [p for p in stanza.params if p.name == LEGACY]
    for index, p in enumerate(legacy):
        alone = _alone_on_line(text, p.start, p.end)
        if index == 0 and missing:
            indent = _indent_of(text, p.start)
            sep = (nl + indent) if alone else " "
            statements = sep.join(_statement(k) for k in missing)
            ls, le = _line_bounds(text, p.start, p.end)
            rest = text[p.end:le].rstrip("\r\n")
            if not text[ls:p.start].strip() and rest.strip()[:1] == "#":
                # A comment after it speaks of allow.sysvipc: keep both,
                # commented out, under the statements that replace it.
                edits.append((p.start, p.end + len(rest), "%s%s%s# %s%s" % (
                    statements, nl, indent, text[p.start:p.end], rest)))
            else:
                edits.append((p.start, p.end, statements))
            missing = []
        elif alone:
            ls, le = _line_bounds(text, p.start, p.end)
            edits.append((ls, le, ""))
        else:
            end = p.end
            while end < len(text) and text[end] in " \t":
                end += 1
            edits.append((p.start, end, ""))
    if missing:
        close = stanza.close
        ls = text.rfind("\n", 0, close) + 1
        if ls > stanza.open and not text[ls:close].strip():
            # '}' on a line of its own: one line per parameter above it.
            if stanza.params and _alone_on_line(text, stanza.params[-1].start, stanza.params[-1].end):
                indent = _indent_of(text, stanza.params[-1].start)
            else:
                indent = text[ls:close] + "\t"
            edits.append((ls, ls, "".join(indent + _statement(k) + nl for k in missing)))
        else:
            prefix = "" if text[close - 1] in " \t" else " "
            edits.append((close, close, prefix + " ".join(_statement(k) for k in missing) + " "))
    new = text
    for start, end, replacement in sorted(edits, reverse=True):
        new = new[:start] + replacement + new[end:]
    after = effective_ipc(parse(new), name)
    if any(after[k] != "new" for k in IPC_PARAMS):
        conf2 = parse(new)
        later = [p for p in effective_params(conf2, name)
                 if p.start > conf2.stanza(name).end and _param_key(p.name) in IPC_PARAMS]
        raise JailConfError(
            "jail %r: a wildcard or top-level setting after its definition overrides the stanza "
            "(jail.conf(5): later definitions win): %s; change it by hand"
            % (name, ", ".join("%s on line %d" % (p.name, p.line) for p in later) or "unknown"),
            later[0].line if later else None)
    return new


# ---------------------------------------------------------------- jls -n


def parse_jls_n(text):
    """`jls -n` (one jail per line, `param=value` or bare boolean words) ->
    [{param: value}]; a bare word maps to True. Values may be quoted as
    `jls -q` does; backslash escapes are honoured."""
    jails = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        entry, i, n = {}, 0, len(line)
        while i < n:
            while i < n and line[i] in " \t":
                i += 1
            if i >= n:
                break
            word, quote = [], None
            while i < n and (quote or line[i] not in " \t"):
                c = line[i]
                if c == "\\" and i + 1 < n:
                    word.append(line[i + 1])
                    i += 2
                    continue
                if quote and c == quote:
                    quote = None
                elif not quote and c in "\"'":
                    quote = c
                else:
                    word.append(c)
                i += 1
            if quote:
                raise JailConfError("jls -n output: unterminated %s" % quote, number)
            key, sep, value = "".join(word).partition("=")
            entry[key] = value if sep else True
        jails.append(entry)
    return jails


def jls_ipc(entry):
    """{"sysvshm", "sysvsem", "sysvmsg"} of one parse_jls_n() entry, with the
    same rules as effective_ipc (older kernels print only allow.sysvipc)."""
    legacy = entry.get(LEGACY) is True or str(entry.get(LEGACY, "")).lower() in ("1", "true")
    result = {}
    for key in IPC_PARAMS:
        value = entry.get(key)
        if isinstance(value, str) and value.lower() in IPC_VALUES:
            result[key] = value.lower()
        else:
            result[key] = "inherit" if legacy else DEFAULT_IPC
    return result


def ipc_mode(ipc):
    """One word for a jail's IPC as PostgreSQL sees it: "inherit" when its
    shared memory or semaphores are the host's (collision risk), else "new"
    when they are its own, else "disable"."""
    if isinstance(ipc, str):
        return ipc
    values = [ipc.get("sysvshm"), ipc.get("sysvsem")]
    if "inherit" in values:
        return "inherit"
    if "new" in values:
        return "new"
    return "disable"
