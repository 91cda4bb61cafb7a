# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pam_limits: parsing limits.conf text, pam_limits' order and ranks, the
never-lower plan and the collection's own file.

The rules mirrored here were read from Linux-PAM's pam_limits.c and checked
live on Debian 12 (Linux-PAM 1.5.2) in a systemd container: a user line beats
a later `*` line; a later file wins at the same rank; names compare
case-sensitively; limits.d files sort in "C" order (B.conf before a.conf);
hidden files are not read; `soft nofile -1` becomes the hard limit.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils import pam_limits
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import ClusterError
from ansible_collections.pghost.hardening.plugins.module_utils.host_limits import manager_limits, parse_proc_limits
from ansible_collections.pghost.hardening.plugins.module_utils.pam_limits import (
    HEADER, RANK_DEFAULT, RANK_GROUP, RANK_USER, UNLIMITED, Account, Entry, LimitsError, Own,
    evaluate, fmt, hard_limits, has_capability, inherited_from_systemd, pam_services, parse, parse_own, parse_value,
    rank_for, render, session_limits,
)
from ansible_collections.pghost.hardening.plugins.module_utils.pam_limits_plan import (
    asked_limits, check_user_name, describe, memlock_floors, parse_memlock, plan,
)
from ansible_collections.pghost.hardening.plugins.module_utils.systemd_ini import parse_show

CONF = "/etc/security/limits.conf"
OWN = "/etc/security/limits.d/60-pghost-postgresql.conf"
NR_OPEN = 1048576
# uid 101, primary group postgres (103), supplementary ssl-cert (102): Debian's postgres user.
POSTGRES = Account("postgres", 101, 103, frozenset({"postgres", "ssl-cert"}), frozenset({103, 102}))
NOBODY = Account("ghost", None, None, frozenset(), frozenset())

# Debian 12's /etc/security/limits.conf, shortened, with lines added below its examples.
LIMITS_CONF = """\
# /etc/security/limits.conf
#
#Each line describes a limit for a user in the form:
#
#<domain>        <type>  <item>  <value>
#
#<domain>      <type>  <item>         <value>
#

#*               soft    core            0
#root            hard    core            100000
#@student        hard    nproc           20
*               soft    nofile          4096
*               soft    core            0
@postgres       hard    nofile          100000   # DBA request 2019
@ssl-cert       -       nproc           Unlimited
  postgres      SOFT    MEMLOCK         64
postgres        hard    nofile
%postgres       -       maxlogins       4
1000:           hard    nproc           100
Postgres        soft    nofile          1
@dba            soft    nofile          junk
"""

# Systemd 252's defaults on Debian 12 (`systemctl show -p DefaultLimit...`).
SYSTEMD_SHOW = """\
DefaultLimitMEMLOCK=8388608
DefaultLimitMEMLOCKSoft=8388608
DefaultLimitNOFILE=524288
DefaultLimitNOFILESoft=1024
DefaultLimitNPROC=62502
DefaultLimitNPROCSoft=62502
"""


def parse_systemd_defaults(text):
    """What the module makes of `systemctl show -p DefaultLimit...`: the session's inherited limits."""
    return inherited_from_systemd(manager_limits((parse_show(text) or [{}])[0]))


INHERITED = parse_systemd_defaults(SYSTEMD_SHOW)

# /proc/1/limits of a privileged podman container on the CI machines (trailing blanks dropped).
PROC_1_LIMITS = """\
Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max stack size            8388608              unlimited            bytes
Max processes             32768                32768                processes
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
Max pending signals       96365                96365                signals
Max realtime timeout      unlimited            unlimited            us
"""


def values(entries):
    return [(e.lineno, e.domain, e.type, e.item, e.value) for e in entries]


# ---------------------------------------------------------------- parse


def test_parse_debian_limits_conf():
    assert values(parse(LIMITS_CONF, CONF)) == [
        (13, "*", "soft", "nofile", 4096),
        # core is not one of nofile, nproc, memlock
        (15, "@postgres", "hard", "nofile", 100000),       # trailing comment dropped
        (16, "@ssl-cert", "-", "nproc", UNLIMITED),        # value case-insensitive
        (17, "postgres", "soft", "memlock", 64),           # leading blanks; type and item case-insensitive
        # 18: three fields, skipped; 19: % is for maxlogins only (item not kept)
        (20, "1000:", "hard", "nproc", 100),
        (21, "Postgres", "soft", "nofile", 1),             # the domain keeps its case
        # 22: a value pam_limits cannot read is skipped
    ]
    assert parse(LIMITS_CONF, CONF)[0].text == "* soft nofile 4096"
    assert parse(LIMITS_CONF, CONF)[1].path == CONF


@pytest.mark.parametrize("raw, value", [
    ("65536", 65536), ("-1", UNLIMITED), ("-", UNLIMITED), ("unlimited", UNLIMITED), ("INFINITY", UNLIMITED),
    ("Unlimited", UNLIMITED), ("+20", 20), ("12abc", 12), ("0x10", 0), ("0", 0),
    ("abc", None), ("-5", None), ("", None),
])
def test_parse_value_like_strtoull(raw, value):
    assert parse_value(raw) == value


