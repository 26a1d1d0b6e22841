"""Run directories: the one output of one run, read by every later step (plots, reports, sweeps).

    runs/<config name>-<hash of the resolved config>/
        config.toml        the fully resolved config (every default written out); re-runnable
        trace.csv          time, gradients, communications, dist_to_opt, suboptimality, consensus
        meta.json          the run's one record (docs/run_directory.md): status, engine, the
                           setup (seed, graph, rates, problem, algorithm, theory), what the engine
                           measured (run: counts, timings), versions, command, host
        rates.csv          u,v,rate: each edge's gossip rate, when they are not all equal (a
                           static graph; meta.json has their min and max in any case)
        convergence.png    dist_to_opt against time, gradients and communications (not with
        convergence.pdf    --no-figures)
        error.log          only when the run failed: the traceback
        checkpoint.npz     the run's state at its last checkpoint (``dadao.checkpoint``)
        run.lock           while a process runs in the directory (``dadao.runlock``)

trace.csv is appended and flushed as each sample is taken, so a crash, a kill or a full disk
keeps every sample before it; every other file is written to a temporary file in the directory
and renamed into place. meta.json is written first with status "running" and last with the final
status: a directory whose meta.json does not say "completed" is not a finished result, whatever
else it holds.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
import os
import platform
import re
import warnings

from dadao import checkpoint, engines
from dadao.atomic import remove_quietly, write_atomic
from dadao.config import config_hash, to_toml
from dadao.engines.base import DriveState
from dadao.errors import DadaoWarning, OutputError, RunDirError
from dadao.runlock import LOCK
from dadao.trace import COLUMNS, TIMED_COLUMNS, Trace, TraceFile
from dadao.versions import versions

STATUSES = ("running", "completed", "diverged", "interrupted", "failed")
META = "meta.json"
TRACE = "trace.csv"
CONFIG = "config.toml"
FIGURE = "convergence"
CHECKPOINT = "checkpoint.npz"
RATES = "rates.csv"
RESULT_FILES = (TRACE, FIGURE + ".png", FIGURE + ".pdf", "error.log", CHECKPOINT, RATES)
#: files of a run directory that are not results: a folder holding only these is reusable
#: (a start cut short by a full disk, say)
OWN_FILES = (CONFIG, LOCK, ".reserve")
#: disk space a running run keeps in reserve (a file of zeros, ``.reserve``), given back to
#: write error.log and meta.json "failed" when the disk fills
RESERVE = ".reserve"
RESERVE_BYTES = 1 << 16


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
    """meta.json of the run directory ``path``; RunDirError if there is none or it is not a
    JSON object."""
    meta_path = os.path.join(path, META)
    if not os.path.isdir(path):
        raise RunDirError("not a directory", file=path)
    try:
        with open(meta_path) as fh:
            meta = json.load(fh)
    except FileNotFoundError:
        raise RunDirError(f"no {META}: not a run directory", file=path) from None
    except IsADirectoryError:
        raise RunDirError("is a directory, not a file", file=meta_path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"not valid JSON ({exc})", file=meta_path) from None
    except OSError as exc:
        raise RunDirError(f"cannot be read ({exc.strerror})", file=meta_path) from None
    if not isinstance(meta, dict):
        raise RunDirError(f"holds a JSON {type(meta).__name__}, not the object of a run record",
                          file=meta_path)
    return meta


def read_run(path: str) -> tuple[Trace, dict]:
    """(Trace with meta, meta) of a run directory; RunDirError when it holds no trace."""
    meta = read_meta(path)
    trace_path = os.path.join(path, TRACE)
    if not os.path.isfile(trace_path):
        raise RunDirError(f"no {TRACE} (status {meta.get('status')!r})", file=path)
    try:
        trace = Trace.read_csv(trace_path)
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise RunDirError(f"not a trace ({exc})", file=trace_path) from None
    trace.meta = meta
    return trace, meta


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class RunDirectory:
    """Writes one run's directory; ``start`` (or ``resume``), then exactly one of ``finish``
    or ``fail``; in between, ``append`` each sample and ``write_checkpoint`` now and then.

    meta.json always has the keys of the run's record (``Trace.meta``: status, error, engine,
    the setup's description, run, versions) and the provenance of the directory (config_hash,
    command, host, started, finished, resumed); ``run`` and ``finished`` are null until the run
    ends. A write that fails (a full disk, a folder made read-only) is an ``OutputError`` naming
    the file and the cause: exit code 2 while starting (what was written is removed again), 1
    afterwards (the run is failed; the rows already in trace.csv stay).
    """

    def __init__(self, path: str, cfg: dict, command: list[str]):
        self.path, self.cfg = path, cfg
        self.provenance = {"config_hash": config_hash(cfg), "command": command,
                           "host": platform.node(), "started": _now(), "finished": None,
                           "resumed": []}
        self.meta: dict = {}
        self.trace_file: TraceFile | None = None
        self.last_written: float | None = None

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def start(self, setup) -> None:
        """Drop any earlier run's results, write config, meta and the trace's header."""
        name = None
        try:
            for name in RESULT_FILES + tuple(_rank_checkpoints(self.path)):
                if os.path.exists(self.file(name)):
                    os.unlink(self.file(name))
            name = CONFIG
            write_atomic(self.file(CONFIG), to_toml(self.cfg))
            self.meta = {"status": "running", "error": None, "engine": setup.engine,
                         **setup.describe(), "run": None, "versions": versions(),
                         **self.provenance}
            name = META
            write_json(self.file(META), self.meta)
            name = RATES
            _write_rates(self.file(RATES), setup)
            name = TRACE
            columns = TIMED_COLUMNS if engines.get_engine(setup.engine).timed else COLUMNS
            self.trace_file = TraceFile(self.file(TRACE)).open_new(columns)
            name = RESERVE
            _write_reserve(self.path)
        except OSError as exc:
            self._undo_start()
            raise self._write_error(exc, exit_code=2, file=name) from None

    def _close_trace(self) -> None:
        """Close trace.csv where it is open; a disk that refuses the last bytes changes nothing
        now (the rows before are written)."""
        if self.trace_file is not None:
            try:
                self.trace_file.close()
            except OSError:
                pass
            self.trace_file = None

    def _undo_start(self) -> None:
        """A start that could not be completed leaves nothing behind (the folder is reusable)."""
        self._close_trace()
        for name in (TRACE, META, CONFIG, RESERVE, RATES):
            remove_quietly(self.file(name))

    def resume(self, setup, previous: dict, ranks: int = 1) -> DriveState:
        """Reopen an interrupted run at its checkpoint: meta.json back to "running" (with the
        earlier provenance and this resumption), trace.csv cut to the checkpoint's rows. The
        ``DriveState`` to hand to the engine (``Journal.resume``); ``checkpoint_header`` its
        header. RunDirError, before anything is written, for a checkpoint of another config,
        engine or number of ``ranks``."""
        state, trace_bytes, self.checkpoint_header = read_checkpoint(self.path, self.cfg, setup)
        written_by = self.checkpoint_header.get("ranks", 1)
        if written_by != ranks:
            raise RunDirError(f"a checkpoint of {written_by} MPI rank(s); resume it on as many "
                              f"(this job has {ranks})", file=self.file(CHECKPOINT))
        started = previous.get("started") or self.provenance["started"]
        self.provenance.update(started=started, resumed=list(previous.get("resumed") or [])
                               + [{"at": state.time, "started": _now()}])
        try:
            self.meta = {**previous, "status": "running", "error": None, "run": None,
                         "finished": None, **self.provenance}
            write_json(self.file(META), self.meta)
            if os.path.exists(self.file("error.log")):
                os.unlink(self.file("error.log"))
            self.trace_file = TraceFile(self.file(TRACE)).open_at(trace_bytes)
            _write_reserve(self.path)
        except OSError as exc:
            raise self._write_error(exc, exit_code=2) from None
        return state

    def append(self, row) -> None:
        """One sample, appended to trace.csv and flushed."""
        try:
            self.trace_file.append(row)
        except OSError as exc:
            raise self._write_error(exc, exit_code=1, file=TRACE) from None
        self.last_written = row[0]

    def write_checkpoint(self, state: DriveState, engine: str, generation: int = 1,
                         ranks: int = 1) -> None:
        """``state`` to checkpoint.npz, once the trace rows it counts are on disk (across
        ``ranks`` processes: the root's part, written after the others' of this
        ``generation``)."""
        try:
            self.trace_file.sync()
            header = {"config_hash": config_hash(self.cfg), "engine": engine,
                      "versions": versions(), "generation": generation, "ranks": ranks,
                      "time": state.time, "rows": len(state.rows),
                      "trace_bytes": self.trace_file.size, "start_scale": state.start_scale,
                      "last_sample": state.last_sample, "wall_time_s": state.wall_time_s,
                      "run": state.run_header}
            checkpoint.save(self.file(CHECKPOINT), header,
                            checkpoint.prefixed("run", state.run_arrays))
        except OSError as exc:
            raise self._write_error(exc, exit_code=1, file=CHECKPOINT) from None

    def finish(self, trace: Trace, figure_writer=None, stopped=None) -> dict:
        """Close the trace (written whole if the engine did not hand the rows over as they
        came), write the figures, then meta.json with the run's final status. ``stopped()``:
        the name of a signal that asked the run to stop before now (the run is then
        "interrupted", whatever it got to)."""
        meta = {**trace.meta, **self.provenance, "finished": _now()}
        name = TRACE
        try:
            if self.trace_file is not None:
                self.trace_file.close()
                self.trace_file = None
            if self.last_written != (trace["time"][-1] if len(trace) else None):
                trace.write_csv(self.file(TRACE))
            name = FIGURE + ".png/.pdf"
            if figure_writer is not None:
                figure_writer(trace, meta, self.file(FIGURE))
            else:  # figures of a resumed run's earlier part would not show this trace
                for ext in (".png", ".pdf"):
                    remove_quietly(self.file(FIGURE + ext))
            name = META
            signal_name = stopped() if stopped is not None else None
            if signal_name is not None and meta["status"] == "completed":
                meta.update(status="interrupted",
                            error=f"{signal_name} received while the results were written "
                                  f"(the trace is complete)")
            write_json(self.file(META), meta)
        except OSError as exc:
            raise self._write_error(exc, exit_code=1, file=name) from None
        remove_quietly(self.file(RESERVE))
        self.meta = meta
        return meta

    def fail(self, error: str, traceback_text: str, status: str = "failed") -> dict:
        """The run crashed (or was interrupted before its first sample: ``status``): keep the
        config, record the status with the error and the traceback, as far as the disk lets."""
        self._close_trace()
        self.meta = mark_failed(self.path, error, traceback_text, self.meta, status=status)
        return self.meta

    def _write_error(self, exc: OSError, *, exit_code: int, file: str | None = None):
        kept = ""
        if exit_code == 1 and self.last_written is not None:
            kept = f"; {TRACE} keeps the samples up to t = {self.last_written:.6g}"
        return write_error(exc, self.path, file, exit_code=exit_code, kept=kept)


def _write_rates(path: str, setup) -> None:
    """rates.csv (``dadao.rates.write_rates_csv``, readable as [rates] kind = "explicit") of a
    static graph's gossip rates when they differ between edges: what a drawing of the graph
    needs for its edge widths. Not written when they are all equal (meta.json's min = max says
    it), for a method without gossip clocks, or for a time-varying list."""
    if setup.condition is None or setup.time_varying:
        return
    (edges,), (lam,) = setup.args.edge_lists()
    if len(lam) and lam.min() < lam.max():
        from dadao.rates.choices import write_rates_csv

        write_rates_csv(path, edges, lam)


def write_error(exc: OSError, path: str, name: str | None, *, exit_code: int,
                kept: str = "") -> OutputError:
    """The one line of a file of the run directory ``path`` that could not be written: the
    file, the cause (``exc``), and what is kept."""
    name = name or (os.path.basename(exc.filename) if exc.filename else "")
    what = f"cannot write {name}" if name else "cannot write"
    return OutputError(f"{what}: {exc.strerror or exc}{kept}", file=path, exit_code=exit_code)


def kind_of_config(cfg: dict) -> str | None:
    """The [problem] kind of a run's config (whose data version a checkpoint must match)."""
    return (cfg.get("problem") or {}).get("kind")


