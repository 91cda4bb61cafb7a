# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing the collection's files on targets: whole or not at all."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path, text, mode=0o644):
    """Write `text` (UTF-8) through a temporary file renamed over `path`.

    A reader sees the old file or the new one, never half of it; an existing
    file keeps its permission bits, a new one gets `mode`. Missing parent
    directories are created (0755).
    """
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pghost-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
