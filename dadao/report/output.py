"""The output file a command is told to write (``-o FILE``), checked before any work is done.

A command that solves or draws first and only then finds that it cannot write its result wastes
the work and, worse, used to end in a traceback. :func:`check_output_file` refuses, in one line
naming the flag and the path, a path that names a directory, lies in a folder that does not
exist or is not a folder, or cannot be written; :func:`write_failed` is the one line of a write
that fails anyway (a full disk).
"""

from __future__ import annotations

import os

from dadao.errors import OutputError, UsageError


def check_output_file(path: str, flag: str, example: str) -> None:
    """UsageError (field "FLAG PATH") unless ``path`` can be written as a file.

    example: a file name to suggest inside a directory given by mistake ("rates.csv").
    """
    field = f"{flag} {path}"
    if os.path.isdir(path):
        raise UsageError(f"is a directory; give a file name, e.g. {os.path.join(path, example)}",
                         field=field)
    folder = os.path.dirname(path) or "."
    if not os.path.exists(folder):
        raise UsageError(f"folder does not exist: {folder}", field=field)
    if not os.path.isdir(folder):
        raise UsageError(f"{folder} is not a folder", field=field)
    if not os.access(folder, os.W_OK | os.X_OK):
        # the file is replaced atomically (a temporary file in the folder, then a rename), so
        # the folder must be writable even when the file exists and is
        raise UsageError(f"folder {folder} is not writable", field=field)
    if os.path.exists(path) and not os.path.isfile(path):
        raise UsageError("exists and is not a regular file", field=field)


def write_failed(path: str, flag: str, exc: OSError) -> OutputError:
    """The one-line error of a write of ``path`` that failed (exit code 2: nothing written)."""
    return OutputError(f"cannot write: {exc.strerror or exc}", field=f"{flag} {path}")
