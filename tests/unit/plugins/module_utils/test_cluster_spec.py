"""One cluster's settings validated into a ClusterSpec (module_utils/cluster_spec.py).

PostgreSQL defaults written out by hand: max_connections 100,
autovacuum_max_workers 3, max_worker_processes 8 (9.4+, the setting is new
there), max_wal_senders 0 before 10 and 10 from 10 on, shared_buffers 32MB in
9.2 and 128MB from 9.3, shared_memory_type mmap (12+), dynamic_shared_memory_type
posix where initdb finds shm_open (9.4+, docs/postgres-kernel-facts.md §1), huge_pages try (9.4+,
docs/postgres-kernel-facts.md §3), huge_page_size 0 (14+, docs/postgres-kernel-facts.md §3).
"""

import re

import pytest

from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import (
    ClusterError,
    cluster_argument_spec,
    cluster_spec,
)

MB = 1024 * 1024

# version: (max_connections, autovacuum_max_workers, max_worker_processes, max_wal_senders,
#           shared_buffers bytes, shared_memory_type, dynamic_shared_memory_type, huge_pages,
#           huge_page_size bytes, settings that were defaulted)
BASE = {"max_connections", "autovacuum_max_workers", "max_wal_senders", "shared_buffers"}
WITH_94 = BASE | {"max_worker_processes", "dynamic_shared_memory_type", "huge_pages"}
WITH_12 = WITH_94 | {"shared_memory_type"}
WITH_14 = WITH_12 | {"huge_page_size"}
DEFAULTS = {
    "9.2": (100, 3, None, 0, 32 * MB, None, None, None, 0, BASE),
    "9.3": (100, 3, None, 0, 128 * MB, None, None, None, 0, BASE),
    "9.4": (100, 3, 8, 0, 128 * MB, None, "posix", "try", 0, WITH_94),
    "9.5": (100, 3, 8, 0, 128 * MB, None, "posix", "try", 0, WITH_94),
    "9.6": (100, 3, 8, 0, 128 * MB, None, "posix", "try", 0, WITH_94),
    "10": (100, 3, 8, 10, 128 * MB, None, "posix", "try", 0, WITH_94),
    "11": (100, 3, 8, 10, 128 * MB, None, "posix", "try", 0, WITH_94),
    "12": (100, 3, 8, 10, 128 * MB, "mmap", "posix", "try", 0, WITH_12),
    "13": (100, 3, 8, 10, 128 * MB, "mmap", "posix", "try", 0, WITH_12),
    "14": (100, 3, 8, 10, 128 * MB, "mmap", "posix", "try", 0, WITH_14),
    "15": (100, 3, 8, 10, 128 * MB, "mmap", "posix", "try", 0, WITH_14),
    "16": (100, 3, 8, 10, 128 * MB, "mmap", "posix", "try", 0, WITH_14),
    "17": (100, 3, 8, 10, 128 * MB, "mmap", "posix", "try", 0, WITH_14),
    "18": (100, 3, 8, 10, 128 * MB, "mmap", "posix", "try", 0, WITH_14),
}


def fields(spec):
    return (spec.max_connections, spec.autovacuum_max_workers, spec.max_worker_processes, spec.max_wal_senders,
            spec.shared_buffers_bytes, spec.shared_memory_type, spec.dynamic_shared_memory_type, spec.huge_pages,
            spec.huge_page_size_bytes)


@pytest.mark.parametrize("version", sorted(DEFAULTS))
def test_defaults_per_version(version):
    spec = cluster_spec({"version": version}, 0)
    expected = DEFAULTS[version]
    assert fields(spec) == expected[:9]
    assert set(spec.defaulted) == expected[9]
    assert len(spec.defaulted) == len(set(spec.defaulted))
    assert spec.info.major == version
    assert spec.minor is None
    assert spec.shared_memory_size_mb is None
    assert spec.shared_memory_size_in_huge_pages is None
    assert spec.num_os_semaphores is None
    assert spec.name == "clusters[0]"


@pytest.mark.parametrize("version", sorted(DEFAULTS))
@pytest.mark.parametrize("blank", [None, ""])
def test_blank_settings_are_defaulted(version, blank):
    raw = {"version": version, "max_connections": blank, "shared_buffers": blank}
    spec = cluster_spec(raw, 0)
    assert spec.max_connections == 100
    assert "max_connections" in spec.defaulted and "shared_buffers" in spec.defaulted


