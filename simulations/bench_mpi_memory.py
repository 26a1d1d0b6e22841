"""Peak memory per MPI rank against P when each rank builds its own nodes' data, and a run that
does not fit one rank's memory budget.

The run: DADAO on a torus of n nodes, a quadratic problem in dimension d (its Hessians are
8 n d^2 bytes: the data dominates a rank's memory), t_max short (the data and the state are what
is measured, not the events). Each case is ``mpiexec -n P dadao run CONFIG --engine mpi --set
mpi.data=...`` in its own job:

  1. no budget: P = 1 (the whole problem), P = 2 with ``data = "whole"`` (every rank builds it),
     P = 2 with ``data = "per_rank"``: each rank's peak resident memory (``getrusage``, from the
     run's meta.json), the nodes whose data it held, the run's wall time; the traces of the
     three must be equal bit for bit (checked);
  2. with an explicit budget per rank (``DADAO_MEMORY_BUDGET``, default 2.5 GiB, below what the
     whole problem needs by dadao.memory's estimate and above what half of it needs): P = 1 and
     P = 2 whole are refused before anything is drawn (exit 2, one line), P = 2 per rank runs.

    python simulations/bench_mpi_memory.py [--n 40000] [--dim 64] [--budget 2.5G] [--ranks 2]

Writes docs/bench_mpi_memory.md (the script's own output; --no-doc: print only). The foreign
load of the machine during each job is measured from /proc/stat (machine_load.Load).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import machine_load  # noqa: E402

DOC = os.path.join(ROOT, "docs", "bench_mpi_memory.md")

CONFIG = """[graph]
family = "torus_2d"
n = {n}
[problem]
kind = "quadratic"
dim = {dim}
kappa = 10.0
seed = 0
[algorithm]
name = "dadao"
[rates]
kind = "auto"
[run]
t_max = 0.5
log_every = 0.25
seed = 0
"""


def mpiexec() -> str:
    path = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return path if os.path.exists(path) else "mpiexec"


def job(config: str, out: str, ranks: int, data: str, budget: str | None) -> dict:
    """One run; its outcome, per-rank records and the machine's foreign load."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    env.pop("DADAO_MEMORY_BUDGET", None)
    if budget is not None:
        env["DADAO_MEMORY_BUDGET"] = budget
    load = machine_load.Load()
    t0 = time.perf_counter()
    proc = subprocess.run([mpiexec(), "-n", str(ranks), sys.executable, "-m", "dadao", "run",
                           config, "--engine", "mpi", "--set", f"mpi.data={data}", "--out", out],
                          capture_output=True, text=True, env=env, timeout=1800)
    wall = time.perf_counter() - t0
    record = {"ranks": ranks, "data": data, "budget": budget, "exit": proc.returncode,
              "job_wall_s": wall, "foreign_load": load.stop()["machine"]}
    if proc.returncode == 0:
        meta = json.load(open(os.path.join(out, "meta.json")))
        detail = meta["run"]["engine_detail"]
        record["ranks_detail"] = [{k: r[k] for k in ("rank", "nodes", "data_nodes",
                                                     "peak_resident_bytes", "wall_time_s")}
                                  for r in detail["ranks_detail"]]
        record["trace"] = open(os.path.join(out, "trace.csv")).read()
    else:
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        record["error"] = (lines[-1] if lines else "").replace(config, "big.toml")
    return record


def gib(x: float) -> str:
    return f"{x / 2 ** 30:.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=40000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--budget", default="2.5G", help="DADAO_MEMORY_BUDGET of the budget runs")
    ap.add_argument("--ranks", type=int, default=2, help="P of the per-rank runs")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args(argv)
    P = args.ranks
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "big.toml")
        with open(config, "w") as fh:
            fh.write(CONFIG.format(n=args.n, dim=args.dim))
        cases = [(1, "whole", None), (P, "whole", None), (P, "per_rank", None),
                 (1, "whole", args.budget), (P, "whole", args.budget),
                 (P, "per_rank", args.budget)]
        results = []
        for k, (ranks, data, budget) in enumerate(cases):
            results.append(job(config, os.path.join(tmp, f"run{k}"), ranks, data, budget))
            r = results[-1]
            print(f"P = {ranks}, data = {data}, budget = {budget}: exit {r['exit']}, "
                  f"{r['job_wall_s']:.1f} s", flush=True)
    traces = {r["trace"] for r in results if "trace" in r}
    same = len(traces) == 1
    lines = render(args, results, same)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_doc:
        with open(DOC, "w") as fh:
            fh.write(text)
    return 0 if same else 1


def render(args, results, same: bool) -> list[str]:
    data_bytes = 8 * args.n * args.dim ** 2
    out = ["# Peak memory per MPI rank with each rank's own nodes' data",
           "",
           f"Generated by `python simulations/bench_mpi_memory.py --n {args.n} --dim {args.dim} "
           f"--budget {args.budget} --ranks {args.ranks}` on "
           f"{datetime.date.today().isoformat()} ({machine_load.processor()}, "
           f"{os.cpu_count()} cores, Python {platform.python_version()}).",
           "",
           f"DADAO on a torus of n = {args.n:,} nodes, a quadratic problem in dimension "
           f"d = {args.dim}: the Hessians H_i are {gib(data_bytes)} GiB (8 n d^2 bytes; DADAO "
           "evaluates no conjugate, so no inverses are built). Peak resident memory of each "
           "rank (getrusage), the nodes whose data it held, and the engine's wall time of the "
           "run (after the build). Foreign load: the share of the machine's cores busy with "
           "other work during the job.",
           "",
           "| P | [mpi] data | budget per rank | outcome | data held per rank (nodes) "
           "| peak memory per rank (GiB) | run wall time (s) | job wall time (s) "
           "| foreign load |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r["exit"] == 0:
            ranks = r["ranks_detail"]
            held = ", ".join(f"{x['data_nodes']:,}" for x in ranks)
            peak = ", ".join(gib(x["peak_resident_bytes"]) for x in ranks)
            wall = f"{max(x['wall_time_s'] for x in ranks):.2f}"
            outcome = "completed"
        else:
            held = peak = wall = "-"
            outcome = f"refused (exit {r['exit']}): `{r['error']}`"
        out.append(f"| {r['ranks']} | {r['data']} | {r['budget'] or 'none'} | {outcome} | "
                   f"{held} | {peak} | {wall} | {r['job_wall_s']:.1f} | "
                   f"{r['foreign_load']:.0%} |")
    out += ["",
            "The completed runs' traces are " + ("equal, bit for bit." if same else
                                                 "NOT equal: a bug."),
            "",
            "What a rank holds besides its nodes' data: the interpreter and the compiled "
            "kernels, the graph and the rates (O(n + |E|)), its clocks and its own nodes' "
            "state (docs/mpi.md). The budget is "
            "checked before "
            "anything is drawn against dadao.memory's estimate (3 x 8 n d^2 bytes for a "
            "quadratic problem, n the nodes a rank builds), less what the process already "
            "holds."]
    return out


if __name__ == "__main__":
    sys.exit(main())
