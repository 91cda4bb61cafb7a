# -*- coding: utf-8 -*-
"""systemd drop-ins for PostgreSQL units (module_utils/service_units.py).

docs/postgres-kernel-facts.md §4: the postmaster shielded with OOMScoreAdjust, PG_OOM_ADJUST_FILE and
PG_OOM_ADJUST_VALUE so each child resets its own score; docs/postgres-kernel-facts.md §5: RemoveIPC
spares system users; docs/postgres-kernel-facts.md §6: SIGINT is the fast shutdown. Unit texts are
the recorded ones in tests/unit/fixtures/systemd.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils import service_units as su
from ansible_collections.pghost.hardening.plugins.module_utils.host_limits import parse_proc_limits

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "systemd")
INF = su.INFINITY
MANAGER = {"nofile": (1024, 524288), "nproc": (32768, 32768), "memlock": (8388608, 8388608)}


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


# ---------------------------------------------------------------- value syntax


@pytest.mark.parametrize("text, seconds", [
    ("1h", 3600), ("3600", 3600), ("90s", 90), ("5min 20s", 320), ("2h30min", 9000), ("1d", 86400),
    ("500ms", 0.5), ("infinity", INF), ("1w", 604800),
])
def test_parse_timespan(text, seconds):
    assert su.parse_timespan(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "1 fortnight", "-5s", "h"])
def test_parse_timespan_rejects(text):
    with pytest.raises(su.UnitValueError):
        su.parse_timespan(text)


@pytest.mark.parametrize("text, sizes, pair", [
    ("65536", False, (65536, 65536)),
    ("1024:524288", False, (1024, 524288)),
    ("infinity", False, (INF, INF)),
    ("8M", True, (8388608, 8388608)),
    ("64K:infinity", True, (65536, INF)),
])
def test_parse_limit(text, sizes, pair):
    assert su.parse_limit(text, sizes) == pair


@pytest.mark.parametrize("text, sizes", [("lots", False), ("-1", False), ("8M", False), ("1:2:3", False)])
def test_parse_limit_rejects(text, sizes):
    with pytest.raises(su.UnitValueError):
        su.parse_limit(text, sizes)


def test_render_limit():
    assert su.render_limit((65536, INF)) == "65536:infinity"


def test_parse_environ():
    raw = b"PATH=/bin\0PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj\0EMPTY=\0junk\0"
    assert su.parse_environ(raw) == {"PATH": "/bin", "PG_OOM_ADJUST_FILE": "/proc/self/oom_score_adj", "EMPTY": ""}


# ---------------------------------------------------------------- what the unit has


def test_baseline_debian_template():
    base = su.unit_baseline([fixture("postgresql@.service")], MANAGER)
    assert base["limits"] == MANAGER  # the unit sets none: systemd's defaults
    assert base["timeout_stop"] == 3600
    assert base["oom_score_adjust"] == -900
    assert su.uses_pg_ctlcluster(base["exec_start"])


def test_baseline_pgdg_unit():
    base = su.unit_baseline([fixture("postgresql-16.service")], MANAGER)
    assert base["timeout_stop"] == 3600  # TimeoutStopSec=1h after TimeoutSec=0
    assert base["oom_score_adjust"] == -1000
    assert not su.uses_pg_ctlcluster(base["exec_start"])


def test_baseline_dropins_override_in_order_and_empty_resets():
    texts = [fixture("postgresql@.service"),
             "[Service]\nLimitNOFILE=200000\nLimitMEMLOCK=64M\nTimeoutStopSec=infinity\n",
             "[Service]\nLimitMEMLOCK=\n"]
    base = su.unit_baseline(texts, MANAGER)
    assert base["limits"]["nofile"] == (200000, 200000)
    assert base["limits"]["memlock"] == MANAGER["memlock"]
    assert base["timeout_stop"] == INF


# ---------------------------------------------------------------- what to write


@pytest.mark.parametrize("want, base, pair", [
    (65536, (1024, 524288), (65536, 524288)),    # soft raised, the higher hard kept
    (65536, (100000, 200000), (100000, 200000)),  # never lowered
    (65536, None, (65536, 65536)),
    (65536, (1024, 4096), (65536, 65536)),        # hard never below soft
    (INF, (1024, 4096), (INF, INF)),
    (65536, (INF, INF), (INF, INF)),
])
def test_raised(want, base, pair):
    assert su.raised(want, base) == pair


def test_oom_dropin_plain_unit_sets_environment():
    text = su.oom_dropin(-1000, 0, ["/usr/pgsql-16/bin/postmaster -D ${PGDATA}"])
    assert su.dropin_settings(text) == [
        ("OOMScoreAdjust", "-1000"),
        ("OOMPolicy", "continue"),
        ("Environment", "PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj"),
        ("Environment", "PG_OOM_ADJUST_VALUE=0")]


@pytest.mark.parametrize("policy, line, comment", [
    ("continue", "OOMPolicy=continue", True),
    ("stop", "OOMPolicy=stop", False),
    ("kill", "OOMPolicy=kill", False),
    (None, None, False),
])
def test_oom_dropin_policy(policy, line, comment):
    text = su.oom_dropin(-1000, 0, ["/usr/lib/postgresql/15/bin/postgres -D /srv/pg"], policy=policy)
    settings = ["%s=%s" % kv for kv in su.dropin_settings(text)]
    assert [s for s in settings if s.startswith("OOMPolicy=")] == ([line] if line else [])
    # The reason is written where a reader of the unit finds it.
    assert ("systemd's default (stop) would stop the whole service" in text) is comment


def test_oom_dropin_pg_ctlcluster_unit_puts_the_score_back_and_no_environment():
    base = su.unit_baseline([fixture("postgresql@.service")], MANAGER)
    text = su.oom_dropin(-1000, 0, base["exec_start"], "/etc/postgresql/15/main/environment")
    settings = su.dropin_settings(text)
    assert ("OOMScoreAdjust", "-1000") in settings
    assert ("ExecStartPost", "-/bin/sh -c 'echo -1000 > /proc/$MAINPID/oom_score_adj'") in settings
    assert not [k for k, v in settings if k == "Environment"]
    assert "/etc/postgresql/15/main/environment" in text


def test_env_block_appended_then_replaced_in_place():
    original = fixture("debian-environment")
    first = su.env_block(original, 0)
    assert first.startswith(original)
    assert first[len(original):] == (su.ENV_BEGIN + "\nPG_OOM_ADJUST_FILE = '/proc/self/oom_score_adj'\n"
                                     "PG_OOM_ADJUST_VALUE = '0'\n" + su.ENV_END + "\n")
    assert su.env_block(first, 0) == first  # idempotent
    user_line = first + "LANG = 'C.UTF-8'\n"
    second = su.env_block(user_line, 500)
    assert "LANG = 'C.UTF-8'\n" in second
    assert "PG_OOM_ADJUST_VALUE = '500'" in second and "'0'" not in second
    assert second.count(su.ENV_BEGIN) == 1


def test_env_block_without_newline_at_end():
    assert su.env_block("A = b", 0).startswith("A = b\n" + su.ENV_BEGIN)


def test_env_block_unterminated_is_refused():
    with pytest.raises(su.UnitValueError, match="has no"):
        su.env_block(su.ENV_BEGIN + "\nPG_OOM_ADJUST_VALUE = '0'\n", 0)


@pytest.mark.parametrize("want, base, line", [
    (3600, 3600, "TimeoutStopSec=3600s"),
    (3600, None, "TimeoutStopSec=3600s"),
    (3600, 7200, "TimeoutStopSec=7200s"),   # the unit's longer wait is kept
    (3600, INF, "TimeoutStopSec=infinity"),
    (3600, 90, "TimeoutStopSec=3600s"),
])
def test_shutdown_dropin(want, base, line):
    text = su.shutdown_dropin(want, base)
    assert "KillMode=mixed\n" in text and "KillSignal=SIGINT\n" in text
    assert line + "\n" in text


def test_limits_dropin_from_debian_baseline():
    values = su.limits_values({"nofile": 65536, "nproc": 65536, "memlock": None}, MANAGER)
    assert values == {"nofile": (65536, 524288), "nproc": (65536, 65536)}
    text = su.limits_dropin(values, ["why"])
    assert su.dropin_settings(text) == [("LimitNOFILE", "65536:524288"), ("LimitNPROC", "65536:65536")]
    assert "# why\n" in text


def test_changed_settings():
    before = "[Service]\nKillMode=mixed\nKillSignal=SIGTERM\n"
    after = "[Service]\nKillMode=mixed\nKillSignal=SIGINT\n"
    assert su.changed_settings(before, after) == ["KillSignal=SIGINT"]
    assert su.changed_settings(after, after) == []


# ---------------------------------------------------------------- live comparison


def test_expected_live_clamped_to_pid1_hard_limit():
    assert su.expected_live((65536, 524288), (20000, 20000)) == (20000, 20000)
    assert su.expected_live((65536, 524288), None) == (65536, 524288)
    assert su.clamped({"nofile": (65536, 524288), "nproc": (100, 100)},
                      {"nofile": (20000, 20000), "nproc": (32768, 32768)}) == {
        "nofile": ("65536:524288", "20000:20000")}


def test_restart_reasons_debian_postmaster_before_the_role():
    live_limits = parse_proc_limits(fixture("proc-limits-postmaster"))
    caps = parse_proc_limits(fixture("proc-limits-pid1"))
    environ = {"PG_OOM_ADJUST_FILE": "/proc/self/oom_score_adj"}  # what pg_ctlcluster exports on its own
    reasons = su.restart_reasons(True, 0, {"nofile": (65536, 524288)}, environ, live_limits, caps, "ENVFILE")
    assert reasons == [
        "running postmaster has PG_OOM_ADJUST_VALUE=(unset), ENVFILE gives 0",
        "running postmaster has LimitNOFILE 1024:20000, 60-pghost-limits.conf gives 20000:20000"]


def test_restart_not_needed_when_the_postmaster_has_everything_the_host_can_grant():
    caps = parse_proc_limits(fixture("proc-limits-pid1"))
    environ = {"PG_OOM_ADJUST_FILE": "/proc/self/oom_score_adj", "PG_OOM_ADJUST_VALUE": "0"}
    live_limits = {"nofile": (20000, 20000), "nproc": (32768, 32768)}
    assert su.restart_reasons(True, 0, {"nofile": (65536, 524288), "nproc": (65536, 65536)}, environ,
                              live_limits, caps) == []


def test_restart_reasons_ignore_oom_when_not_managed():
    assert su.restart_reasons(False, 0, {}, {}, {}, {}) == []


# A real host (Debian 12, 2 GiB VM): PID 1's `Max processes` is the kernel's
# boot default, 7719 here, and systemd's DefaultLimitNPROC follows it; PID 1
# has CAP_SYS_RESOURCE, so a unit gets LimitNPROC=65536 in full.
REAL_PID1_LIMITS = {"nofile": (1024, 524288), "nproc": (7719, 7719), "memlock": (8388608, 8388608)}
ENV_OK = {"PG_OOM_ADJUST_FILE": "/proc/self/oom_score_adj", "PG_OOM_ADJUST_VALUE": "0"}


def test_pid1_caps_only_without_cap_sys_resource():
    assert su.pid1_caps(REAL_PID1_LIMITS, True) == {}
    assert su.pid1_caps(REAL_PID1_LIMITS, False) == REAL_PID1_LIMITS


def test_restarted_postmaster_on_a_real_host_is_not_pending():
    """Issue 11: the unit gives 65536:65536, the restarted postmaster has it; PID 1's 7719 is no cap."""
    unit = {"nproc": (65536, 65536), "nofile": (65536, 524288)}
    live = {"nproc": (65536, 65536), "nofile": (65536, 524288)}
    caps = su.pid1_caps(REAL_PID1_LIMITS, True)
    assert su.restart_reasons(True, 0, unit, ENV_OK, live, caps, score=-1000, live_score=-1000) == []
    # The verdict before the fix: PID 1's limit taken as a cap, so a restart never satisfies it.
    assert su.restart_reasons(True, 0, unit, ENV_OK, live, REAL_PID1_LIMITS, limits_source="X") == [
        "running postmaster has LimitNPROC 65536:65536, X gives 7719:7719"]


