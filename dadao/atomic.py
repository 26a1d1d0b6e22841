"""Atomic file writes: a temporary file in the target's folder, then a rename.

A reader (or a run killed half-way) sees either the old file or the new one, never a half-written
file that looks complete.
"""

from __future__ import annotations

import os
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the permissions a plain open() would give."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + "-", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_quietly(path, *, folder: bool = False) -> None:
    """Remove the file ``path`` (or, with ``folder``, the folder, only if empty) if it can be;
    for clean-up on the way out of a failure, where a second error must not hide the first."""
    try:
        (os.rmdir if folder else os.unlink)(path)
    except OSError:
        pass
