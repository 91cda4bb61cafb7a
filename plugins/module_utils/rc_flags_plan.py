# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which rc.conf variables hold the FreeBSD port's pg_ctl flags, and the plan
that makes each stop fast (role pg_service, FreeBSD).

The port's rc script passes ${postgresql_flags}, or ${postgresql_<profile>_flags}
for a cluster of a postgresql_profiles entry, to pg_ctl for start and stop.
An unset or empty variable leaves the rc script's default, `-w -s -m fast`,
which stops fast already (docs/postgres-kernel-facts.md §8); an unset profile
variable falls back to postgresql_flags. A set value gets its mode made fast
(pg_ctl_flags.fast_flags), every other flag kept.

  flags_variables(clusters)        -> the variable names to read
  profile_variable(cluster_name)   -> postgresql_<profile>_flags, or None
  flags_plan(values)               -> [{name, before, after, changed, verdict}]
"""

from __future__ import annotations

import re

from ansible_collections.pghost.hardening.plugins.module_utils.pg_ctl_flags import FlagsError, fast_flags

DEFAULT_VARIABLE = "postgresql_flags"

# pg_host_facts names a cluster found through a profile postgresql:<profile>.
_PROFILE_CLUSTER = re.compile(r"^postgresql:[A-Za-z0-9_]+$")


class FlagsPlanError(ValueError):
    """Flags pg_ctl would refuse; names the variable, its value and why."""

    def __init__(self, variable, value, reason):
        super(FlagsPlanError, self).__init__("%s is %r: %s" % (variable, value, reason))
        self.variable = variable
        self.value = value
        self.reason = reason


def profile_variable(cluster_name):
    """postgresql_<profile>_flags for a cluster named postgresql:<profile>, else None."""
    if isinstance(cluster_name, str) and _PROFILE_CLUSTER.match(cluster_name):
        return "postgresql_%s_flags" % cluster_name.split(":", 1)[1]
    return None


def flags_variables(clusters):
    """postgresql_flags, then each profile variable of the clusters, once each, in order."""
    out = [DEFAULT_VARIABLE]
    for cluster in clusters or ():
        variable = profile_variable(cluster.get("name"))
        if variable and variable not in out:
            out.append(variable)
    return out


def is_given(value):
    """The rc script's ${var:-default}: an unset or blank value is not given."""
    return isinstance(value, str) and value.strip() != ""


def _verdict(name, before, after, given):
    if given and after != before:
        return ('%s="%s" becomes "%s": stop and restart then end the sessions and checkpoint (fast shutdown), '
                'neither waiting for every client (smart) nor skipping the checkpoint (immediate)'
                % (name, before, after))
    if given:
        return '%s="%s" stops fast already' % (name, before)
    if name != DEFAULT_VARIABLE:
        return "%s is unset or empty: the clusters of this profile use postgresql_flags" % name
    return "postgresql_flags is unset or empty: the rc script uses its default, -w -s -m fast"


def flags_plan(values, where):
    """One entry per (name, value) pair, in order: the value before and after, and why.

    where: the file the values came from, for errors (e.g. /etc/rc.conf).
    Raises FlagsPlanError for flags pg_ctl would refuse, before anything is written.
    """
    out = []
    for name, before in values:
        given = is_given(before)
        after = before
        if given:
            try:
                after = fast_flags(before).flags
            except FlagsError as exc:
                raise FlagsPlanError("%s in %s" % (name, where), before, str(exc))
        changed = given and after != before
        out.append({"name": name, "before": before, "after": after, "changed": changed,
                    "verdict": _verdict(name, before, after, given)})
    return out
