# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the collection owns for kernel settings: parse, merge, render.

Three styles:
  sysctl.d     Linux /etc/sysctl.d/60-pghost-postgresql.conf, a whole file
               the collection owns: "key = value".
  sysctl.conf  FreeBSD /etc/sysctl.conf, a managed block: "key=value"
               (runtime-writable kern.ipc.* keys, docs/postgres-kernel-facts.md §8).
  loader.conf  FreeBSD /boot/loader.conf, a managed block: key="value"
               (loader tunables, read at boot only, docs/postgres-kernel-facts.md §8).

Merging never lowers: a limit becomes the highest of what is asked, what is
in force now and what the collection wrote before (field by field for
multi-value keys such as kernel.sem), so the file can never pull a value
down at boot either. Policy values are set as asked. Keys the collection
wrote before and is not asked about stay as they are; lines outside the
collection's file or block are never touched.
"""

from __future__ import annotations

import re

from ansible_collections.pghost.hardening.plugins.module_utils.kernel_keys import normalize_sysctl

STYLES = ("sysctl.d", "sysctl.conf", "loader.conf")
BEGIN = "# BEGIN pghost.hardening managed block (role pg_kernel); do not edit"
END = "# END pghost.hardening managed block"
HEADER = (
    "# Managed by the pghost.hardening collection (role pg_kernel).\n"
    "# Do not edit: the next run rewrites this file. Each value is sized from\n"
    "# the PostgreSQL clusters on this host (pghost.hardening.pg_kernel_params);\n"
    "# the line above it says why.\n"
)

_LINE = re.compile(r'^\s*(?P<key>[A-Za-z0-9_.\-/]+)\s*=\s*"?(?P<value>[^"#]*?)"?\s*$')


class Entry(object):
    """One managed key: its value, why, and what it was before."""

    __slots__ = ("key", "value", "reason")

    def __init__(self, key, value, reason=""):
        self.key, self.value, self.reason = key, normalize(value), reason or ""

    def __eq__(self, other):
        return (self.key, self.value, self.reason) == (other.key, other.value, other.reason)

    def __repr__(self):
        return "Entry(%r, %r, %r)" % (self.key, self.value, self.reason)


# Whitespace-normalized text of a value (kernel.sem prints with tabs).
normalize = normalize_sysctl


def _numbers(value):
    parts = normalize(value).split()
    if not parts or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


def higher(*values):
    """The highest of values (None skipped), field by field for multi-number
    values; a value that is not numeric loses to numeric ones."""
    known = [v for v in values if v is not None and _numbers(v) is not None]
    if not known:
        return next((normalize(v) for v in values if v is not None), None)
    width = max(len(_numbers(v)) for v in known)
    fields = [max(_numbers(v)[i] for v in known if len(_numbers(v)) == width) for i in range(width)]
    return " ".join(str(f) for f in fields)


class BlockError(ValueError):
    """A managed block that was damaged by hand; refusing to guess its extent."""


def _managed_text(text, style):
    """(before, managed lines, after, has block) of the file text for the style."""
    lines = (text or "").splitlines()
    if style == "sysctl.d":
        return [], lines, [], True
    if BEGIN not in lines:
        if END in lines:
            raise BlockError("the file has %r but no %r before it; repair or remove the block by hand" % (END, BEGIN))
        return lines, [], [], False
    start = lines.index(BEGIN)
    if END not in lines[start:]:
        raise BlockError("the file has %r but no %r after it; repair or remove the block by hand" % (BEGIN, END))
    end = lines.index(END, start)
    return lines[:start], lines[start + 1:end], lines[end + 1:], True


def parse(text, style):
    """{key: Entry} the collection wrote earlier (comment line above = reason)."""
    if style not in STYLES:
        raise ValueError("style %r is not one of %s" % (style, ", ".join(STYLES)))
    entries, reason = {}, ""
    for line in _managed_text(text, style)[1]:
        stripped = line.strip()
        if stripped.startswith("#"):
            reason = stripped.lstrip("#").strip()
            continue
        match = _LINE.match(line)
        if match:
            key = match.group("key")
            entries[key] = Entry(key, match.group("value"), reason)
        reason = ""
    return entries


def merge(existing, raise_only, exact, live, reasons):
    """Desired {key: Entry}: existing entries, raised limits, exact policy values.

    raise_only: {key: value} limits; the result is the highest of the value
    asked, the live value and the value written before.
    exact: {key: value} policy values, written as asked.
    live: {key: value} in force now (None or absent when unknown).
    reasons: {key: text} for the comment line.
    """
    desired = dict(existing)
    for key, value in raise_only.items():
        before = existing.get(key)
        top = higher(value, live.get(key), before.value if before else None)
        reason = reasons.get(key) or _base_reason(before.reason if before else "")
        if top != normalize(value):
            note = KEPT % top
            reason = "%s; %s" % (reason, note) if reason else note
        desired[key] = Entry(key, top, reason)
    for key, value in exact.items():
        before = existing.get(key)
        desired[key] = Entry(key, value, reasons.get(key) or (before.reason if before else ""))
    return desired


KEPT = "kept at %s, the higher value already in force or written"
_KEPT_NOTE = re.compile(r"(?:;\s*)?kept at [^,]*, the higher value already in force or written$")


def _base_reason(reason):
    """A reason without the note merge() adds, so the note is never repeated."""
    return _KEPT_NOTE.sub("", reason).strip()


def _render_entry(entry, style):
    comment = "# %s\n" % entry.reason if entry.reason else ""
    if style == "sysctl.d":
        return "%s%s = %s\n" % (comment, entry.key, entry.value)
    if style == "sysctl.conf":
        return "%s%s=%s\n" % (comment, entry.key, entry.value)
    return '%s%s="%s"\n' % (comment, entry.key, entry.value)


def render(text, entries, style):
    """The full new file text: entries sorted by key, in the style's form;
    for block styles, the rest of the file is kept as it was."""
    body = "".join(_render_entry(entries[key], style) for key in sorted(entries))
    if style == "sysctl.d":
        return HEADER + "\n" + body
    before, dummy, after, has_block = _managed_text(text, style)
    if not entries and not has_block:
        return text or ""
    block = [BEGIN] + body.splitlines() + [END] if entries else []
    lines = before + block + after
    return "\n".join(lines) + "\n" if lines else ""


def set_after_block(text, style, keys):
    """Keys of `keys` that a line after the managed block sets again: that
    line wins at boot, whatever the block says."""
    if style == "sysctl.d":
        return []
    after = _managed_text(text, style)[2]
    found = []
    for line in after:
        match = _LINE.match(line)
        if match and match.group("key") in keys and not line.strip().startswith("#"):
            found.append(match.group("key"))
    return sorted(set(found))


def changes(existing, desired, live):
    """[(key, new, file_before, live_before, reason)] for every key whose
    file value or live value differs from the desired value."""
    out = []
    for key in sorted(desired):
        new = desired[key].value
        was = existing[key].value if key in existing else None
        now = normalize(live[key]) if live.get(key) is not None else None
        if was != new or (now is not None and now != new):
            out.append((key, new, was, now, desired[key].reason))
    return out