def test_parse_memlock_too_large_for_rlim_t_is_unlimited():
    # pam_limits: a KiB value >= RLIM_INFINITY / 1024 would overflow rlim_t and becomes unlimited
    top = (2 ** 64 - 1) // 1024
    assert parse("postgres hard memlock %d\n" % top, OWN)[0].value == UNLIMITED
    assert parse("postgres soft memlock %d\n" % (top - 1), OWN)[0].value == top - 1


@pytest.mark.parametrize("line", ["postgres -", "@postgres -", ":101 -", "* -", "postgres -ignored"])
def test_parse_no_limits_line(line):
    entry = parse(line + "\n", CONF)[0]
    assert (entry.type, entry.item, entry.value) == ("-", None, None)


def test_parse_empty_and_none():
    assert parse("", CONF) == [] and parse(None, CONF) == []


# ---------------------------------------------------------------- domains


@pytest.mark.parametrize("domain, rank", [
    ("postgres", RANK_USER),
    ("Postgres", None),              # case-sensitive (Linux-PAM 1.5+; seen live)
    ("postgresql", None),
    ("@postgres", RANK_GROUP),       # primary group
    ("@ssl-cert", RANK_GROUP),       # supplementary group
    ("@dba", None),
    ("@:102", RANK_GROUP),           # exact gid: supplementary groups count
    ("@:999", None),
    ("@100:200", RANK_GROUP),        # gid range: primary gid 103 only
    ("@102:102", None),              # 102 is only supplementary
    ("@100:", RANK_GROUP),
    ("@104:", None),
    ("%postgres", None),             # maxlogins only
    ("%", None),
    ("*", RANK_DEFAULT),
    (":101", RANK_USER),             # uid ranges rank like a user line
    (":100", None),
    ("100:200", RANK_USER),
    ("1000:", None),
    ("100:", RANK_USER),
    ("101", None),                   # a user named "101", not a uid
    ("a:b", None),                   # bad range: skipped by pam_limits
    (":", None),
    ("@:", None),
])
def test_rank_for(domain, rank):
    assert rank_for(domain, POSTGRES) == rank


@pytest.mark.parametrize("domain, rank", [("ghost", RANK_USER), ("*", RANK_DEFAULT), ("@ghost", None), ("0:", None)])
def test_rank_for_a_user_that_does_not_exist(domain, rank):
    assert rank_for(domain, NOBODY) == rank


# ---------------------------------------------------------------- evaluate


def sources(*files):
    return [(path, parse(text, path)) for path, text in files]


def limit(evaluation, item, ltype):
    setting = evaluation.settings.get((item, ltype))
    return setting.value if setting else None


def test_evaluate_debian_conf_for_postgres():
    result = evaluate(sources((CONF, LIMITS_CONF)), POSTGRES, NR_OPEN)
    assert result.off is None
    assert limit(result, "nofile", "soft") == 4096
    assert limit(result, "nofile", "hard") == 100000
    assert limit(result, "nproc", "soft") == limit(result, "nproc", "hard") == UNLIMITED
    assert limit(result, "memlock", "soft") == 64 and limit(result, "memlock", "hard") is None
    assert result.settings[("nofile", "hard")].source == CONF + ":15 (@postgres hard nofile 100000)"


def test_user_line_beats_a_later_wildcard_line():
    # seen live: postgres soft nofile 1000 in 50-t.conf, * soft nofile 2000 in 90-t.conf -> 1000
    result = evaluate(sources(("/d/50-t.conf", "postgres soft nofile 1000\n"), ("/d/90-t.conf", "* soft nofile 2000\n")),
                      POSTGRES, NR_OPEN)
    assert limit(result, "nofile", "soft") == 1000


def test_group_line_beats_a_later_wildcard_line_and_a_later_user_line_beats_both():
    result = evaluate(sources((CONF, "@postgres soft nofile 3000\n"), ("/d/a.conf", "* soft nofile 9000\n")), POSTGRES, NR_OPEN)
    assert limit(result, "nofile", "soft") == 3000
    result = evaluate(sources((CONF, "@postgres soft nofile 3000\n"), ("/d/a.conf", "postgres soft nofile 10\n")), POSTGRES, NR_OPEN)
    assert limit(result, "nofile", "soft") == 10


def test_later_line_wins_at_the_same_rank():
    # seen live: postgres soft nofile 1000 in 50-t.conf, 3000 in 90-t.conf -> 3000
    result = evaluate(sources(("/d/50-t.conf", "postgres soft nofile 1000\n"), ("/d/90-t.conf", "postgres soft nofile 3000\n")),
                      POSTGRES, NR_OPEN)
    assert limit(result, "nofile", "soft") == 3000
    result = evaluate(sources((CONF, "* hard nproc 10\n* hard nproc 20\n")), POSTGRES, NR_OPEN)
    assert limit(result, "nproc", "hard") == 20


