"""The first-order method (issue 15): it stops on its own rules with default settings, its
certified lower bound is a lower bound, it agrees with the SDP within 1%, it returns uniform
rates on edge-transitive graphs (where they are optimal by symmetry), and its three backends
(eigh, dense Cholesky, sparse working set) agree.

The SDP optima come from the default chain (verified whichever solver gave them); the closed-form
optima on symmetric graphs need no solver at all."""

import math

import numpy as np
import pytest

from dadao import graphs, rates
from dadao.rates.optimal import first_order, optimal_rates
from dadao.rates.optimal import cache as rates_cache


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DADAO_CACHE_DIR", str(tmp_path / "cache"))


def edges_of(family, n, **kw):
    G = graphs.make_graph(family, n, **kw)
    return graphs.edge_array(G), G.number_of_nodes()


def exact_total(edges, lam, n):
    """T(lambda) = sum(lambda) sqrt(2 chi_1 chi_2), recomputed independently."""
    c = graphs.rate_constants(edges, lam, n)
    return float(np.sum(lam)) * math.sqrt(2.0 * c["chi_1"] * c["chi_2"])


@pytest.mark.parametrize("family,n", [("cycle", 16), ("complete", 8), ("hypercube", 16),
                                      ("star", 12)])
def test_uniform_rates_on_edge_transitive_graphs_certified_optimal(family, n):
    """Uniform rates are optimal by symmetry: returned as they are, with a certified gap of
    (almost) 0 at the first evaluation, so the run stops at once."""
    edges, n = edges_of(family, n)
    lam, status, info = first_order.first_order(edges, n)
    assert status == "converged" and info["iterations"] <= 2
    np.testing.assert_allclose(lam, np.full(len(edges), 1.0 / len(edges)), rtol=1e-6)
    uniform = rates.theory_rates(edges, n).sum()
    assert info["total_bound"] == pytest.approx(uniform, rel=1e-9)
    assert info["lower_bound"] <= uniform * (1 + 1e-9)
    assert info["gap"] <= 1e-4


@pytest.mark.parametrize("family,n,seed", [("random_geometric", 16, 0),
                                           ("random_geometric", 24, 0),
                                           ("grid_2d", 16, 0), ("barbell", 16, 0),
                                           ("erdos_renyi", 24, 0)])
def test_within_one_percent_of_the_sdp_and_the_bound_brackets_it(family, n, seed):
    edges, n = edges_of(family, n, seed=seed)
    sdp = optimal_rates(edges, n)
    assert sdp.exact, sdp.label
    lam, status, info = first_order.first_order(edges, n)
    assert status == "converged" and info["iterations"] < first_order.FIRST_ORDER_MAX_ITER
    total = exact_total(edges, lam, n)
    assert total == pytest.approx(info["total_bound"], rel=1e-8)
    assert sdp.total * (1 - 1e-6) <= total <= sdp.total * 1.01
    # weak duality: the certified bound is below the optimum (to the SDP's own accuracy)
    assert info["lower_bound"] <= sdp.total * (1 + 1e-6)
    assert info["gap"] == pytest.approx(1 - info["lower_bound"] / info["total_bound"])


def test_the_bound_holds_at_any_rates():
    """certified_lower_bound at arbitrary (not optimal) rates is still below the optimum: the
    certificate does not depend on the iterate being good."""
    edges, n = edges_of("grid_2d", 16)
    opt = optimal_rates(edges, n).total
    w = np.ones(len(edges))
    rng = np.random.default_rng(0)
    for _ in range(3):
        lam = np.exp(rng.standard_normal(len(edges)))
        track = first_order._Track()
        oracle = first_order._make_oracle(edges, n, w)
        for p in (16.0, 256.0):
            oracle.evaluate(lam, p, track)
        assert 0 < track.lower <= opt * (1 + 1e-6)
        assert track.total >= opt * (1 - 1e-6)


def test_no_iteration_limit_with_default_settings():
    """A random geometric graph of 100 nodes: stopped on its own rules, far below max_iter, and
    better than theory-uniform rates by the known margin (about half)."""
    edges, n = edges_of("random_geometric", 100, seed=0)
    r = optimal_rates(edges, n, method="first-order")
    assert r.status == "converged", r.label
    assert r.info["iterations"] < first_order.FIRST_ORDER_MAX_ITER / 4
    assert r.label.startswith("converged (") and "certified" in r.label
    assert r.saving > 0.4
    assert r.info["lower_bound"] <= r.total * (1 + 1e-9)


@pytest.mark.parametrize("backend", ["dense", "sparse"])
def test_backends_agree(backend, monkeypatch):
    """The dense Cholesky and the sparse working-set backends reach the eigh backend's total
    on a grid and a random geometric graph, each within 0.2%."""
    cases = [edges_of("grid_2d", 25), edges_of("random_geometric", 30, seed=2)]
    reference = [first_order.first_order(e, n) for e, n in cases]
    monkeypatch.setattr(first_order, "FIRST_ORDER_EIGH_MAX_N", 8)
    if backend == "sparse":
        monkeypatch.setattr(first_order, "FIRST_ORDER_DENSE_MAX_N", 8)
    for (e, n), (_, _, ref) in zip(cases, reference):
        lam, status, info = first_order.first_order(e, n)
        assert info["backend"] == backend and status == "converged"
        assert exact_total(e, lam, n) == pytest.approx(ref["total_bound"], rel=2e-3)
        assert info["lower_bound"] <= ref["total_bound"] * (1 + 1e-6)


def test_first_order_results_are_keyed_by_its_version(monkeypatch):
    """A new version of the method is a new cache key for the requests it can answer (method
    "first-order", "sdp" on the default chain without caps), and only for those."""
    edges, n = edges_of("cycle", 8)
    requests = [("first-order", "none", None), ("sdp", "auto", None),
                ("sdp", "clarabel", None), ("sdp", "auto", np.full(n, 9.0))]
    before = [rates_cache.cache_key(edges, n, *r) for r in requests]
    monkeypatch.setattr(rates_cache, "FIRST_ORDER", "next")
    after = [rates_cache.cache_key(edges, n, *r) for r in requests]
    assert [a != b for a, b in zip(before, after)] == [True, True, False, False]
