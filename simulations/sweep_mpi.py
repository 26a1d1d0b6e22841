"""A sweep of independent runs spread over MPI ranks with mpi4py.futures (docs/design.md).

Each run is one seed of one config, run in process by a worker rank through the run lifecycle
of ``dadao run CONFIG --seed S --out OUT/seed-S`` (``dadao.runs``: same run directory, same
results);
rank 0 hands out the seeds and prints one line per finished run, then a summary, and writes
``OUT/sweep.json``. Runs already completed in OUT are found and not run again.

    mpiexec -n 5 python -m mpi4py.futures simulations/sweep_mpi.py configs/quickstart.toml \\
        --seeds 0-15 --out runs/sweep-quickstart
    python simulations/sweep_mpi.py configs/quickstart.toml --seeds 0-3 --out /tmp/sweep  # serial

With ``-n 5``, rank 0 dispatches and ranks 1-4 run. Exit code: 0 when every run completed, 1 when
one diverged or failed, 2 for a mistake in the arguments or the config (one line, nothing run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from dadao import config, runs
from dadao.atomic import write_atomic
from dadao.errors import DadaoError
from dadao.trace import events_of


def parse_seeds(text: str) -> list[int]:
    """"0-3,7" -> [0, 1, 2, 3, 7]."""
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if not lo.strip().isdigit() or (hi and not hi.strip().isdigit()):
            raise ValueError(f"--seeds: {text!r} is not a list of seeds like 0-15 or 1,4,9")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    if not seeds:
        raise ValueError("--seeds: no seed given")
    return sorted(set(seeds))


def run_seed(config_path: str, seed: int, out: str, sets: list[str]) -> dict:
    """One run, in this process (a worker rank); its seed, exit code and summary."""
    summary = {"seed": seed, "out": out, "rank": _rank()}
    try:
        # in process: a worker must not join the other ranks' collectives (run.engine = "mpi")
        result = runs.run_config(config_path, sets=sets, seed=seed, engine="inprocess", out=out,
                                 command=["sweep_mpi", config_path, "--seed", str(seed)],
                                 launcher=False)
    except DadaoError as exc:
        summary.update(code=exc.exit_code, status="failed", error=str(exc))
        return summary
    except Exception as exc:  # noqa: BLE001: one run's crash must not end the sweep
        summary.update(code=1, status="failed", error=f"{type(exc).__name__}: {exc}")
        return summary
    summary["code"] = result.code
    meta = result.meta or {}
    summary.update(status=meta.get("status"),
                   events=events_of(meta) if meta.get("run") else None,
                   wall_time_s=(meta.get("run") or {}).get("wall_time_s"))
    return summary


def _rank() -> int:
    try:
        from mpi4py import MPI

        return MPI.COMM_WORLD.rank
    except ImportError:
        return 0


def _executor():
    """An MPIPoolExecutor when launched with ``python -m mpi4py.futures`` on several ranks."""
    try:
        from mpi4py import MPI
        from mpi4py.futures import MPIPoolExecutor
    except ImportError:
        return None
    if MPI.COMM_WORLD.size > 1:
        return MPIPoolExecutor()
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="the config of every run")
    p.add_argument("--seeds", required=True, help="seeds, e.g. 0-15 or 1,4,9")
    p.add_argument("--out", required=True, help="folder of the runs (OUT/seed-S each)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config key in every run (as dadao run --set)")
    args = p.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
        # check the config once, before any worker starts: one line, nothing written
        config.load(args.config, sets=args.set, seed=seeds[0])
    except (ValueError, DadaoError) as exc:
        print(f"sweep_mpi: error: {exc}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    jobs = [(args.config, s, os.path.join(args.out, f"seed-{s}"), args.set) for s in seeds]
    executor = _executor()
    results = []
    if executor is None:
        results = [run_seed(*job) for job in jobs]
    else:
        with executor:
            futures = [executor.submit(run_seed, *job) for job in jobs]
            for future in futures:
                results.append(future.result())
                r = results[-1]
                print(f"seed {r['seed']}: {r.get('status')} on rank {r['rank']} "
                      f"({r.get('events')} events, {r.get('wall_time_s') or 0:.2f} s)",
                      flush=True)
    done = sum(r.get("status") == "completed" for r in results)
    print(f"{done} of {len(results)} runs completed; run directories in {args.out}")
    write_atomic(os.path.join(args.out, "sweep.json"),
                 json.dumps({"config": args.config, "sets": args.set, "runs": results},
                            indent=2) + "\n")
    return 0 if done == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