def read_checkpoint(path: str, cfg: dict, setup) -> tuple[DriveState, int, dict]:
    """(DriveState, trace.csv bytes, header) of the checkpoint in ``path``, checked against the
    run it is to resume; RunDirError if it is not this run's, or is inconsistent with its
    trace."""
    file = os.path.join(path, CHECKPOINT)
    try:
        header, arrays = checkpoint.load(file, kind_of_config(cfg))
    except checkpoint.CheckpointError as exc:
        raise RunDirError(f"{exc}; run again without --resume", file=file) from None
    if header.get("config_hash") != config_hash(cfg) or header.get("engine") != setup.engine:
        raise RunDirError("a checkpoint of another config or engine; run again without "
                          "--resume", file=file)
    if header.get("versions") != versions():
        warnings.warn(f"{file}: written by other versions ({header.get('versions')}); the "
                      f"resumed run goes on but may differ from an uninterrupted one in the "
                      f"last digits", DadaoWarning)
    trace_path = os.path.join(path, TRACE)
    try:
        with open(trace_path, "rb") as fh:
            kept = fh.read(header["trace_bytes"])
        rows = Trace.read_csv_text(kept.decode())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise RunDirError(f"does not hold the rows of the checkpoint ({exc}); run again without "
                          f"--resume", file=trace_path) from None
    if len(kept) != header["trace_bytes"] or len(rows) != header["rows"]:
        raise RunDirError(f"holds {len(rows)} rows where the checkpoint counts "
                          f"{header['rows']}; run again without --resume", file=trace_path)
    state = DriveState(header["time"], header["run"], checkpoint.unprefixed("run", arrays),
                       rows, header["start_scale"], header["last_sample"],
                       header["wall_time_s"])
    return state, header["trace_bytes"], header


