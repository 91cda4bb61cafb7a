"""The scripts under scripts/ are not a package: each test loads its script
by path through the `script` fixture factory."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

SCRIPTS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "scripts"))
# As when a script runs: its directory first on sys.path, for the modules the
# scripts share (argument_specs.py).
sys.path.insert(0, SCRIPTS)


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(SCRIPTS, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    """script("why_failed") -> the module scripts/why_failed.py, freshly loaded."""
    return load