def test_dash_line_blocked_on_soft_leaves_hard_alone_too():
    # pam_limits returns after refusing the soft half of a "-" line
    result = evaluate(sources((CONF, "postgres soft nofile 500\n@postgres - nofile 9000\n")), POSTGRES, NR_OPEN)
    assert limit(result, "nofile", "soft") == 500
    assert limit(result, "nofile", "hard") is None
    result = evaluate(sources((CONF, "postgres hard nofile 500\n@postgres - nofile 9000\n")), POSTGRES, NR_OPEN)
    assert (limit(result, "nofile", "soft"), limit(result, "nofile", "hard")) == (9000, 500)


def test_nofile_unlimited_becomes_nr_open():
    result = evaluate(sources((CONF, "postgres - nofile unlimited\n")), POSTGRES, 1073741816)
    assert limit(result, "nofile", "soft") == limit(result, "nofile", "hard") == 1073741816


@pytest.mark.parametrize("line, off", [
    ("postgres -", True), ("@postgres -", True), ("@ssl-cert -", True), (":101 -", True), ("100:200 -", True),
    ("* -", False), ("@dba -", False), ("other -", False), ("%postgres -", False),
])
def test_no_limits_line(line, off):
    result = evaluate(sources((CONF, "postgres soft nofile 5\n"), ("/d/10-x.conf", line + "\n"),
                              ("/d/90-y.conf", "postgres hard nofile 7\n")), POSTGRES, NR_OPEN)
    if off:
        assert result.off.text == line and result.settings == {}
    else:
        assert result.off is None
        assert (limit(result, "nofile", "soft"), limit(result, "nofile", "hard")) == (5, 7)


def test_session_limits_inherits_and_clamps_soft_to_hard():
    result = evaluate(sources((CONF, "* soft nofile 600000\n")), POSTGRES, NR_OPEN)
    got = session_limits(result, "nofile", dict((k, v) for k, v in INHERITED.items()))
    assert got["hard"] == (524288, "inherited from systemd DefaultLimitNOFILE=524288")
    assert got["soft"] == (524288, CONF + ":1 (* soft nofile 600000), clamped to the hard limit")
    got = session_limits(result, "nproc", {})
    assert got == {"soft": (None, "inherited, unknown"), "hard": (None, "inherited, unknown")}


# ---------------------------------------------------------------- host readings


def test_parse_systemd_defaults_debian_12():
    assert INHERITED == {
        ("memlock", "hard"): (8192, "inherited from systemd DefaultLimitMEMLOCK=8388608"),
        ("memlock", "soft"): (8192, "inherited from systemd DefaultLimitMEMLOCKSoft=8388608"),
        ("nofile", "hard"): (524288, "inherited from systemd DefaultLimitNOFILE=524288"),
        ("nofile", "soft"): (1024, "inherited from systemd DefaultLimitNOFILESoft=1024"),
        ("nproc", "hard"): (62502, "inherited from systemd DefaultLimitNPROC=62502"),
        ("nproc", "soft"): (62502, "inherited from systemd DefaultLimitNPROCSoft=62502"),
    }


def test_parse_systemd_defaults_infinity_rounding_and_gaps():
    got = parse_systemd_defaults("DefaultLimitMEMLOCK=infinity\nDefaultLimitMEMLOCKSoft=1025\nDefaultLimitNPROC=\n")
    assert got == {("memlock", "hard"): (UNLIMITED, "inherited from systemd DefaultLimitMEMLOCK=infinity"),
                   ("memlock", "soft"): (2, "inherited from systemd DefaultLimitMEMLOCKSoft=1025")}
    assert parse_systemd_defaults("") == {}


def test_hard_limits_of_proc_limits():
    assert hard_limits(parse_proc_limits(PROC_1_LIMITS)) == {"nproc": 32768, "nofile": 20000, "memlock": 8192}
    assert hard_limits(parse_proc_limits("Max locked memory         1023                 unlimited            bytes\n")) == {
        "memlock": UNLIMITED}
    assert hard_limits(parse_proc_limits(None)) == {}


@pytest.mark.parametrize("status, has", [
    ("CapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\n", False),   # podman on the CI machines
    ("CapBnd:\t000001ffffffffff\n", True),
    ("CapBnd:\t0000000001000000\n", True),
    ("Name:\tbash\n", True),                                           # unreadable: assume a normal host
    ("CapBnd:\tzz\n", True),
])
def test_has_capability_sys_resource(status, has):
    assert has_capability(status, pam_limits.CAP_SYS_RESOURCE) is has


def test_pam_services_debian():
    files = {
        "su": "# Sets up user limits\nsession    required   pam_limits.so\n@include common-session\n",
        "runuser": "#%PAM-1.0\nauth\t\tsufficient\tpam_rootok.so\nsession\t\trequired\tpam_limits.so\n",
        "runuser-l": "auth\t\tinclude\t\trunuser\n-session\toptional\tpam_systemd.so\nsession\t\tinclude\t\trunuser\n",
        "login": "# session    required   pam_limits.so\n",
        "cron": "-session optional /lib/x86_64-linux-gnu/security/pam_limits.so\n",
        "other": "auth required pam_limits.so\n",
        "sshd": "session    [success=ok default=ignore]   pam_limits.so\n",
    }
    assert pam_services(files) == ["cron", "runuser", "sshd", "su"]


