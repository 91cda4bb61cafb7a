# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What pg_pam_limits writes: the limits asked for, the new content of the
collection's file, and what each user's sessions get. Pure: the module
reads the host and writes the file.

Planning never lowers: each (user, item, soft/hard) becomes the highest of
what is asked, what the other files (or, when none sets it, systemd's
DefaultLimit* that a session inherits) give the user, what this
collection's file said before, and what sessions get now; then capped
where the kernel could not set more (fs.nr_open for nofile; PID 1's hard
limit without CAP_SYS_RESOURCE).
"""

from __future__ import annotations

import os
import re
from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import ClusterError, cluster_spec
from ansible_collections.pghost.hardening.plugins.module_utils.hugepages import hugepage_lock_bytes
from ansible_collections.pghost.hardening.plugins.module_utils.pam_limits import (
    ITEMS,
    TYPES,
    UNITS,
    UNLIMITED,
    LimitsError,
    Own,
    evaluate,
    fmt,
    foreign_lines,
    pam_services,
    parse,
    parse_own,
    render,
    session_limits,
)
from ansible_collections.pghost.hardening.plugins.module_utils.units import ceil_div

# ---------------------------------------------------------------- what to ask for


def memlock_floors(clusters, hugepage_size_kb, size=True):
    """({owner: KiB}, {owner: [reason]}, [warning]): memory in huge pages each
    OS user's clusters map (docs/postgres-kernel-facts.md §3), summed per user and rounded up to KiB.
    Every owner is a key; size=False only lists them (floors 0), for when
    memlock is not sized from huge pages.

    Raises ClusterError naming clusters[N] for a cluster it cannot size.
    """
    floors, reasons, warnings = {}, {}, []
    for index, raw in enumerate(clusters):
        if not isinstance(raw, dict):
            raise ClusterError("clusters[%d]: %r is not a mapping of settings" % (index, raw))
        owner = raw.get("owner")
        if not owner:
            warnings.append("clusters[%d] (%s) has no owner; no OS user to set limits for"
                            % (index, raw.get("name") or raw.get("data_directory")))
            continue
        floors.setdefault(owner, 0)
        if size:
            need, why = hugepage_lock_bytes(cluster_spec(raw, index), hugepage_size_kb)
            floors[owner] += need
            reasons.setdefault(owner, []).append(why)
    return dict((owner, ceil_div(size, 1024)) for owner, size in floors.items()), reasons, warnings


def _count(option, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LimitsError("%s: %r is not accepted; expected 0 (leave it alone) or a whole number above 0" % (option, value))
    return value


def parse_memlock(value):
    """'auto', UNLIMITED, or KiB (0 = leave alone) from the memlock option."""
    text = str(value).strip().lower()
    if text in ("auto", "unlimited"):
        return "auto" if text == "auto" else UNLIMITED
    if isinstance(value, bool) or not re.match(r"^[0-9]+$", text):
        raise LimitsError("memlock: %r is not accepted; expected auto, unlimited, 0 (leave it alone) "
                          "or a whole number of KiB" % (value,))
    return int(text)


def check_user_name(option, name):
    if not isinstance(name, str) or not name or name[0] in "@%*#" or re.search(r"[\s:#]", name):
        raise LimitsError("%s: %r is not a user name pam_limits can match (no @, %%, *, ':', '#' or spaces)" % (option, name))
    return name


def asked_limits(users, floors, nofile, nproc, memlock, nr_open):
    """{user: {item: (value, reason)}}: what each user should get at least.

    nofile/nproc: 0 leaves the item alone. memlock: 'auto' = the huge page
    floor of the user's clusters (nothing when 0); a number of KiB = that,
    or the floor when higher; UNLIMITED; 0 leaves it alone.
    """
    _count("nofile", nofile)
    _count("nproc", nproc)
    if nofile > nr_open:
        raise LimitsError("nofile: %d is above fs.nr_open (%d), the most open files the kernel allows; pam_limits "
                          "could not set it (Debian skips the limit, upstream refuses the login); expected 0 or "
                          "1 to %d" % (nofile, nr_open, nr_open))
    asked = {}
    for user in users:
        want = {}
        if nofile:
            want["nofile"] = (nofile, "asked %d (nofile)" % nofile)
        if nproc:
            want["nproc"] = (nproc, "asked %d (nproc)" % nproc)
        floor = floors.get(user, 0)
        huge = "huge pages the clusters of %s map: %d KiB" % (user, floor)
        if memlock == UNLIMITED:
            want["memlock"] = (UNLIMITED, "asked unlimited (memlock)")
        elif memlock == "auto":
            if floor:
                want["memlock"] = (floor, huge + " (memlock auto)")
        elif memlock:
            want["memlock"] = (max(memlock, floor), "asked %d KiB (memlock)" % memlock if memlock >= floor
                               else "%s, more than the %d KiB asked (memlock)" % (huge, memlock))
        asked[user] = want
    return asked


# ---------------------------------------------------------------- the plan

Plan = namedtuple("Plan", ["own", "text", "results", "effective_before", "effective", "warnings"])


def origin(source):
    """"from <file:line (text)>"; an "inherited ..." or "as written ..." phrase as it is."""
    return source if source.startswith(("inherited", "as written")) else "from " + source


def _kept(reason, value, item, source):
    return "%s; kept at %s %s" % (reason, fmt(value, item), origin(source))


def plan(accounts, asked, sources, own_path, own_before, inherited, nr_open, ceiling=None):
    """The new content of the collection's file and what each user gets.

    accounts: {user: Account}; asked: from asked_limits(); sources: every
    file pam_limits reads, [(path, [Entry])] in its order, the collection's
    own file (own_path) at its place even when it does not exist yet;
    own_before: parse_own() of that file; inherited: {(item, type): (value,
    source)} a session starts from when no file sets the item (systemd's
    defaults); ceiling: {item: hard limit} no session can exceed here (PID
    1's hard limits when CAP_SYS_RESOURCE is missing), or None.

    Entries of the own file that are not asked for now are kept as written.
    """
    ceiling = ceiling or {}
    others = [(path, entries) for path, entries in sources if path != own_path]
    own = dict(own_before)
    results, warnings = [], []
    for user in sorted(asked):
        account = accounts[user]
        # A "<user> -" line makes every file moot; the floor is what the
        # others would give if pam_limits applied, so the file does not
        # change with that line (it is reported as a warning below).
        base = evaluate(others, account, nr_open, honour_off=False)
        current = evaluate(sources, account, nr_open)
        for item in ITEMS:
            if item not in asked[user]:
                continue
            want, why = asked[user][item]
            limit = _capped_inherited(inherited, item, ceiling)
            given = session_limits(base, item, limit)
            now = session_limits(current, item, limit)
            values = {}
            for ltype in TYPES:
                value, reason = want, why
                other, source = given[ltype]
                before = own_before.get((user, item, ltype))
                if other is not None and other > value:
                    value, reason = other, _kept(why, other, item, source)
                if before is not None and before.value > value:
                    value, reason = before.value, _kept(why, before.value, item, "as written here before (never lowered)")
                # What sessions get now can exceed both: a soft limit this file
                # never set, inherited and clamped only by this file's hard one.
                # (Not while a "<user> -" line turns the files off: see base.)
                had, had_from = now[ltype]
                if current.off is None and had is not None and had > value:
                    value, reason = had, _kept(why, had, item, had_from)
                value, reason = _cap(value, reason, item, nr_open, ceiling)
                values[ltype] = [value, reason]
            if values["soft"][0] > values["hard"][0]:
                values["soft"] = [values["hard"][0], values["soft"][1] + "; capped at the hard limit %s" % fmt(values["hard"][0], item)]
            for ltype in TYPES:
                value, reason = values[ltype]
                own[(user, item, ltype)] = Own(value, reason)
                was = own_before.get((user, item, ltype))
                results.append(dict(
                    user=user, item=item, type=ltype, value=fmt(value), reason=reason,
                    previous_file=fmt(was.value) if was else None,
                    before=fmt(now[ltype][0]), before_from=now[ltype][1],
                ))
    text = render(own)
    new_sources = [(path, parse(text, own_path) if path == own_path else entries) for path, entries in sources]
    effective, effective_before = {}, {}
    for user in sorted(set(accounts)):
        account = accounts[user]
        effective_before[user] = summarize(evaluate(sources, account, nr_open), inherited, ceiling)
        after = evaluate(new_sources, account, nr_open)
        if after.off is not None:
            warnings.append("%s:%d (%s) turns pam_limits off for %s: no limit from any file applies to its sessions"
                            % (after.off.path, after.off.lineno, after.off.text, user))
        effective[user] = summarize(after, inherited, ceiling)
        for item in ITEMS:
            got = session_limits(after, item, _capped_inherited(inherited, item, ceiling))
            for result in results:
                if (result["user"], result["item"]) != (user, item):
                    continue
                value, source = got[result["type"]]
                result["after"], result["after_from"] = fmt(value), source
                setting = after.settings.get((item, result["type"]))
                written = own[(user, item, result["type"])].value
                if after.off is None and setting is not None and setting.path != own_path and setting.value != written:
                    warnings.append("%s sets %s %s %s to %s after %s; pam_limits uses that, not the %s written here"
                                    % (setting.source, user, result["type"], item, fmt(setting.value, item), own_path,
                                       fmt(written, item)))
    return Plan(own, text, results, effective_before, effective, warnings)


def summarize(evaluation, inherited, ceiling):
    """{item: "soft/hard[ KiB]"} a session gets; "?" where inherited and unknown."""
    out = {}
    for item in ITEMS:
        got = session_limits(evaluation, item, _capped_inherited(inherited, item, ceiling))
        soft, hard = fmt(got["soft"][0]) or "?", fmt(got["hard"][0]) or "?"
        numeric = any(v not in ("?", "unlimited") for v in (soft, hard))
        out[item] = "%s/%s%s" % (soft, hard, UNITS[item] if numeric else "")
    return out


def _capped_inherited(inherited, item, ceiling):
    out = {}
    for ltype in TYPES:
        if (item, ltype) in inherited:
            value, source = inherited[(item, ltype)]
            top = ceiling.get(item)
            if top is not None and value > top:
                value, source = top, "%s, held to %s by PID 1's hard limit" % (source, fmt(top, item))
            out[(item, ltype)] = (value, source)
    return out


def _cap(value, reason, item, nr_open, ceiling):
    if item == "nofile" and value > nr_open:
        value, reason = nr_open, "%s; capped at fs.nr_open %d, the most the kernel allows" % (reason, nr_open)
    top = ceiling.get(item)
    if top is not None and value > top:
        value, reason = top, ("%s; capped at %s, PID 1's hard limit: without CAP_SYS_RESOURCE (a container) "
                              "no session can get more" % (reason, fmt(top, item)))
    return value, reason


def describe(result):
    """One line per (user, item, type) whose value in the file changes."""
    item = result["item"]
    was = result["previous_file"]
    before = "was %s in the file" % fmt_text(was, item) if was is not None else "not in the file"
    session = "sessions had %s %s" % (fmt_text(result["before"], item) or "unknown", origin(result["before_from"]))
    return "%s %s %s = %s (%s; %s): %s" % (result["user"], result["type"], item, fmt_text(result["value"], item),
                                           before, session, result["reason"])


def fmt_text(text, item):
    if text is None or text == "unlimited":
        return text
    return text + UNITS[item]


# ---------------------------------------------------------------- the module's outcome

# users: sorted user names; asked: {user: {item: (value, reason)}}; memlock_reasons: {user: [line]}.
Wanted = namedtuple("Wanted", ["users", "asked", "memlock_reasons", "warnings"])
# The module's result: plan (a Plan), text (the file's new content), changed, lines, msg,
# services (pam.d services loading pam_limits), warnings.
Outcome = namedtuple("Outcome", ["plan", "text", "changed", "lines", "msg", "services", "warnings"])


def wanted(clusters, users, hugepage_size_kb, nofile, nproc, memlock, nr_open):
    """Wanted from the module's options; LimitsError or ClusterError for input it refuses."""
    memlock = parse_memlock(memlock)
    extra = [check_user_name("users[%d]" % i, name) for i, name in enumerate(users)]
    # Clusters are sized only when memlock depends on their huge pages.
    sized = memlock == "auto" or memlock not in (0, UNLIMITED)
    floors, memlock_reasons, warnings = memlock_floors(clusters, hugepage_size_kb, sized)
    owners = sorted(floors)
    for owner in owners:
        check_user_name("clusters[].owner", owner)
    names = sorted(set(owners) | set(extra))
    return Wanted(names, asked_limits(names, floors, nofile, nproc, memlock, nr_open), memlock_reasons, warnings)


def refusal(path, text):
    """Why the collection's own file must not be rewritten (lines it did not write), or None."""
    foreign = foreign_lines(text, path)
    if not foreign:
        return None
    return ("path: %s is the collection's own file, and line %s was not written by it, so a rewrite "
            "would drop it. Move such lines to a file of your own in %s; nothing was written"
            % (path, "; line ".join("%d (%s)" % item for item in foreign), os.path.dirname(path)))


def outcome(want, accounts, sources, path, text, inherited, nr_open, ceiling, pam_d, pam_d_dir):
    """The module's Outcome.

    want: from wanted(); accounts: {user: Account}; sources: [(path, text)]
    of every file pam_limits reads, in its order (the own file at its
    place); text: the own file's current text; inherited / ceiling: see
    plan(); pam_d: {service: text} of pam_d_dir.
    """
    warnings = ["user %s does not exist on this host (yet); its lines are written, but only lines naming it "
                "or * are taken into account" % user for user in want.users if accounts[user].uid is None]
    own_before = parse_own(text, path)
    result = plan(accounts, want.asked, [(src, parse(body, src)) for src, body in sources], path, own_before,
                  inherited, nr_open, ceiling)
    warnings += result.warnings
    if ceiling and any("PID 1's hard limit:" in r["reason"] for r in result.results):
        warnings.append("CAP_SYS_RESOURCE is not in this host's bounding set (a container?): no session can raise a "
                        "hard limit above PID 1's (%s), so values above it were written as that"
                        % ", ".join("%s %s" % (item, fmt(ceiling[item], item)) for item in ITEMS if item in ceiling))
    services = pam_services(pam_d)
    if not services:
        warnings.append("no service in %s loads pam_limits directly: these limits may reach no session" % pam_d_dir)
    new_text = result.text if want.users or own_before else text
    changed = new_text != text
    lines = [describe(r) for r in result.results if r["value"] != r["previous_file"]]
    if not want.users:
        msg = "no PostgreSQL OS user found and no users given: nothing to do"
    elif changed and lines:
        msg = "%d limit(s) changed in %s for %s" % (len(lines), path, ", ".join(want.users))
    elif changed:
        msg = "reasons rewritten in %s, no value changed" % path
    else:
        msg = "no change"
    return Outcome(result, new_text, changed, lines, msg, services, warnings)
