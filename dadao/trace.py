"""The results format every engine returns: a Trace.

A Trace is a table sampled on a time grid (time in expected gradient steps per node) with the
cumulative numbers of gradient computations and of communications (edge activations) at each
sample, and one column per metric:

    dist_to_opt   = (1/n) sum_i ||x_i - x*||^2
    suboptimality = f(xbar) - f*,  xbar = (1/n) sum_i x_i,  f = sum_i f_i
    consensus     = (1/n) sum_i ||x_i - xbar||^2

plus a metadata dict (status, seed, constants, event counts, timings) and the final iterates.
A run of the timing engine adds ``wall_time``, the seconds the run takes on its modelled
cluster at each sample (``TIMED_COLUMNS``).
Whatever engine ran it, the fields are the same (the scipy ``OptimizeResult`` lesson).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field

import numpy as np

from dadao.atomic import write_atomic

COLUMNS = ("time", "gradients", "communications", "dist_to_opt", "suboptimality", "consensus")
#: the column a run with a timing model (engine "timing") adds: seconds on the modelled cluster
WALL_TIME = "wall_time"
TIMED_COLUMNS = COLUMNS + (WALL_TIME,)
#: the end of a line of trace.csv: the csv module's (RFC 4180), whichever writer wrote it
LINE_END = "\r\n"


def metrics(X: np.ndarray, problem, sums=None, nodes=None) -> tuple[float, float, float]:
    """(dist_to_opt, suboptimality, consensus) of the iterates X (n, d); see module docstring
    (computed by ``dadao.sample_metrics`` with sums no split of the rows changes, imported here
    on first use so that reading traces needs no compiler). ``sums``: across MPI ranks, X is
    this rank's rows (those of ``nodes``) and ``sums`` combines the ranks' partial sums
    (collective)."""
    from dadao.reproducible import LOCAL
    from dadao.sample_metrics import metrics as compiled

    return compiled(X, problem, LOCAL if sums is None else sums, nodes)


def events_of(meta: dict) -> int:
    """What the engine of a run processed, from its record: clock events (gradient and gossip)
    of an asynchronous method, iterations of a synchronous one."""
    run = meta["run"]
    if run.get("iterations") is not None:
        return run["iterations"]
    return run["gradient_events"] + run["gossip_events"]


@dataclass
class Trace:
    """Samples of a run. ``columns[name]`` is a float array per column of ``COLUMNS``."""

    columns: dict
    meta: dict = field(default_factory=dict)
    final_x: np.ndarray | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return len(self.columns["time"])

    @property
    def status(self) -> str:
        """How the run ended: "completed", "diverged" (stopped early) or "interrupted"."""
        return self.meta.get("status", "completed")

    def first_time_below(self, column: str, fraction: float, x: str = "time") -> float:
        """The first sample of ``x`` at which ``column`` <= fraction x its value at time 0.

        Returns inf when never reached. Resolution is the sampling grid.
        """
        values = self.columns[column]
        hit = np.nonzero(values <= fraction * values[0])[0]
        return float(self.columns[x][hit[0]]) if len(hit) else float("inf")

    def write_csv(self, path) -> None:
        """Write the table to ``path`` atomically (temporary file in the same folder, then rename)."""
        buf = io.StringIO(newline="")
        writer = csv.writer(buf)
        names = list(self.columns)
        writer.writerow(names)
        for row in zip(*(self.columns[c] for c in names)):
            writer.writerow(csv_row(row))
        write_atomic(path, buf.getvalue())

    @classmethod
    def read_csv(cls, path) -> "Trace":
        """The table of a trace.csv; a last line without its newline (the write of a row that a
        crash or a full disk cut short) is not a row. ValueError if it is not a trace."""
        with open(path, newline="") as fh:
            return cls.from_csv_text(fh.read())

    @staticmethod
    def read_csv_text(text: str) -> list[tuple]:
        """The rows of a trace.csv's text, as tuples of ``COLUMNS`` (and ``wall_time`` where
        the trace has it)."""
        trace = Trace.from_csv_text(text)
        names = TIMED_COLUMNS if WALL_TIME in trace.columns else COLUMNS
        return list(zip(*(trace.columns[c].tolist() for c in names)))

    @classmethod
    def from_csv_text(cls, text: str) -> "Trace":
        if text and not text.endswith("\n"):
            text = text[:text.rfind("\n") + 1]
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise ValueError("empty file")
        names = rows[0]
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise ValueError(f"no column {', '.join(missing)} (header: {','.join(names)})")
        if any(len(r) != len(names) for r in rows[1:]):
            raise ValueError(f"a row without {len(names)} values")
        body = np.array(rows[1:], dtype=np.float64).reshape(-1, len(names))
        return cls({name: body[:, j].copy() for j, name in enumerate(names)})


def csv_row(values) -> list[str]:
    """A row as written to trace.csv: ``repr`` of each float, which reads back bit for bit."""
    return [repr(float(v)) for v in values]


class TraceFile:
    """trace.csv written as the run goes: the header, then each row appended and flushed as it
    is sampled, so that a crash, a kill or a full disk keeps every row taken before it.

    ``open_new`` starts the file; ``open_at(size)`` reopens it after a checkpoint, cutting it
    to the ``size`` bytes it had then (the rows a resumed run takes again are dropped).
    ``size`` is the number of bytes written so far; ``sync`` puts them on disk (before a
    checkpoint that refers to them). An OSError is left to the caller, which names the file.
    """

    def __init__(self, path: str):
        self.path = path
        self.size = 0
        self._fh = None

    def open_new(self, columns=COLUMNS) -> "TraceFile":
        self._fh = open(self.path, "w", newline="")
        self._write(",".join(columns) + LINE_END)
        return self

    def open_at(self, size: int) -> "TraceFile":
        self._fh = open(self.path, "r+", newline="")
        self._fh.truncate(size)
        self._fh.seek(size)
        self.size = size
        return self

    def append(self, row) -> None:
        self._write(",".join(csv_row(row)) + LINE_END)

    def _write(self, line: str) -> None:
        self._fh.write(line)
        self._fh.flush()
        self.size += len(line)

    def sync(self) -> None:
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            fh.close()


class TraceRecorder:
    """Accumulates samples; engines call ``add`` at every point of the time grid, with one
    value per column of ``columns`` (``COLUMNS``, or ``TIMED_COLUMNS`` for a timed run)."""

    def __init__(self, columns=COLUMNS):
        self.columns = tuple(columns)
        self._rows = []

    @property
    def rows(self) -> list:
        """The samples so far, in order, as tuples of ``columns``."""
        return self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, *values):
        if len(values) != len(self.columns):
            raise ValueError(f"a row of {len(values)} values for {len(self.columns)} columns")
        self._rows.append(tuple(values))

    def last(self, column: str) -> float:
        return self._rows[-1][self.columns.index(column)]

    def first(self, column: str) -> float:
        return self._rows[0][self.columns.index(column)]

    def trace(self, meta: dict, final_x=None) -> Trace:
        table = np.array(self._rows, dtype=np.float64).reshape(-1, len(self.columns))
        return Trace({c: table[:, j].copy() for j, c in enumerate(self.columns)}, meta,
                     final_x)
