"""The estimate path of the graph constants: certified resistance bounds, LOBPCG, the random
projection, the modes and their record, against the dense exact values on small graphs."""

import math

import numpy as np
import pytest

from dadao.graphs import (GraphError, constants_mode, constants_record, edge_array,
                          effective_resistances, make_graph, rate_constants)
from dadao.graphs import resistance_bounds, sketch, spectral
from dadao.graphs.iterative import Preconditioned, lambda_2_lower_bound


def graph(family="random_geometric", n=300, seed=2):
    G = make_graph(family, n, seed=seed)
    return edge_array(G), n


def rates_for(edges, kind):
    if kind == "uniform":
        return np.ones(len(edges))
    return np.random.default_rng(4).uniform(0.2, 5.0, len(edges))


@pytest.mark.parametrize("kind", ["uniform", "random"])
def test_local_bounds_hold_edge_by_edge(kind):
    edges, n = graph()
    lam = rates_for(edges, kind)
    R = effective_resistances(edges, lam, n, method="dense")
    ip, ix, w = resistance_bounds.adjacency(edges, lam, n)
    upper, lower = resistance_bounds.local_bounds(ip, ix, w, edges[:, 0], edges[:, 1], lam)
    assert np.all(lower <= R * (1 + 1e-12)) and np.all(R <= upper * (1 + 1e-12))
    balls = resistance_bounds._Balls(ip, ix, w, n)
    e = int(np.argmax(R))
    previous = (0.0, math.inf)
    for hops in (1, 2, 4, 8, 64):
        lo, up, size = balls.bounds(int(edges[e, 0]), int(edges[e, 1]), hops, True)
        assert previous[0] * (1 - 1e-12) <= lo <= R[e] * (1 + 1e-12)  # shorting less: higher
        assert R[e] * (1 - 1e-12) <= up <= previous[1] * (1 + 1e-12)  # more edges: lower
        previous = (lo, up)
    assert size == n and lo == pytest.approx(R[e], rel=1e-11) and up == lo  # the whole graph


@pytest.mark.parametrize("kind", ["uniform", "random"])
@pytest.mark.parametrize("family", ["random_geometric", "barbell", "grid_2d"])
def test_bracket_contains_the_largest_resistance(family, kind):
    edges, n = graph(family, {"grid_2d": 100, "barbell": 60}.get(family, 300))
    lam = rates_for(edges, kind)
    top = float(effective_resistances(edges, lam, n, method="dense").max())
    b = resistance_bounds.max_resistance_bracket(edges, lam, n, rtol=1e-4)
    assert b["lower"] <= top <= b["upper"]
    assert b["upper"] <= b["lower"] * (1 + 1e-4 + 1e-9) and b["converged"]


def test_bracket_with_a_zero_rate_edge():
    # a cycle with two chords, one edge switched off: its resistance still counts
    n = 40
    e = [(i, (i + 1) % n) for i in range(n)] + [(0, 20), (10, 30)]
    edges = np.array(sorted(tuple(sorted(p)) for p in e), dtype=np.int64)
    lam = np.ones(len(edges))
    lam[np.flatnonzero((edges[:, 0] == 5) & (edges[:, 1] == 6))] = 0.0
    R = effective_resistances(edges, lam, n, method="dense")
    b = resistance_bounds.max_resistance_bracket(edges, lam, n, rtol=1e-6)
    assert b["lower"] <= R.max() <= b["upper"] and R.argmax() == b["edge"]


def test_too_many_candidates_give_up():
    edges, n = graph("hypercube", 256)  # every edge alike, no common neighbours
    assert resistance_bounds.max_resistance_bracket(edges, np.ones(len(edges)), n,
                                                    max_candidates=100) is None


def test_lobpcg_interval_contains_lambda_2():
    edges, n = graph(n=250)
    lam = rates_for(edges, "random")
    exact = rate_constants(edges, lam, n, method="dense")
    pre = Preconditioned(spectral.laplacian(edges, n, lam))
    l2 = pre.lambda_2()
    assert l2["lower"] * (1 - 1e-12) <= exact["lambda_2"] <= l2["lambda_2"] * (1 + 1e-12)
    # the interval is as narrow as the stopping rule promises: ||r|| below the tolerance
    from dadao.graphs.iterative import LOBPCG_RTOL
    assert l2["lambda_2"] - l2["lower"] <= 2 * LOBPCG_RTOL * l2["coarse_estimate"]
    assert l2["lambda_2"] - l2["lower"] <= 1e-3 * exact["lambda_2"]
    assert lambda_2_lower_bound(edges, lam, n) <= exact["lambda_2"]
    lm = pre.lambda_max()
    assert lm["lambda_max"] == pytest.approx(exact["lambda_max"], rel=1e-8)
    assert lm["upper"] >= exact["lambda_max"] * (1 - 1e-12)
    # a solve: the residual it reports is the true one
    y = np.random.default_rng(1).standard_normal(n)
    y -= y.mean()
    z, res = pre.solve(y)
    L = spectral.laplacian(edges, n, lam)
    assert res == pytest.approx(np.linalg.norm(y - L @ z), rel=1e-3, abs=1e-12)


