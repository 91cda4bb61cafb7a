# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module takes the attributes fragment and says its own support and platforms."""

from __future__ import annotations

import importlib
import os

import pytest
import yaml

from ansible_collections.pghost.hardening.plugins.doc_fragments.attributes import ModuleDocFragment

MODULES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")
NAMES = sorted(name[:-3] for name in os.listdir(MODULES) if name.endswith(".py") and not name.startswith("_"))


def test_fragment_describes_the_common_attributes():
    assert set(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["attributes"]) == {"check_mode", "diff_mode", "platform"}
    assert set(yaml.safe_load(ModuleDocFragment.FACTS)["attributes"]) == {"facts"}


@pytest.mark.parametrize("name", NAMES)
def test_module_uses_the_fragment(name):
    module = importlib.import_module("ansible_collections.pghost.hardening.plugins.modules.%s" % name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert "pghost.hardening.attributes" in doc["extends_documentation_fragment"]
    attributes = doc["attributes"]
    assert attributes["check_mode"]["support"] in ("full", "partial", "none")
    assert attributes["diff_mode"]["support"] in ("full", "partial", "none")
    assert set(attributes["platform"]["platforms"]) <= {"linux", "freebsd"}
    assert ("facts" in attributes) == ("pghost.hardening.attributes.facts" in doc["extends_documentation_fragment"])
    for entry in attributes.values():
        assert "description" not in entry, "the fragment describes; the module gives details"