# ---------------------------------------------------------------- what to ask for

V15 = {"version": "15", "owner": "postgres", "name": "15/main", "shared_memory_size_in_huge_pages": 72}


def test_memlock_floors_sum_per_owner():
    clusters = [V15, dict(V15, name="15/other", shared_memory_size_in_huge_pages=10),
                dict(V15, name="16/x", version="16", owner="pg16", shared_memory_size_in_huge_pages=1),
                dict(V15, name="15/off", owner="pgoff", huge_pages="off")]
    floors, reasons, warnings = memlock_floors(clusters, 2048)
    assert floors == {"postgres": (72 + 10) * 2048, "pg16": 2048, "pgoff": 0}
    assert reasons["postgres"][0].startswith("15/main: server-reported shared_memory_size_in_huge_pages 72")
    assert reasons["pgoff"] == ["15/off: huge_pages=off"]
    assert warnings == []


def test_memlock_floors_estimated_for_old_versions_rounds_up_to_kib():
    # 9.6 estimate: 74 pages of 2 MiB (test_hugepages.py)
    floors, dummy, dummy = memlock_floors([{"version": "9.6", "owner": "postgres", "shared_buffers": "128MB"}], 2048)
    assert floors == {"postgres": 74 * 2048}
    floors, dummy, dummy = memlock_floors([dict(V15)], 0)
    assert floors == {"postgres": 0}


def test_memlock_floors_only_listing_owners_reads_no_setting():
    floors, reasons, dummy = memlock_floors([{"owner": "postgres"}, {"owner": "pg16", "version": "16"}], 2048, size=False)
    assert (floors, reasons) == ({"postgres": 0, "pg16": 0}, {})


def test_memlock_floors_cluster_without_owner_is_a_warning():
    floors, dummy, warnings = memlock_floors([dict(V15, owner=None, data_directory="/srv/pg")], 2048)
    assert floors == {}
    assert warnings == ["clusters[0] (15/main) has no owner; no OS user to set limits for"]


@pytest.mark.parametrize("clusters, message", [
    ([V15, {"owner": "postgres"}], "clusters[1].version: missing"),
    ([V15, dict(V15, huge_pages="sometimes")], "clusters[1].huge_pages: 'sometimes' is not one of try, on, off"),
    (["15/main"], "clusters[0]: '15/main' is not a mapping of settings"),
])
def test_memlock_floors_bad_cluster(clusters, message):
    with pytest.raises(ClusterError, match=r"^" + message.replace("[", r"\[").replace("]", r"\]")):
        memlock_floors(clusters, 2048)


def test_asked_limits_auto():
    asked = asked_limits(["postgres", "backup"], {"postgres": 147456}, 65536, 4096, "auto", NR_OPEN)
    assert asked == {
        "postgres": {"nofile": (65536, "asked 65536 (nofile)"), "nproc": (4096, "asked 4096 (nproc)"),
                     "memlock": (147456, "huge pages the clusters of postgres map: 147456 KiB (memlock auto)")},
        # no huge pages: memlock left alone
        "backup": {"nofile": (65536, "asked 65536 (nofile)"), "nproc": (4096, "asked 4096 (nproc)")},
    }


@pytest.mark.parametrize("memlock, expected", [
    (UNLIMITED, (UNLIMITED, "asked unlimited (memlock)")),
    (200000, (200000, "asked 200000 KiB (memlock)")),
    (147456, (147456, "asked 147456 KiB (memlock)")),
    (1024, (147456, "huge pages the clusters of postgres map: 147456 KiB, more than the 1024 KiB asked (memlock)")),
])
def test_asked_limits_memlock(memlock, expected):
    assert asked_limits(["postgres"], {"postgres": 147456}, 0, 0, memlock, NR_OPEN) == {"postgres": {"memlock": expected}}


def test_asked_limits_zero_leaves_everything_alone():
    assert asked_limits(["postgres"], {"postgres": 147456}, 0, 0, 0, NR_OPEN) == {"postgres": {}}


@pytest.mark.parametrize("nofile, nproc, message", [
    (-1, 1, "nofile: -1 is not accepted; expected 0 (leave it alone) or a whole number above 0"),
    ("lots", 1, "nofile: 'lots' is not accepted"),
    (True, 1, "nofile: True is not accepted"),
    (1, -5, "nproc: -5 is not accepted"),
    (NR_OPEN + 1, 1, "nofile: 1048577 is above fs.nr_open (1048576), the most open files the kernel allows"),
])
def test_asked_limits_bad_counts(nofile, nproc, message):
    with pytest.raises(LimitsError, match=r"^" + message.replace("(", r"\(").replace(")", r"\)")):
        asked_limits(["postgres"], {}, nofile, nproc, "auto", NR_OPEN)


