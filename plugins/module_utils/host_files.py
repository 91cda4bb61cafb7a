# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one test seam of the probes: file access under a root, and the platform name.

On a real host the root is "/" and the platform the running kernel's; the
integration tests (tests/integration/test_freebsd_branches.py) point both
at a stand-in FreeBSD tree through two environment variables.
"""

from __future__ import annotations

import os
import platform as _platform

# Test seam, used only by tests/integration/test_freebsd_branches.py: a Linux
# CI machine plays a FreeBSD host whose files lie under a directory, with
# test-double commands first on PATH. Both variables must be set; on a real
# host neither is, and the probes read "/" and the running kernel's name.
TEST_ROOT_ENV = "PGHOST_HARDENING_TEST_ROOT"
TEST_PLATFORM_ENV = "PGHOST_HARDENING_TEST_PLATFORM"


def _test_override():
    """(root, platform) of the integration test's stand-in host, or (None, None)."""
    root, platform = os.environ.get(TEST_ROOT_ENV), os.environ.get(TEST_PLATFORM_ENV)
    if root and platform:
        return root, platform.lower()
    return None, None


class HostFiles:
    """File access for the probes, relative to a root so tests can use a fake tree.

    Paths given to the methods are absolute host paths ("/proc/meminfo");
    every method is read-only and returns a default instead of raising.
    """

    def __init__(self, root=None):
        # None: the host itself ("/"), or the integration test's tree (see _test_override).
        self.root = root if root is not None else (_test_override()[0] or "/")

    def path(self, path):
        if self.root in ("/", ""):
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def read(self, path, default=None):
        try:
            with open(self.path(path), "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except (IOError, OSError):
            return default

    def read_bytes(self, path, default=None):
        try:
            with open(self.path(path), "rb") as handle:
                return handle.read()
        except (IOError, OSError):
            return default

    def exists(self, path):
        return os.path.exists(self.path(path))

    def isdir(self, path):
        return os.path.isdir(self.path(path))

    def isfile(self, path):
        return os.path.isfile(self.path(path))

    def listdir(self, path):
        try:
            return sorted(os.listdir(self.path(path)))
        except (IOError, OSError):
            return []

    def access(self, path, mode):
        return os.access(self.path(path), mode)

    def stat(self, path):
        try:
            return os.stat(self.path(path))
        except (IOError, OSError):
            return None

    def readlink(self, path):
        try:
            return os.readlink(self.path(path))
        except (IOError, OSError):
            return None

    def realpath(self, path):
        """Host path with symlinks resolved inside the root."""
        real = os.path.realpath(self.path(path))
        if self.root in ("/", ""):
            return real
        root = os.path.realpath(self.root)
        if real == root:
            return "/"
        if real.startswith(root + os.sep):
            return real[len(root):]
        return real

    def pid_alive(self, pid):
        """kill(pid, 0): the process exists (EPERM still means it exists)."""
        try:
            os.kill(pid, 0)
        except OSError as exc:
            return exc.errno == 1  # EPERM
        return True


def current_platform():
    return _test_override()[1] or _platform.system().lower()
