"""Fuzz `dadao run` with seeded inputs: the generator and oracle of tests/test_fuzz.py, longer.

Cases (tests/helpers/fuzzing.py): mutations of the shipped configs checked with --dry-run, and
random configs of the schema actually run with a tiny horizon. Case k of a session has the seed
S + k; with --kind both, the mutations take the seeds S, S+1, ... and the random runs a third as
many, interleaved. Every case runs in this process, each in a fresh temporary folder, under an
alarm.

    python simulations/fuzz_inputs.py                               # 3000 cases, seed 0
    python simulations/fuzz_inputs.py --cases 20000 --seed 1000000
    python simulations/fuzz_inputs.py --kind random --seed 78 --cases 1 -v   # one case again

Prints a summary (cases, how they ended, every failing case with its reproduction) and exits 1
when any case broke the oracle: an exception escaped `dadao.cli.main` (a traceback), a case hung,
an exit code outside {0, 1, 2, 3}, an exit 2 without exactly one line on stderr, something
written by a mistake or a dry run, a run directory that does not read back.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the generator lives with the tests

from helpers import fuzzing  # noqa: E402


def schedule(kind: str, cases: int, seed: int) -> list[tuple[str, int]]:
    """(kind, seed) of every case of a session."""
    if kind != "both":
        return [(kind, seed + k) for k in range(cases)]
    out, mutation, random = [], seed, seed
    for k in range(cases):
        if k % 4 == 3:
            out.append(("random", random))
            random += 1
        else:
            out.append(("mutation", mutation))
            mutation += 1
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=3000, help="number of cases (default 3000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first case (default 0)")
    p.add_argument("--kind", choices=("both", "mutation", "random"), default="both")
    p.add_argument("--no-figures", action="store_true",
                   help="random runs skip drawing their convergence figures (much faster)")
    p.add_argument("--timeout", type=float, help="seconds per case before it counts as a hang "
                   f"(default {fuzzing.TIMEOUT_S['mutation']} for a mutation, "
                   f"{fuzzing.TIMEOUT_S['random']} for a run)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every case as it ends, and each failure in full at once")
    args = p.parse_args(argv)
    if args.cases < 1:
        p.error("--cases must be >= 1")
    # optimal rates are cached: keep this session's out of ~/.cache
    cache = tempfile.TemporaryDirectory(prefix="dadao-fuzz-cache-")
    os.environ.setdefault("DADAO_CACHE_DIR", cache.name)

    counts = collections.Counter()
    failures = []
    t0 = time.perf_counter()
    plan = schedule(args.kind, args.cases, args.seed)
    for k, (kind, seed) in enumerate(plan):
        case = fuzzing.case(kind, seed)
        with tempfile.TemporaryDirectory(prefix="dadao-fuzz-") as folder:
            outcome = fuzzing.execute(case, folder, timeout=args.timeout,
                                      figures=not args.no_figures)
        counts[(kind, outcome.label)] += 1
        if outcome.problems:
            failures.append((case, outcome))
        if args.verbose:
            mark = "FAIL" if outcome.problems else "ok"
            print(f"[{k + 1}/{len(plan)}] {mark} {outcome.label} {outcome.seconds:.2f}s "
                  f"{case.id}", flush=True)
            if outcome.problems:
                print(fuzzing.report(case, outcome), flush=True)
        elif (k + 1) % 250 == 0:
            print(f"... {k + 1}/{len(plan)} cases, {len(failures)} failing, "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0

    print(f"\n{len(plan)} cases in {elapsed:.1f} s (kind {args.kind}, seeds from {args.seed})")
    for kind in ("mutation", "random"):
        ended = {label: n for (k, label), n in sorted(counts.items()) if k == kind}
        if ended:
            print(f"  {kind}: " + ", ".join(f"{label}: {n}" for label, n in ended.items()))
    tracebacks = [(c, o) for c, o in failures if o.traceback is not None]
    hangs = [(c, o) for c, o in failures if o.label == "hang"]
    print(f"  failing: {len(failures)} ({len(tracebacks)} tracebacks, {len(hangs)} hangs, "
          f"{len(failures) - len(tracebacks) - len(hangs)} other oracle violations)")
    if failures and not args.verbose:
        print()
        for case, outcome in failures:
            print(fuzzing.report(case, outcome))
            print()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