@pytest.mark.parametrize("raw, value", [("auto", "auto"), ("AUTO", "auto"), ("unlimited", UNLIMITED), ("0", 0),
                                        ("4096", 4096), (4096, 4096), (" 8 ", 8)])
def test_parse_memlock(raw, value):
    assert parse_memlock(raw) == value


@pytest.mark.parametrize("raw", ["lots", "-1", "1.5", "4 MB", "", "infinity", True])
def test_parse_memlock_refused(raw):
    with pytest.raises(LimitsError, match=r"^memlock: .* is not accepted; expected auto, unlimited, 0 \(leave it alone\) "
                                          r"or a whole number of KiB$"):
        parse_memlock(raw)


@pytest.mark.parametrize("name", ["@postgres", "%dba", "*", "1000:", "pg sql", "", "#x", None])
def test_check_user_name_refused(name):
    with pytest.raises(LimitsError, match=r"^users\[0\]: .* is not a user name pam_limits can match"):
        check_user_name("users[0]", name)


def test_check_user_name_ok():
    assert check_user_name("users[0]", "postgres") == "postgres"


# ---------------------------------------------------------------- own file


OWN_TEXT = HEADER + """
# asked 65536 (nofile)
postgres        soft  nofile   65536
# asked 65536 (nofile); kept at 100000 from /etc/security/limits.conf:15 (@postgres hard nofile 100000)
postgres        hard  nofile   100000
# asked unlimited (memlock)
postgres        soft  memlock  unlimited
postgres        hard  memlock  unlimited
"""


def test_parse_own_reads_reasons():
    assert parse_own(OWN_TEXT, OWN) == {
        ("postgres", "nofile", "soft"): Own(65536, "asked 65536 (nofile)"),
        ("postgres", "nofile", "hard"): Own(100000, "asked 65536 (nofile); kept at 100000 from "
                                                    "/etc/security/limits.conf:15 (@postgres hard nofile 100000)"),
        ("postgres", "memlock", "soft"): Own(UNLIMITED, "asked unlimited (memlock)"),
        ("postgres", "memlock", "hard"): Own(UNLIMITED, ""),
    }
    both = {("postgres", "nproc", "soft"): Own(10, ""), ("postgres", "nproc", "hard"): Own(10, "")}
    assert parse_own("postgres - nproc 10\n", OWN) == both


def test_render_order_and_round_trip():
    own = {
        ("postgres", "memlock", "hard"): Own(UNLIMITED, ""),
        ("postgres", "nofile", "hard"): Own(100000, "asked 65536 (nofile); kept at 100000 from "
                                                    "/etc/security/limits.conf:15 (@postgres hard nofile 100000)"),
        ("postgres", "memlock", "soft"): Own(UNLIMITED, "asked unlimited (memlock)"),
        ("postgres", "nofile", "soft"): Own(65536, "asked 65536 (nofile)"),
    }
    assert render(own) == OWN_TEXT
    assert parse_own(render(own), OWN) == own
    assert render({}) == HEADER + "\n"


def test_render_users_sorted_items_in_order():
    own = dict(((user, item, ltype), Own(1, "")) for user in ("zz", "aa") for item in ("memlock", "nproc", "nofile")
               for ltype in ("hard", "soft"))
    body = render(own)[len(HEADER) + 1:].splitlines()
    assert [tuple(line.split()[:3]) for line in body] == [
        (user, ltype, item) for user in ("aa", "zz") for item in ("nofile", "nproc", "memlock") for ltype in ("soft", "hard")]


@pytest.mark.parametrize("value, item, text", [(UNLIMITED, "memlock", "unlimited"), (8192, "memlock", "8192 KiB"),
                                               (20000, "nofile", "20000"), (None, "nofile", None), (5, None, "5")])
def test_fmt(value, item, text):
    assert fmt(value, item) == text


# ---------------------------------------------------------------- plan

ACCOUNTS = {"postgres": POSTGRES}


def run_plan(files, asked, own_text="", inherited=None, nr_open=NR_OPEN, ceiling=None, accounts=None):
    """plan() over limits.conf first, then the limits.d files and the own file by name."""
    order = [(path, text) for path, text in files if path != OWN] + [(OWN, own_text)]
    order.sort(key=lambda f: (f[0] != CONF, f[0].rsplit("/", 1)[-1]))
    srcs = sources(*order)
    return plan(accounts or ACCOUNTS, asked, srcs, OWN, parse_own(own_text, OWN),
                INHERITED if inherited is None else inherited, nr_open, ceiling)


def asked(nofile=65536, nproc=65536, memlock="auto", floors=None, users=("postgres",)):
    return asked_limits(list(users), floors or {"postgres": 147456}, nofile, nproc, memlock, NR_OPEN)


def written(result):
    return dict(((r["user"], r["item"], r["type"]), r["value"]) for r in result.results)


