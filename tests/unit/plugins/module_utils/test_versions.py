"""The version table (module_utils/versions.py) against the facts file.

TABLE below is typed in from docs/postgres-kernel-facts.md, not derived from the
module:
  §1  main area in SysV up to 9.2; 12+ has shared_memory_type; dynamic shared
      memory (dynamic_shared_memory_type) from 9.4; SysV key from inode 13+
  §2  SysV semaphores on Linux/FreeBSD up to 9.6 (POSIX from 10);
      max_worker_processes in the formula from 9.4, max_wal_senders from 12;
      N = 5 (9.2-13), 6 (14-16), 7 (17), ask the server (18)
  §3/§9  huge_pages 9.4, huge_page_size 14, shared_memory_size(_in_huge_pages) 15,
      num_os_semaphores 18
  §4/§9  PG_OOM_ADJUST_FILE/VALUE 9.5
  §7  fsync PANIC from 9.4.21, 9.5.16, 9.6.12, 10.7, 11.2; none before 9.4;
      later majors always
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.pghost.hardening.plugins.module_utils.versions import (
    VERSIONS,
    VersionError,
    fsync_fixed_majors,
    fsync_fixed_release,
    fsync_panics,
    has_data_sync_retry,
    parse_server_version,
    parse_version,
    server_defaults,
)

T, F = True, False

COLUMNS = (
    "main_area_in_sysv", "has_shared_memory_type", "has_dsm_type", "sysv_semaphores",
    "sem_counts_worker_processes", "sem_counts_wal_senders", "sem_constant",
    "has_huge_pages", "has_huge_page_size", "fsync_panic_minor",
)

# Typed in from the facts file; parsed below (T/F = True/False, None, numbers).
TABLE_TEXT = """
major  sysv  smt  dsm  sysvsem  wrk  wal  N     huge  hps  fsync
9.2    T     F    F    T        F    F    5     F     F    None
9.3    F     F    F    T        F    F    5     F     F    None
9.4    F     F    T    T        T    F    5     T     F    21
9.5    F     F    T    T        T    F    5     T     F    16
9.6    F     F    T    T        T    F    5     T     F    12
10     F     F    T    F        T    F    5     T     F    7
11     F     F    T    F        T    F    5     T     F    2
12     F     T    T    F        T    T    5     T     F    0
13     F     T    T    F        T    T    5     T     F    0
14     F     T    T    F        T    T    6     T     T    0
15     F     T    T    F        T    T    6     T     T    0
16     F     T    T    F        T    T    6     T     T    0
17     F     T    T    F        T    T    7     T     T    0
18     F     T    T    F        T    T    None  T     T    0
"""


def _cell(text):
    if text in ("T", "F"):
        return text == "T"
    if text == "None":
        return None
    return int(text)


def _parse_table(text):
    rows = [line.split() for line in text.strip().splitlines()]
    header, body = rows[0], rows[1:]
    assert len(header) == len(COLUMNS) + 1
    for row in body:
        assert len(row) == len(header), row
    return dict((row[0], tuple(_cell(c) for c in row[1:])) for row in body)


TABLE = _parse_table(TABLE_TEXT)
KEYS = {
    "9.2": (9, 2), "9.3": (9, 3), "9.4": (9, 4), "9.5": (9, 5), "9.6": (9, 6),
    "10": (10,), "11": (11,), "12": (12,), "13": (13,), "14": (14,), "15": (15,), "16": (16,), "17": (17,),
    "18": (18,),
}

CELLS = [(major, column, TABLE[major][i]) for major in TABLE for i, column in enumerate(COLUMNS)]


def test_supported_majors_are_exactly_the_table():
    assert set(VERSIONS) == set(TABLE)


@pytest.mark.parametrize("major, column, expected", CELLS, ids=["%s-%s" % (m, c) for m, c, dummy in CELLS])
def test_every_cell(major, column, expected):
    assert getattr(VERSIONS[major], column) == expected


@pytest.mark.parametrize("major", sorted(TABLE))
def test_row_identity(major):
    row = VERSIONS[major]
    assert row.major == major
    assert row.key == KEYS[major]


@pytest.mark.parametrize("major", sorted(TABLE))
def test_parse_returns_the_table_row(major):
    info, minor = parse_version(major)
    assert info.major == major
    assert minor is None
    assert tuple(getattr(info, c) for c in COLUMNS) == TABLE[major]


@pytest.mark.parametrize(
    "value, major, minor",
    [
        ("15", "15", None),
        ("15.4", "15", 4),
        (15, "15", None),
        (9.6, "9.6", None),
        ("9.6", "9.6", None),
        ("9.6.24", "9.6", 24),
        ("17.2", "17", 2),
        ("9.2", "9.2", None),
        ("9.2.24", "9.2", 24),
        ("9.4.26", "9.4", 26),
        (10, "10", None),
        ("10.23", "10", 23),
        ("18", "18", None),
        ("18.0", "18", 0),
        (" 16 ", "16", None),
        ("12.22", "12", 22),
        (9.3, "9.3", None),
    ],
)
def test_parse_version(value, major, minor):
    info, got_minor = parse_version(value)
    assert info.major == major
    assert info.key == KEYS[major]
    assert got_minor == minor


@pytest.mark.parametrize(
    "value",
    ["abc", "7.4", "9.1", "19", "9", "15.1.2", "", "8.4.22", "9.7", "20.1", "1", "15.", ".15", "v15", "15beta1",
     "9.6.24.1", None, "9,6", "15 4", "-15"],
)
def test_parse_version_errors_name_the_field(value):
    with pytest.raises(VersionError) as exc:
        parse_version(value, name="clusters[2].version")
    assert "clusters[2].version" in str(exc.value)


@pytest.mark.parametrize("value, shown", [("7.4", "7.4"), ("9.1", "9.1"), ("19", "19"), ("8.4.22", "8.4")])
def test_unsupported_versions_name_the_version_and_the_range(value, shown):
    with pytest.raises(VersionError) as exc:
        parse_version(value, name="version")
    message = str(exc.value)
    assert shown in message
    assert "9.2" in message and "18" in message


@pytest.mark.parametrize("value", ["abc", "", "15.1.2", "9"])
def test_malformed_versions_name_the_value(value):
    with pytest.raises(VersionError) as exc:
        parse_version(value, name="version")
    assert repr(value) in str(exc.value)


def test_version_error_is_a_value_error():
    assert issubclass(VersionError, ValueError)


@settings(max_examples=200, deadline=None, database=None)
@given(first=st.integers(min_value=0, max_value=40), second=st.one_of(st.none(), st.integers(0, 40)),
       third=st.one_of(st.none(), st.integers(0, 40)))
def test_parse_version_property(first, second, third):
    parts = [first] + [p for p in (second, third) if p is not None]
    if second is None and third is not None:
        parts = [first, third]
    text = ".".join(str(p) for p in parts)
    if first < 10:
        major = "%d.%d" % (first, parts[1]) if len(parts) > 1 else None
        minor = parts[2] if len(parts) > 2 else None
    else:
        major = str(first) if len(parts) < 3 else None
        minor = parts[1] if len(parts) > 1 else None
    if major in TABLE:
        info, got_minor = parse_version(text)
        assert (info.major, got_minor) == (major, minor)
    else:
        with pytest.raises(VersionError) as exc:
            parse_version(text, name="f")
        assert str(exc.value).startswith("f:")


# PostgreSQL's defaults per release, typed in from its release notes and
# docs: (key, shared_buffers, max_wal_senders, max_worker_processes,
# shared_memory_type, huge_page_size).
DEFAULTS = [
    ((9, 2), "32MB", 0, None, None, None),
    ((9, 3), "128MB", 0, None, None, None),
    ((9, 4), "128MB", 0, 8, None, None),
    ((10,), "128MB", 10, 8, None, None),
    ((12,), "128MB", 10, 8, "mmap", None),
    ((14,), "128MB", 10, 8, "mmap", "0"),
]


@pytest.mark.parametrize("key, shared_buffers, wal_senders, workers, shm_type, hp_size", DEFAULTS)
def test_server_defaults(key, shared_buffers, wal_senders, workers, shm_type, hp_size):
    got = server_defaults(key)
    assert (got["shared_buffers"], got["max_wal_senders"], got["max_worker_processes"],
            got["shared_memory_type"], got["huge_page_size"]) == (shared_buffers, wal_senders, workers, shm_type, hp_size)


# docs/postgres-kernel-facts.md §7, typed in: the boundaries of each patched
# branch, the majors that always have the fix and those that never do.
@pytest.mark.parametrize("release, panics", [
    ("9.4.20", False), ("9.4.21", True),
    ("9.5.15", False), ("9.5.16", True),
    ("9.6.11", False), ("9.6.12", True), ("9.6.24", True),
    ("10.6", False), ("10.7", True),
    ("11.1", False), ("11.2", True),
    ("12.0", True), ("13.0", True), ("17.2", True), ("18.0", True),
    ("9.3.25", False), ("9.2.24", False), ("9.3", False),
    ("9.6", None), ("11", None), ("12", True),
])
def test_fsync_panics(release, panics):
    info, minor = parse_version(release)
    assert fsync_panics(info, minor) is panics


# data_sync_retry came with the fix, in the same minors (docs/postgres-kernel-facts.md §7, §7a).
@pytest.mark.parametrize("release, has", [
    ("9.4.20", False), ("9.4.21", True), ("9.5.15", False), ("9.5.16", True),
    ("9.6.11", False), ("9.6.12", True), ("10.6", False), ("10.7", True),
    ("11.1", False), ("11.2", True), ("12.0", True), ("18.1", True),
    ("9.3.25", False), ("9.2", False), ("10", None), ("16", True),
])
def test_has_data_sync_retry(release, has):
    info, minor = parse_version(release)
    assert has_data_sync_retry(info, minor) is has


@pytest.mark.parametrize("major, release", [
    ("9.2", None), ("9.3", None), ("9.4", "9.4.21"), ("9.5", "9.5.16"), ("9.6", "9.6.12"),
    ("10", "10.7"), ("11", "11.2"), ("12", "12.0"), ("18", "18.0"),
])
def test_fsync_fixed_release(major, release):
    assert fsync_fixed_release(VERSIONS[major]) == release


def test_fsync_fixed_majors_names_each_patched_release_and_the_first_whole_major():
    assert fsync_fixed_majors() == "9.4.21, 9.5.16, 9.6.12, 10.7, 11.2, every release from 12"


@pytest.mark.parametrize("text, major, minor", [
    ("15.4 (Debian 15.4-2.pgdg120+1)", "15", 4),
    ("9.6.24", "9.6", 24),
    ("17.2", "17", 2),
    ("16beta1", "16", None),
    (" 10.6 ", "10", 6),
])
def test_parse_server_version(text, major, minor):
    info, found = parse_server_version(text)
    assert (info.major, found) == (major, minor)


@pytest.mark.parametrize("text", ["", None, "PostgreSQL 15", "8.4.22", "99.1"])
def test_parse_server_version_refuses_what_is_not_a_supported_release(text):
    with pytest.raises(VersionError):
        parse_server_version(text)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(VERSIONS)), st.integers(min_value=0, max_value=40))
def test_fsync_fix_stays_in_later_minors(major, minor):
    # Once a minor has the fix, every later minor of the branch has it (docs/postgres-kernel-facts.md §7).
    info = VERSIONS[major]
    if fsync_panics(info, minor):
        assert fsync_panics(info, minor + 1)
    fixed = fsync_fixed_release(info)
    assert fsync_panics(info, minor) is (fixed is not None and minor >= int(fixed.rsplit(".", 1)[1]))