def test_given_settings_are_not_defaulted():
    raw = {
        "version": "15.4", "max_connections": 200, "autovacuum_max_workers": "5", "max_worker_processes": " 16 ",
        "max_wal_senders": 0, "shared_buffers": "1GB", "shared_memory_type": "sysv",
        "dynamic_shared_memory_type": "sysv", "huge_pages": "off", "huge_page_size": "2MB",
        "shared_memory_size_mb": "1100", "shared_memory_size_in_huge_pages": -1, "num_os_semaphores": 0,
        "name": "main",
    }
    spec = cluster_spec(raw, 3)
    assert spec.defaulted == ()
    assert spec.minor == 4
    assert fields(spec) == (200, 5, 16, 0, 1024 * MB, "sysv", "sysv", "off", 2 * MB)
    assert spec.shared_memory_size_mb == 1100
    assert spec.shared_memory_size_in_huge_pages == -1
    assert spec.num_os_semaphores == 0
    assert spec.name == "main"


def test_partly_given_settings_list_only_the_missing_ones():
    spec = cluster_spec({"version": "9.6", "max_connections": 300, "shared_buffers": 16384}, 0)
    assert spec.max_connections == 300
    assert spec.shared_buffers_bytes == 16384 * 8192
    assert set(spec.defaulted) == WITH_94 - {"max_connections", "shared_buffers"}


@pytest.mark.parametrize(
    "raw, name",
    [
        ({"version": "15", "name": "pg15"}, "pg15"),
        ({"version": "15", "data_directory": "/var/lib/postgresql/15/main"}, "/var/lib/postgresql/15/main"),
        ({"version": "15", "name": "a", "data_directory": "/d"}, "a"),
        ({"version": "15"}, "clusters[7]"),
    ],
)
def test_name(raw, name):
    assert cluster_spec(raw, 7).name == name


@pytest.mark.parametrize("value, expected",
                         [(True, "on"), (False, "off"), ("on", "on"), ("off", "off"), ("try", "try")])
def test_huge_pages_yaml_booleans(value, expected):
    assert cluster_spec({"version": "16", "huge_pages": value}, 0).huge_pages == expected


@pytest.mark.parametrize("value", [8, "8", " 8 ", 0, "0"])
def test_counts_accept_whole_numbers(value):
    assert cluster_spec({"version": "16", "max_worker_processes": value}, 0).max_worker_processes == int(str(value))


COUNTS = ["max_connections", "autovacuum_max_workers", "max_worker_processes", "max_wal_senders"]


@pytest.mark.parametrize("setting", COUNTS)
@pytest.mark.parametrize("value", [-1, -100, "-1", 1.5, "1.5", "abc", True, False, [], {}, "1e3",
                                   "10 connections"])
def test_bad_counts_name_the_field(setting, value):
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": "16", setting: value}, 4)
    message = str(exc.value)
    assert message.startswith("clusters[4].%s" % setting)
    assert repr(value) in message


@pytest.mark.parametrize("setting", COUNTS)
def test_negative_counts_say_so(setting):
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": "16", setting: -3}, 0)
    assert "negative" in str(exc.value)


@pytest.mark.parametrize(
    "setting, value",
    [("shared_buffers", "128mb"), ("shared_buffers", "1 GiB"), ("shared_buffers", "-1"), ("shared_buffers", "12.5"),
     ("shared_buffers", True), ("huge_page_size", "2mb"), ("huge_page_size", "1 GiB"), ("huge_page_size", -1)],
)
def test_bad_sizes_name_the_field(setting, value):
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": "16", setting: value}, 1)
    message = str(exc.value)
    assert message.startswith("clusters[1].%s" % setting)
    assert repr(value) in message


@pytest.mark.parametrize(
    "setting, value",
    [("shared_memory_type", "posix"), ("shared_memory_type", "SYSV"), ("shared_memory_type", True),
     ("dynamic_shared_memory_type", "shm"), ("dynamic_shared_memory_type", "POSIX"),
     ("huge_pages", "yes"), ("huge_pages", "ON"), ("huge_pages", "true"), ("huge_pages", 1)],
)
def test_unknown_choices_name_the_field_and_the_choices(setting, value):
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": "16", setting: value}, 2)
    message = str(exc.value)
    assert message.startswith("clusters[2].%s" % setting)
    assert repr(value) in message
    choices = {"shared_memory_type": ("mmap", "sysv"), "dynamic_shared_memory_type": ("posix", "sysv", "mmap"),
               "huge_pages": ("try", "on", "off")}[setting]
    assert all(c in message for c in choices)


