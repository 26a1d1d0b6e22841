"""End to end, as a user meets the project: the installed `dadao` command in a subprocess, its
output read back with nothing but csv and json (and numpy)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

import helpers

from dadao.trace import events_of

ROOT = str(helpers.ROOT)
SCRIPT = os.path.join(os.path.dirname(sys.executable), "dadao")
# The console script of `pip install -e .`; `python -m dadao` where only the package is importable.
DADAO = [SCRIPT] if os.path.exists(SCRIPT) else [sys.executable, "-m", "dadao"]


def dadao(*args, **kw):
    return subprocess.run(DADAO + list(args), capture_output=True, text=True, cwd=ROOT,
                          timeout=600, **kw)


def read_trace(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], np.array(rows[1:], dtype=float)


def test_quick_start(tmp_path):
    out = tmp_path / "quickstart"
    proc = dadao("run", "configs/quickstart.toml", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # not a terminal: no progress bar
    assert f"{out}: completed" in proc.stdout
    header, table = read_trace(out / "trace.csv")
    assert header[:6] == ["time", "gradients", "communications", "dist_to_opt", "suboptimality",
                          "consensus"]
    col = {name: table[:, j] for j, name in enumerate(header)}
    assert col["time"][0] == 0 and col["time"][-1] == 400.0
    assert np.all(np.diff(col["gradients"]) >= 0) and np.all(np.diff(col["communications"]) >= 0)
    # converges visibly: more than 10 orders of magnitude in dist_to_opt
    assert col["dist_to_opt"][-1] < 1e-10 * col["dist_to_opt"][0]
    assert col["suboptimality"][-1] < 1e-8 * col["suboptimality"][0]
    meta = json.loads((out / "meta.json").read_text())
    for key in ("status", "seed", "algorithm", "graph", "rates", "problem", "run", "versions",
                "command"):
        assert key in meta, key
    assert meta["status"] == "completed" and meta["seed"] == 0
    assert meta["algorithm"]["name"] == "dadao"
    assert {"n", "edges", "chi"} <= set(meta["graph"])
    assert {"total", "chi_1", "chi_2"} <= set(meta["rates"])
    assert {"L", "mu", "kappa"} <= set(meta["problem"])
    assert {"wall_time_s", "gradient_events", "gossip_events"} <= set(meta["run"])
    # 16 nodes at rate 1 and edges at the theory total rate, over t_max = 400
    expected = 400 * (16 + meta["rates"]["total"])
    assert abs(events_of(meta) - expected) < 5 * np.sqrt(expected)
    assert col["gradients"][-1] + col["communications"][-1] == events_of(meta)
    for name in ("convergence.png", "convergence.pdf"):
        assert (out / name).stat().st_size > 10_000


def test_user_mistake_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[graph]\nfamily = "cycle"\nnodes = 8\n[problem]\nkind = "quadratic"\n'
                   '[run]\nt_max = 5.0\n')
    proc = dadao("run", str(bad), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"dadao run: error: {bad}: graph.nodes: unknown key for graph.family = 'cycle' "
        f"(keys: family, n, time_varying)"]
    assert proc.stdout == "" and not (tmp_path / "out").exists()


def test_ctrl_c_keeps_the_trace_and_says_interrupted(tmp_path):
    """A real SIGINT in the middle of a long run."""
    cfg = tmp_path / "long.toml"
    cfg.write_text('[graph]\nfamily = "star"\nn = 300\n[problem]\nkind = "least_squares"\n'
                   'dim = 2\n[run]\nt_max = 1e7\nlog_every = 10.0\n')
    out = tmp_path / "long"
    proc = subprocess.Popen(DADAO + ["run", str(cfg), "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the trace is written as it is sampled: wait for a few rows, i.e. into the events
        deadline = time.time() + 120
        while time.time() < deadline and not (
                (out / "trace.csv").exists()
                and len((out / "trace.csv").read_text().splitlines()) > 3):
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    header, table = read_trace(out / "trace.csv")
    times = table[:, header.index("time")]
    assert len(times) > 2 and times[-1] < 1e7 and np.all(np.diff(times) > 0)
    assert meta["run"]["t_end"] == times[-1]
    assert "Traceback" not in stderr
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]


def test_help_is_complete():
    proc = dadao("--help")
    assert proc.returncode == 0
    for word in ("run", "graph", "rates", "plot"):
        assert word in proc.stdout
    for command, flags in (("run", ("--set", "--seed", "--out", "--engine", "--dry-run")),
                           ("graph", ("--n", "--param", "--rates", "--json")),
                           ("rates", ("--n", "--method", "--solver", "--node-cap", "--json",
                                      "-o")),
                           ("plot", ("-o", "--x"))):
        proc = dadao(command, "--help")
        assert proc.returncode == 0
        assert "examples:" in proc.stdout
        for flag in flags:
            assert flag in proc.stdout, (command, flag)
