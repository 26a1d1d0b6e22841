"""The lifecycle of one run directory, for one process or the ranks of an MPI job.

    result = runs.run_config("configs/quickstart.toml", out="runs/qs")
    result.code, result.status, result.path, result.meta

1. **Build**: every process loads the config and builds the ``Setup``; a mistake on any process
   is agreed on by all (``Group.agree_on_error``) and raised everywhere, so no rank waits for one
   that failed.
2. **Skip if done**: the root looks at the run directory; if it holds this finished run (same
   resolved config, seed included) and ``rerun`` is off, every process stops (status "done").
   A folder that holds something else is refused.
3. **Start**: the root writes config.toml and meta.json with status "running".
4. **Run**: the engine runs the setup; the root gets the Trace.
5. **Finish or fail**: the root writes trace.csv, the figures, then meta.json with the final
   status (completed | diverged | interrupted). A crash is recorded as "failed" with error.log
   (under MPI by the first rank that fails, which then aborts the job); Ctrl-C before the first
   sample is recorded as "interrupted".

The command line, the sweep script and tests call ``run_config``; what a person is told goes
through a ``Reporter`` (the command line prints; the default says nothing). Exit codes: 0
completed or already done, 1 diverged or failed, 2 a mistake in the input (the DadaoError is
raised, for the caller to print), 3 a solver that failed, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from dataclasses import dataclass

from dadao import config, engines, experiment, rundir
from dadao.engines.base import Group
from dadao.errors import DadaoError, RankError, UsageError
from dadao.versions import versions

#: exit code of each final status
EXIT_CODES = {"completed": 0, "done": 0, "dry-run": 0, "diverged": 1, "failed": 1,
              "interrupted": 130}


class Reporter:
    """What the lifecycle tells the person running it, on the root only; this one says nothing."""

    def dry_run(self, setup) -> None:
        """``--dry-run``: the setup is valid; nothing runs."""

    def already_done(self, path: str, meta: dict) -> None:
        """The directory holds this finished run."""

    def started(self, setup, path: str) -> None:
        """The run directory is written, the run starts."""

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
               command: list[str] | None = None, reporter: Reporter | None = None,
               launcher: bool = True) -> RunResult:
    """Run the config at ``config_path`` (with ``--set`` texts ``sets``, a ``seed`` and an
    ``engine`` overriding the config's) into the run directory ``out`` (default
    runs/<name>-<hash>); see the module docstring.

    ``launcher=False`` ignores an MPI launcher's environment: the run is this process's alone
    (a worker of a sweep).
    """
    reporter = reporter or Reporter()
    group = _group(engine, launcher)
    error, setup = None, None
    try:
        setup = build(config_path, sets=sets, seed=seed, engine=engine)
        if group.size > 1 and not engines.get_engine(setup.engine).distributed:
            raise UsageError(f"launched on {group.size} MPI ranks but the engine is "
                             f"{setup.engine!r}, which would run the whole simulation on every "
                             f"rank; add --engine mpi", field="run.engine")
    except Exception as exc:  # noqa: BLE001: every process must hear of it, bugs included
        error = exc
    group.agree_on_error(error)
    if group.size == 1 and engines.get_engine(setup.engine).distributed:
        group = engines.get_engine(setup.engine).group()  # a job of one rank
    try:
        return _checked_run(config_path, setup, group, out=out, rerun=rerun, dry_run=dry_run,
                            command=command, reporter=reporter)
    finally:
        group.close()


def _checked_run(config_path, setup, group, *, out, rerun, dry_run, command, reporter):
    # every process must be running the same thing before any of them writes or waits
    group.check_same({"config_hash": config.config_hash(setup.config), "engine": setup.engine,
                      "out": out, "rerun": rerun, "dry_run": dry_run, "versions": versions()})
    engines.get_engine(setup.engine).check(setup, group)
    if dry_run:
        if group.is_root:
            reporter.dry_run(setup)
        return RunResult(0, "dry-run", setup=setup)
    decision, directory = None, None
    if group.is_root:
        try:
            path = out or rundir.default_path(config_path, setup.config)
            previous = existing_run(path, setup.config)
            if previous is not None and previous.get("status") == "completed" and not rerun:
                reporter.already_done(path, previous)
                decision = ("done", path, previous)
            else:
                directory = rundir.RunDirectory(path, setup.config, command or [])
                directory.start(setup)
                reporter.started(setup, path)
                decision = ("run", path, None)
        except Exception as exc:  # noqa: BLE001: told to every rank below
            if not isinstance(exc, DadaoError) or group.size == 1:
                raise
            decision, error = ("error", str(exc), getattr(exc, "exit_code", 2)), exc
    decision = group.bcast(decision)
    if decision[0] == "error":
        raise error if group.is_root else RankError(decision[1], exit_code=decision[2])
    kind, path, previous = decision
    if kind == "done":
        return RunResult(0, "done", path, previous, setup=setup)
    return _run(setup, group, directory, path, reporter)


def build(config_path: str, *, sets=(), seed=None, engine=None):
    """The Setup of a config file with overrides (``--set`` texts, a seed, an engine)."""
    extra = [f"run.engine={engine}"] if engine else []
    cfg = config.load(config_path, sets=list(sets) + extra, seed=seed)
    return experiment.from_config(cfg, source=config_path)


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


def _run(setup, group: Group, directory, path: str, reporter: Reporter) -> RunResult:
    root = group.is_root
    engine = engines.get_engine(setup.engine)
    options = {}
    if engine.distributed:
        def on_failure(line, traceback_text):
            # the first rank to fail names the cause; errors it sets off on other ranks (while
            # the job is being aborted) must not overwrite it
            if rundir.read_meta(path).get("status") == "failed":
                return
            if root:
                directory.fail(line, traceback_text)
            else:
                rundir.mark_failed(path, line, traceback_text)

        options["on_failure"] = on_failure
    try:
        with (reporter.progress(setup) if root else contextlib.nullcontext()) as progress:
            trace = engine.run(setup, group=group, progress=progress, **options)
    except KeyboardInterrupt:
        if not root:
            raise
        meta = directory.fail("interrupted before the first sample", traceback.format_exc(),
                              status="interrupted")
        reporter.finished(meta, path, None)
        return RunResult(130, "interrupted", path, meta, setup=setup)
    except Exception as exc:  # noqa: BLE001: any crash is recorded, then reported in one line
        if not root:
            raise
        if isinstance(exc, DadaoError):
            # a mistake found only when running: the directory must not look finished
            directory.fail(str(exc), traceback.format_exc())
            raise
        line = f"{type(exc).__name__}: {exc}".splitlines()[0]
        meta = directory.fail(line, traceback.format_exc())
        reporter.failed(line, path)
        return RunResult(1, "failed", path, meta, setup=setup)
    if not root:
        code, status = group.bcast(None)
        return RunResult(code, status, path, setup=setup)
    from dadao.report.figures import write_run_figures

    meta = directory.finish(trace, figure_writer=write_run_figures)
    reporter.finished(meta, path, trace)
    code = EXIT_CODES.get(meta["status"], 1)
    group.bcast((code, meta["status"]))
    return RunResult(code, meta["status"], path, meta, trace, setup)


def existing_run(path: str, cfg: dict) -> dict | None:
    """meta.json of the run already at ``path``; refuses a folder that holds something else."""
    if not os.path.exists(path):
        return None
    if not os.path.isdir(path):
        raise UsageError("exists and is not a directory", field=f"--out {path}")
    if not os.path.exists(os.path.join(path, rundir.META)):
        if os.listdir(path):
            raise UsageError("exists, is not empty and is not a run directory; choose another "
                             "--out", field=f"--out {path}")
        return None
    meta = rundir.read_meta(path)
    if meta.get("config_hash") != config.config_hash(cfg):
        raise UsageError(f"holds a run of another config (hash {meta.get('config_hash')}); "
                         f"choose another --out", field=f"--out {path}")
    return meta