@pytest.mark.parametrize("version", ["9.2", "9.3", "9.4", "9.5", "9.6", "10", "11"])
@pytest.mark.parametrize("value", ["mmap", "sysv"])
def test_shared_memory_type_before_12_is_an_error(version, value):
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": version, "shared_memory_type": value}, 0)
    message = str(exc.value)
    assert message.startswith("clusters[0].shared_memory_type")
    assert version in message and "12" in message


@pytest.mark.parametrize("version", ["12", "13", "14", "15", "16", "17", "18"])
@pytest.mark.parametrize("value", ["mmap", "sysv"])
def test_shared_memory_type_from_12(version, value):
    assert cluster_spec({"version": version, "shared_memory_type": value}, 0).shared_memory_type == value


@pytest.mark.parametrize("raw", [{}, {"version": None}, {"version": ""}, {"max_connections": 100}])
def test_missing_version(raw):
    with pytest.raises(ClusterError) as exc:
        cluster_spec(raw, 6)
    assert str(exc.value).startswith("clusters[6].version")
    assert "missing" in str(exc.value)


@pytest.mark.parametrize("version", ["19", "9.1", "abc", "9", "15.1.2", 7.4])
def test_bad_version_names_the_field(version):
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": version}, 5)
    assert "clusters[5].version" in str(exc.value)


@pytest.mark.parametrize("raw", [None, [], ["version", "15"], "15", 15, ("version", "15")])
def test_non_mapping_input(raw):
    with pytest.raises(ClusterError) as exc:
        cluster_spec(raw, 9)
    message = str(exc.value)
    assert message.startswith("clusters[9]")
    assert "mapping" in message


@pytest.mark.parametrize(
    "setting, value",
    [("shared_memory_size_mb", -1), ("shared_memory_size_mb", "abc"), ("shared_memory_size_mb", True),
     ("shared_memory_size_mb", 1.5), ("shared_memory_size_in_huge_pages", -2),
     ("shared_memory_size_in_huge_pages", "x"), ("num_os_semaphores", -1), ("num_os_semaphores", "12.0")],
)
def test_bad_server_reported_numbers_name_the_field(setting, value):
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": "18", setting: value}, 0)
    assert str(exc.value).startswith("clusters[0].%s" % setting)


@pytest.mark.parametrize(
    "setting, value, expected",
    [("shared_memory_size_mb", "143", 143), ("shared_memory_size_mb", 0, 0),
     ("shared_memory_size_in_huge_pages", -1, -1), ("shared_memory_size_in_huge_pages", "-1", -1),
     ("shared_memory_size_in_huge_pages", 72, 72), ("num_os_semaphores", "131", 131)],
)
def test_server_reported_numbers(setting, value, expected):
    assert getattr(cluster_spec({"version": "18", setting: value}, 0), setting) == expected


def test_cluster_error_is_a_value_error():
    assert issubclass(ClusterError, ValueError)


@pytest.mark.parametrize("setting, value", [("shared_memory_size_mb", "--5"),
                                            ("shared_memory_size_in_huge_pages", "--1"),
                                            ("num_os_semaphores", "\u00b2"),
                                            ("max_connections", "\u00b2"),   # superscript two: isdigit() is True
                                            ("max_connections", "--5"),
                                            ("max_wal_senders", "\u0663"),    # Arabic-Indic three: int() takes it
                                            ("autovacuum_max_workers", "+3"),
                                            ("max_worker_processes", "1_000"),  # int() takes underscores
                                            ("shared_memory_size_mb", "\uff11\uff10"),  # fullwidth 10
                                            ("max_connections", "5-")])
def test_malformed_numbers_raise_cluster_error(setting, value):
    # counts and server-reported numbers are ASCII digits with an optional
    # leading '-'; anything else is a ClusterError naming the field, never a
    # bare ValueError from int()
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": "16", setting: value}, 0)
    message = str(exc.value)
    assert message.startswith("clusters[0].%s" % setting)
    assert repr(value) in message


# --- settings a version does not have (docs/postgres-kernel-facts.md §1, §3, §9) ---------------------

