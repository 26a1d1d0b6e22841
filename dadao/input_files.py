"""The one check of a file a person gives dadao to read (a config, an edge list, a rates CSV, a
LIBSVM data file), and the one way of reading it as text.

``regular_file(path, what, error)`` returns the path when it names a regular file, and raises
``error`` (the error class of the caller's area) in one line otherwise: "not found", "is a
directory", or "is not a regular file" (a named pipe, a socket, a device: opening a named pipe
for reading would block until something writes to it). ``read_text`` also decodes the file as
UTF-8, with or without a byte order mark (editors on Windows write one).

The message names the path, unless the error's ``file`` is that path already.
"""

from __future__ import annotations

import os
import stat

#: what ``stat`` says a path is, for the paths that are neither a regular file nor a folder
_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def regular_file(path, what: str, error, *, missing: str = "", **where) -> str:
    """``path`` (as a str) if it is a regular file; else ``error(message, **where)``.

    ``what`` names the kind of file in the message ("config file", "edge list file", ...);
    ``missing`` replaces "WHAT not found" for a path that does not exist; ``where`` is the
    error's ``field`` and ``file``.
    """
    path = os.fspath(path)
    named = "" if where.get("file") == path else f": {path}"
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise error(f"{missing or what + ' not found'}{named}", **where) from None
    except OSError as exc:
        raise error(f"cannot read {what}{named}: {exc.strerror or exc}", **where) from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"is a directory, not {_a(what)}{named}", **where)
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "something else")
        raise error(f"is not a regular file but {kind}, so it cannot be read as {_a(what)}"
                    f"{named}", **where)
    return path


def _a(what: str) -> str:
    return f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"


def read_text(path, what: str, error, **where) -> str:
    """The text of the regular file ``path``, decoded as UTF-8 (a leading byte order mark is
    dropped); every failure is ``error(message, **where)``, as in ``regular_file``."""
    path = regular_file(path, what, error, **where)
    named = "" if where.get("file") == path else f" {path}"
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise error(f"cannot read {what}{named}: {exc.strerror or exc}", **where) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what}{named} is not UTF-8 text (byte {exc.start} is "
                    f"{data[exc.start]:#04x})", **where) from None
