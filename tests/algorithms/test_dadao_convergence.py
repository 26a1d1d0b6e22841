"""DADAO against its theory: convergence to x*, sqrt(kappa) scaling, invariants, reproducibility,
and the rate condition."""

import math

import numpy as np
import pytest

import dadao
from dadao import graphs, problems, rates
from dadao.algorithms import dadao as dadao_algo
from dadao.engines.inprocess import EventRun
from dadao.setup import prepare
from helpers.state_snapshot import flowed_states

N = 16
GRAPHS = {
    "cycle": {},
    "star": {},
    "complete": {},
    "grid_2d": {},
    "barbell": {},
}


def horizon(problem):
    """100 / r with r = sqrt(nu / L): the horizon our measurements call safe for 1e-8 (docs/dadao_convergence.md)."""
    return 100.0 / dadao_algo.rate_scale(problem.L, problem.mu)


def make_problem(kind, seed=0):
    if kind == "least_squares":
        return problems.least_squares(N, 5, samples_per_node=50, seed=seed)
    if kind == "least_squares_rows":
        # kappa ~ 20 (the regime of docs/dadao_convergence.md) and the per-sample gradient kernel
        return problems.least_squares(N, 10, samples_per_node=30, seed=seed, form="rows")
    return problems.logistic(N, 5, samples_per_node=50, seed=seed)


@pytest.mark.parametrize("kind", ["least_squares", "least_squares_rows", "logistic"])
@pytest.mark.parametrize("family", sorted(GRAPHS))
def test_dadao_reaches_1e_minus_8_of_start_within_100_over_r(family, kind):
    G = graphs.make_graph(family, N, **GRAPHS[family])
    problem = make_problem(kind)
    x0 = np.random.default_rng(1).normal(size=problem.dim) if kind == "logistic" else None
    t_max = horizon(problem)
    trace = dadao.simulate(G, problem, rates="theory", t_max=t_max, seed=3,
                           log_every=t_max / 100, x0=x0)
    assert trace.status == "completed"
    ratio = trace["dist_to_opt"][-1] / trace["dist_to_opt"][0]
    assert ratio <= 1e-8, f"{family}/{kind}: dist ratio {ratio:.2e} after t = {t_max:.0f}"
    # accounting: n gradients and sum(lambda_e) communications per unit time, on average
    meta = trace.meta
    assert abs(meta["run"]["gradient_events"] - N * t_max) < 5 * math.sqrt(N * t_max)
    expected_comms = meta["rates"]["total"] * t_max
    assert abs(meta["run"]["gossip_events"] - expected_comms) < 5 * math.sqrt(expected_comms)
    assert meta["rates"]["chi_1"] * meta["rates"]["chi_2"] == pytest.approx(0.5, rel=1e-9)


def test_time_to_1e_minus_6_grows_like_sqrt_kappa():
    """sqrt scaling predicts x10 from kappa = 10 to 1000; accept [5, 20]."""
    G = graphs.make_graph("cycle", N)
    times = {}
    for kappa in (10.0, 1000.0):
        problem = problems.quadratic(N, 4, kappa=kappa, seed=2)
        t_max = horizon(problem)
        trace = dadao.simulate(G, problem, t_max=t_max, seed=5, log_every=t_max / 2000)
        times[kappa] = trace.first_time_below("dist_to_opt", 1e-6)
        assert math.isfinite(times[kappa]), f"kappa={kappa} did not reach 1e-6 by t={t_max:.0f}"
    growth = times[1000.0] / times[10.0]
    assert 5.0 <= growth <= 20.0, f"time to 1e-6 grew by {growth:.2f} ({times})"


def run_small(seed, family="grid_2d", **kw):
    G = graphs.make_graph(family, N)
    problem = problems.least_squares(N, 3, samples_per_node=20, seed=0)
    return dadao.simulate(G, problem, t_max=60.0, seed=seed, log_every=1.0, **kw)


def test_same_seed_is_bit_identical_and_another_seed_differs():
    a, b, c = run_small(11), run_small(11), run_small(12)
    for col in ("time", "gradients", "communications", "dist_to_opt", "consensus"):
        assert np.array_equal(a[col], b[col]), col
    assert np.array_equal(a.final_x, b.final_x)
    assert not np.array_equal(a["dist_to_opt"], c["dist_to_opt"])
    assert not np.array_equal(a.final_x, c.final_x)


