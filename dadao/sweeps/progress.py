"""What ``dadao sweep`` prints (a ``dadao.sweep.Reporter``).

Not on a terminal (a log, a cluster job): a line per finished cell on stdout,
"[3/12] dadao-n16-seed0-3fa2c81b9d: completed, dist_to_opt 1e+03 -> 2e-07, 0.3 s". On a terminal:
one tqdm bar over the cells on stderr, with a line for each cell that did not complete. The
last line says how the sweep ended, and which cells failed.
"""

from __future__ import annotations

import contextlib
import sys

from dadao.sweep import Reporter
from dadao.sweeps.summary import FAILED, JSON

#: failed cells named in the last line (the rest are in sweep.json)
NAMED_FAILURES = 5


def _state_words(status, checkpoint: bool) -> str:
    if status is None:
        return "new"
    if status == "completed":
        return "done"
    again = "resumes from its checkpoint" if checkpoint and status != "diverged" else "runs again"
    return f"{status}: {again}"


def cell_line(index: int, total: int, key: str, outcome: dict) -> str:
    """"[3/12] KEY: completed, dist_to_opt 1e+03 -> 2e-07, 0.3 s" (seconds: this call)."""
    status = outcome["status"]
    if status == "done":
        return f"[{index}/{total}] {key}: done (skipped)"
    parts = [status]
    if outcome["dist_first"] is not None:
        parts.append(f"dist_to_opt {outcome['dist_first']:.3g} -> {outcome['dist_last']:.3g}")
    if status != "not run":
        parts.append(f"{outcome['elapsed_s']:.1f} s")
    line = f"[{index}/{total}] {key}: {', '.join(parts)}"
    if outcome["error"] and status != "completed":
        line += f" ({outcome['error']})"
    return line


class Printer(Reporter):
    """The command line's reporter."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.bar = None

    def _print(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=self.stream, flush=True)

    def dry_run(self, spec, cells, states, others) -> None:
        print(f"{spec.path}: {len(cells)} cells in {spec.out} (a dry run: nothing was run)")
        words = {key: _state_words(*state) for key, state in states.items()}
        width = max((len(cell.key) for cell in cells), default=0)
        state_width = max(map(len, words.values()), default=0)
        for cell in cells:
            print(f"  {cell.key:<{width}}  {words[cell.key]:<{state_width}}  {cell.describe()}")
        if others:
            print(f"not in this sweep (left alone): {', '.join(others)}")

    def started(self, spec, cells, others, workers: str):
        print(f"{spec.path}: {len(cells)} cells in {spec.out}, {workers}", flush=True)
        if not self.stream.isatty():
            return contextlib.nullcontext()
        return self._bar(len(cells))

    @contextlib.contextmanager
    def _bar(self, total: int):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="cell", file=sys.stderr, dynamic_ncols=True)
        try:
            yield
        finally:
            self.bar.close()
            self.bar = None

    def cell(self, index, total, cell, outcome) -> None:
        if self.bar is None:
            self._print(cell_line(index, total, cell.key, outcome))
            return
        self.bar.update(1)
        if outcome["status"] in FAILED:
            self._print(cell_line(index, total, cell.key, outcome))

    def finished(self, result) -> None:
        if result.not_in_sweep:
            print(f"not in this sweep (left alone in {result.out}): "
                  f"{', '.join(result.not_in_sweep)}")
        counts = (f"{result.ran} ran, {result.skipped} skipped (done), {result.failed} failed"
                  + (f", {result.interrupted} interrupted" if result.interrupted else "")
                  + (f", {result.not_run} not run" if result.not_run else ""))
        line = f"{result.cells} cells: {counts}; summary in {result.out}/{JSON}"
        if result.stopped:
            line = f"stopped by {result.stopped}: {line}; run the sweep again to go on"
        if result.failures:
            named = ", ".join(f"{key} ({status})"
                              for key, status in result.failures[:NAMED_FAILURES])
            more = len(result.failures) - NAMED_FAILURES
            line += f"; failed: {named}" + (f" and {more} more" if more > 0 else "")
        print(line, flush=True)
