# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why each failed stage of `make test` failed, in a few short lines.

scripts/test.sh prints this last, after the summary: CI keeps only the tail of
the suite's output, and a grep of a stage's log gave lines too long or too many
to survive that (an Ansible failure is one JSON line of several kilobytes).
Per failed stage it names what failed and the end of what it said:

  Ansible   the task, the host, msg, rc and the last lines of stderr/stdout
  pytest    each FAILED test and the first assertion line (E ...) of each
  other     Molecule's ERROR lines, a traceback's last line

Usage: why_failed.py LOG...   (the logs of the failed stages)
"""

import json
import os
import re
import sys

WIDTH = 300
PER_STAGE = 12
TAIL_LINES = 4

ANSIBLE_FAILURE = re.compile(r"^(?:fatal|failed): \[([^\]]+)\](?: \(item=.*?\))?: (FAILED|UNREACHABLE)! => (.*)$")
TASK = re.compile(r"^TASK \[(.*)\] \*+$")
PYTEST_FAILED = re.compile(r"^(FAILED|ERROR) \S+")
PYTEST_ASSERT = re.compile(r"^E +\S")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
MOLECULE_ERROR = re.compile(r"^ERROR {2,}")
OTHER = re.compile(r"^(ERROR +.*|CRITICAL .*|\S*Error: .*|.*returned non-zero.*)$")


def short(text, width=WIDTH):
    text = " ".join(str(text).rstrip().splitlines())
    return text if len(text) <= width else text[:width - 3] + "..."


def last_lines(text, count=TAIL_LINES):
    lines = [line for line in str(text or "").splitlines() if line.strip()]
    return " | ".join(lines[-count:])


def ansible_reason(host, kind, payload):
    try:
        result = json.loads(payload)
    except ValueError:
        return "%s on %s: %s" % (kind, host, short(payload))
    parts = [result.get("msg") or kind]
    if "rc" in result:
        parts.append("rc %s" % result["rc"])
    for stream in ("stderr", "stdout"):
        if result.get(stream):
            parts.append("%s: %s" % (stream, last_lines(result[stream])))
            break
    return "%s on %s: %s" % (kind, host, "; ".join(str(part) for part in parts))


def reasons(lines):
    """The lines that say why, in the order the log has them."""
    found, task, traceback = [], None, False
    for line in lines:
        line = COLOUR.sub("", line.rstrip("\n"))
        match = TASK.match(line)
        if match:
            task = match.group(1)
            continue
        match = ANSIBLE_FAILURE.match(line)
        if match:
            found.append(short("task [%s] %s" % (task, ansible_reason(*match.groups()))))
            continue
        if line.startswith("Traceback (most recent call last)"):
            traceback = True
            continue
        if traceback and line and not line.startswith(" "):
            found.append(short("traceback: " + line))
            traceback = False
            continue
        if PYTEST_FAILED.match(line) or PYTEST_ASSERT.match(line) or OTHER.match(line):
            found.append(short(line))
    return found


def unique(items):
    seen, kept = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            kept.append(item)
    return kept


def main(paths):
    for path in paths:
        stage = os.path.splitext(os.path.basename(path))[0]
        try:
            with open(path, errors="replace") as handle:
                found = unique(reasons(handle))
        except OSError as error:
            found = ["no log: %s" % error]
        print("why %s failed:" % stage)
        # Ansible's and pytest's own lines first: Molecule's ERROR lines only
        # repeat that a playbook failed.
        found.sort(key=lambda line: bool(MOLECULE_ERROR.match(line)))
        for line in found[:PER_STAGE] or ["(nothing recognisable; see %s)" % path]:
            print("  " + line)
        if len(found) > PER_STAGE:
            print("  ... %d more in %s" % (len(found) - PER_STAGE, path))


if __name__ == "__main__":
    main(sys.argv[1:])
