"""Run directories: the one output of one run, read by every later step (plots, reports, sweeps).

    runs/<config name>-<hash of the resolved config>/
        config.toml        the fully resolved config (every default written out); re-runnable
        trace.csv          time, gradients, communications, dist_to_opt, suboptimality, consensus
        meta.json          status, seed, graph / rates / problem constants, event counts, timings,
                           versions, command, host
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


class RunDirError(ValueError):
    """A path given as a run directory is not one (one printable line)."""


def default_path(config_path: str, cfg: dict, root: str = "runs") -> str:
    """runs/<config file stem>-<10 hex digits of the resolved config, seed included>."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(os.path.basename(config_path))[0])
    return os.path.join(root, f"{stem}-{config_hash(cfg)}")


def write_json(path: str, obj) -> None:
    """Strict JSON (readable by any parser): inf becomes "inf"/"-inf", nan becomes null."""
    write_atomic(path, json.dumps(_strict(obj), indent=2, allow_nan=False) + "\n")


def _strict(value):
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
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
        return _strict(value.tolist())
    return str(value)


def read_meta(path: str) -> dict:
    meta_path = os.path.join(path, META)
    if not os.path.isdir(path):
        raise RunDirError(f"{path}: not a directory")
    try:
        with open(meta_path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise RunDirError(f"{path}: no {META}: not a run directory") from None
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{meta_path}: not valid JSON ({exc})") from None


def read_run(path: str) -> tuple[Trace, dict]:
    """(Trace with meta, meta) of a run directory; RunDirError when it holds no trace."""
    meta = read_meta(path)
    trace_path = os.path.join(path, TRACE)
    if not os.path.isfile(trace_path):
        raise RunDirError(f"{path}: no {TRACE} (status {meta.get('status')!r})")
    try:
        trace = Trace.read_csv(trace_path)
    except (ValueError, IndexError) as exc:
        raise RunDirError(f"{trace_path}: not a trace ({exc})") from None
    trace.meta = meta
    return trace, meta


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class RunDirectory:
    """Writes one run's directory; ``start`` then exactly one of ``finish`` or ``fail``."""

    def __init__(self, path: str, cfg: dict, command: list[str]):
        self.path, self.cfg = path, cfg
        self.base = {"status": "running", "error": None, "config_hash": config_hash(cfg),
                     "command": command, "host": platform.node(), "started": _now()}

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def start(self, derived: dict) -> None:
        """Create the directory, drop any earlier run's results, write config and meta."""
        os.makedirs(self.path, exist_ok=True)
        for name in RESULT_FILES:
            if os.path.exists(self.file(name)):
                os.unlink(self.file(name))
        write_atomic(self.file(CONFIG), to_toml(self.cfg))
        self.base.update(derived)
        write_json(self.file(META), self._meta({}))

    def _meta(self, extra: dict) -> dict:
        meta = dict(self.base)
        meta.update(extra)
        meta["versions"] = versions()
        return meta

    def finish(self, trace: Trace, figure_writer=None) -> dict:
        """Write the trace, the figures, then meta.json with the run's final status."""
        trace.write_csv(self.file(TRACE))
        engine = dict(trace.meta)
        engine.pop("versions", None)  # the same dadao.versions, written once at the top
        meta = self._meta({"status": engine.pop("status"), "error": engine.pop("error"),
                           "finished": _now()})
        meta["seed"] = engine.pop("seed")
        meta["algorithm"] = engine.pop("algorithm")
        meta.update({k: engine.pop(k) for k in ("engine", "events", "wall_time_s",
                                                 "events_per_s")})
        meta["run"] = engine
        if figure_writer is not None:
            figure_writer(trace, meta, self.file(FIGURE))
        write_json(self.file(META), meta)
        return meta

    def fail(self, error: str, traceback_text: str) -> dict:
        """The run crashed: keep config, record status failed with the error and the traceback."""
        return mark_failed(self.path, error, traceback_text, self._meta({}))


def mark_failed(path: str, error: str, traceback_text: str, meta: dict | None = None) -> dict:
    """Record that the run failed: error.log, then meta.json with status failed, from ``meta``
    (default: the directory's meta.json, as another MPI rank than the one holding the
    ``RunDirectory`` finds it)."""
    meta = dict(read_meta(path) if meta is None else meta)
    write_atomic(os.path.join(path, "error.log"), traceback_text)
    meta.update(status="failed", error=error, finished=_now())
    write_json(os.path.join(path, META), meta)
    return meta
