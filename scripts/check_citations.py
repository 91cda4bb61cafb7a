# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fail on a citation of a repository document that does not resolve.

Code, roles, tests and docs cite facts and rules by repository path, e.g.
`docs/postgres-kernel-facts.md §4`, `§3, §4`, `§3 and §4`, `§2, last item`,
or `docs/design.md`. Every cited file must exist, and every cited section N
must have a `## N.` heading in it (a lettered `§4a` a `### 4a.` heading).
The old forms that pointed outside the repository are dangling by definition.

Usage: check_citations.py [ROOT]   (default: the repository around this script)
Prints one `path:line: problem` per problem and exits 1, or a count and 0.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

SECTION = "\u00a7"
# A document reference, then optionally its sections: `§3`, `§3, §4`, `§3 and §4`.
CITATION = re.compile(
    r"(?<![\w./-])((?:docs/[\w.-]+|CONTRIBUTING|README)\.md)"
    r"((?:\s*" + SECTION + r"\s*\d+[a-z]?)(?:\s*(?:,|and|&)\s*" + SECTION + r"\s*\d+[a-z]?)*)?"
)
SECTION_NUMBER = re.compile(SECTION + r"\s*(\d+[a-z]?)")
HEADING = re.compile(r"^(#{2,3})\s+(\d+[a-z]?)\.\s")
# Built from pieces so that this file does not match its own patterns.
OLD_FORMS = (
    (re.compile(r"(?<![\w/-])facts " + SECTION), "old citation form; write docs/postgres-kernel-facts.md " + SECTION + "N"),
    (re.compile(r"(?<![\w/-])" + "DESIGN" + r"\.md"), "old design reference; write docs/design.md"),
    (re.compile(r"\.\./shared/" + "reference"), "reference outside the repository; cite a file under docs/"),
)


def tracked_files(root):
    """Files git tracks plus untracked ones it does not ignore, relative to root."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, check=True, stdout=subprocess.PIPE,
    ).stdout.decode("utf-8", "surrogateescape")
    return sorted(set(p for p in out.split("\0") if p))


def read_text(path):
    """The file's text, or None for a binary or unreadable file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if b"\0" in data:
        return None
    return data.decode("utf-8", "replace")


def sections_of(text):
    """The section labels a document defines: '4' for `## 4. ...`, '4a' for `### 4a. ...`."""
    found = set()
    in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            found.add(match.group(2))
    return found


def problems_in(relpath, text, root, cache):
    """(line number, problem) for each citation in text that does not resolve."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        for pattern, what in OLD_FORMS:
            if pattern.search(line):
                out.append((number, what))
        for match in CITATION.finditer(line):
            doc, cited = match.group(1), match.group(2) or ""
            if doc not in cache:
                full = os.path.join(root, doc)
                body = read_text(full) if os.path.isfile(full) else None
                cache[doc] = None if body is None else sections_of(body)
            sections = cache[doc]
            if sections is None:
                out.append((number, "%s does not exist" % doc))
                continue
            for label in SECTION_NUMBER.findall(cited):
                if label not in sections:
                    out.append((number, "%s has no section %s%s" % (doc, SECTION, label)))
    return out


def check(root):
    """Every problem in the tree at root, as 'path:line: problem' lines, and the count of citations seen."""
    cache, lines, seen = {}, [], 0
    for relpath in tracked_files(root):
        text = read_text(os.path.join(root, relpath))
        if text is None:
            continue
        seen += sum(len(CITATION.findall(line)) for line in text.splitlines())
        for number, what in problems_in(relpath, text, root, cache):
            lines.append("%s:%d: %s" % (relpath, number, what))
    return lines, seen


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems, seen = check(root)
    for line in problems:
        print(line)
    if problems:
        print("check_citations: %d dangling citation(s)" % len(problems), file=sys.stderr)
        return 1
    print("check_citations: %d citations of repository documents, all resolve" % seen)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