def test_rows_of_the_projection():
    # k = ceil(2 ln(2m/delta) / (eps^2/2 - eps^3/3)): Achlioptas' per-vector tail, union bound
    assert sketch.rows_needed(1000, 0.5, 1e-3) == math.ceil(2 * math.log(2e6) / (1 / 8 - 1 / 24))
    assert sketch.rows_needed(10**7, 0.5, 1e-3) > sketch.rows_needed(10**6, 0.5, 1e-3)
    with pytest.raises(ValueError):
        sketch.rows_needed(10, 1.0, 0.1)


def test_sketch_is_within_its_factors_and_deterministic():
    edges, n = graph(n=150)
    lam = rates_for(edges, "random")
    lam[3] = 0.0
    R = effective_resistances(edges, lam, n, method="dense")
    est, rec = sketch.sketch_resistances(edges, lam, n, eps=0.8, delta=0.1, seed=7)
    assert rec["rows"] == sketch.rows_needed(len(edges), 0.8, 0.1)
    assert rec["eta"] < 1e-6
    ratio = R / est
    assert np.all(ratio >= rec["lower_factor"]) and np.all(ratio <= rec["upper_factor"])
    again, _ = sketch.sketch_resistances(edges, lam, n, eps=0.8, delta=0.1, seed=7)
    np.testing.assert_array_equal(est, again)


@pytest.mark.parametrize("kind", ["uniform", "random"])
def test_estimate_constants_are_upper_ends_close_to_the_exact_ones(kind):
    edges, n = graph(n=250)
    lam = rates_for(edges, kind)
    exact = rate_constants(edges, lam, n, method="dense")
    est = rate_constants(edges, lam, n, method="estimate")
    for key in ("chi_1", "chi_2"):
        assert exact[key] * (1 - 1e-12) <= est[key] <= exact[key] * (1 + 2e-5), key
    rec = constants_record(edges, lam, n, method="estimate")
    assert rec["method"] == "estimate" and rec["exact"] is False
    lo, hi = rec["chi_2"]["interval"]
    assert lo <= exact["chi_2"] <= hi and hi == pytest.approx(est["chi_2"], rel=1e-15)
    lo, hi = rec["chi_1_interval"]
    assert lo * (1 - 1e-12) <= exact["chi_1"] <= hi * (1 + 1e-12)
    assert "no probability" in rec["guarantee"]


def test_uniform_rates_scale_one_computation():
    edges, n = graph(n=300)
    one = rate_constants(edges, np.ones(len(edges)), n, method="estimate")
    c = 1.0 / len(edges)
    scaled = rate_constants(edges, np.full(len(edges), c), n, method="estimate")
    assert scaled["chi_1"] == pytest.approx(one["chi_1"] / c, rel=1e-14)
    assert scaled["chi_2"] == pytest.approx(one["chi_2"] / c, rel=1e-14)
    rec = constants_record(edges, np.full(len(edges), c), n, method="estimate")
    assert rec["chi_2"]["interval"][1] == pytest.approx(scaled["chi_2"], rel=1e-14)
    assert rec["lambda_2"]["ritz_value"] == pytest.approx(scaled["lambda_2"], rel=1e-14)


def test_modes_choose_the_method():
    edges, n = graph(n=220)
    lam = rates_for(edges, "random")
    assert constants_record(edges, lam, n)["method"] == "dense"  # auto: small graphs exact
    with constants_mode("estimate"):
        assert constants_record(edges, lam, n)["method"] == "estimate"
        assert constants_record(edges, lam, n, method="dense")["method"] == "dense"
    with constants_mode("exact"):
        assert constants_record(edges, lam, n)["method"] == "dense"
    # closed forms whatever the mode; the estimate path never runs on a tiny graph
    torus = edge_array(make_graph("torus_2d", 400, rows=16, cols=25))
    with constants_mode("estimate"):
        assert constants_record(torus, np.ones(800), 400)["method"] == "closed form"
        small, m = graph(n=60)
        assert constants_record(small, np.ones(len(small)), m)["method"] == "dense"
    with pytest.raises(GraphError, match="auto, exact, estimate"):
        with constants_mode("fast"):
            pass