def test_postmaster_started_before_the_dropin_on_a_real_host_is_pending():
    # Started with systemd's default 7719: equal to PID 1's limit, still pending.
    unit = {"nproc": (65536, 65536)}
    live = {"nproc": (7719, 7719)}
    assert su.restart_reasons(True, 0, unit, ENV_OK, live, {}, limits_source="unit U") == [
        "running postmaster has LimitNPROC 7719:7719, unit U gives 65536:65536"]


@pytest.mark.parametrize("score, live, can_lower, pending", [
    (-1000, -900, True, True),    # Debian's pg_ctlcluster score before the role's restart
    (-1000, -1000, True, False),
    (-1000, 0, False, False),     # a container refuses negative scores: not pending forever
    (100, 0, False, True),        # raising is allowed everywhere
    (-1000, None, True, False),   # unreadable
])
def test_restart_reasons_postmaster_score(score, live, can_lower, pending):
    reasons = su.restart_reasons(True, 0, {}, ENV_OK, {}, {}, score=score, live_score=live,
                                 can_lower_score=can_lower)
    assert bool(reasons) is pending
    if pending:
        assert reasons == ["running postmaster has oom_score_adj %d, 60-pghost-oom.conf gives %d" % (live, score)]


def test_overridden_names_a_later_dropin():
    written = {"nproc": (65536, 65536), "nofile": (65536, 524288)}
    effective = {"nproc": (4096, 4096), "nofile": (65536, 524288)}
    assert su.overridden(written, effective) == [
        "LimitNPROC: 60-pghost-limits.conf writes 65536:65536, the unit gives 4096:4096 (a later drop-in overrides it)"]
    assert su.overridden(written, written) == []