def test_sampling_grid_does_not_perturb_the_trajectory():
    G = graphs.make_graph("cycle", N)
    problem = problems.least_squares(N, 3, samples_per_node=20, seed=0)
    coarse = dadao.simulate(G, problem, t_max=40.0, seed=2, log_every=10.0)
    fine = dadao.simulate(G, problem, t_max=40.0, seed=2, log_every=0.25)
    assert np.array_equal(coarse.final_x, fine.final_x)
    np.testing.assert_array_equal(coarse["dist_to_opt"], fine["dist_to_opt"][::40])


def test_sum_of_z_and_zt_stays_zero_when_flowed_to_a_common_time():
    G = graphs.make_graph("barbell", N)
    problem = problems.least_squares(N, 4, samples_per_node=30, seed=1)
    setup = prepare(G, problem, rates="theory", t_max=300.0, seed=4)
    run = EventRun(setup, events_per_window=257)
    checked = 0
    for t in run.advance(300.0, breakpoints=np.arange(1.0, 300.0, 7.0)):
        state = flowed_states(run, t)
        z, zt = state[:, dadao_algo.Z], state[:, dadao_algo.ZT]
        scale = max(np.abs(z).max(), np.abs(zt).max())
        if scale == 0:
            continue
        drift = max(np.abs(z.sum(axis=0)).max(), np.abs(zt.sum(axis=0)).max())
        assert drift <= 1e-10 * scale, f"t={t}: |sum z| = {drift:.2e}, max |z| = {scale:.2e}"
        checked += 1
    assert checked > 50


def test_rates_breaking_the_condition_are_refused_with_the_condition_named():
    G = graphs.make_graph("cycle", N)
    problem = problems.least_squares(N, 3, samples_per_node=20, seed=0)
    edges = graphs.edge_array(G)
    slow = 0.3 * rates.theory_rates(edges, N)
    with pytest.raises(rates.RateError, match=r"chi_1 chi_2 <= 1/2"):
        dadao.simulate(G, problem, rates=slow, t_max=10.0)


def test_forced_slow_rates_diverge_and_the_divergence_is_reported():
    G = graphs.make_graph("cycle", N)
    problem = problems.least_squares(N, 3, samples_per_node=20, seed=0)
    slow = 0.3 * rates.theory_rates(graphs.edge_array(G), N)
    with pytest.warns(RuntimeWarning, match=r"chi_1 chi_2 <= 1/2"):
        trace = dadao.simulate(G, problem, rates=slow, t_max=400.0, seed=1, force=True,
                               log_every=0.5)
    assert trace.status == "diverged"
    assert "dist_to_opt" in trace.meta["error"]
    assert trace["time"][-1] < 400.0  # stopped early, keeping the trace so far
    assert np.all(np.isfinite(trace["dist_to_opt"][:-1]))


def test_heterogeneous_gradient_rates_still_converge():
    """g_i in [0.25, 4] converges at about the same speed as g_i = 1."""
    G = graphs.make_graph("grid_2d", N)
    problem = problems.least_squares(N, 5, samples_per_node=50, seed=0)
    g = np.random.default_rng(0).uniform(0.25, 4.0, size=N)
    t_max = horizon(problem)
    trace = dadao.simulate(G, problem, t_max=t_max, seed=1, grad_rates=g, log_every=t_max / 50)
    assert trace["dist_to_opt"][-1] <= 1e-6 * trace["dist_to_opt"][0]
    assert abs(trace.meta["run"]["gradient_events"] - g.sum() * t_max) < 5 * math.sqrt(g.sum() * t_max)


def test_graph_and_problem_sizes_must_agree():
    with pytest.raises(ValueError, match="nodes"):
        dadao.simulate(graphs.make_graph("cycle", 8), problems.least_squares(N, 3, seed=0),
                       t_max=1.0)


def test_an_interrupted_run_keeps_its_trace_and_says_interrupted():
    G = graphs.make_graph("cycle", N)
    problem = problems.least_squares(N, 3, samples_per_node=20, seed=0)

    def stop_at_10(t, events, dist):
        if t >= 10.0:
            raise KeyboardInterrupt

    trace = dadao.simulate(G, problem, t_max=100.0, seed=0, log_every=1.0, progress=stop_at_10)
    assert trace.status == "interrupted"
    assert trace["time"][-1] == 10.0 and len(trace) == 11
    assert trace.final_x.shape == (N, 3) and np.all(np.isfinite(trace.final_x))