def test_plan_on_debian_defaults():
    result = run_plan([(CONF, "")], asked())
    assert written(result) == {
        ("postgres", "nofile", "soft"): "65536",
        ("postgres", "nofile", "hard"): "524288",      # systemd's hard limit is higher: never lowered
        ("postgres", "nproc", "soft"): "65536",
        ("postgres", "nproc", "hard"): "65536",
        ("postgres", "memlock", "soft"): "147456",
        ("postgres", "memlock", "hard"): "147456",
    }
    assert result.effective_before == {"postgres": {"nofile": "1024/524288", "nproc": "62502/62502", "memlock": "8192/8192 KiB"}}
    assert result.effective == {"postgres": {"nofile": "65536/524288", "nproc": "65536/65536", "memlock": "147456/147456 KiB"}}
    assert result.warnings == []
    assert result.text == HEADER + """
# asked 65536 (nofile)
postgres        soft  nofile   65536
# asked 65536 (nofile); kept at 524288 inherited from systemd DefaultLimitNOFILE=524288
postgres        hard  nofile   524288
# asked 65536 (nproc)
postgres        soft  nproc    65536
# asked 65536 (nproc)
postgres        hard  nproc    65536
# huge pages the clusters of postgres map: 147456 KiB (memlock auto)
postgres        soft  memlock  147456
# huge pages the clusters of postgres map: 147456 KiB (memlock auto)
postgres        hard  memlock  147456
"""
    hard = [r for r in result.results if (r["item"], r["type"]) == ("nofile", "hard")][0]
    assert hard == {
        "user": "postgres", "item": "nofile", "type": "hard", "value": "524288",
        "reason": "asked 65536 (nofile); kept at 524288 inherited from systemd DefaultLimitNOFILE=524288",
        "previous_file": None, "before": "524288", "before_from": "inherited from systemd DefaultLimitNOFILE=524288",
        "after": "524288", "after_from": OWN + ":10 (postgres hard nofile 524288)",
    }


def test_plan_second_run_is_identical():
    files = [(CONF, LIMITS_CONF), ("/etc/security/limits.d/90-site.conf", "* hard nproc 200000\n")]
    first = run_plan(files, asked())
    second = run_plan(files, asked(), own_text=first.text)
    assert second.text == first.text
    assert [r["value"] for r in second.results] == [r["previous_file"] for r in second.results]
    assert second.effective == first.effective


PROPERTY = settings(max_examples=150, deadline=None, database=None)
LIMIT = st.integers(1, NR_OPEN)
SITE_LINES = st.lists(st.tuples(st.sampled_from(["*", "postgres", "@postgres"]), st.sampled_from(["soft", "hard", "-"]),
                                st.sampled_from(["nofile", "nproc", "memlock"]), LIMIT), max_size=6)


# What the own file may hold for one item: nothing, a hard limit, or a soft
# limit with a hard one at least as high (setrlimit refuses soft > hard).
OWN_ITEM = st.one_of(st.just({}), LIMIT.map(lambda hard: {"hard": hard}),
                     st.tuples(LIMIT, LIMIT).map(sorted).map(lambda pair: {"soft": pair[0], "hard": pair[1]}))
OWN_BEFORE = st.fixed_dictionaries({item: OWN_ITEM for item in ("nofile", "nproc", "memlock")}).map(
    lambda items: dict((("postgres", item, ltype), value) for item, kinds in items.items()
                       for ltype, value in kinds.items()))


@PROPERTY
@given(OWN_BEFORE, SITE_LINES, LIMIT, LIMIT, LIMIT)
def test_property_plan_never_lowers_the_own_file_or_what_sessions_had(previous, site, nofile, nproc, memlock):
    """Whatever the own file held before, whatever other files say and
    whatever is asked: no value written is below what the own file had, and
    no session limit is below what it was (no ceiling, nothing above NR_OPEN)."""
    own_text = render(dict((key, Own(value, "written earlier")) for key, value in previous.items()))
    files = [(CONF, ""), ("/etc/security/limits.d/90-site.conf",
                          "".join("%s %s %s %d\n" % line for line in site))]
    result = run_plan(files, asked(nofile=nofile, nproc=nproc, memlock=memlock), own_text=own_text)
    now = parse_own(result.text, OWN)
    for key, value in previous.items():
        assert now[key].value >= value, (key, value, now[key])
    for item, text in result.effective_before["postgres"].items():
        before = [parse_value(part.split()[0]) for part in text.split("/")]
        after = [parse_value(part.split()[0]) for part in result.effective["postgres"][item].split("/")]
        assert all(a >= b for a, b in zip(after, before)), (item, text, result.effective["postgres"][item])


def test_plan_keeps_a_soft_limit_sessions_have_from_this_files_hard_one():
    # Found by the property above: sessions had soft nproc 2 (inherited, clamped
    # by this file's hard 2); a later file's lower "*" line must not bring it to 1.
    own_text = render({("postgres", "nproc", "hard"): Own(2, "written earlier")})
    result = run_plan([(CONF, ""), ("/etc/security/limits.d/90-site.conf", "* hard nproc 1\n")],
                      asked(nofile=0, nproc=1, memlock=0), own_text=own_text)
    assert written(result)[("postgres", "nproc", "soft")] == "2"
    assert result.effective_before["postgres"]["nproc"] == result.effective["postgres"]["nproc"] == "2/2"


