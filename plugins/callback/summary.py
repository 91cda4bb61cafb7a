# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host recap of what pghost.hardening changed and which values it computed."""

from __future__ import annotations

DOCUMENTATION = r"""
name: summary
type: aggregate
short_description: Per-host recap of changes and computed values
description:
  - At the end of a run, prints for each host the tasks that reported a change
    (with the C(msg) they returned, if any) and the values the collection
    computed for it.
  - Computed values are read from the C(pghost_computed) fact, a mapping of
    name to value (nested mappings are shown indented) that the collection's
    roles set; hosts where no role set it show C(none reported).
  - Output from the normal stdout callback is left as it is.
version_added: 0.1.0
# No personal GitHub handle stands behind the collection yet; ansible-test
# accepts (!UNKNOWN) for that case.
author:
  - pghost.hardening developers (!UNKNOWN)
requirements:
  - Enable it with C(callbacks_enabled = pghost.hardening.summary) in
    C(ansible.cfg), or C(ANSIBLE_CALLBACKS_ENABLED=pghost.hardening.summary).
"""

from ansible.plugins.callback import CallbackBase

COMPUTED_FACT = "pghost_computed"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pghost.hardening.summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._changes = {}
        self._computed = {}
        self._hosts = []

    def _host(self, name):
        if name not in self._hosts:
            self._hosts.append(name)
            self._changes[name] = []
            self._computed[name] = {}
        return name

    def v2_runner_on_ok(self, result):
        host = self._host(result._host.get_name())
        res = result._result
        facts = res.get("ansible_facts") or {}
        if isinstance(facts.get(COMPUTED_FACT), dict):
            self._computed[host].update(facts[COMPUTED_FACT])
        if res.get("changed"):
            line = result._task.get_name()
            if res.get("msg"):
                line += ": %s" % res["msg"]
            self._changes[host].append(line)

    def v2_runner_on_skipped(self, result):
        self._host(result._host.get_name())

    def v2_playbook_on_stats(self, stats):
        self._display.banner("PGHOST SUMMARY")
        for host in sorted(set(self._hosts) | set(stats.processed)):
            self._host(host)
            self._display.display("%s:" % host)
            changes = self._changes[host]
            self._display.display("  changed (%d):" % len(changes))
            for line in changes:
                self._display.display("    - %s" % line)
            computed = self._computed[host]
            if computed:
                self._display.display("  computed:")
                self._show_mapping(computed, "    ")
            else:
                self._display.display("  computed: none reported")

    def _show_mapping(self, mapping, indent):
        for key in sorted(mapping):
            value = mapping[key]
            if isinstance(value, dict):
                self._display.display("%s%s:%s" % (indent, key, "" if value else " none"))
                self._show_mapping(value, indent + "  ")
            elif isinstance(value, list):
                self._display.display("%s%s:%s" % (indent, key, "" if value else " none"))
                for item in value:
                    self._display.display("%s  - %s" % (indent, item))
            else:
                self._display.display("%s%s: %s" % (indent, key, value))
