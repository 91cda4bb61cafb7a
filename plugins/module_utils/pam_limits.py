# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pam_limits files: parse, evaluate the way pam_limits does, render the collection's own file.

pam_limits (Linux-PAM modules/pam_limits/pam_limits.c, limits.conf(5)),
as checked against its source and live on Debian 12 (Linux-PAM 1.5.2):

- /etc/security/limits.conf is read first, then every limits.d/*.conf
  (no hidden files) in strcmp ("C" locale) order of the file name. With a
  `conf=` module argument, limits.d is not read at all. A missing
  limits.conf makes Linux-PAM 1.5.2 fail the session ("su: cannot open
  session: Error in service module") without reading limits.d; later
  releases skip the missing file.
- A line is `<domain> <type> <item> <value>`; `#` starts a comment anywhere;
  type, item and value are case-insensitive, the domain is not (1.5+).
- Domains and their rank (a lower rank wins whatever the file order; at the
  same rank the later line wins):
    0 user name, or a uid range `min:max`, `min:`, `:uid`
    1 `@group` (primary or supplementary), `@:gid` (likewise),
      `@min:max` / `@min:` (primary gid only)
    4 `*`
  `%` and `%group` apply to maxlogins only and are ignored for rlimits.
- Type `-` sets soft and hard; when the soft limit is already held by a
  better-ranked line, pam_limits returns before looking at the hard one,
  which this module mirrors.
- Values `-1`, `-`, `unlimited`, `infinity` mean unlimited; `memlock` is in
  KiB. `nofile` unlimited becomes fs.nr_open (Linux-PAM 1.4+), since the
  kernel never allows more open files than that.
- A two-field line `<domain> -` (user, group or uid range; not `*`) turns
  pam_limits off for that user: nothing from any file is applied.
- pam_limits clamps a soft limit above the hard one to the hard one. Raising
  a hard limit above the caller's needs CAP_SYS_RESOURCE; without it
  (containers) setrlimit fails and Debian's pam_limits skips the whole item
  (soft too), upstream refuses the login.

What the module writes is decided in pam_limits_plan.py.
"""

from __future__ import annotations

import re
from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils.host_limits import MANAGER_PREFIX, show_property
from ansible_collections.pghost.hardening.plugins.module_utils.units import ceil_div

ITEMS = ("nofile", "nproc", "memlock")
TYPES = ("soft", "hard")
UNLIMITED = float("inf")
UNITS = {"nofile": "", "nproc": "", "memlock": " KiB"}

RANK_USER, RANK_GROUP, RANK_DEFAULT = 0, 1, 4
# rlim_t is 64 bits; pam_limits turns a KiB value that would overflow it into unlimited.
RLIM_KIB_MAX = (2 ** 64 - 1) // 1024
CAP_SYS_RESOURCE = 24

HEADER = (
    "# Managed by the pghost.hardening collection (role pg_limits).\n"
    "# Do not edit: the next run rewrites this file. Limits of the PostgreSQL\n"
    "# server OS users' login sessions (su -, runuser -l, sshd, cron: every PAM\n"
    "# service with pam_limits); systemd services never read this file. No\n"
    "# value is ever lowered; the line above each says why. memlock is in KiB.\n"
)

# One limit line; value is an int, UNLIMITED, or None for a two-field "no limits" line.
Entry = namedtuple("Entry", ["path", "lineno", "domain", "type", "item", "value", "text"])
Setting = namedtuple("Setting", ["value", "rank", "source", "path"])
Account = namedtuple("Account", ["name", "uid", "gid", "groups", "gids"])
Evaluation = namedtuple("Evaluation", ["settings", "off"])
Own = namedtuple("Own", ["value", "reason"])


class LimitsError(ValueError):
    """Bad input; the message names the option, the value and what is accepted."""


def fmt(value, item=None):
    """The text pam_limits reads (and this module reports) for a value."""
    if value is None:
        return None
    text = "unlimited" if value == UNLIMITED else str(int(value))
    return text + UNITS[item] if item and text != "unlimited" else text


def parse_value(raw):
    """int, UNLIMITED, or None when pam_limits would skip the line.

    Negative numbers other than -1 are ignored here: strtoull makes them
    huge, which no kernel limit can take, so they are never a floor.
    """
    value = raw.lower()
    if value in ("-1", "-", "unlimited", "infinity"):
        return UNLIMITED
    match = re.match(r"\+?([0-9]+)", value)
    return int(match.group(1)) if match else None


def parse(text, path):
    """[Entry] of the lines pam_limits would act on, in file order.

    Only nofile, nproc and memlock lines are kept, and the two-field
    `<domain> -` lines (item and value None) that turn pam_limits off; lines
    pam_limits skips (too few fields, unknown type, unreadable value) and
    other items are left out.
    """
    entries = []
    for lineno, line in enumerate((text or "").splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if len(fields) == 2 and fields[1].startswith("-"):
            entries.append(Entry(path, lineno, fields[0], "-", None, None, " ".join(fields)))
            continue
        if len(fields) < 4:
            continue
        domain, ltype, item, raw = fields[0], fields[1].lower(), fields[2].lower(), fields[3]
        if ltype not in ("soft", "hard", "-") or item not in ITEMS:
            continue
        value = parse_value(raw)
        if value is None:
            continue
        if item == "memlock" and value != UNLIMITED and value >= RLIM_KIB_MAX:
            value = UNLIMITED
        entries.append(Entry(path, lineno, domain, ltype, item, value, " ".join(fields[:4])))
    return entries


def _range(domain):
    """(kind, low, high) of a uid/gid range domain, None when it is none, "bad" when pam skips it."""
    if ":" not in domain:
        return None
    body = domain[1:] if domain[:1] in ("@", "%") else domain
    low, high = body.split(":", 1)
    if not re.match(r"^[0-9]*$", low) or not re.match(r"^[0-9]*$", high) or (not low and not high):
        return "bad"
    if not low:
        return ("one", int(high), int(high))
    if not high:
        return ("min", int(low), None)
    return ("range", int(low), int(high))


def _in_range(rng, number):
    if number is None:
        return False
    kind, low, high = rng
    if kind == "min":
        return number >= low
    return low <= number <= high


def rank_for(domain, account):
    """The rank of a limit line's domain for the account, None when it does not apply."""
    rng = _range(domain)
    if rng == "bad":
        return None
    if domain == account.name:
        return RANK_USER
    if domain.startswith("@"):
        if rng is None:
            return RANK_GROUP if domain[1:] in account.groups else None
        if rng[0] == "one":
            return RANK_GROUP if rng[1] in account.gids else None
        return RANK_GROUP if _in_range(rng, account.gid) else None
    if domain.startswith("%"):
        return None
    if rng is None:
        return RANK_DEFAULT if domain == "*" else None
    return RANK_USER if _in_range(rng, account.uid) else None


def turns_off(entry, account):
    """Whether a two-field `<domain> -` line turns pam_limits off for the account (not for `*`)."""
    return entry.item is None and entry.domain != "*" and rank_for(entry.domain, account) is not None


def _set(settings, entry, rank, nr_open):
    value = entry.value
    if entry.item == "nofile" and value == UNLIMITED:
        value = nr_open  # Linux-PAM 1.4+: the kernel's ceiling, never "unlimited"
    source = "%s:%d (%s)" % (entry.path, entry.lineno, entry.text)
    for ltype in (("soft", "hard") if entry.type == "-" else (entry.type,)):
        held = settings.get((entry.item, ltype))
        if held is not None and held.rank < rank:
            return  # pam_limits returns here, also for the hard half of a "-" line
        settings[(entry.item, ltype)] = Setting(value, rank, source, entry.path)


def evaluate(sources, account, nr_open, honour_off=True):
    """What pam_limits takes from the files for the account.

    sources: [(path, [Entry])] in the order pam_limits reads them.
    Returns Evaluation(settings {(item, type): Setting}, off): `off` is the
    entry that turns pam_limits off for the account (then nothing applies).
    honour_off=False reads past such a line: what the files would give once
    pam_limits applies again, the only case in which a file of ours matters.
    """
    settings = {}
    for dummy, entries in sources:
        for entry in entries:
            if entry.item is None:
                if honour_off and turns_off(entry, account):
                    return Evaluation({}, entry)
                continue
            rank = rank_for(entry.domain, account)
            if rank is not None:
                _set(settings, entry, rank, nr_open)
    return Evaluation(settings, None)


def session_limits(evaluation, item, inherited):
    """{type: (value, source)} a session ends up with: the files' value, else
    the inherited one (None when unknown); the soft one clamped to the hard one."""
    out = {}
    for ltype in TYPES:
        setting = evaluation.settings.get((item, ltype))
        if setting is not None:
            out[ltype] = (setting.value, setting.source)
        else:
            out[ltype] = inherited.get((item, ltype), (None, "inherited, unknown"))
    soft, hard = out["soft"], out["hard"]
    if soft[0] is not None and hard[0] is not None and soft[0] > hard[0]:
        out["soft"] = (hard[0], "%s, clamped to the hard limit" % soft[1])
    return out


# ---------------------------------------------------------------- host readings


def inherited_from_systemd(defaults):
    """{(item, type): (value, source)} a session starts from, out of systemd's
    DefaultLimit* (host_limits.manager_limits); memlock in KiB (rounded up)."""
    out = {}
    for item, pair in defaults.items():
        for ltype, value in zip(("soft", "hard"), pair):
            raw = "infinity" if value == UNLIMITED else "%d" % value
            if item == "memlock" and value != UNLIMITED:
                value = ceil_div(value, 1024)
            prop = show_property(item, ltype == "soft", MANAGER_PREFIX)
            out[(item, ltype)] = (value, "inherited from systemd %s=%s" % (prop, raw))
    return out


def hard_limits(limits):
    """{item: hard value} of a process's limits (host_limits.parse_proc_limits); memlock in KiB (rounded down)."""
    return dict((item, hard // 1024 if item == "memlock" and hard != UNLIMITED else hard)
                for item, (dummy, hard) in limits.items())


def has_capability(status_text, cap, field="CapBnd"):
    """Whether /proc/<pid>/status lists the capability in the field; True when unreadable."""
    for line in (status_text or "").splitlines():
        if line.startswith(field + ":"):
            try:
                return bool(int(line.split(":", 1)[1].strip(), 16) >> cap & 1)
            except ValueError:
                return True
    return True


def pam_services(files):
    """Sorted names of /etc/pam.d services that load pam_limits directly.

    files: {name: text}. Only session lines are counted (`-session` too);
    services that reach pam_limits through an include are not followed.
    """
    found = []
    for name, text in files.items():
        for line in (text or "").splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 3 and fields[0].lstrip("-") == "session" and any(
                    f.endswith("pam_limits.so") for f in fields[2:4]):
                found.append(name)
                break
    return sorted(found)


# ---------------------------------------------------------------- the collection's own file


def parse_own(text, path):
    """{(user, item, type): Own(value, reason)} the collection wrote before (comment line above = reason)."""
    own, reason = {}, ""
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            reason = stripped.lstrip("#").strip()
            continue
        for entry in parse(line, path):
            if entry.item is not None:
                for ltype in (("soft", "hard") if entry.type == "-" else (entry.type,)):
                    own[(entry.domain, entry.item, ltype)] = Own(entry.value, reason)
        reason = ""
    return own


def foreign_lines(text, path):
    """[(line number, line)] of the collection's own file that it did not write:
    anything but blank lines, comments and nofile/nproc/memlock limits.
    Rewriting the file would drop them, so the module refuses instead."""
    kept = set(entry.lineno for entry in parse(text, path) if entry.item is not None)
    return [(lineno, line.strip()) for lineno, line in enumerate((text or "").splitlines(), 1)
            if line.split("#", 1)[0].strip() and lineno not in kept]


def render(own):
    """The collection's file: header, then per user, item (nofile, nproc, memlock) and type a reason and a line."""
    body = []
    order = dict((item, i) for i, item in enumerate(ITEMS))
    for user, item, ltype in sorted(own, key=lambda k: (k[0], order[k[1]], TYPES.index(k[2]))):
        entry = own[(user, item, ltype)]
        if entry.reason:
            body.append("# %s\n" % entry.reason)
        body.append("%-15s %-5s %-8s %s\n" % (user, ltype, item, fmt(entry.value)))
    return HEADER + "\n" + "".join(body)