def test_plan_never_lowers_what_other_files_give():
    files = [(CONF, LIMITS_CONF), ("/etc/security/limits.d/90-site.conf", "* hard nofile 2000000\n@postgres - nproc 1000\n")]
    result = run_plan(files, asked(memlock=0), nr_open=4194304)
    assert written(result) == {
        ("postgres", "nofile", "soft"): "65536",       # * soft 4096 is lower
        # @postgres hard 100000 in limits.conf beats * in 90-site: 100000 is what sessions have, below 2000000
        ("postgres", "nofile", "hard"): "100000",
        # @ssl-cert - nproc unlimited, then @postgres - nproc 1000 at the same rank later: 1000
        ("postgres", "nproc", "soft"): "65536",
        ("postgres", "nproc", "hard"): "65536",
    }
    # the memlock line of limits.conf (postgres soft memlock 64) is left alone: memlock 0
    assert result.effective["postgres"]["memlock"] == "64/8192 KiB"


def test_plan_user_line_does_not_shadow_a_higher_wildcard():
    # a postgres line would beat `*`; writing less than `*` gives would lower the user's limit
    files = [(CONF, ""), ("/etc/security/limits.d/10-big.conf", "* soft nofile 200000\n* hard nofile 400000\n")]
    result = run_plan(files, asked(memlock=0, nproc=0))
    assert written(result) == {("postgres", "nofile", "soft"): "200000", ("postgres", "nofile", "hard"): "400000"}
    assert result.results[0]["reason"] == ("asked 65536 (nofile); kept at 200000 from "
                                           "/etc/security/limits.d/10-big.conf:1 (* soft nofile 200000)")


def test_plan_keeps_what_it_wrote_before():
    before = run_plan([(CONF, "")], asked(nofile=100000, nproc=0, memlock=0)).text
    result = run_plan([(CONF, "")], asked(nofile=4096, nproc=0, memlock=0), own_text=before)
    assert written(result) == {("postgres", "nofile", "soft"): "100000", ("postgres", "nofile", "hard"): "524288"}
    assert result.results[0]["reason"] == "asked 4096 (nofile); kept at 100000 as written here before (never lowered)"
    assert result.results[1]["reason"] == "asked 4096 (nofile); kept at 524288 inherited from systemd DefaultLimitNOFILE=524288"


def test_plan_keeps_entries_not_asked_for_now():
    own_text = HEADER + "\n# old\nolduser         soft  nofile   1000\npostgres        hard  memlock  500\n"
    result = run_plan([(CONF, "")], asked(memlock=0), own_text=own_text)
    assert result.own[("olduser", "nofile", "soft")] == Own(1000, "old")
    assert result.own[("postgres", "memlock", "hard")] == Own(500, "")
    assert "olduser         soft  nofile   1000\n" in result.text


def test_plan_unlimited_elsewhere_is_kept_as_unlimited():
    result = run_plan([(CONF, "@ssl-cert - nproc unlimited\n")], asked(nofile=0, memlock=0))
    assert written(result) == {("postgres", "nproc", "soft"): "unlimited", ("postgres", "nproc", "hard"): "unlimited"}
    assert result.effective["postgres"]["nproc"] == "unlimited/unlimited"


def test_plan_memlock_unlimited():
    result = run_plan([(CONF, "")], asked(nofile=0, nproc=0, memlock=UNLIMITED))
    assert written(result) == {("postgres", "memlock", "soft"): "unlimited", ("postgres", "memlock", "hard"): "unlimited"}
    assert "postgres        hard  memlock  unlimited\n" in result.text


def test_plan_nofile_unlimited_elsewhere_is_written_as_nr_open():
    result = run_plan([(CONF, "postgres - nofile unlimited\n")], asked(nproc=0, memlock=0), nr_open=1073741816)
    assert written(result) == {("postgres", "nofile", "soft"): "1073741816", ("postgres", "nofile", "hard"): "1073741816"}
    assert [line for line in result.text.splitlines() if "unlimited" in line and not line.startswith("#")] == []


def test_plan_caps_nofile_at_nr_open():
    # an existing value above fs.nr_open can never be set; the file says so
    result = run_plan([(CONF, "* hard nofile 5000000\n")], asked(nproc=0, memlock=0))
    assert written(result)[("postgres", "nofile", "hard")] == "1048576"
    assert result.results[1]["reason"] == ("asked 65536 (nofile); kept at 5000000 from /etc/security/limits.conf:1 "
                                           "(* hard nofile 5000000); capped at fs.nr_open 1048576, the most the kernel allows")


