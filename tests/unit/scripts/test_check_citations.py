"""scripts/check_citations.py: dangling citations fail, resolving ones pass.

Fixture texts are built from pieces (DOCS, SEC) so that the repository run of
the check does not read them as citations of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "check_citations.py")
DOCS = "docs" + "/"
SEC = "\u00a7"
FACTS_DOC = "# Facts\n\n## 1. One\n\ntext\n\n## 2. Two\n\n### 2a. Two, a part\n\n```\n## 9. not a heading\n```\n"


def make_tree(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return str(tmp_path)


def run(root):
    return subprocess.run([sys.executable, SCRIPT, root], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)


def test_a_tree_whose_citations_resolve_passes(tmp_path):
    code = "\n".join([
        "# needs 17 (%sfacts.md %s1)" % (DOCS, SEC),
        "# both (%sfacts.md %s1, %s2) and (%sfacts.md %s1 and %s2a)" % (DOCS, SEC, SEC, DOCS, SEC, SEC),
        "# a part (%sfacts.md %s2, last item); the rules: %sfacts.md" % (DOCS, SEC, DOCS),
    ])
    root = make_tree(tmp_path, {DOCS + "facts.md": FACTS_DOC, "lib/code.py": code + "\n"})
    result = run(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 citations" in result.stdout


@pytest.mark.parametrize("line, problem", [
    ("see %smissing.md %s1" % (DOCS, SEC), DOCS + "missing.md does not exist"),
    ("see %sfacts.md %s3" % (DOCS, SEC), DOCS + "facts.md has no section %s3" % SEC),
    ("see %sfacts.md %s1, %s4b" % (DOCS, SEC, SEC), DOCS + "facts.md has no section %s4b" % SEC),
    ("see %sfacts.md %s9" % (DOCS, SEC), DOCS + "facts.md has no section %s9" % SEC),
    ("see facts %s4" % SEC, "old citation form"),
    ("see " + "DESIGN" + ".md", "old design reference"),
    ("see ../shared/" + "reference/x.md", "reference outside the repository"),
])
def test_a_dangling_citation_fails_naming_path_and_line(tmp_path, line, problem):
    root = make_tree(tmp_path, {DOCS + "facts.md": FACTS_DOC, "lib/code.py": "ok\n" + line + "\n"})
    result = run(root)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("lib/code.py:2: " + problem)


def test_untracked_files_are_checked_and_ignored_ones_are_not(tmp_path, script):
    bad = "see %smissing.md\n" % DOCS
    root = make_tree(tmp_path, {".gitignore": "build/\n", "build/out.txt": bad, "new.txt": bad})
    problems = script("check_citations").check(root)[0]
    assert problems == ["new.txt:1: " + DOCS + "missing.md does not exist"]


def test_the_repository_has_no_dangling_citation():
    result = run(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
