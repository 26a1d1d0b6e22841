"""Digests of the traces of every committed config and of every method: a refactoring check.

Runs each case through the command line in this process (``dadao run CONFIG --out DIR``, the
entry point every version of the package keeps) and prints, or writes with ``-o``, a JSON map
case -> sha256 of its ``trace.csv``. Run it before and after a change on the same machine and
compare the two files: equal digests mean bit-identical traces.

    python simulations/trace_digests.py -o before.json
    ... change the code ...
    python simulations/trace_digests.py -o after.json && cmp before.json after.json

Cases: every ``configs/*.toml`` as shipped, and every method on ``configs/quickstart.toml``
(the gossip-averaging methods on the averaging problem). Digests hold per machine only: the last
digits of a trace may differ on another CPU.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: every method, with the overrides that give it a problem it solves
METHODS = {
    "dadao": [], "continuized": [], "async_sgd": [],
    "randomized_gossip": ["problem.kind=averaging"],
    "accelerated_gossip": ["problem.kind=averaging"],
    "adom_plus": [], "adom_plus_mc": [], "msda": [], "opapc": [], "extra": [], "diging": [],
    "dgd": [],
}


def cases() -> dict[str, list[str]]:
    """case name -> arguments of ``dadao run`` (without --out)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "configs", "*.toml"))):
        out[os.path.basename(path)] = ["run", path]
    quickstart = os.path.join(ROOT, "configs", "quickstart.toml")
    for name, sets in METHODS.items():
        argv = ["run", quickstart, "--set", f"algorithm.name={name}", "--set", "run.t_max=100"]
        for item in sets:
            argv += ["--set", item]
        out[f"quickstart/{name}"] = argv
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-o", "--output", help="write the JSON here (default: standard output)")
    p.add_argument("--only", help="run only the cases whose name contains this text")
    args = p.parse_args(argv)
    from dadao import cli

    digests = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, run_argv in cases().items():
            if args.only and args.only not in name:
                continue
            out = os.path.join(tmp, name.replace("/", "_"))
            code = cli.main(run_argv + ["--out", out])
            trace = os.path.join(out, "trace.csv")
            if code != 0 or not os.path.isfile(trace):
                digests[name] = f"exit {code}"
            else:
                with open(trace, "rb") as fh:
                    digests[name] = hashlib.sha256(fh.read()).hexdigest()
            print(f"{name}: {digests[name]}", file=sys.stderr)
    text = json.dumps(digests, indent=2, sort_keys=True) + "\n"
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
