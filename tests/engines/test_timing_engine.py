"""The timing engine against theory and against the in-process engine.

- Exactness: with the default model (exponential compute times of mean 1 s, links that take no
  time, no loss, idealised gradients) every asynchronous method's trace equals the in-process
  engine's bit for bit, for the same seed (same machine), and wall_time = time seconds.
- The SimPy processes and the direct schedule give the same trace where both apply.
- Synchronous methods: the analytic round times T c' and T (c' + K l), exactly.
- Invariants under delay and loss: DADAO's sum_i z_i and sum_i zt_i, the sum of x of gossip
  averaging.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import dadao
from dadao.algorithms import get_algorithm, names
from dadao.engines.timing import TimedEventRun, timing_model, timing_section
from dadao.errors import ConfigError
from dadao.problems import averaging, quadratic
from dadao.setup import is_synchronous, prepare
from dadao.trace import COLUMNS, TIMED_COLUMNS, WALL_TIME, Trace

N = 12
SEED = 7
GRAPH = nx.random_regular_graph(3, N, seed=2)
ASYNC = [a for a in names() if not is_synchronous(get_algorithm(a))]
SYNC = [a for a in names() if is_synchronous(get_algorithm(a))]
#: a model with every kind of delay: latency, size, loss (compute times stay idealised)
DELAYED = {"latency_law": "exponential", "latency_mean": 0.05, "bandwidth": 4800.0,
           "loss": "independent", "loss_p": 0.1}


#: the idealised model: the defaults, and the Continuized method's message gradients free
IDEALISED = {"message_gradients": "free"}


def problem_for(algorithm: str):
    """The averaging problem for the gossip methods that solve only it, a quadratic else."""
    if algorithm in ("randomized_gossip", "accelerated_gossip"):
        return averaging(N, 3, seed=1)
    return quadratic(N, 3, kappa=10.0, seed=1)


def same_columns(a, b, columns=COLUMNS):
    return [c for c in columns if not np.array_equal(a[c], b[c])]


@pytest.mark.parametrize("algorithm", ASYNC)
def test_the_idealised_model_gives_the_in_process_trace_bit_for_bit(algorithm):
    P = problem_for(algorithm)
    a = dadao.simulate(GRAPH, P, algorithm=algorithm, t_max=25, seed=SEED)
    b = dadao.simulate(GRAPH, P, algorithm=algorithm, t_max=25, seed=SEED, engine="timing",
                       timing=IDEALISED)
    assert tuple(b.columns) == TIMED_COLUMNS
    assert same_columns(a, b) == []
    assert np.array_equal(a.final_x, b.final_x)
    assert np.array_equal(b["wall_time"], b["time"])   # unit_s = 1 s
    assert b.meta["run"]["gradient_events"] == a.meta["run"]["gradient_events"]
    assert b.meta["run"]["gossip_events"] == a.meta["run"]["gossip_events"]


def test_gradient_rates_divide_compute_times_exactly():
    """A node of gradient rate g computes in E / g seconds: the idealised clock's gaps."""
    P = problem_for("dadao")
    g = np.where(np.arange(N) % 3 == 0, 2.5, 1.0)
    a = dadao.simulate(GRAPH, P, t_max=20, seed=SEED, grad_rates=g)
    b = dadao.simulate(GRAPH, P, t_max=20, seed=SEED, grad_rates=g, engine="timing")
    assert same_columns(a, b) == []


@pytest.mark.parametrize("timing", [
    {},
    {"latency_law": "exponential", "latency_mean": 0.2},
    {"latency_law": "exponential", "latency_mean": 0.2, "busy_link": "skip",
     "loss": "gilbert_elliott", "loss_good_to_bad": 0.2, "loss_bad_to_good": 0.5},
    {"compute_law": "lognormal", "compute_median": 1.0, "compute_sigma": 0.5,
     "gradient": "stale", "latency_value": 0.1, "bandwidth": 1000.0},
], ids=["idealised", "latency", "skip-bursty-loss", "stale-lognormal"])
def test_the_simpy_processes_give_the_direct_schedule(timing):
    P = problem_for("dadao")
    kw = dict(t_max=30, seed=SEED, engine="timing", timing=timing)
    direct = dadao.simulate(GRAPH, P, **kw)
    simpy = dadao.simulate(GRAPH, P, processes=True, **kw)
    assert direct.meta["run"]["engine_detail"]["schedule"] == "direct"
    assert simpy.meta["run"]["engine_detail"]["schedule"] == "simpy"
    assert same_columns(direct, simpy, TIMED_COLUMNS) == []
    d, s = direct.meta["run"]["engine_detail"], simpy.meta["run"]["engine_detail"]
    assert (d["lost_exchanges"], d["skipped_activations"]) == (s["lost_exchanges"],
                                                               s["skipped_activations"])


