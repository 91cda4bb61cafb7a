# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate one cluster's settings (as pg_host_facts reports them or a user
declares them) into the typed form the formulas use.

Missing settings fall back to PostgreSQL's own defaults for that version and
are listed in `defaulted`, so every reason line can say where a number came
from. Errors name the field (clusters[N].setting), the value and what is
accepted.

cluster_argument_spec() is the `clusters` entry of every module that takes
clusters, so each validates the items with the same suboptions
(documented once, in the doc fragment pghost.hardening.clusters).
"""

from __future__ import annotations

import re
from collections import namedtuple

from ansible_collections.pghost.hardening.plugins.module_utils.units import UnitError, pg_size_bytes
from ansible_collections.pghost.hardening.plugins.module_utils.versions import VersionError, parse_version, server_defaults

ClusterSpec = namedtuple(
    "ClusterSpec",
    [
        "name", "info", "minor",
        "max_connections", "autovacuum_max_workers", "max_worker_processes", "max_wal_senders",
        "shared_buffers_bytes", "shared_memory_type", "dynamic_shared_memory_type",
        "huge_pages", "huge_page_size_bytes",
        "shared_memory_size_mb", "shared_memory_size_in_huge_pages", "num_os_semaphores",
        "defaulted",
    ],
)


# What a user may declare in pghost_clusters (pg_host_facts' input).
DECLARED_OPTIONS = dict(
    data_directory=dict(type="path"),
    name=dict(type="str"),
    version=dict(type="str"),
    unit=dict(type="str"),
    owner=dict(type="str"),
    port=dict(type="int"),
    config_dir=dict(type="path"),
    max_connections=dict(type="int"),
    autovacuum_max_workers=dict(type="int"),
    max_worker_processes=dict(type="int"),
    max_wal_senders=dict(type="int"),
    shared_buffers=dict(type="str"),
    shared_memory_type=dict(type="str"),
    dynamic_shared_memory_type=dict(type="str"),
    huge_pages=dict(type="str"),
    huge_page_size=dict(type="str"),
    shared_memory_size_mb=dict(type="int"),
    shared_memory_size_in_huge_pages=dict(type="int"),
    num_os_semaphores=dict(type="int"),
)

# What pg_host_facts adds when it reports a cluster (cluster_discovery's
# CLUSTER_KEYS): the modules fed pghost_clusters_found must accept them,
# since suboptions refuse a key they do not list.
REPORTED_OPTIONS = dict(
    config_file=dict(type="str"),
    rc_name=dict(type="str"),
    running=dict(type="bool"),
    pid=dict(type="int"),
    settings_source=dict(type="str"),
    server_version=dict(type="str"),
    data_sync_retry=dict(type="str"),
    oom_protection=dict(type="dict"),
    login_class=dict(type="dict"),
    errors=dict(type="list", elements="str"),
)


def cluster_argument_spec(declared_only=False, **entry):
    """The argument_spec entry of a `clusters` option, with suboptions.

    declared_only: only what a user declares, data_directory required
    (pg_host_facts, which reads the rest); else also every key pg_host_facts
    reports, none required (modules fed pghost_clusters_found or
    pghost_clusters). entry: the list's own keys, such as required=True or
    default=[].
    """
    options = dict((key, dict(spec)) for key, spec in DECLARED_OPTIONS.items())
    if declared_only:
        options["data_directory"]["required"] = True
    else:
        options.update((key, dict(spec)) for key, spec in REPORTED_OPTIONS.items())
    return dict(type="list", elements="dict", options=options, **entry)


class ClusterError(ValueError):
    """Bad input for one cluster; the message names the field."""


SHARED_MEMORY_TYPES = ("mmap", "sysv", "windows")
DSM_TYPES = ("posix", "sysv", "mmap", "windows", "none")
HUGE_PAGES = ("try", "on", "off")


_WHOLE = re.compile(r"^\s*-?[0-9]+\s*$")


def whole_number(value):
    """int(value) for an int or a plain decimal string, else None (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _WHOLE.match(value):
        return int(value)
    return None


def _count(field, value):
    number = whole_number(value)
    if number is None:
        raise ClusterError("%s: %r is not a count; expected a whole number 0 or more" % (field, value))
    if number < 0:
        raise ClusterError("%s: %r is negative; expected a whole number 0 or more" % (field, value))
    return number


def _optional_int(field, value, minimum):
    if value is None:
        return None
    number = whole_number(value)
    if number is None:
        raise ClusterError("%s: %r is not a whole number; expected %d or more" % (field, value, minimum))
    if number < minimum:
        raise ClusterError("%s: %r is below %d; expected %d or more" % (field, value, minimum, minimum))
    return number


def _choice(field, value, choices):
    if value not in choices:
        raise ClusterError("%s: %r is not one of %s" % (field, value, ", ".join(choices)))
    return value


def cluster_spec(raw, index):
    """ClusterSpec from a mapping; `index` names it in errors (clusters[index])."""
    where = "clusters[%d]" % index
    if not isinstance(raw, dict):
        raise ClusterError("%s: %r is not a mapping of settings" % (where, raw))
    if raw.get("version") in (None, ""):
        raise ClusterError("%s.version: missing; give the PostgreSQL major version, e.g. '15'" % where)
    try:
        info, minor = parse_version(raw["version"], name=where + ".version")
    except VersionError as exc:
        raise ClusterError(str(exc))

    defaults = server_defaults(info.key)
    defaulted = []

    def pick(setting):
        value = raw.get(setting)
        if value is None or value == "":
            if defaults.get(setting) is not None:
                defaulted.append(setting)
            return defaults.get(setting)
        return value

    counts = {}
    for setting in ("max_connections", "autovacuum_max_workers", "max_worker_processes", "max_wal_senders"):
        value = pick(setting)
        counts[setting] = None if value is None else _count("%s.%s" % (where, setting), value)

    # A setting the version does not have is a mistake in the input, not
    # something to size for (docs/postgres-kernel-facts.md §9 lists when each appeared).
    for setting, present, since in (
        ("shared_memory_type", info.has_shared_memory_type, "12"),
        ("dynamic_shared_memory_type", info.has_dsm_type, "9.4"),
        ("huge_pages", info.has_huge_pages, "9.4"),
        ("huge_page_size", info.has_huge_page_size, "14"),
    ):
        if not present and raw.get(setting) not in (None, ""):
            raise ClusterError("%s.%s: PostgreSQL %s has no such setting (%s and later); remove it"
                               % (where, setting, info.major, since))

    try:
        shared_buffers_bytes = pg_size_bytes(pick("shared_buffers"), "8kB", name=where + ".shared_buffers")
        huge_page_size = pick("huge_page_size")
        huge_page_size_bytes = 0 if huge_page_size is None else pg_size_bytes(huge_page_size, "kB", name=where + ".huge_page_size")
    except UnitError as exc:
        raise ClusterError(str(exc))

    smt = pick("shared_memory_type")
    if smt is not None:
        _choice(where + ".shared_memory_type", smt, SHARED_MEMORY_TYPES)
    dsm = pick("dynamic_shared_memory_type")
    if dsm is not None:
        _choice(where + ".dynamic_shared_memory_type", dsm, DSM_TYPES)
    huge_pages = pick("huge_pages")
    if huge_pages is not None:
        if isinstance(huge_pages, bool):  # YAML reads a bare on/off as a boolean
            huge_pages = "on" if huge_pages else "off"
        _choice(where + ".huge_pages", huge_pages, HUGE_PAGES)
        if huge_pages == "on" and smt == "sysv":
            # The server refuses to start with this pair (docs/postgres-kernel-facts.md §1).
            raise ClusterError("%s.huge_pages: 'on' cannot be combined with shared_memory_type 'sysv'; "
                               "PostgreSQL refuses to start so; use try or off, or shared_memory_type mmap" % where)

    size_mb = raw.get("shared_memory_size_mb")
    return ClusterSpec(
        name=str(raw.get("name") or raw.get("data_directory") or where),
        info=info,
        minor=minor,
        max_connections=counts["max_connections"],
        autovacuum_max_workers=counts["autovacuum_max_workers"],
        max_worker_processes=counts["max_worker_processes"],
        max_wal_senders=counts["max_wal_senders"],
        shared_buffers_bytes=shared_buffers_bytes,
        shared_memory_type=smt,
        dynamic_shared_memory_type=dsm,
        huge_pages=huge_pages,
        huge_page_size_bytes=huge_page_size_bytes,
        shared_memory_size_mb=_optional_int(where + ".shared_memory_size_mb", size_mb, 0),
        # -1: the server cannot use huge pages here (docs/postgres-kernel-facts.md §3)
        shared_memory_size_in_huge_pages=_optional_int(
            where + ".shared_memory_size_in_huge_pages", raw.get("shared_memory_size_in_huge_pages"), -1),
        num_os_semaphores=_optional_int(where + ".num_os_semaphores", raw.get("num_os_semaphores"), 0),
        defaulted=tuple(defaulted),
    )
