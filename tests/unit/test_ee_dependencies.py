"""meta/execution-environment.yml declares no Python or system packages; true
only while every plugin imports nothing but the standard library, ansible and
this collection. A plugin that starts importing, say, jsonschema must add it to
meta/ee-requirements.txt, and this test says so."""

from __future__ import annotations

import ast
import os
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ALLOWED_TOP = {"ansible", "ansible_collections", "__future__"}


def declared(relative):
    with open(os.path.join(ROOT, relative)) as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


def imported_tops(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def test_the_ee_metadata_points_at_the_declared_files():
    with open(os.path.join(ROOT, "meta", "execution-environment.yml")) as handle:
        meta = yaml.safe_load(handle)
    assert meta["version"] == 1
    assert meta["dependencies"] == {"python": "meta/ee-requirements.txt", "system": "meta/ee-bindep.txt"}


def test_every_plugin_needs_only_the_standard_library_while_none_is_declared():
    outside = []
    for dirpath, dummy, filenames in os.walk(os.path.join(ROOT, "plugins")):
        for name in filenames:
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                outside += ["%s:%d imports %s" % (os.path.relpath(path, ROOT), line, top)
                            for top, line in imported_tops(path)
                            if top not in ALLOWED_TOP and top not in sys.stdlib_module_names]
    if declared("meta/ee-requirements.txt"):
        return  # packages are declared; ansible-builder installs them
    assert not outside, "declare these in meta/ee-requirements.txt: %s" % outside
