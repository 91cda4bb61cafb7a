"""What the default and service verifiers share: reading systemd's values and saying what was seen.

Imported by molecule/*/tests/test_*.py (which put this directory on
sys.path); it runs on the controller, not on the targets.
"""

import base64
import json
import os
import re
import warnings

INF = float("inf")


class Observed(UserWarning):
    """A value seen on the live host that differs from what was asked, and why."""


def observe(message):
    warnings.warn(Observed(message), stacklevel=2)


def number(value):
    """A limit as systemd or /proc prints it -> int, or INF for infinity/unlimited."""
    value = str(value).strip()
    return INF if value in ("infinity", "unlimited") else int(value)


def seconds(span):
    """systemd's rendering of a time span ('1h 30min', '5s', '3600s') -> seconds."""
    size = {"d": 86400, "h": 3600, "min": 60, "s": 1, "ms": 0.001}
    return sum(int(n) * size[u] for n, u in re.findall(r"(\d+)(d|h|min|ms|s)", span))


PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files", "pghost_probe.py")


def run_probe(host, *options):
    """files/pghost_probe.py run on the target in one round trip (sent inline), its JSON parsed."""
    with open(PROBE, "rb") as handle:
        code = base64.b64encode(handle.read()).decode()
    out = host.check_output("python3 -c \"import base64; exec(base64.b64decode('%s'))\" %s" % (code, " ".join(options)))
    return json.loads(out)
