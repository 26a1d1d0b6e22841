"""One run per folder: a run claims its run directory with a lock file before it looks inside.

The lock is ``run.lock`` in the directory, created with ``O_CREAT | O_EXCL`` (the one file-system
operation that exactly one of several processes wins, on local disks and NFS v3+ alike), holding
the holder's pid, host, start time and, on Linux, the kernel's start time of the process (so a
pid reused by another process is not taken for the holder). A second process finds the file and
refuses, saying a run is under way and whose it is. A lock whose holder is on this host and no
longer alive is stale (a run killed with SIGKILL, a node that rebooted): it is removed and the
claim retried once. A lock of another host cannot be checked from here: the message says which
file to remove if that run is dead.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import warnings

from dadao.atomic import remove_quietly
from dadao.errors import DadaoWarning, OutputError, RunBusyError

LOCK = "run.lock"


def _process_start(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (field 22 of /proc/PID/stat), None off Linux
    or when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _holder() -> dict:
    return {"pid": os.getpid(), "host": platform.node(), "process_start": _process_start(
        os.getpid()), "since": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def _alive(holder: dict) -> bool:
    """Whether the holder of a lock of this host still runs."""
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    start = holder.get("process_start")
    return start is None or _process_start(pid) in (None, start)


def _read(lock: str) -> dict | None:
    try:
        with open(lock) as fh:
            holder = json.load(fh)
        return holder if isinstance(holder, dict) else None
    except (OSError, ValueError):
        return None


class Claim:
    """A held lock on ``path``; ``release`` once the run is over. ``created``: whether the claim
    made the directory (removed again on release if nothing else was written in it)."""

    def __init__(self, path: str, created: bool):
        self.path, self.created = path, created
        self.lock = os.path.join(path, LOCK)
        self.held = True

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        holder = _read(self.lock)
        if holder is not None and holder.get("pid") == os.getpid():
            remove_quietly(self.lock)
        if self.created:
            # only if empty: the claim was refused before any write
            remove_quietly(self.path, folder=True)


def claim(path: str, field: str = "--out") -> Claim:
    """Claim the run directory ``path`` (created if needed) for this process.

    RunBusyError if a live process holds it; OutputError if the folder cannot be created or
    written. A stale lock is replaced with a one-line DadaoWarning.
    """
    created = not os.path.lexists(path)
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise OutputError("exists and is not a directory", field=f"{field} {path}") from None
    except OSError as exc:
        raise OutputError(f"cannot create the run directory: {exc.strerror}",
                          field=f"{field} {path}") from None
    if not os.path.isdir(path):
        raise OutputError("exists and is not a directory", field=f"{field} {path}")
    lock = os.path.join(path, LOCK)
    for attempt in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            holder = _read(lock)
            if attempt == 0 and _stale(lock, holder):
                _remove_stale(lock, holder)
                continue
            raise RunBusyError(_busy_message(lock, holder), field=f"{field} {path}") from None
        except OSError as exc:
            raise _cannot_write(exc, path, field, created) from None
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(_holder()) + "\n")
        except OSError as exc:
            remove_quietly(lock)
            raise _cannot_write(exc, path, field, created) from None
        return Claim(path, created)
    raise AssertionError("unreachable")  # pragma: no cover


def _cannot_write(exc: OSError, path: str, field: str, created: bool) -> OutputError:
    """The error of a lock that cannot be written; the folder goes again if the claim made it."""
    if created:
        remove_quietly(path, folder=True)
    return OutputError(f"cannot write in the run directory: {exc.strerror}",
                       field=f"{field} {path}")


def _stale(lock: str, holder: dict | None) -> bool:
    if holder is None:
        # unreadable: a holder killed between creating the file and writing it, if it is old
        try:
            age = _dt.datetime.now().timestamp() - os.stat(lock).st_mtime
        except OSError:
            return True
        return age > 60.0
    return holder.get("host") == platform.node() and not _alive(holder)


def _remove_stale(lock: str, holder: dict | None) -> None:
    who = "an unreadable lock" if holder is None else (
        f"the lock of pid {holder.get('pid')}, which is no longer running")
    warnings.warn(f"{lock}: removed {who} (a run killed before it could end)", DadaoWarning)
    remove_quietly(lock)


def _busy_message(lock: str, holder: dict | None) -> str:
    if holder is None:
        return f"a run is under way here ({lock} exists); wait for it or choose another --out"
    where = f"pid {holder.get('pid')} on host {holder.get('host')}, since {holder.get('since')}"
    if holder.get("host") == platform.node():
        return f"a run is under way here ({where}); wait for it or choose another --out"
    return (f"a run is under way here ({where}); if that run is dead, remove {lock}, or "
            f"choose another --out")