def _rank_checkpoints(path: str) -> list[str]:
    return sorted(name for name in os.listdir(path) if re.fullmatch(r"checkpoint\.rank\d+\.npz",
                                                                    name))


def rank_checkpoint(path: str, rank: int) -> str:
    """The checkpoint file of MPI rank ``rank`` > 0 (rank 0's part is checkpoint.npz)."""
    return os.path.join(path, f"checkpoint.rank{rank}.npz")


def write_rank_checkpoint(path: str, cfg: dict, rank: int, state: DriveState,
                          generation: int) -> None:
    """Rank ``rank``'s part of the run's state, for checkpoint ``generation``."""
    file = rank_checkpoint(path, rank)
    try:
        checkpoint.save(file, {"config_hash": config_hash(cfg), "rank": rank,
                               "generation": generation, "time": state.time,
                               "last_sample": state.last_sample,
                               "wall_time_s": state.wall_time_s, "run": state.run_header},
                        checkpoint.prefixed("run", state.run_arrays))
    except OSError as exc:
        raise write_error(exc, path, os.path.basename(file), exit_code=1) from None


def read_rank_checkpoint(path: str, cfg: dict, rank: int, generation: int) -> DriveState:
    """Rank ``rank``'s part of checkpoint ``generation``, as the DriveState it resumes from (the
    rows and the divergence scale are the root's alone)."""
    file = rank_checkpoint(path, rank)
    try:
        header, arrays = checkpoint.load(file, kind_of_config(cfg))
    except checkpoint.CheckpointError as exc:
        raise RunDirError(f"{exc}; run again without --resume", file=file) from None
    if (header.get("config_hash") != config_hash(cfg) or header.get("rank") != rank
            or header.get("generation") != generation):
        raise RunDirError(f"not rank {rank}'s part of checkpoint {generation} of this run; run "
                          f"again without --resume", file=file)
    return DriveState(header["time"], header["run"], checkpoint.unprefixed("run", arrays), [],
                      None, header["last_sample"], header["wall_time_s"])


def mark_failed(path: str, error: str, traceback_text: str, meta: dict | None = None, *,
                status: str = "failed") -> dict:
    """Record that the run failed: error.log, then meta.json with status failed (or
    ``status``), from ``meta`` (default: the directory's meta.json, as another MPI rank than the
    one holding the ``RunDirectory`` finds it). A disk that refuses the writes (full) leaves
    what it had: the record is returned all the same."""
    try:
        meta = dict(read_meta(path) if not meta else meta)
    except RunDirError:
        meta = dict(meta or {})
    meta.update(status=status, error=error, finished=_now())
    remove_quietly(os.path.join(path, RESERVE))  # the room these two files need
    for write in (lambda: write_atomic(os.path.join(path, "error.log"), traceback_text),
                  lambda: write_json(os.path.join(path, META), meta)):
        try:
            write()
        except OSError:
            pass
    return meta


def _write_reserve(path: str) -> None:
    """RESERVE_BYTES of zeros in ``path``: real blocks, given back when the disk fills."""
    with open(os.path.join(path, RESERVE), "wb") as fh:
        fh.write(bytes(RESERVE_BYTES))
        fh.flush()
        os.fsync(fh.fileno())
