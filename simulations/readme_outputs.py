"""Regenerate the parts of README.md that the code produces: the list of commands, the output
blocks of commands, and the config reference.

    python simulations/readme_outputs.py            # rewrite README.md in place
    python simulations/readme_outputs.py --check    # exit 1 if README.md is not up to date

An output block is marked in README.md by

    <!-- output: dadao graph star --n 300 -->
    ```
    $ dadao graph star --n 300
    ...what the command printed...
    ```
    <!-- output: end -->

and is rewritten with what the command prints now (run in this process, with an empty cache for
optimal rates, so a solve is timed afresh). ``tests/test_readme.py`` checks the blocks whose
output is deterministic, the list of commands and the config reference.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"<!-- output: (?P<cmd>.+?) -->\n```\n.*?```\n<!-- output: end -->", re.S)


def command_output(command: str) -> str:
    """What ``command`` (a `dadao ...` line) prints on stdout, run in this process."""
    from dadao import cli

    argv = shlex.split(command)
    assert argv[0] == "dadao", command
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as cache, contextlib.redirect_stdout(out):
        old = os.environ.get("DADAO_CACHE_DIR")
        os.environ["DADAO_CACHE_DIR"] = cache
        try:
            code = cli.main(argv[1:])
        finally:
            if old is None:
                os.environ.pop("DADAO_CACHE_DIR")
            else:
                os.environ["DADAO_CACHE_DIR"] = old
    if code != 0:
        raise SystemExit(f"{command}: exit {code}")
    return out.getvalue()


def commands_sentence() -> str:
    """The README's sentence listing the commands, from the command line's parser."""
    from dadao import cli

    names = cli.command_names()
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
             8: "eight"}
    listed = ", ".join(f"`{n}`" for n in names)
    return (f"`dadao` (or `python -m dadao`) has {words.get(len(names), len(names))} commands "
            f"({listed});\neach has `--help` with examples.")


def regenerate(text: str, run_outputs: bool = True) -> str:
    from dadao import config

    if run_outputs:
        text = BLOCK.sub(lambda m: (f"<!-- output: {m['cmd']} -->\n```\n$ {m['cmd']}\n"
                                    f"{command_output(m['cmd'])}```\n<!-- output: end -->"),
                         text)
    text = re.sub(r"<!-- commands: begin -->\n.*?\n<!-- commands: end -->",
                  lambda m: f"<!-- commands: begin -->\n{commands_sentence()}\n"
                            f"<!-- commands: end -->", text, flags=re.S)
    text = re.sub(r"<!-- config reference: begin -->\n.*?\n<!-- config reference: end -->",
                  lambda m: f"<!-- config reference: begin -->\n{config.reference_markdown()}\n"
                            f"<!-- config reference: end -->", text, flags=re.S)
    text = re.sub(r"<!-- measured: begin -->\n.*?\n<!-- measured: end -->",
                  lambda m: f"<!-- measured: begin -->\n{measured_table()}\n"
                            f"<!-- measured: end -->", text, flags=re.S)
    return text


def measured_table() -> str:
    """The Measured table, from the rows the benchmarks wrote in docs/measured/."""
    sys.path.insert(0, str(ROOT / "simulations"))
    from measured import table

    return table()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check; exit 1 when stale")
    args = p.parse_args(argv)
    text = README.read_text()
    new = regenerate(text, run_outputs=not args.check)
    if args.check:
        stale = new != text
        print("README.md is stale" if stale else "README.md is up to date")
        return 1 if stale else 0
    README.write_text(new)
    print(f"{README}: regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
