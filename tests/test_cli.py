"""The `dadao` command in process: every config of configs/, run directories, user mistakes
(exit 2, one line, nothing written), interruption and crashes, `graph` and `plot`."""

import glob
import json
import math
import os
import re

import numpy as np
import pytest

import helpers

from dadao.trace import events_of

from dadao import cli, config, rundir
from dadao.engines.inprocess import InProcess
from dadao.trace import COLUMNS

ROOT = str(helpers.ROOT)
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "*.toml")))


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def user_error(argv, capsys, tmp_path):
    """Run argv, expect exit 2 and one stderr line; nothing may be left in tmp_path/out."""
    code, out, err = run(argv + ["--out", str(tmp_path / "out")] if argv[0] == "run" else argv,
                         capsys)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    return lines[0]


def write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


SMALL = helpers.SMALL_CONFIG


def test_configs_exist_for_every_family():
    names = {os.path.basename(p)[:-5] for p in CONFIGS}
    from dadao.graphs import FAMILIES

    assert {"quickstart", "paper_star300"} | set(FAMILIES) <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.basename(p))
def test_every_config_dry_runs(path, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["run", path, "--dry-run"], capsys)
    assert code == 0, err
    assert "resolved config" in out and "chi_1" in out and "kappa" in out
    assert not os.path.exists(tmp_path / "runs")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.basename(p))
def test_every_config_runs_and_converges(path, capsys, tmp_path):
    """Every shipped config is small (the largest, the paper's star, is ~180k events)."""
    out_dir = tmp_path / "run"
    code, out, err = run(["run", path, "--out", str(out_dir)], capsys)
    assert code == 0, err
    meta = json.loads((out_dir / "meta.json").read_text())
    trace, _ = rundir.read_run(str(out_dir))
    assert meta["status"] == "completed"
    assert trace["dist_to_opt"][-1] <= 1e-9 * trace["dist_to_opt"][0]
    assert trace["time"][-1] == meta["t_max"]
    for name in ("convergence.png", "convergence.pdf", "config.toml"):
        assert (out_dir / name).stat().st_size > 0


def test_run_directory_contents(capsys, tmp_path):
    cfg_path = write(tmp_path, SMALL)
    monkey_cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code, out, err = run(["run", cfg_path, "--seed", "3"], capsys)
    finally:
        os.chdir(monkey_cwd)
    assert code == 0, err
    dirs = glob.glob(str(tmp_path / "runs" / "c-*"))
    assert len(dirs) == 1
    path = dirs[0]
    resolved = config.load(os.path.join(path, "config.toml"))
    assert os.path.basename(path) == f"c-{config.config_hash(resolved)}"
    assert resolved["run"]["seed"] == 3 and resolved["problem"]["form"] == "quadratic"
    meta = json.loads(open(os.path.join(path, "meta.json")).read())
    assert meta["status"] == "completed" and meta["error"] is None
    assert meta["seed"] == 3 and meta["algorithm"]["name"] == "dadao"
    assert meta["graph"]["n"] == 8 and meta["graph"]["edges"] == 8
    assert meta["graph"]["chi"] == pytest.approx(4 / (2 - 2 * math.cos(2 * math.pi / 8)))
    assert meta["rates"]["chi_1"] * meta["rates"]["chi_2"] == pytest.approx(0.5)
    # theory rates: the same rate on each of the 8 edges
    assert meta["rates"]["total"] == pytest.approx(8 * meta["rates"]["min"])
    assert meta["rates"]["min"] == meta["rates"]["max"]
    assert meta["problem"]["kappa"] == pytest.approx(meta["problem"]["L"] / meta["problem"]["mu"])
    assert events_of(meta) == meta["run"]["gradient_events"] + meta["run"]["gossip_events"]
    assert meta["run"]["wall_time_s"] > 0 and events_of(meta) > 0
    assert {"python", "numpy", "scipy", "networkx", "numba", "cvxpy", "matplotlib"} <= set(
        meta["versions"])
    assert meta["command"] == ["dadao", "run", cfg_path, "--seed", "3"]
    header = open(os.path.join(path, "trace.csv")).readline().strip().split(",")
    assert header[:len(COLUMNS)] == list(COLUMNS)
    # the same config and seed again: found finished, not rerun
    code, out, _ = run(["run", cfg_path, "--seed", "3", "--out", path], capsys)
    assert code == 0 and "already completed" in out