def test_plan_caps_at_pid1_without_cap_sys_resource():
    ceiling = hard_limits(parse_proc_limits(PROC_1_LIMITS))
    result = run_plan([(CONF, "")], asked(), ceiling=ceiling)
    assert written(result) == {
        ("postgres", "nofile", "soft"): "20000", ("postgres", "nofile", "hard"): "20000",
        ("postgres", "nproc", "soft"): "32768", ("postgres", "nproc", "hard"): "32768",
        ("postgres", "memlock", "soft"): "8192", ("postgres", "memlock", "hard"): "8192",
    }
    assert result.results[-1]["reason"] == (
        "huge pages the clusters of postgres map: 147456 KiB (memlock auto); capped at 8192 KiB, PID 1's hard limit: "
        "without CAP_SYS_RESOURCE (a container) no session can get more")
    # systemd's 524288 cannot be had there either
    assert result.effective_before["postgres"]["nofile"] == "1024/20000"
    assert run_plan([(CONF, "")], asked(), own_text=result.text, ceiling=ceiling).text == result.text


def test_plan_soft_never_above_hard():
    result = run_plan([(CONF, "")], asked(nofile=30000, nproc=0, memlock=0), ceiling={"nofile": 20000},
                      inherited={("nofile", "soft"): (25000, "inherited from x")})
    assert written(result) == {("postgres", "nofile", "soft"): "20000", ("postgres", "nofile", "hard"): "20000"}


def test_plan_warns_when_a_later_file_wins():
    files = [(CONF, ""), ("/etc/security/limits.d/90-site.conf", "postgres hard nproc 5000\n")]
    result = run_plan(files, asked(nofile=0, memlock=0))
    assert result.warnings == [
        "/etc/security/limits.d/90-site.conf:1 (postgres hard nproc 5000) sets postgres hard nproc to 5000 after "
        + OWN + "; pam_limits uses that, not the 65536 written here"]
    assert result.effective["postgres"]["nproc"] == "5000/5000"      # and clamps the soft one to it
    # an earlier user line is simply overridden by the collection's file
    files = [(CONF, ""), ("/etc/security/limits.d/10-site.conf", "postgres hard nproc 5000\n")]
    result = run_plan(files, asked(nofile=0, memlock=0))
    assert result.warnings == [] and result.effective["postgres"]["nproc"] == "65536/65536"


def test_plan_warns_when_pam_limits_is_off_for_the_user():
    files = [(CONF, "@postgres -\n")]
    result = run_plan(files, asked(nofile=0, memlock=0))
    assert result.warnings == ["/etc/security/limits.conf:1 (@postgres -) turns pam_limits off for postgres: "
                               "no limit from any file applies to its sessions"]
    assert result.effective["postgres"]["nproc"] == "62502/62502"


def test_plan_does_not_change_with_a_line_that_turns_pam_limits_off():
    files = [(CONF, "@postgres hard nofile 15000\n"), ("/etc/security/limits.d/90-site.conf", "postgres soft nproc 2000\n")]
    on = run_plan(files, asked(nofile=4096, nproc=16384, memlock=0))
    off = run_plan(files + [("/etc/security/limits.d/05-off.conf", "@postgres -\n")], asked(nofile=4096, nproc=16384, memlock=0))
    assert off.text == on.text
    assert written(off)[("postgres", "nofile", "hard")] == "15000"
    # sessions get nothing from the files while the line is there
    assert off.effective_before["postgres"]["nofile"] == off.effective["postgres"]["nofile"] == "1024/524288"
    assert off.warnings[0].startswith("/etc/security/limits.d/05-off.conf:1 (@postgres -) turns pam_limits off")


def test_plan_user_that_does_not_exist():
    result = run_plan([(CONF, "@postgres hard nofile 900000\n")], asked(users=("ghost",), nproc=0, memlock=0),
                      accounts={"ghost": NOBODY})
    assert written(result) == {("ghost", "nofile", "soft"): "65536", ("ghost", "nofile", "hard"): "524288"}


def test_plan_inherited_unknown_without_systemd():
    result = run_plan([(CONF, "")], asked(nproc=0, memlock=0), inherited={})
    assert written(result) == {("postgres", "nofile", "soft"): "65536", ("postgres", "nofile", "hard"): "65536"}
    assert result.effective_before["postgres"]["nofile"] == "?/?"
    assert result.results[0]["before"] is None


def test_describe():
    result = run_plan([(CONF, "")], asked(nproc=0, memlock=0))
    assert describe(result.results[1]) == (
        "postgres hard nofile = 524288 (not in the file; sessions had 524288 inherited from systemd "
        "DefaultLimitNOFILE=524288): asked 65536 (nofile); kept at 524288 inherited from systemd DefaultLimitNOFILE=524288")
    result = run_plan([(CONF, "* soft memlock 10\n")], asked(nofile=0, nproc=0), own_text=HEADER + "postgres soft memlock 100\n")
    assert describe(result.results[0]) == (
        "postgres soft memlock = 147456 KiB (was 100 KiB in the file; sessions had 100 KiB from " + OWN
        + ":6 (postgres soft memlock 100)): huge pages the clusters of postgres map: 147456 KiB (memlock auto)")


def test_entry_is_a_plain_tuple():
    assert Entry(CONF, 1, "*", "soft", "nofile", 1, "* soft nofile 1")._fields[0] == "path"
