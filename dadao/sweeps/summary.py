"""sweep.json and sweep.csv: the state of every cell, in the sweep's folder.

Both are rewritten atomically (``dadao.atomic.write_atomic``) when the sweep starts and each time
a cell finishes, so a sweep killed half-way leaves a summary of what it did. sweep.csv has a row
per cell: folder, the axis values, seed, status, events, host_seconds (the run's wall seconds).
A cell's status is a final status of its meta.json (completed, diverged, failed, interrupted),
"done" (found completed: skipped), "pending" (not reached yet) or "not run" (the sweep stopped).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os

from dadao.atomic import write_atomic
from dadao.rundir import strict_json

JSON = "sweep.json"
CSV = "sweep.csv"
PENDING = "pending"
#: statuses that count as a failure of the sweep (exit code 1)
FAILED = ("diverged", "failed", "interrupted", "unreadable")


class Summary:
    """The rows of a sweep's cells, written to its folder on every ``write``."""

    def __init__(self, spec, cells, others: list[str], command: list[str]):
        self.spec, self.others, self.command = spec, others, command
        self.axes = list(dict.fromkeys(k for cell in cells for k in cell.values))
        self.rows = {cell.key: {"folder": cell.key, "values": dict(cell.values),
                                "seed": cell.seed, "status": PENDING, "events": None,
                                "host_seconds": None, "error": None} for cell in cells}
        self.state = "running"
        self.stopped = False  # set when a signal stopped the sweep

    def update(self, outcome: dict) -> None:
        row = self.rows[outcome["key"]]
        for name in ("status", "events", "host_seconds", "error"):
            row[name] = outcome[name]

    def counts(self) -> dict:
        """{"cells", "ran", "skipped", "failed", "interrupted", "not_run", "pending"}; once the
        sweep was stopped (``stopped``), the cells its signal interrupted are not failures."""
        statuses = [row["status"] for row in self.rows.values()]
        interrupted = statuses.count("interrupted") if self.stopped else 0
        return {"cells": len(statuses),
                "ran": sum(s not in ("done", "not run", PENDING) for s in statuses),
                "skipped": statuses.count("done"),
                "failed": sum(s in FAILED for s in statuses) - interrupted,
                "interrupted": interrupted,
                "not_run": statuses.count("not run"), "pending": statuses.count(PENDING)}

    def failures(self) -> list[tuple[str, str]]:
        """[(folder, status)] of the cells that failed (see ``counts``)."""
        return [(key, row["status"]) for key, row in self.rows.items()
                if row["status"] in FAILED and not (self.stopped and
                                                    row["status"] == "interrupted")]

    def write(self) -> None:
        record = {"sweep": os.path.abspath(self.spec.path), "out": self.spec.out,
                  "state": self.state, "command": self.command,
                  "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  "counts": self.counts(), "axes": self.axes,
                  "cells": list(self.rows.values()), "not_in_this_sweep": self.others}
        write_atomic(os.path.join(self.spec.out, JSON),
                     json.dumps(strict_json(record), indent=2) + "\n")
        text = io.StringIO()
        out = csv.writer(text, lineterminator="\n")
        out.writerow(["folder", *self.axes, "seed", "status", "events", "host_seconds"])
        for row in self.rows.values():
            out.writerow([row["folder"], *(_cell(row["values"].get(k)) for k in self.axes),
                          row["seed"], row["status"], _cell(row["events"]),
                          _cell(row["host_seconds"])])
        write_atomic(os.path.join(self.spec.out, CSV), text.getvalue())


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, float) else str(value)
