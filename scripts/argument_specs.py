# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' argument specs as the generators read them: role_docs.py (the
README's variable tables) and awx_surveys.py (the AWX surveys). One reader,
so the two renderings of the same spec cannot disagree on what it says."""

import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# Ansible's doc markup: C(code), O(option), V(value), M(module), I(italic),
# B(bold), R(reference); L(text,url) keeps its text.
MARKUP = re.compile(r"\b[BCIMORV]\(([^)]*)\)")
LINK = re.compile(r"\bL\(([^,()]*),[^()]*\)")


def main_spec(role, root=None):
    """The `main` entry point of roles/ROLE/meta/argument_specs.yml."""
    path = os.path.join(root or ROOT, "roles", role, "meta", "argument_specs.yml")
    with open(path) as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]


def options(role, root=None):
    return main_spec(role, root).get("options") or {}


def text(description, markup="%s"):
    """A description (a string or a list of paragraphs) as one line, each
    markup's content formatted with MARKUP (e.g. "`%s`" for Markdown)."""
    parts = description if isinstance(description, list) else [description]
    joined = " ".join(" ".join(str(part).split()) for part in parts)
    return MARKUP.sub(lambda match: markup % match.group(1), LINK.sub(r"\1", joined))


def default_word(option):
    """The option's default as the docs write it: true/false for a bool, None when it has none."""
    default = option.get("default")
    if isinstance(default, bool):
        return "true" if default else "false"
    return None if default is None else str(default)
