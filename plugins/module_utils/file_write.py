# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing the collection's files on targets: whole or not at all, through Ansible's atomic_move."""

from __future__ import annotations

import os
import tempfile


def write_atomically(module, path, text, mode=0o644):
    """Replace `path` with `text` (UTF-8) through module.atomic_move.

    A reader sees the old file or the new one, never half of it. An existing
    file keeps its owner, group, permission bits and SELinux context
    (atomic_move copies them onto the new file); a new one gets `mode`, since
    atomic_move would give it 0666 minus the umask. Missing parent
    directories are created (0755).

    The temporary file is written next to `path`, not in module.tmpdir:
    that may be on another file system, where the rename is not atomic.
    Its name is hidden (.pghost-*), so readers of *.conf directories
    (pam_limits, systemd, jail.conf.d) never pick it up.

    Raises OSError when the file cannot be replaced; `path` is then as it was.
    """
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    creating = not os.path.exists(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pghost-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        module.atomic_move(tmp, path)
    except Exception as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise
        # atomic_move wraps the OSError that stopped it in a plain Exception;
        # callers report OSErrors, and the cause names the real problem.
        cause = exc.__cause__
        raise (cause if isinstance(cause, OSError) else OSError(str(exc))) from exc
    if creating:
        os.chmod(path, mode)