def test_message_gradients_take_compute_time_on_both_paths():
    """The Continuized method's messages need a gradient: with message_gradients = "timed" an
    exchange waits for each end's computation (slower on a straggler), on either path; free
    is the idealised model."""
    P = problem_for("continuized")
    kw = dict(algorithm="continuized", t_max=30, seed=SEED, engine="timing")
    slow = {"stragglers_fraction": 0.25, "latency_value": 0.05}
    direct = dadao.simulate(GRAPH, P, timing=slow, **kw)
    simpy = dadao.simulate(GRAPH, P, timing=slow, processes=True, **kw)
    assert same_columns(direct, simpy, TIMED_COLUMNS) == []
    free = dadao.simulate(GRAPH, P, timing={**slow, "message_gradients": "free"}, **kw)
    assert not np.array_equal(free["dist_to_opt"], direct["dist_to_opt"])
    transient = dadao.simulate(GRAPH, P, timing={**slow, "stragglers_mode": "transient"}, **kw)
    assert transient.meta["run"]["engine_detail"]["schedule"] == "simpy"


def run_to_end(algorithm, timing, t_max=30.0, processes=False):
    """A TimedEventRun advanced to t_max: its states can be looked at."""
    P = problem_for(algorithm)
    setup = prepare(GRAPH, P, algorithm=algorithm, t_max=t_max, seed=SEED, engine="timing")
    run = TimedEventRun(setup, timing_model(setup, timing_section(setup, timing)),
                        processes=processes)
    for _ in run.advance(t_max, [t_max / 3, 2 * t_max / 3]):
        pass
    return run


def flowed_states(run) -> np.ndarray:
    """Every node's state at the run's time (each row lives at its own tau_i; flowed copies)."""
    state = run.state.copy()
    for i in range(run.n):
        run.algo.flow(state[i], run.time - run.tau[i], run.k)
    return state


@pytest.mark.parametrize("timing", [
    DELAYED,
    {**DELAYED, "parallel": False},
    {**DELAYED, "serial_sends": True, "busy_link": "skip"},
], ids=["delay-loss", "one-thing-at-a-time", "serial-sends"])
def test_dadao_keeps_the_sum_of_z_under_delay_and_loss(timing):
    """Both ends of an exchange apply opposite changes at the same time and a loss cancels the
    whole exchange, so sum_i z_i and sum_i zt_i stay 0 (they start at 0) up to rounding,
    while messages really were delayed and lost."""
    run = run_to_end("dadao", timing)
    state = flowed_states(run)
    z, zt = state[:, 4], state[:, 5]
    scale = np.abs(z).max() + np.abs(zt).max()
    assert scale > 0
    assert np.abs(z.sum(axis=0)).max() <= 1e-12 * scale * N
    assert np.abs(zt.sum(axis=0)).max() <= 1e-12 * scale * N
    assert run.schedule.lost_exchanges > 0


@pytest.mark.parametrize("algorithm", ["randomized_gossip", "accelerated_gossip"])
def test_gossip_averaging_keeps_the_mean_under_delay(algorithm):
    """Delayed exchanges apply the difference of the messages: the mean of x is kept."""
    run = run_to_end(algorithm, DELAYED)
    start = problem_for(algorithm)
    X = run.primal_X(run.time)
    assert np.allclose(X.mean(axis=0), start.x_star, rtol=0, atol=1e-12)
    assert not np.allclose(X, X.mean(axis=0))   # not yet at consensus: the test has teeth


def test_delays_cost_time_and_accuracy_not_stability_at_small_latency():
    """Latency 0.01 units keeps DADAO converging to x*, less far than without."""
    P = problem_for("dadao")
    kw = dict(t_max=150, seed=SEED, engine="timing")
    ideal = dadao.simulate(GRAPH, P, **kw)
    slow = dadao.simulate(GRAPH, P, timing={"latency_value": 0.01}, **kw)
    assert slow["dist_to_opt"][-1] < 1e-3 * slow["dist_to_opt"][0]
    assert ideal["dist_to_opt"][-1] != slow["dist_to_opt"][-1]


@pytest.mark.parametrize("algorithm", SYNC)
def test_synchronous_iterations_are_the_in_process_ones(algorithm):
    P = problem_for(algorithm)
    a = dadao.simulate(GRAPH, P, algorithm=algorithm, t_max=20, seed=SEED)
    b = dadao.simulate(GRAPH, P, algorithm=algorithm, t_max=20, seed=SEED, engine="timing",
                       timing=DELAYED)
    assert same_columns(a, b) == []
    assert np.all(np.diff(b["wall_time"]) > 0)