ALL_VERSIONS = ["9.2", "9.3", "9.4", "9.5", "9.6", "10", "11", "12", "13", "14", "15", "16", "17", "18"]
# setting: (first version, a valid value), typed in from the facts file
INTRODUCED = {
    "shared_memory_type": ("12", "mmap"),
    "dynamic_shared_memory_type": ("9.4", "posix"),
    "huge_pages": ("9.4", "try"),
    "huge_page_size": ("14", "2MB"),
}
TOO_OLD = [(setting, version) for setting, (first, dummy) in sorted(INTRODUCED.items())
           for version in ALL_VERSIONS[:ALL_VERSIONS.index(first)]]
NEW_ENOUGH = [(setting, version) for setting, (first, dummy) in sorted(INTRODUCED.items())
              for version in ALL_VERSIONS[ALL_VERSIONS.index(first):]]


@pytest.mark.parametrize("setting, version", TOO_OLD, ids=["%s-%s" % t for t in TOO_OLD])
def test_setting_before_its_version_is_refused(setting, version):
    first, value = INTRODUCED[setting]
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": version, setting: value}, 3)
    message = str(exc.value)
    assert message.startswith("clusters[3].%s" % setting)
    assert re.search(r"(?<![0-9.])%s(?![0-9])" % re.escape(version), message)   # the version given
    assert re.search(r"(?<![0-9.])%s(?![0-9])" % re.escape(first), message)     # the version that introduced it


@pytest.mark.parametrize("setting, version", TOO_OLD, ids=["%s-%s" % t for t in TOO_OLD])
@pytest.mark.parametrize("blank", [None, ""])
def test_blank_setting_before_its_version_is_no_error(setting, version, blank):
    spec = cluster_spec({"version": version, setting: blank}, 0)
    assert setting not in spec.defaulted


@pytest.mark.parametrize("setting, version", NEW_ENOUGH, ids=["%s-%s" % t for t in NEW_ENOUGH])
def test_setting_from_its_version_is_accepted(setting, version):
    value = INTRODUCED[setting][1]
    spec = cluster_spec({"version": version, setting: value}, 0)
    assert setting not in spec.defaulted


@pytest.mark.parametrize("version", ["9.2", "9.3"])
@pytest.mark.parametrize("value", [True, False, "off"])
def test_huge_pages_yaml_booleans_before_94_are_refused(version, value):
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": version, "huge_pages": value}, 0)
    assert str(exc.value).startswith("clusters[0].huge_pages")
    assert "9.4" in str(exc.value)


@pytest.mark.parametrize("version", ["12", "13", "14", "15", "16", "17", "18"])
@pytest.mark.parametrize("on", ["on", True])
def test_huge_pages_on_with_sysv_is_refused(version, on):
    # the server refuses to start with huge_pages=on and shared_memory_type=sysv (docs/postgres-kernel-facts.md §1)
    with pytest.raises(ClusterError) as exc:
        cluster_spec({"version": version, "shared_memory_type": "sysv", "huge_pages": on}, 2)
    message = str(exc.value)
    assert message.startswith("clusters[2].huge_pages")
    assert "sysv" in message and "on" in message


@pytest.mark.parametrize("version", ["12", "16"])
@pytest.mark.parametrize("smt, huge_pages", [("sysv", "try"), ("sysv", "off"), ("sysv", False), ("mmap", "on"),
                                             (None, "on")])
def test_huge_pages_with_shared_memory_type_that_start(version, smt, huge_pages):
    raw = {"version": version, "huge_pages": huge_pages}
    if smt is not None:
        raw["shared_memory_type"] = smt
    spec = cluster_spec(raw, 0)
    assert spec.huge_pages == {False: "off"}.get(huge_pages, huge_pages)
    assert spec.shared_memory_type == (smt or "mmap")


def test_cluster_argument_spec_declared_only_requires_the_data_directory():
    spec = cluster_argument_spec(declared_only=True)
    assert spec["options"]["data_directory"]["required"] is True
    assert "running" not in spec["options"]


def test_cluster_argument_spec_for_reported_clusters_requires_nothing():
    spec = cluster_argument_spec(required=True)
    assert spec["required"] is True
    assert not any(entry.get("required") for entry in spec["options"].values())
    assert spec["options"]["errors"] == {"type": "list", "elements": "str"}


def test_cluster_argument_spec_entries_are_fresh_copies():
    cluster_argument_spec(declared_only=True)["options"]["name"]["required"] = True
    assert "required" not in cluster_argument_spec()["options"]["name"]
    assert "required" not in cluster_argument_spec()["options"]["data_directory"]