def test_same_seed_same_trace_and_seed_changes_it(capsys, tmp_path):
    cfg_path = write(tmp_path, SMALL)
    traces = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert run(["run", cfg_path, "--seed", str(seed), "--out", str(tmp_path / name)],
                   capsys)[0] == 0
        traces.append(open(tmp_path / name / "trace.csv").read())
    assert traces[0] == traces[1] and traces[0] != traces[2]


def test_set_overrides_reach_the_run(capsys, tmp_path):
    cfg_path = write(tmp_path, SMALL)
    code, _, err = run(["run", cfg_path, "--set", "graph.family=star", "--set", "graph.n=6",
                        "--set", "run.t_max=20", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    meta = json.loads((tmp_path / "o" / "meta.json").read_text())
    assert meta["graph"]["family"] == "star" and meta["graph"]["n"] == 6
    assert meta["t_max"] == 20.0


# --- user mistakes: exit 2, one line naming file and field, nothing written ---------------------

def test_mistakes_in_the_file(capsys, tmp_path):
    cases = [
        (SMALL.replace("n = 8", "nn = 8"), r"c.toml: graph.nn: unknown key .*did you mean 'n'"),
        (SMALL.replace('family = "cycle"', 'famly = "cycle"'),
         r"c.toml: graph.famly: unknown key; did you mean 'family'\? \(keys: family, n, "),
        (SMALL.replace("n = 8", 'n = "8"'), r"c.toml: graph.n: expected integer"),
        (SMALL.replace('"cycle"', '"cycel"'), r"c.toml: graph.family: .*did you mean 'cycle'"),
        (SMALL.replace("[run]", '[algorithm]\nname = "dadoo"\n[run]'),
         r"c.toml: algorithm.name: unknown choice 'dadoo'; did you mean 'dadao'"),
        (SMALL.replace('"cycle"\nn = 8', '"hypercube"\nn = 12'),
         r"c.toml: graph: graph family 'hypercube' needs n a power of 2; got n = 12"),
        (SMALL.replace('"cycle"\nn = 8', '"grid_2d"\nn = 10'),
         r"c.toml: graph: .*perfect square"),
        (SMALL.replace("t_max = 300.0", "t_max = 0.0"), r"c.toml: run.t_max: must be > 0"),
        (SMALL.replace("t_max = 300.0", "t_max = -1.0"), r"c.toml: run.t_max: must be > 0"),
        (SMALL.replace("[run]", '[rates]\nkind = "uniform"\ntotal = 1.0\n[run]'),
         r"c.toml: rates: DADAO's rate condition chi_1 chi_2 <= 1/2 is broken: .*multiply every "
         r"rate by at least .*run.force = true"),
        (SMALL.replace('kind = "least_squares"', 'kind = "libsvm"\npath = "no/such.svm"')
         .replace("dim = 3\nsamples_per_node = 20\n", ""),
         r"c.toml: problem.path: file not found: .*no/such.svm"),
        (SMALL.replace("log_every = 5.0", "log_every = 1e-6"),
         r"c.toml: run.log_every: .* samples up to t_max"),
    ]
    for text, pattern in cases:
        line = user_error(["run", write(tmp_path, text)], capsys, tmp_path)
        assert re.search(pattern, line), (pattern, line)


def test_disconnected_graph_file(capsys, tmp_path):
    (tmp_path / "two.edges").write_text("0 1\n1 2\n3 4\n")
    text = SMALL.replace('family = "cycle"\nn = 8', 'family = "file"\npath = "two.edges"')
    line = user_error(["run", write(tmp_path, text)], capsys, tmp_path)
    assert re.search(r"c.toml: graph.path: .*two.edges: graph is disconnected: 2 components",
                     line), line


def test_missing_config_and_graph_files(capsys, tmp_path):
    line = user_error(["run", str(tmp_path / "nope.toml")], capsys, tmp_path)
    assert "nope.toml: config file not found" in line
    text = SMALL.replace('family = "cycle"\nn = 8', 'family = "file"\npath = "gone.edges"')
    line = user_error(["run", write(tmp_path, text)], capsys, tmp_path)
    assert re.search(r"c.toml: graph.path: file not found: .*gone.edges", line)


def test_bad_set_and_out(capsys, tmp_path):
    cfg_path = write(tmp_path, SMALL)
    line = user_error(["run", cfg_path, "--set", "grph.n=3"], capsys, tmp_path)
    assert "--set: grph: unknown section; did you mean 'graph'" in line
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("precious")
    code, _, err = run(["run", cfg_path, "--out", str(tmp_path / "busy")], capsys)
    assert code == 2 and "is not empty and is not a run directory" in err
    assert (tmp_path / "busy" / "thesis.tex").read_text() == "precious"


def test_forced_broken_rates_warn_and_run(capsys, tmp_path):
    text = SMALL.replace("[run]", '[rates]\nkind = "uniform"\ntotal = 5.0\n[run]\nforce = true')
    code, _, err = run(["run", write(tmp_path, text), "--out", str(tmp_path / "f"),
                        "--set", "run.t_max=30"], capsys)
    # the warning is one line on stderr, without Python's source path
    warned = [line for line in err.splitlines() if line.startswith("dadao run: warning: ")]
    assert len(warned) == 1 and re.search("rate condition .* is broken", warned[0])
    assert ".py:" not in err
    assert code in (0, 1)
    assert json.loads((tmp_path / "f" / "meta.json").read_text())["status"] in (
        "completed", "diverged")


# --- interruption and crashes ------------------------------------------------------------------

def test_interrupt_keeps_the_trace_so_far(capsys, tmp_path, monkeypatch):
    real_run = InProcess.run

    def interrupted_run(self, setup, **kw):
        def boom(t, events, dist):
            if t >= 50:
                raise KeyboardInterrupt
        return real_run(self, setup, **dict(kw, progress=boom))

    monkeypatch.setattr(InProcess, "run", interrupted_run)
    code, out, err = run(["run", write(tmp_path, SMALL), "--out", str(tmp_path / "i")], capsys)
    assert code == 130
    meta = json.loads((tmp_path / "i" / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    trace, _ = rundir.read_run(str(tmp_path / "i"))
    assert 50 <= trace["time"][-1] < 300 and np.all(np.diff(trace["time"]) > 0)
    assert (tmp_path / "i" / "convergence.png").exists()


def test_crash_says_failed(capsys, tmp_path, monkeypatch):
    def crash(self, setup, **kw):
        raise RuntimeError("the disk caught fire\nsecond line")

    monkeypatch.setattr(InProcess, "run", crash)
    code, out, err = run(["run", write(tmp_path, SMALL), "--out", str(tmp_path / "x")], capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        f"dadao run: failed: RuntimeError: the disk caught fire (traceback in "
        f"{tmp_path / 'x' / 'error.log'})"]
    meta = json.loads((tmp_path / "x" / "meta.json").read_text())
    assert meta["status"] == "failed" and "disk caught fire" in meta["error"]
    assert "Traceback" in (tmp_path / "x" / "error.log").read_text()
    # crashed before its first sample: the trace has its header only
    assert len((tmp_path / "x" / "trace.csv").read_text().splitlines()) == 1


def test_a_new_run_removes_stale_results(capsys, tmp_path, monkeypatch):
    """A rerun that crashes must not leave the previous run's trace looking like its result."""
    cfg_path = write(tmp_path, SMALL)
    assert run(["run", cfg_path, "--out", str(tmp_path / "r")], capsys)[0] == 0
    monkeypatch.setattr(InProcess, "run",
                        lambda self, setup, **kw: (_ for _ in ()).throw(RuntimeError("x")))
    assert run(["run", cfg_path, "--out", str(tmp_path / "r"), "--rerun"], capsys)[0] == 1
    # the trace is this run's (its header, nothing sampled), not the previous run's rows
    assert len((tmp_path / "r" / "trace.csv").read_text().splitlines()) == 1
    assert not (tmp_path / "r" / "convergence.png").exists()


# --- dadao graph, dadao plot ---------------------------------------------------------------

def test_graph_reproduces_the_test_vectors(capsys):
    code, out, err = run(["graph", "star", "--n", "300", "--json"], capsys)
    assert code == 0, err
    info = json.loads(out)
    assert info["edges"] == 299 and info["chi"] == pytest.approx(300)
    assert info["rates"]["chi_1"] == pytest.approx(299) and info["rates"]["chi_2"] == \
        pytest.approx(149.5)
    assert info["ceil_chi_ln2"] == 208 and info["floor_sqrt_chi"] == 17
    per_round = info["communications_per_round"]
    # the authors' table (docs/model.md, Graph constants); Continuized: one communication per two
    # gradients under the accounting of section 3.1
    assert per_round["dadao"] == pytest.approx(299)
    assert per_round["adom_plus"] == 299 and per_round["adom_plus_mc"] == 62_192
    assert per_round["msda"] == 5_083 and per_round["continuized"] == pytest.approx(150)
    code, out, _ = run(["graph", "grid_2d", "--n", "16"], capsys)
    assert code == 0 and "11.6569" in out and "40.9706" in out and "8.41" in out


def test_graph_mistakes(capsys, tmp_path):
    assert "needs n a power of 2" in user_error(["graph", "hypercube", "--n", "12"], capsys,
                                                tmp_path)
    assert "did you mean 'barbell'" in user_error(["graph", "barbel", "--n", "12"], capsys,
                                                  tmp_path)
    assert "--n: required" in user_error(["graph", "cycle"], capsys, tmp_path)


def test_plot_overlays_runs(capsys, tmp_path):
    cfg_path = write(tmp_path, SMALL)
    for name, family in (("a", "cycle"), ("b", "complete")):
        assert run(["run", cfg_path, "--set", f"graph.family={family}",
                    "--out", str(tmp_path / name)], capsys)[0] == 0
    out_png = tmp_path / "both.png"
    code, out, err = run(["plot", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(out_png),
                          "--x", "communications"], capsys)
    assert code == 0, err
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    line = user_error(["plot", str(tmp_path)], capsys, tmp_path)
    assert "no meta.json: not a run directory" in line


# --- every method by name, overrides, time-varying graphs ----------------------------------------

def _method_config(tmp_path, name):
    from dadao.algorithms import get_algorithm

    algo = get_algorithm(name)
    kind = "averaging" if name in ("randomized_gossip", "accelerated_gossip") else "least_squares"
    text = SMALL.replace('kind = "least_squares"', f'kind = "{kind}"')
    if kind == "averaging":
        text = text.replace("samples_per_node = 20\n", "")
    return write(tmp_path, text.replace("[run]", f'[algorithm]\nname = "{name}"\n[run]')), algo


def test_every_method_runs_by_name(capsys, tmp_path):
    from dadao.algorithms import names

    for name in names():
        path, algo = _method_config(tmp_path, name)
        code, out, err = run(["run", path, "--set", "run.t_max=40", "--out",
                              str(tmp_path / name)], capsys)
        assert code == 0, (name, err)
        meta = json.loads((tmp_path / name / "meta.json").read_text())
        trace, _ = rundir.read_run(str(tmp_path / name))
        assert meta["algorithm"]["name"] == name and meta["status"] == "completed"
        assert trace["dist_to_opt"][-1] < trace["dist_to_opt"][0], name
        assert meta["algorithm"]["synchronous"] == hasattr(algo, "step")
        theory = meta["theory"]
        # gossip-only methods compute no gradients: infinitely many communications per round
        assert theory["communications_per_time"] > 0
        assert (theory["gradients_per_time"] == 0 if name.endswith("gossip")
                else theory["gradients_per_time"] > 0)


def test_overrides_reach_the_constants_and_the_run(capsys, tmp_path):
    cfg_path = write(tmp_path, SMALL)
    code, out, err = run(["run", cfg_path, "--set", "algorithm.gamma=0.01", "--dry-run"], capsys)
    assert code == 0, err
    assert re.search(r"constants\.gamma\s+0\.01\n", out)
    code, _, err = run(["run", cfg_path, "--set", "algorithm.gamma=0.01", "--out",
                        str(tmp_path / "o")], capsys)
    assert code == 0, err
    meta = json.loads((tmp_path / "o" / "meta.json").read_text())
    assert meta["algorithm"]["constants"]["gamma"] == 0.01 and meta["algorithm"]["options"] == {"gamma": 0.01}
    assert config.load(str(tmp_path / "o" / "config.toml"))["algorithm"]["gamma"] == 0.01
    default = tmp_path / "d"
    assert run(["run", cfg_path, "--out", str(default)], capsys)[0] == 0
    assert (tmp_path / "o" / "trace.csv").read_text() != (default / "trace.csv").read_text()


def test_method_mistakes(capsys, tmp_path):
    cfg_path = write(tmp_path, SMALL)
    line = user_error(["run", cfg_path, "--set", "algorithm.gama=0.1"], capsys, tmp_path)
    assert re.search(r"algorithm.gama: dadao has no such constant; did you mean 'gamma'", line)
    line = user_error(["run", cfg_path, "--set", "algorithm.theta=1e-9"], capsys, tmp_path)
    assert line.startswith(f"dadao run: error: {cfg_path}: algorithm.theta: ")
    line = user_error(["run", cfg_path, "--set", "algorithm.name=msda", "--set",
                       "problem.kind=logistic"], capsys, tmp_path)
    assert "problem.kind: msda needs the conjugate gradient" in line
    line = user_error(["run", cfg_path, "--set", "algorithm.name=adom_plus", "--set",
                       "rates.kind=uniform", "--set", "rates.total=3.0"], capsys, tmp_path)
    assert "rates.kind: adom_plus is synchronous" in line
    line = user_error(["run", cfg_path, "--set", "graph.time_varying=5"], capsys, tmp_path)
    assert "graph.time_varying: needs a random family" in line
    line = user_error(["run", cfg_path, "--set", "graph.family=random_geometric", "--set",
                       "graph.time_varying=5", "--set", "algorithm.name=continuized"],
                      capsys, tmp_path)
    assert re.search(r"c.toml: graph: continuized does not support time-varying graphs", line)


def test_time_varying_config(capsys, tmp_path):
    path = os.path.join(ROOT, "configs", "time_varying.toml")
    code, out, err = run(["run", path, "--out", str(tmp_path / "tv")], capsys)
    assert code == 0, err
    meta = json.loads((tmp_path / "tv" / "meta.json").read_text())
    assert meta["graph"]["graphs"] == 50
    assert meta["rates"]["chi_1"] * meta["rates"]["chi_2"] == pytest.approx(0.5)
    resolved = config.load(str(tmp_path / "tv" / "config.toml"))
    assert resolved["graph"]["switch_period"] == pytest.approx(meta["graph"]["switch_period"])
    assert meta["graph"]["edges_per_graph"] and len(meta["graph"]["edges_per_graph"]) == 50


# --- dadao rates and [rates] kind = "sdp" --------------------------------------------------------

def test_rates_command_and_sdp_configs(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DADAO_CACHE_DIR", str(tmp_path / "cache"))
    csv_path = tmp_path / "barbell.csv"
    code, out, err = run(["rates", "barbell", "--n", "16", "--json", "-o", str(csv_path)],
                         capsys)
    assert code == 0, err
    info = json.loads(out)
    assert info["optimal"]["saving"] >= 0.70  # docs/optimal_rates.md: 74%
    assert info["optimal"]["product"] == pytest.approx(0.5, rel=1e-6)
    assert info["uniform"]["total"] == pytest.approx(126.148, rel=1e-4)
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "u,v,rate" and len(rows) == 1 + 57
    # the written rates drive a run (kind = "explicit"), the same ones as kind = "sdp"
    base = SMALL.replace('family = "cycle"\nn = 8', 'family = "barbell"\nn = 16')
    explicit = write(tmp_path, base.replace("[run]", f'[rates]\nkind = "explicit"\npath = '
                                                    f'"{csv_path}"\n[run]'), "explicit.toml")
    sdp = write(tmp_path, base.replace("[run]", '[rates]\nkind = "sdp"\n[run]'), "sdp.toml")
    totals = []
    for path in (explicit, sdp):
        out_dir = tmp_path / ("run_" + os.path.basename(path)[:-5])
        code, out, err = run(["run", path, "--out", str(out_dir)], capsys)
        assert code == 0, err
        meta = json.loads((out_dir / "meta.json").read_text())
        assert meta["status"] == "completed"
        totals.append(meta["rates"]["total"])
    assert totals[0] == pytest.approx(totals[1], rel=1e-9)
    assert totals[1] < 0.3 * 126.148
    resolved = config.load(str(tmp_path / "run_sdp" / "config.toml"))
    assert resolved["rates"] == {"kind": "sdp", "method": "sdp", "solver": "auto",
                                 "node_cap": "auto", "costs_path": "auto",
                                 "costs_from_timing": False}


def test_rates_mistakes(capsys, tmp_path):
    assert "needs n a power of 2" in user_error(["rates", "hypercube", "--n", "12"], capsys,
                                                tmp_path)
    line = user_error(["rates", "cycle", "--n", "8", "-o", str(tmp_path / "no" / "r.csv")],
                      capsys, tmp_path)
    assert "folder does not exist" in line
    cfg = write(tmp_path, SMALL.replace("[run]", '[rates]\nkind = "sdp"\nmethod = "sdpp"\n[run]'))
    line = user_error(["run", cfg], capsys, tmp_path)
    assert "rates.method: unknown choice 'sdpp'; did you mean 'sdp'" in line


def test_a_bug_is_not_dressed_as_a_user_error(capsys, tmp_path, monkeypatch):
    """Only the library's user-input exceptions become one-line exit-2 errors; a plain ValueError
    from a bug keeps its traceback (and a run that hits one is recorded as failed)."""
    def bug(self, setup, **kw):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(InProcess, "run", bug)
    code, out, err = run(["run", write(tmp_path, SMALL), "--out", str(tmp_path / "b")], capsys)
    assert code == 1 and "failed: ValueError: operands could not be broadcast" in err
    assert json.loads((tmp_path / "b" / "meta.json").read_text())["status"] == "failed"
    monkeypatch.setattr(cli, "cmd_graph", lambda args: int("not a number"))
    with pytest.raises(ValueError, match="invalid literal"):
        cli.main(["graph", "star", "--n", "5"])


def test_a_failed_solver_is_exit_3_and_names_the_config_key(capsys, tmp_path, monkeypatch):
    """Not an input mistake: its own exit code, one line naming the key to change, nothing
    written."""
    from dadao.rates.optimal import programs

    monkeypatch.setenv("DADAO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(programs, "solve_program",
                        lambda *a, **kw: programs.ProgramSolution(None, "optimal_inaccurate",
                                                                  {"seconds": 0.0}))
    cfg = write(tmp_path, SMALL.replace("[run]", '[rates]\nkind = "sdp"\nmethod = "relaxed"\n'
                                                 '[run]'))
    for sets, key in (([], "rates.method"), (["--set", "rates.solver=scs"], "rates.solver")):
        code, out, err = run(["run", cfg, *sets, "--out", str(tmp_path / "out")], capsys)
        assert code == 3, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err
        assert lines[0].startswith(f"dadao run: error: {cfg}: {key}: no usable rates"), lines[0]
        assert not (tmp_path / "out").exists()
    code, out, err = run(["rates", "cycle", "--n", "8", "--method", "relaxed"], capsys)
    assert code == 3 and err.startswith("dadao rates: error: --method: no usable rates"), err