#: c = 0.25 s on every node but one at c' = 0.5 s, latency l = 0.125 s: sums of these are exact
CONSTANT = {"compute_law": "constant", "compute_value": 0.25, "speed": "list",
            "speed_factors": ",".join(["2"] + ["1"] * (N - 1))}


@pytest.mark.parametrize("barrier", ["global", "neighbourhood"])
def test_a_synchronous_run_of_T_iterations_takes_T_c_prime(barrier):
    P = problem_for("dgd")
    trace = dadao.simulate(GRAPH, P, algorithm="dgd", t_max=40, seed=SEED, engine="timing",
                           timing={**CONSTANT, "barrier": barrier})
    T = trace.meta["run"]["iterations"]
    assert trace["wall_time"][-1] == T * 0.5
    assert np.array_equal(trace["wall_time"], trace["time"] * 0.5)


@pytest.mark.parametrize("algorithm", ["dgd", "msda", "adom_plus_mc"])
def test_with_latency_l_and_K_rounds_an_iteration_takes_c_prime_plus_K_l(algorithm):
    P = problem_for(algorithm)
    trace = dadao.simulate(GRAPH, P, algorithm=algorithm, t_max=30, seed=SEED,
                           engine="timing", timing={**CONSTANT, "latency_value": 0.125})
    run = trace.meta["run"]
    T, rounds = run["iterations"], run["gossip_rounds"]
    K = rounds // T
    assert rounds == K * T and K >= 1
    assert trace["wall_time"][-1] == T * (0.5 + K * 0.125)


def test_a_timing_config_section_is_validated_and_recorded(tmp_path):
    P = problem_for("dadao")
    with pytest.raises(ConfigError, match=r"timing\.busy_link"):
        dadao.simulate(GRAPH, P, t_max=5, engine="timing", timing={"busy_link": "drop"})
    with pytest.raises(ConfigError, match=r"timing\.gradient"):
        dadao.simulate(GRAPH, P, algorithm="continuized", t_max=5, engine="timing",
                       timing={"gradient": "stale"})
    trace = dadao.simulate(GRAPH, P, t_max=5, engine="timing",
                           timing={"stragglers_fraction": 0.25})
    detail = trace.meta["run"]["engine_detail"]["timing"]
    assert len(detail["stragglers"]) == 3 and detail["unit_s"] == 1.0
    assert detail["section"]["stragglers_fraction"] == 0.25


def test_the_shipped_straggler_config_runs_and_plots_seconds(tmp_path):
    """configs/stragglers.toml: a timed run directory whose trace has wall_time, whose figure
    is drawn against seconds, and whose record holds the model."""
    from dadao import config, runs
    from dadao.report import figures

    import helpers

    cfg = config.load(str(helpers.ROOT / "configs" / "stragglers.toml"))
    assert cfg["run"]["engine"] == "timing" and cfg["timing"]["stragglers_fraction"] == 0.1
    out = tmp_path / "run"
    result = runs.run_config(str(helpers.ROOT / "configs" / "stragglers.toml"), out=str(out))
    assert result.status == "completed"
    trace = Trace.read_csv(out / "trace.csv")
    assert (out / "convergence.png").exists()
    assert WALL_TIME in trace.columns
    assert trace["wall_time"][-1] == pytest.approx(trace["time"][-1] * 0.01, rel=1e-12)
    assert figures.default_axes([trace])[0] == "wall_time"
    detail = result.meta["run"]["engine_detail"]["timing"]
    assert len(detail["stragglers"]) == 3 and detail["unit_s"] == 0.01


def test_resume_of_a_timing_run_says_it_starts_again(tmp_path, recwarn):
    """A timing run keeps no checkpoint: --resume of an interrupted one warns, in one line,
    that it starts from t = 0, and completes."""
    import json

    from dadao import runs
    from dadao.errors import DadaoWarning

    path = tmp_path / "c.toml"
    path.write_text('[graph]\nfamily = "cycle"\nn = 8\n[problem]\nkind = "quadratic"\n'
                    '[run]\nt_max = 5.0\nengine = "timing"\n')
    out = tmp_path / "r"
    runs.run_config(str(path), out=str(out))
    meta = json.loads((out / "meta.json").read_text())
    meta["status"] = "interrupted"   # as a SIGTERM leaves it (tests/test_faults.py sends one)
    (out / "meta.json").write_text(json.dumps(meta))
    result = runs.run_config(str(path), out=str(out), resume=True)
    assert result.status == "completed"
    said = [str(w.message) for w in recwarn if issubclass(w.category, DadaoWarning)]
    assert len(said) == 1 and "no checkpoint" in said[0] and "t = 0" in said[0]