@pytest.mark.parametrize("text, version", [
    ("252.39-1~deb12u1", 252), ("257.9-1~deb13u1", 257), ("239 (239-78.el8)", 239), ("", None), (None, None),
])
def test_systemd_version(text, version):
    assert su.systemd_version(text) == version


# ---------------------------------------------------------------- logind


# --- never lower: the unit's own Limit*= and TimeoutStopSec= are floors -------------

PROPERTY = settings(max_examples=200, deadline=None, database=None)
RLIMIT = st.one_of(st.integers(0, 2 ** 40), st.just(INF))
STOP_TIMEOUTS = st.sampled_from(["infinity", "90", "5min", "1h 30min", "7200s", "2d"])


def limit_value_text(value, sizes):
    if value == INF:
        return "infinity"
    if sizes and value and value % 1024 == 0:
        return "%dK" % (value // 1024)
    return "%d" % value


def limit_text(pair, sizes):
    soft, hard = sorted(pair)
    return "%s:%s" % (limit_value_text(soft, sizes), limit_value_text(hard, sizes))


@st.composite
def unit_files(draw):
    """The unit file and its drop-ins, each setting some of the keys we write."""
    texts = []
    for dummy in range(draw(st.integers(1, 3))):
        lines = ["[Service]"]
        for name, key, dummy2 in su.LIMITS:
            if draw(st.booleans()):
                lines.append("%s=%s" % (key, limit_text((draw(RLIMIT), draw(RLIMIT)), name == "memlock")))
        if draw(st.booleans()):
            lines.append("TimeoutStopSec=%s" % draw(STOP_TIMEOUTS))
        texts.append("\n".join(lines) + "\n")
    return texts


@PROPERTY
@given(unit_files(), st.fixed_dictionaries({name: st.integers(1, 2 ** 31) for name, dummy, dummy2 in su.LIMITS}),
       st.integers(1, 100000))
def test_property_dropins_never_lower_the_units_own_limits_or_stop_timeout(texts, wanted, timeout_want):
    base = su.unit_baseline(texts, MANAGER)
    written = dict((key, value) for section, key, value in su.parse_systemd_ini(
        su.limits_dropin(su.limits_values(wanted, base["limits"]), []) + su.shutdown_dropin(
            timeout_want, base["timeout_stop"])) if section == "Service")
    for name, key, dummy in su.LIMITS:
        soft, hard = su.parse_limit(written[key], sizes=True)
        base_soft, base_hard = base["limits"][name]
        assert soft >= max(wanted[name], base_soft) and hard >= max(wanted[name], base_hard) and soft <= hard, (
            key, written[key], base["limits"][name], wanted[name])
    stop = su.parse_timespan(written["TimeoutStopSec"])
    assert stop >= timeout_want and (base["timeout_stop"] is None or stop >= base["timeout_stop"]), (
        written["TimeoutStopSec"], base["timeout_stop"])
