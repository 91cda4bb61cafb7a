"""Make this work tree importable as ansible_collections.pghost.hardening.

The link is the one scripts/setup.sh makes for Ansible; creating it here too
lets `pytest tests/unit` run on its own.
"""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "pghost", "hardening")

if not os.path.exists(os.path.join(LINK, "galaxy.yml")):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    if os.path.islink(LINK):
        os.unlink(LINK)
    os.symlink(os.path.join("..", "..", "..", ".."), LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
