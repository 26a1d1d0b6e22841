"""Run directories: the one output of one run, read by every later step (plots, reports, sweeps).

    runs/<config name>-<hash of the resolved config>/
        config.toml        the fully resolved config (every default written out); re-runnable
        trace.csv          time, gradients, communications, dist_to_opt, suboptimality, consensus
        meta.json          the run's one record (docs/run_directory.md): status, engine, the
                           setup (seed, graph, rates, problem, algorithm, theory), what the engine
                           measured (run: counts, timings), versions, command, host
        convergence.png    dist_to_opt against time, gradients and communications
        convergence.pdf
        error.log          only when the run failed: the traceback

Every file is written to a temporary file in the directory and renamed into place, and meta.json
is written first with status "running" and last with the final status: a directory whose
meta.json does not say "completed" is not a finished result, whatever else it holds.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
import os
import platform
import re

from dadao.errors import RunDirError
from dadao.atomic import write_atomic
from dadao.config import config_hash, to_toml
from dadao.trace import Trace
from dadao.versions import versions

STATUSES = ("running", "completed", "diverged", "interrupted", "failed")
META = "meta.json"
TRACE = "trace.csv"
CONFIG = "config.toml"
FIGURE = "convergence"
RESULT_FILES = (TRACE, FIGURE + ".png", FIGURE + ".pdf", "error.log")


def default_path(config_path: str, cfg: dict, root: str = "runs") -> str:
    """runs/<config file stem>-<10 hex digits of the resolved config, seed included>."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(os.path.basename(config_path))[0])
    return os.path.join(root, f"{stem}-{config_hash(cfg)}")


def write_json(path: str, obj) -> None:
    """Strict JSON (readable by any parser): inf becomes "inf"/"-inf", nan becomes null."""
    write_atomic(path, json.dumps(strict_json(obj), indent=2, allow_nan=False) + "\n")


def strict_json(value):
    """``value`` as strict JSON values: inf becomes "inf" or "-inf", nan becomes None, numpy
    numbers and arrays become Python numbers and lists."""
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, (bool, str, type(None))):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return None
        return v if math.isfinite(v) else ("inf" if v > 0 else "-inf")
    if hasattr(value, "tolist"):
        return strict_json(value.tolist())
    return str(value)


def read_meta(path: str) -> dict:
    meta_path = os.path.join(path, META)
    if not os.path.isdir(path):
        raise RunDirError("not a directory", file=path)
    try:
        with open(meta_path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise RunDirError(f"no {META}: not a run directory", file=path) from None
    except json.JSONDecodeError as exc:
        raise RunDirError(f"not valid JSON ({exc})", file=meta_path) from None


def read_run(path: str) -> tuple[Trace, dict]:
    """(Trace with meta, meta) of a run directory; RunDirError when it holds no trace."""
    meta = read_meta(path)
    trace_path = os.path.join(path, TRACE)
    if not os.path.isfile(trace_path):
        raise RunDirError(f"no {TRACE} (status {meta.get('status')!r})", file=path)
    try:
        trace = Trace.read_csv(trace_path)
    except (ValueError, IndexError) as exc:
        raise RunDirError(f"not a trace ({exc})", file=trace_path) from None
    trace.meta = meta
    return trace, meta


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class RunDirectory:
    """Writes one run's directory; ``start`` then exactly one of ``finish`` or ``fail``.

    meta.json always has the keys of the run's record (``Trace.meta``: status, error, engine,
    the setup's description, run, versions) and the provenance of the directory (config_hash,
    command, host, started, finished); ``run`` and ``finished`` are null until the run ends.
    """

    def __init__(self, path: str, cfg: dict, command: list[str]):
        self.path, self.cfg = path, cfg
        self.provenance = {"config_hash": config_hash(cfg), "command": command,
                           "host": platform.node(), "started": _now(), "finished": None}
        self.meta: dict = {}

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def start(self, setup) -> None:
        """Create the directory, drop any earlier run's results, write config and meta."""
        os.makedirs(self.path, exist_ok=True)
        for name in RESULT_FILES:
            if os.path.exists(self.file(name)):
                os.unlink(self.file(name))
        write_atomic(self.file(CONFIG), to_toml(self.cfg))
        self.meta = {"status": "running", "error": None, "engine": setup.engine,
                     **setup.describe(), "run": None, "versions": versions(),
                     **self.provenance}
        write_json(self.file(META), self.meta)

    def finish(self, trace: Trace, figure_writer=None) -> dict:
        """Write the trace, the figures, then meta.json with the run's final status."""
        trace.write_csv(self.file(TRACE))
        meta = {**trace.meta, **self.provenance, "finished": _now()}
        if figure_writer is not None:
            figure_writer(trace, meta, self.file(FIGURE))
        write_json(self.file(META), meta)
        self.meta = meta
        return meta

    def fail(self, error: str, traceback_text: str, status: str = "failed") -> dict:
        """The run crashed (or was interrupted before its first sample: ``status``): keep the
        config, record the status with the error and the traceback."""
        self.meta = mark_failed(self.path, error, traceback_text, self.meta, status=status)
        return self.meta


def mark_failed(path: str, error: str, traceback_text: str, meta: dict | None = None, *,
                status: str = "failed") -> dict:
    """Record that the run failed: error.log, then meta.json with status failed (or
    ``status``), from ``meta`` (default: the directory's meta.json, as another MPI rank than the
    one holding the ``RunDirectory`` finds it)."""
    meta = dict(read_meta(path) if not meta else meta)
    write_atomic(os.path.join(path, "error.log"), traceback_text)
    meta.update(status=status, error=error, finished=_now())
    write_json(os.path.join(path, META), meta)
    return meta
