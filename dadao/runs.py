"""The lifecycle of one run directory, for one process or the ranks of an MPI job.

    result = runs.run_config("configs/quickstart.toml", out="runs/qs")
    result.code, result.status, result.path, result.meta

1. **Build**: every process loads the config and builds the ``Setup``; a mistake on any process
   is agreed on by all (``Group.agree_on_error``) and raised everywhere, so no rank waits for one
   that failed. The processes then check they run the same thing (``Group.check_same``: config,
   flags, versions) and that the engine can run it there (``Engine.check``): still nothing is
   written.
2. **Claim**: the root claims the directory with a lock (``dadao.runlock``): a second process
   aiming at it is refused while the first runs.
3. **Skip if done**: if the directory holds this finished run (same resolved config, seed
   included) and ``rerun`` is off, every process stops (status "done"). A folder that holds
   something else is refused.
4. **Start or resume**: the root writes config.toml, meta.json with status "running" and the
   header of trace.csv; with ``resume``, it reopens the run at its checkpoint instead.
5. **Run**: the engine runs the setup; every sample is appended to trace.csv as it is taken, a
   checkpoint is written every ``checkpoint_every`` wall seconds, and SIGINT or SIGTERM stop the
   run at the next consistent point (``dadao.signals``), after a last checkpoint.
6. **Finish or fail**: the root writes the figures (unless ``figures`` is off), then meta.json with the final status
   (completed | diverged | interrupted). A crash is recorded as "failed" with error.log (under
   MPI by the first rank that fails, which then aborts the job); a full disk ends the run
   "failed" where meta.json can still be written, the samples so far kept in trace.csv.

The command line, the sweep script and tests call ``run_config``; what a person is told goes
through a ``Reporter`` (the command line prints; the default says nothing). Exit codes: 0
completed or already done, 1 diverged or failed, 2 a mistake in the input or an output that
cannot be written before the run (the DadaoError is raised, for the caller to print), 3 a solver
that failed, 130 interrupted by SIGINT (Ctrl-C), 143 by SIGTERM.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time as wallclock
import traceback
import warnings
from dataclasses import dataclass

from dadao import config, engines, experiment, rundir, runlock, signals
from dadao.engines import base
from dadao.engines.base import Group
from dadao.errors import DadaoError, DadaoWarning, RankError, RunInterrupted, UsageError
from dadao.problems.streams import data_changed
from dadao.versions import versions

#: exit code of each final status (an interrupted run: 128 + the signal, 130 for Ctrl-C)
EXIT_CODES = {"completed": 0, "done": 0, "dry-run": 0, "diverged": 1, "failed": 1,
              "interrupted": 130}
#: wall seconds between two checkpoints of a run (``--checkpoint-every``)
CHECKPOINT_EVERY_S = 600.0


class Reporter:
    """What the lifecycle tells the person running it, on the root only; this one says nothing."""

    def dry_run(self, setup) -> None:
        """``--dry-run``: the setup is valid; nothing runs."""

    def already_done(self, path: str, meta: dict) -> None:
        """The directory holds this finished run."""

    def started(self, setup, path: str) -> None:
        """The run directory is written, the run starts."""

    def resumed(self, setup, path: str, time: float) -> None:
        """The run goes on from its checkpoint at simulated ``time``."""

    def progress(self, setup):
        """A context manager giving ``progress(t, events, dist_to_opt)`` or None."""
        return contextlib.nullcontext(None)

    def finished(self, meta: dict, path: str, trace) -> None:
        """The results are written (any final status)."""

    def failed(self, line: str, path: str) -> None:
        """The run crashed; ``line`` says how; error.log in ``path`` has the traceback."""


@dataclass
class RunResult:
    """How ``run_config`` ended. ``status``: a final status of meta.json, "done" (found
    finished) or "dry-run"; ``meta`` and ``trace`` on the root (None elsewhere)."""

    code: int
    status: str
    path: str | None = None
    meta: dict | None = None
    trace: object = None
    setup: object = None


def run_config(config_path: str, *, sets=(), seed: int | None = None, engine: str | None = None,
               out: str | None = None, rerun: bool = False, dry_run: bool = False,
               resume: bool = False, checkpoint_every: float = CHECKPOINT_EVERY_S,
               command: list[str] | None = None, reporter: Reporter | None = None,
               launcher: bool = True, figures: bool = True) -> RunResult:
    """Run the config at ``config_path`` (with ``--set`` texts ``sets``, a ``seed`` and an
    ``engine`` overriding the config's) into the run directory ``out`` (default
    runs/<name>-<hash>); see the module docstring.

    ``resume``: go on from the directory's checkpoint if it holds an unfinished run of this
    config (from the start if it holds none). ``checkpoint_every``: wall seconds between two
    checkpoints (0: none but the one a signal's stop writes). ``launcher=False`` ignores an MPI launcher's environment: the run is
    this process's alone (a worker of a sweep). ``figures=False`` (``--no-figures``): no
    convergence.png/.pdf (a sweep's cells, whose report draws its own from trace.csv).
    """
    if resume and rerun:
        raise UsageError("--resume goes on with an unfinished run, --rerun starts a finished "
                         "one again: give one of them", field="--resume")
    if not (checkpoint_every >= 0 and math.isfinite(checkpoint_every)):
        raise UsageError(f"must be a number of seconds >= 0, got {checkpoint_every!r}",
                         field="--checkpoint-every")
    reporter = reporter or Reporter()
    group = _group(engine, launcher)
    # from here on a SIGINT or SIGTERM asks the run to stop (numba's compiler would swallow it):
    # before the run, the build ends and nothing is written; during it, see dadao.signals
    with signals.StopRequests() as stops:
        try:
            error, setup = None, None
            try:
                setup = build(config_path, sets=sets, seed=seed, engine=engine, group=group)
                if group.size > 1 and not engines.get_engine(setup.engine).distributed:
                    raise UsageError(f"launched on {group.size} MPI ranks but the engine is "
                                     f"{setup.engine!r}, which would run the whole simulation "
                                     f"on every rank; add --engine mpi", field="run.engine")
                if stops.requested is not None:
                    raise RunInterrupted(f"interrupted by {stops.name} while the run was being "
                                         f"prepared; nothing was written",
                                         exit_code=signals.exit_code(stops.requested))
            except Exception as exc:  # noqa: BLE001: every process must hear of it, bugs too
                error = exc
            group.agree_on_error(error)
            if group.size == 1 and engines.get_engine(setup.engine).distributed:
                group.close()
                group = engines.get_engine(setup.engine).group()  # a job of one rank
            flags = {"out": out, "rerun": rerun, "dry_run": dry_run, "resume": resume,
                     "checkpoint_every": checkpoint_every, "figures": figures}
            return _checked_run(config_path, setup, group, flags, command, reporter, stops)
        finally:
            group.close()


def _checked_run(config_path, setup, group, flags, command, reporter, stops) -> RunResult:
    # every process must be running the same thing before any of them writes or waits
    group.check_same({"config_hash": config.config_hash(setup.config), "config": setup.config,
                      "engine": setup.engine, **flags, "versions": versions()})
    engines.get_engine(setup.engine).check(setup, group)
    if flags["dry_run"]:
        if group.is_root:
            reporter.dry_run(setup)
        return RunResult(0, "dry-run", setup=setup)
    opened = _open_directory(config_path, setup, group, flags, command, reporter)
    if opened.kind == "done":
        return RunResult(0, "done", opened.path, opened.previous, setup=setup)
    try:
        return _run(setup, group, opened, flags, stops, reporter)
    finally:
        if opened.claim is not None:
            opened.claim.release()


@dataclass
class _Opened:
    """What the root found and did in the run directory, told to every process: ``kind`` is
    "done" (it holds this finished run) or "run"; ``resume`` the DriveState to go on from."""

    kind: str
    path: str
    previous: dict | None = None
    generation: int = 0
    directory: object = None
    claim: object = None
    resume: object = None


def _open_directory(config_path, setup, group, flags, command, reporter) -> _Opened:
    """On the root: claim the directory, decide (done, start, resume), write its start; on
    every process: the decision, or the root's error."""
    decision, opened, error = None, None, None
    if group.is_root:
        try:
            opened = _open_on_root(config_path, setup, flags, command, reporter, group.size)
            decision = (opened.kind, opened.path, opened.previous, opened.generation)
        except Exception as exc:  # noqa: BLE001: told to every rank below
            if not isinstance(exc, DadaoError) or group.size == 1:
                raise
            decision, error = ("error", str(exc), getattr(exc, "exit_code", 2)), exc
    decision = group.bcast(decision)
    if decision[0] == "error":
        raise error if group.is_root else RankError(decision[1], exit_code=decision[2])
    if group.is_root:
        if opened.kind == "run" and opened.generation and group.size > 1:
            group.agree_on_error(None)  # the other ranks read their parts of the checkpoint
        return opened
    opened = _Opened(*decision)
    if opened.kind == "run" and opened.generation:
        failure = None
        try:
            opened.resume = rundir.read_rank_checkpoint(opened.path, setup.config, group.rank,
                                                        opened.generation)
        except Exception as exc:  # noqa: BLE001: every rank must hear of it
            failure = exc
        group.agree_on_error(failure)
    return opened


#: the versions of how a run draws its random numbers (``dadao.versions``), with the version a
#: meta.json that does not record one was made with: a run of another version of either is not
#: the result of its config and seed any more (of the problem data: a version that changed the
#: run's problem kind, ``dadao.problems.streams.data_changed``)
DRAW_VERSIONS = {"schedule": ("event schedule", "1"), "problem_data": ("problem data", "1")}


def problem_kind(meta: dict) -> str | None:
    """The [problem] kind of the run of a meta.json (its problem record, or the params in it);
    None when it records none."""
    problem = meta.get("problem")
    if not isinstance(problem, dict):
        return None
    params = problem.get("params")
    kind = problem.get("kind") or (params.get("kind") if isinstance(params, dict) else None)
    return kind if isinstance(kind, str) else None


def stale_versions(meta: dict) -> list[str]:
    """What a finished run drew otherwise than this dadao does: "event schedule version 1 (this
    dadao: 2)", ...; empty when it is the result of its config and seed. A problem data version
    counts when a version since then changed the run's problem kind (a quadratic run of a
    version that changed libsvm problems only is still the result of its config)."""
    recorded = meta.get("versions") or {}
    now = versions()
    kind = problem_kind(meta)

    def stale(key, before):
        old = recorded.get(key, before)
        if key == "problem_data":
            return data_changed(old, kind)
        return str(old) != now[key]

    return [f"{what} version {recorded.get(key, before)} (this dadao: {now[key]})"
            for key, (what, before) in DRAW_VERSIONS.items() if stale(key, before)]


def same_draws(meta: dict) -> bool:
    """Whether a finished run drew its events and its problem data as this dadao does: a run of
    another version is not the result of its config and seed any more, so it is not done."""
    return not stale_versions(meta)


def _open_on_root(config_path, setup, flags, command, reporter, ranks: int) -> _Opened:
    path = flags["out"] or rundir.default_path(config_path, setup.config)
    claim = runlock.claim(path)
    try:
        previous = existing_run(path, setup.config)
        status = previous.get("status") if previous else None
        if status == "completed" and not flags["rerun"] and not same_draws(previous):
            warnings.warn(f"{path} holds a run completed with "
                          f"{', '.join(stale_versions(previous))}: the same config and seed give "
                          f"other numbers now, so it runs again", DadaoWarning)
            status = "stale"
        if status == "completed" and not flags["rerun"]:
            reporter.already_done(path, previous)
            claim.release()
            return _Opened("done", path, previous)
        directory = rundir.RunDirectory(path, setup.config, command or [])
        resume, generation = None, 0
        if flags["resume"] and status == "diverged":
            raise UsageError(f"the run in {path} ended diverged: there is nothing to resume "
                             f"(use --rerun to run it again)", field="--resume")
        has_checkpoint = os.path.exists(os.path.join(path, rundir.CHECKPOINT))
        if has_checkpoint and not flags["resume"]:
            warnings.warn(f"{path} held an unfinished run ({status}) with a checkpoint: it "
                          f"starts again from t = 0 (--resume would have gone on from the "
                          f"checkpoint)", DadaoWarning)
        if flags["resume"] and not has_checkpoint and previous is not None:
            warnings.warn(f"{path} holds no checkpoint of its {status} run (a run of the "
                          f"{setup.engine} engine keeps none, or it stopped before its first): "
                          f"it starts again from t = 0", DadaoWarning)
        if flags["resume"] and has_checkpoint:
            resume = directory.resume(setup, previous, ranks=ranks)
            generation = directory.checkpoint_header.get("generation", 1)
            reporter.resumed(setup, path, resume.time)
        else:
            directory.start(setup)
            reporter.started(setup, path)
        return _Opened("run", path, None, generation, directory, claim, resume)
    except BaseException:
        claim.release()
        raise


class _Journal(base.Journal):
    """The lifecycle's journal (``dadao.engines.base.Journal``): samples go to trace.csv as
    they come, stops come from SIGINT/SIGTERM, checkpoints every ``every`` wall seconds (the
    root decides; across processes each writes its part of the state: ``rundir``)."""

    def __init__(self, opened: _Opened, setup, group: Group, stops, every: float):
        self.opened, self.setup, self.group = opened, setup, group
        self.stops, self.every = stops, every
        self.resume = opened.resume
        self.generation = opened.generation
        self.last = wallclock.monotonic()

    def sample(self, row) -> None:
        self.opened.directory.append(row)

    def stop_requested(self) -> str | None:
        return self.stops.name

    def checkpoint_due(self) -> bool:
        return self.every > 0 and wallclock.monotonic() - self.last >= self.every

    def checkpoint(self, state) -> None:
        self.generation += 1
        if self.group.is_root:
            self.opened.directory.write_checkpoint(state, self.setup.engine, self.generation,
                                                   ranks=self.group.size)
        else:
            rundir.write_rank_checkpoint(self.opened.path, self.setup.config, self.group.rank,
                                         state, self.generation)
        self.last = wallclock.monotonic()


def build(config_path: str, *, sets=(), seed=None, engine=None, group=None):
    """The Setup of a config file with overrides (``--set`` texts, a seed, an engine), for the
    processes of ``group`` (``experiment.from_config``)."""
    extra = [f"run.engine={engine}"] if engine else []
    cfg = config.load(config_path, sets=list(sets) + extra, seed=seed)
    return experiment.from_config(cfg, source=config_path, group=group)


def _group(engine: str | None, launcher: bool) -> Group:
    """The processes of this run: the ranks of an MPI job when the engine runs across processes
    (``--engine mpi``) or an MPI launcher started this process, else this process alone."""
    if engine is not None:
        chosen = engines.get_engine(engines.check_name(engine))
        if chosen.distributed:
            return chosen.group()
    if launcher:
        from dadao.engines import mpi
        from dadao.errors import MpiUnavailableError

        if mpi.launcher_rank() is not None:
            try:
                return mpi.ENGINE.group()
            except MpiUnavailableError:
                pass  # a launcher's environment without mpi4py: an ordinary process
    return Group()


def _stop_code(stops, status: str) -> int:
    if status == "interrupted" and stops.requested is not None:
        return signals.exit_code(stops.requested)
    return EXIT_CODES.get(status, 1)


def _run(setup, group: Group, opened: _Opened, flags: dict, stops,
         reporter: Reporter) -> RunResult:
    root, path, directory = group.is_root, opened.path, opened.directory
    engine = engines.get_engine(setup.engine)
    options = {}
    if engine.distributed:
        def on_failure(line, traceback_text):
            # the first rank to fail names the cause; errors it sets off on other ranks (while
            # the job is being aborted) must not overwrite it
            try:
                if rundir.read_meta(path).get("status") == "failed":
                    return
            except DadaoError:
                pass
            if root:
                directory.fail(line, traceback_text)
            else:
                rundir.mark_failed(path, line, traceback_text)

        options["on_failure"] = on_failure
    journal = _Journal(opened, setup, group, stops, flags["checkpoint_every"])
    try:
        with (reporter.progress(setup) if root else contextlib.nullcontext()) as progress:
            trace = engine.run(setup, group=group, progress=progress, journal=journal, **options)
    except KeyboardInterrupt:
        if not root:
            raise
        meta = directory.fail("interrupted before the first sample", traceback.format_exc(),
                              status="interrupted")
        reporter.finished(meta, path, None)
        return RunResult(_stop_code(stops, "interrupted"), "interrupted", path, meta,
                         setup=setup)
    except Exception as exc:  # noqa: BLE001: any crash is recorded, then reported in one line
        if not root:
            raise
        if isinstance(exc, DadaoError):
            # a mistake found only when running, or results that cannot be written: the
            # directory must not look finished
            directory.fail(str(exc), traceback.format_exc())
            raise
        line = f"{type(exc).__name__}: {exc}".splitlines()[0]
        meta = directory.fail(line, traceback.format_exc())
        reporter.failed(line, path)
        return RunResult(1, "failed", path, meta, setup=setup)
    if not root:
        code, status = group.bcast(None)
        return RunResult(code, status, path, setup=setup)
    # the other processes wait for the outcome: they hear it whatever happens while writing
    outcome = (1, "failed")
    try:
        # imported only when drawn: a sweep's worker without figures never loads matplotlib
        write_run_figures = None
        if flags["figures"]:
            from dadao.report.figures import write_run_figures

        if stops.requested is not None and trace.meta["status"] == "completed":
            trace.meta.update(status="interrupted",
                              error=f"{stops.name} received at the end of the run (the trace "
                                    f"is complete)")
        try:
            meta = directory.finish(trace, figure_writer=write_run_figures,
                                    stopped=lambda: stops.name)
        except DadaoError as exc:
            directory.fail(str(exc), traceback.format_exc())
            raise
        code = _stop_code(stops, meta["status"])
        outcome = (code, meta["status"])
        reporter.finished(meta, path, trace)
    finally:
        group.bcast(outcome)
    return RunResult(code, meta["status"], path, meta, trace, setup)


def existing_run(path: str, cfg: dict) -> dict | None:
    """meta.json of the run already at ``path``; refuses a folder that holds something else."""
    if not os.path.exists(path):
        return None
    if not os.path.isdir(path):
        raise UsageError("exists and is not a directory", field=f"--out {path}")
    if not os.path.exists(os.path.join(path, rundir.META)):
        if [name for name in os.listdir(path)
                if name not in rundir.OWN_FILES and not name.endswith(".tmp")]:
            raise UsageError("exists, is not empty and is not a run directory; choose another "
                             "--out", field=f"--out {path}")
        return None
    meta = rundir.read_meta(path)
    if meta.get("config_hash") != config.config_hash(cfg) and not _stale_run_of(path, meta, cfg):
        raise UsageError(f"holds a run of another config (hash {meta.get('config_hash')}); "
                         f"choose another --out", field=f"--out {path}")
    return meta


#: the config keys a run resolves from its problem's data ("auto" written as the value used): a
#: run of another problem data version resolved them from other data
DATA_RESOLVED_KEYS = (("problem", "reg"), ("problem", "form"))


def _stale_run_of(path: str, meta: dict, cfg: dict) -> bool:
    """Whether the folder holds a run of this config made with other draws (``stale_versions``)
    whose config differs only in the keys resolved from the data: the same config, whose
    "auto" values another dadao's data gave other numbers (it runs again, as a stale run)."""
    if not stale_versions(meta):
        return False
    try:  # the folder's resolved config, read back as a config file is
        before = config.load(os.path.join(path, rundir.CONFIG))
    except (DadaoError, OSError):
        return False

    def without_data_keys(c):
        c = copy.deepcopy(c)
        for section, key in DATA_RESOLVED_KEYS:
            (c.get(section) or {}).pop(key, None)
        return c

    return config.config_hash(without_data_keys(before)) == config.config_hash(
        without_data_keys(cfg))
