"""SIGINT and SIGTERM during a run: asked to stop, the run stops at the next consistent point.

Python delivers a signal as an exception between two bytecodes, wherever the main thread is:
inside numba's compiler (where llvmlite's callbacks swallow a KeyboardInterrupt and the run goes
on), or half-way through writing the results. For the whole of ``dadao.runs.run_config``,
``StopRequests`` replaces that by a request: the first SIGINT or SIGTERM is only recorded. One
received while the setup is built ends the command once it is built, with nothing written
(``RunInterrupted``); during the run, the event loop (``dadao.engines.base.drive``) looks at it
after every window of events, stops there, writes a checkpoint, keeps the trace so far and ends
the run ``interrupted``; while the results are written, they are written, and the run is
recorded ``interrupted``. A second signal of either kind raises KeyboardInterrupt at once, for a
person who does not want to wait (a long SDP solve in the setup, say).

Exit codes follow the shell's convention, 128 + the signal's number: 130 for SIGINT, 143 for
SIGTERM (what Slurm sends at a job's time limit, some time before SIGKILL).
"""

from __future__ import annotations

import signal
import threading

#: the signals that ask a run to stop
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code(signum: int) -> int:
    """The shell's exit status of a process ended by signal ``signum``: 128 + signum."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


class StopRequests:
    """Context manager: while inside, SIGINT and SIGTERM are recorded instead of raised.

    ``requested`` is the first signal received (None before); ``name`` its name ("SIGTERM").
    Outside the main thread (a worker of a sweep, a test runner's thread) handlers cannot be
    installed and the signals keep their default behaviour.
    """

    def __init__(self):
        self.requested: int | None = None
        self._previous = {}

    @property
    def name(self) -> str | None:
        return None if self.requested is None else signal_name(self.requested)

    def _handle(self, signum, frame):
        if self.requested is not None:
            raise KeyboardInterrupt  # asked twice: stop now
        self.requested = signum

    def __enter__(self) -> "StopRequests":
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> bool:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        return False


class NoStops:
    """No signal handling: ``requested`` is always None (runs outside the lifecycle)."""

    requested = None
    name = None
