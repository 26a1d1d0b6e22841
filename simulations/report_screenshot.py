"""The example report, docs/report/: a few small runs (DADAO with its own and with uniform rates,
and DGD, 3 seeds each, on a cycle of 16 nodes), `dadao report` of them into report.html and
report.pdf, and a headless-Chromium screenshot of the HTML, screenshot.png.

    .venv/bin/python simulations/report_screenshot.py

The runs are made in a temporary folder (only the report is kept); run from any folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "report")

CONFIG = """\
[graph]
family = "cycle"
n = 16

[problem]
kind = "least_squares"
dim = 5
samples_per_node = 20
form = "quadratic"
reg = 2.0

[algorithm]
name = "dadao"

[run]
t_max = 200.0
log_every = 2.0
"""

GROUPS = (("dadao", []), ("dgd", []), ("dadao", ["rates.kind=uniform", "rates.total=100.0"]))
SEEDS = (0, 1, 2)


def main() -> int:
    sys.path.insert(0, ROOT)
    from dadao import cli
    from dadao.runs import run_config

    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the report names the runs by their paths: short, relative ones
        with open("example.toml", "w") as fh:
            fh.write(CONFIG)
        for algo, sets in GROUPS:
            tag = f"{algo}-{'uniform' if sets else 'own'}"
            for seed in SEEDS:
                result = run_config("example.toml", sets=[f"algorithm.name={algo}", *sets],
                                    seed=seed, out=f"runs/{tag}-s{seed}", checkpoint_every=0,
                                    figures=False,  # the report draws its own
                                    command=["dadao", "run", "example.toml", "--set",
                                             f"algorithm.name={algo}", *sets, "--seed",
                                             str(seed), "--no-figures"])
                if result.code != 0:
                    return result.code
        html, pdf = os.path.join(OUT, "report.html"), os.path.join(OUT, "report.pdf")
        code = cli.main(["report", "runs", "-o", html, "--pdf", pdf])
        if code:
            return code
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    if browser is None:
        print("no chromium binary: screenshot.png not made", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox",
                        f"--user-data-dir={profile}", "--hide-scrollbars",
                        f"--screenshot={os.path.join(OUT, 'screenshot.png')}",
                        "--window-size=1200,2000", "file://" + html],
                       check=True, capture_output=True, timeout=120)
    for name in sorted(os.listdir(OUT)):
        print(f"{os.path.join('docs', 'report', name)}: "
              f"{os.path.getsize(os.path.join(OUT, name)):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
