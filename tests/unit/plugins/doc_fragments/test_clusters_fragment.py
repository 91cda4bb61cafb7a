# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clusters doc fragments document exactly what cluster_argument_spec() validates."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.pghost.hardening.plugins.doc_fragments.clusters import ModuleDocFragment
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_discovery import CLUSTER_KEYS
from ansible_collections.pghost.hardening.plugins.module_utils.cluster_spec import cluster_argument_spec


@pytest.mark.parametrize("fragment, spec", [
    (ModuleDocFragment.DOCUMENTATION, cluster_argument_spec()),
    (ModuleDocFragment.DECLARED, cluster_argument_spec(declared_only=True)),
])
def test_fragment_matches_argument_spec(fragment, spec):
    option = yaml.safe_load(fragment)["options"]["clusters"]
    assert (option["type"], option["elements"]) == (spec["type"], spec["elements"])
    documented = option["suboptions"]
    assert set(documented) == set(spec["options"])
    for name, entry in spec["options"].items():
        assert documented[name]["type"] == entry["type"], name
        assert documented[name].get("elements") == entry.get("elements"), name
        assert documented[name].get("required", False) == entry.get("required", False), name
        assert documented[name]["description"], name


def test_every_reported_key_is_accepted():
    # Modules are fed pghost_clusters_found; a key pg_host_facts reports but
    # the spec does not list would be refused as an unsupported parameter.
    assert set(CLUSTER_KEYS) <= set(cluster_argument_spec()["options"])
