"""Optimal gossip rates (issue #5): optimality against symmetry, savings against theory-uniform
rates, independent verification, agreement of the first-order method with the SDP, the solver
chain and its fallbacks, solver failures, caps, cache and CSV, and a DADAO run with the optimal
rates.

No test depends on one cone solver's luck: solves go through the default chain (Clarabel, then
SCS with fixed scaling, then first-order for "sdp"), whose answer is verified whichever solver
gave it, and the failure paths are driven by monkeypatched solvers, not by a solver happening to
be inaccurate on this machine."""

import math

import networkx as nx
import numpy as np
import pytest

import dadao
from dadao import graphs, problems, rates
from dadao.algorithms import dadao as dadao_algo
from dadao.errors import OptimalRatesError, SolverError
from dadao.rates import choices
from dadao.rates.optimal import (DEFAULT_CHAIN, METHODS, SOLVERS, OptimalRates,
                                 available_solvers, optimal_rates, rates_cache_dir,
                                 verify_rates)
from dadao.rates.optimal import cache as rates_cache
from dadao.rates.optimal import first_order, programs, solvers, verify


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own cache directory (never the user's ~/.cache)."""
    monkeypatch.setenv("DADAO_CACHE_DIR", str(tmp_path / "cache"))


def edges_of(G):
    return graphs.edge_array(G), G.number_of_nodes()


def star_of_cliques(k=4, size=4):
    """A hub (node 0) joined by one edge to each of k cliques of `size` nodes."""
    G = nx.Graph()
    G.add_node(0)
    for c in range(k):
        nodes = [1 + size * c + i for i in range(size)]
        G.add_edges_from((a, b) for a in nodes for b in nodes if a < b)
        G.add_edge(0, nodes[0])
    return G


def assert_verified(r, edges, n):
    """The result's numbers are those of an independent recomputation from its rates."""
    assert r.verified
    assert np.all(r.rates >= 0)
    c = graphs.rate_constants(edges, r.rates, n)
    assert c["chi_1"] == pytest.approx(r.chi_1, rel=1e-9)
    assert c["chi_2"] == pytest.approx(r.chi_2, rel=1e-9)
    assert c["chi_1"] * c["chi_2"] <= 0.5 * (1 + 1e-6)
    assert c["chi_1"] * c["chi_2"] >= 0.5 * (1 - 1e-6)  # rescaled to saturate the condition
    assert r.total == pytest.approx(r.rates.sum(), rel=1e-12)
    assert rates.check_rate_condition(edges, r.rates, n).satisfied


def cone_chain():
    """The installed cone solvers of the default chain, in order."""
    return [s for s in DEFAULT_CHAIN if s in available_solvers()]


def make_inaccurate(monkeypatch, *which):
    """Make the named cone solvers (all when none is named) report "optimal_inaccurate"."""
    real = programs.solve_program

    def fake(e, n, method, solver, *args, **kwargs):
        if not which or solver in which:
            return programs.ProgramSolution(None, "optimal_inaccurate", {"seconds": 0.0})
        return real(e, n, method, solver, *args, **kwargs)

    monkeypatch.setattr(programs, "solve_program", fake)


# ------------------------------------------------------------------------------------------
# Optimality


@pytest.mark.parametrize("family,n", [("complete", 8), ("cycle", 16), ("star", 16),
                                      ("hypercube", 16)])
def test_edge_transitive_graphs_optimum_equals_theory_uniform_total(family, n):
    """By symmetry a uniform optimum exists: the optimal total is the theory-uniform total."""
    edges, n = edges_of(graphs.make_graph(family, n))
    r = optimal_rates(edges, n)
    assert_verified(r, edges, n)
    uniform = rates.theory_rates(edges, n).sum()
    assert r.uniform_total == pytest.approx(uniform, rel=1e-12)
    assert r.total == pytest.approx(uniform, rel=1e-3)
    cond = rates.check_rate_condition(edges, rates.theory_rates(edges, n), n)
    assert (r.uniform_chi_1, r.uniform_chi_2) == (cond.chi_1, cond.chi_2)


@pytest.mark.parametrize("name,G,least_saving", [
    ("barbell 2x8", graphs.make_graph("barbell", 16), 0.70),
    ("star of four 4-cliques", star_of_cliques(), 0.35),
    ("grid 4x4", graphs.make_graph("grid_2d", 16), 0.05),
    ("random geometric n=24", graphs.make_graph("random_geometric", 24, seed=3), 0.30),
])
def test_sdp_saves_against_theory_uniform_and_first_order_agrees(name, G, least_saving):
    edges, n = edges_of(G)
    sdp = optimal_rates(edges, n)
    assert_verified(sdp, edges, n)
    assert sdp.saving >= least_saving, f"{name}: saving {sdp.saving:.3f}"
    fo = optimal_rates(edges, n, method="first-order")
    assert_verified(fo, edges, n)
    assert not fo.exact and "upper bound" in fo.label
    # the first-order method is an upper bound on the optimum, within 1% of it, and its
    # certified lower bound is below it
    assert sdp.total * (1 - 1e-6) <= fo.total <= sdp.total * 1.01, name
    assert fo.status == "converged" and fo.info["lower_bound"] <= sdp.total * (1 + 1e-6), name


def test_paths_gain_nothing():
    """Found: on paths theory-uniform rates are already optimal (SDP and first-order)."""
    edges, n = edges_of(graphs.make_graph("path", 12))
    for kw in ({}, {"method": "first-order"}):
        r = optimal_rates(edges, n, **kw)
        assert abs(r.saving) < 1e-3, kw


def test_one_dimensional_search_matches_the_joint_program():
    edges, n = edges_of(graphs.make_graph("grid_2d", 16))
    joint = optimal_rates(edges, n)
    search = optimal_rates(edges, n, method="sdp-search")
    assert joint.exact and search.exact, (joint.label, search.label)
    assert_verified(search, edges, n)
    assert search.total == pytest.approx(joint.total, rel=1e-4)
    assert search.info["s"] == pytest.approx(joint.info["s"], rel=1e-2)
    # at the optimum both constraints are tight: lambda_2 = s and max R_e = s, before rescaling
    assert joint.info["objective"] == pytest.approx(joint.total, rel=1e-5)


def test_relaxation_and_max_connectivity_are_verified_and_not_better_than_the_sdp():
    edges, n = edges_of(graphs.make_graph("barbell", 16))
    best = optimal_rates(edges, n)
    assert best.exact, best.label
    for method in ("relaxed", "max-connectivity"):
        r = optimal_rates(edges, n, method=method)
        assert_verified(r, edges, n)
        assert not r.exact and "upper bound" in r.label, method
        assert r.total >= best.total * (1 - 1e-6), method
        assert r.saving > 0.5, method  # still far better than uniform on the barbell


def test_scs_with_fixed_scaling_agrees_with_the_default_chain():
    """SCS's settings (eps 1e-7, fixed scaling) give the exact program's total to 1e-4."""
    edges, n = edges_of(graphs.make_graph("barbell", 16))
    scs = optimal_rates(edges, n, solver="scs")
    assert (scs.solver, scs.requested_solver, scs.status) == ("scs", "scs", "optimal")
    assert scs.info["iterations"] < solvers.SOLVER_SETTINGS["scs"]["max_iters"] / 10  # margin
    auto = optimal_rates(edges, n)
    assert auto.exact and auto.requested_solver == "auto"
    assert scs.total == pytest.approx(auto.total, rel=1e-4)


@pytest.mark.parametrize("backend", ["dense", "sparse"])
def test_first_order_on_the_large_graph_paths_is_verified(backend, monkeypatch):
    """Above FIRST_ORDER_EIGH_MAX_N the dense Cholesky path, above FIRST_ORDER_DENSE_MAX_N the
    sparse one (the thresholds lowered here to keep the test small); few iterations suffice to
    beat uniform rates on a grid and the result is verified like every other."""
    G = graphs.make_graph("grid_2d", 12 * 12)
    edges, n = edges_of(G)
    monkeypatch.setattr(first_order, "FIRST_ORDER_EIGH_MAX_N", 16)
    if backend == "sparse":
        monkeypatch.setattr(first_order, "FIRST_ORDER_DENSE_MAX_N", 16)
    r = optimal_rates(edges, n, method="first-order", max_iter=15)
    assert r.info["backend"] == backend
    assert_verified(r, edges, n)
    assert r.saving > 0.02


# ------------------------------------------------------------------------------------------
# The graphs: the default chain solves them (SCS with adaptive scaling did not)


def test_random_geometric_24_and_32_seed_1_solve_with_default_settings():
    for n in (24, 32):
        G = graphs.make_graph("random_geometric", n, seed=1)
        edges, n = edges_of(G)
        r = optimal_rates(edges, n)
        assert_verified(r, edges, n)
        assert r.exact and r.status == "optimal", r.label
        assert r.saving > 0.4, n


# ------------------------------------------------------------------------------------------
# The solver chain: fallback, strictness, labels


def test_fallback_to_the_next_solver_when_the_first_is_inaccurate(monkeypatch):
    first, second = cone_chain()[:2]
    make_inaccurate(monkeypatch, first)
    edges, n = edges_of(graphs.make_graph("grid_2d", 16))
    r = optimal_rates(edges, n)
    assert_verified(r, edges, n)
    assert (r.method, r.solver, r.status, r.exact) == ("sdp", second, "optimal", True)
    assert [a[:3] for a in r.info["attempts"]] == [(first, "sdp", "optimal_inaccurate"),
                                                  (second, "sdp", "optimal")]
    assert all(a[3] >= 0 for a in r.info["attempts"])
    assert r.label.startswith(f"optimal ({second})") and f"after {first}" in r.label
    # the cached result still says which solver produced it, and what was tried before
    again = optimal_rates(edges, n)
    assert again.from_cache
    assert (again.solver, again.label, again.info["attempts"]) == (second, r.label,
                                                                   r.info["attempts"])


def test_sdp_falls_back_to_first_order_and_is_marked_as_an_upper_bound(monkeypatch):
    make_inaccurate(monkeypatch)
    edges, n = edges_of(graphs.make_graph("barbell", 16))
    r = optimal_rates(edges, n)
    assert_verified(r, edges, n)
    assert (r.method, r.solver, r.requested_method, r.exact) == ("first-order", "none", "sdp",
                                                                 False)
    assert [a[0] for a in r.info["attempts"]] == cone_chain() + ["none"]
    assert "upper bound" in r.label and "fallback for method 'sdp'" in r.label
    summary = r.summary()
    assert summary["label"] == r.label and summary["exact"] is False
    # with node caps there is no first-order fallback: caps would not hold after it
    with pytest.raises(SolverError):
        optimal_rates(edges, n, node_caps=100.0)


def test_solver_error_when_every_attempt_fails(monkeypatch):
    make_inaccurate(monkeypatch)
    edges, n = edges_of(graphs.make_graph("grid_2d", 16))
    with pytest.raises(SolverError) as err:
        optimal_rates(edges, n, method="relaxed")
    exc = err.value
    assert exc.exit_code == 3 and not isinstance(exc, OptimalRatesError)
    assert exc.field == "method" and "\n" not in str(exc)
    for solver in cone_chain():
        assert f"{solver}: optimal_inaccurate after" in str(exc)
    assert "try method 'first-order'" in str(exc)
    assert str(exc.located(field="rates.method")).startswith("rates.method: no usable rates")
    # "sdp": the first-order fallback fails too (its rates fail verification here)
    monkeypatch.setattr(first_order, "first_order",
                        lambda e, n, **kw: (-np.ones(len(e)), "converged", {"iterations": 1}))
    with pytest.raises(SolverError, match="first-order: returned rates that fail") as err:
        optimal_rates(edges, n)
    assert err.value.exit_code == 3 and "\n" not in str(err.value)


def test_iteration_and_time_limited_first_order_results_are_labelled():
    edges, n = edges_of(graphs.make_graph("grid_2d", 16))
    few = optimal_rates(edges, n, method="first-order", max_iter=3)
    assert_verified(few, edges, n)
    assert few.status == "max_iter" and not few.exact
    assert few.label.startswith("stopped at its iteration limit (3 iterations); an upper "
                                "bound on the least total rate, certified within ")
    assert 0 < few.info["gap"] < 1 and few.label.endswith("% of it")
    assert few.summary()["label"] == few.label
    quick = optimal_rates(edges, n, method="first-order", time_limit_s=1e-9)
    assert quick.status == "time_limit"
    assert quick.label.startswith("stopped at its time limit (1e-09 s,")
    done = optimal_rates(*edges_of(graphs.make_graph("path", 12)), method="first-order")
    assert done.status == "converged" and done.label.startswith("converged (")
    sdp = optimal_rates(edges, n)
    if sdp.exact:
        assert sdp.label.startswith(f"optimal ({sdp.solver})")


# ------------------------------------------------------------------------------------------
# DADAO with the optimal rates


def test_dadao_with_sdp_rates_on_barbell_needs_fewer_communications():
    G = graphs.make_graph("barbell", 16)
    edges, n = edges_of(G)
    problem = problems.least_squares(n, 5, samples_per_node=50, seed=0)
    t_max = 100.0 / dadao_algo.rate_scale(problem.L, problem.mu)
    sdp = optimal_rates(edges, n)
    comms = {}
    for label, lam in (("sdp", sdp.rates), ("uniform", rates.theory_rates(edges, n))):
        trace = dadao.simulate(G, problem, rates=lam, t_max=t_max, seed=4, log_every=t_max / 400)
        assert trace.status == "completed"
        assert trace["dist_to_opt"][-1] <= 1e-6 * trace["dist_to_opt"][0], label
        comms[label] = trace.first_time_below("dist_to_opt", 1e-6, x="communications")
    # Same condition chi_1 chi_2 = 1/2, so about the same time to 1e-6 (measured 135 vs 132 over
    # seeds 4-6): communications scale with the total rate, 26% of uniform here (4491 vs 16674).
    assert comms["sdp"] <= 1.2 * sdp.total / sdp.uniform_total * comms["uniform"], comms


# ------------------------------------------------------------------------------------------
# Failures are reported, never used


def test_inaccurate_solver_status_raises_and_an_explicit_solver_is_strict(monkeypatch):
    """solver="scs" means SCS only: its inaccurate status is a SolverError (exit code 3) that
    names the alternatives, not a fallback."""
    monkeypatch.setitem(solvers.SOLVER_SETTINGS, "scs", dict(max_iters=5))
    edges, n = edges_of(graphs.make_graph("grid_2d", 16))
    with pytest.raises(SolverError, match="scs") as err:
        optimal_rates(edges, n, solver="scs")
    exc = err.value
    assert "\n" not in str(exc)
    assert exc.exit_code == 3 and exc.field == "solver"
    assert "leave the solver unset (auto)" in str(exc)
    if "clarabel" in available_solvers():
        assert "try solver 'clarabel'" in str(exc)


def test_verification_refuses_bad_rates_and_rescales_good_ones():
    edges, n = edges_of(graphs.make_graph("cycle", 6))
    with pytest.raises(OptimalRatesError, match="negative rate"):
        verify_rates(edges, [1, 1, 1, 1, 1, -0.5], n)
    with pytest.raises(OptimalRatesError, match="non-finite"):
        verify_rates(edges, [1, 1, 1, 1, 1, math.nan], n)
    with pytest.raises(OptimalRatesError, match="verification failed"):
        verify_rates(edges, [1, 1, 0, 1, 1, 0], n)  # two zero edges split the cycle
    # round-off below 1e-6 of the largest rate is clipped; any connected rates are rescaled
    lam, cond = verify_rates(edges, [3, 1, 1, 1, 1, -1e-9], n)
    assert lam.min() == 0.0 and cond.product == pytest.approx(0.5, rel=1e-8)


def test_bad_arguments_are_one_line_value_errors():
    edges, n = edges_of(graphs.make_graph("cycle", 6))
    cases = [
        (dict(method="spectral"), "method: unknown method"),
        (dict(solver="cvxopt"), "solver: unknown solver"),
        (dict(method="first-order", solver="scs"), "uses no cone solver"),
        (dict(method="first-order", node_caps=3.0), "node_caps: not supported"),
        (dict(node_caps=[1.0, 2.0]), "node_caps: expected"),
        (dict(max_iter=10), "max_iter: applies"),
        (dict(method="first-order", max_iter=0), "max_iter: must be"),
        (dict(method="first-order", time_limit_s=-1), "time_limit_s: must be"),
    ]
    if "mosek" not in available_solvers():
        cases.append((dict(solver="mosek"), "mosek is not installed"))
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            optimal_rates(edges, n, **kwargs)
        assert isinstance(err.value, OptimalRatesError) and "\n" not in str(err.value)
        assert err.value.exit_code == 2


# ------------------------------------------------------------------------------------------
# Caps, cache, CSV


def test_node_caps_hold_and_cost_total_rate():
    edges, n = edges_of(graphs.make_graph("barbell", 16))
    free = optimal_rates(edges, n)
    assert free.exact, free.label
    load = verify.node_load(edges, free.rates, n)
    cap = 0.8 * load.max()
    capped = optimal_rates(edges, n, node_caps=cap)
    assert_verified(capped, edges, n)
    assert verify.node_load(edges, capped.rates, n).max() <= cap * (1 + verify.CAP_TOL)
    assert capped.total >= free.total * (1 - 1e-6)
    with pytest.raises(OptimalRatesError, match="infeasible") as err:
        optimal_rates(edges, n, node_caps=1e-3)
    assert err.value.field == "node_caps" and err.value.exit_code == 2


def test_cache_is_keyed_by_graph_and_method_and_lives_in_DADAO_CACHE_DIR(tmp_path):
    edges, n = edges_of(graphs.make_graph("grid_2d", 16))
    assert rates_cache_dir() == tmp_path / "cache" / "optimal_rates"
    first = optimal_rates(edges, n)
    assert not first.from_cache
    files = list((tmp_path / "cache" / "optimal_rates").glob("*.npz"))
    assert len(files) == 1
    again = optimal_rates(edges, n)
    assert again.from_cache and again.verified
    np.testing.assert_array_equal(again.rates, first.rates)
    assert again.solve_time_s == first.solve_time_s
    assert again.uniform_chi_1 == first.uniform_chi_1
    assert (again.method, again.solver, again.label) == (first.method, first.solver, first.label)
    assert optimal_rates(edges, n, solver="auto").from_cache  # "auto" is the default
    other = optimal_rates(edges, n, method="first-order")
    assert not other.from_cache
    assert len(list(files[0].parent.glob("*.npz"))) == 2
    # first-order results are keyed by their iteration limit too
    few = optimal_rates(edges, n, method="first-order", max_iter=3)
    assert not few.from_cache
    assert optimal_rates(edges, n, method="first-order", max_iter=3).from_cache
    assert few.total >= other.total * (1 - 1e-9)
    # the method, the solver request and the caps are in the key (no solve needed to check)
    keys = {rates_cache.cache_key(edges, n, m, s, caps)
            for m in ("sdp", "relaxed") for s in ("auto", "clarabel", "scs")
            for caps in (None, np.full(n, 5.0))}
    assert len(keys) == 12
    # a different graph with the same sizes is a different key
    perm = np.arange(n)
    perm[[0, 5]] = [5, 0]
    moved = graphs.edge_array(nx.Graph(perm[edges].tolist()))
    assert not np.array_equal(moved, edges)
    assert rates_cache.cache_key(moved, n, "sdp", "auto", None) != \
        rates_cache.cache_key(edges, n, "sdp", "auto", None)


def test_csv_round_trip_through_load_rates_csv(tmp_path):
    edges, n = edges_of(graphs.make_graph("barbell", 16))
    r = optimal_rates(edges, n, method="first-order")
    path = tmp_path / "rates.csv"
    choices.write_rates_csv(path, edges, r.rates)
    assert path.read_text().splitlines()[0] == "u,v,rate"
    np.testing.assert_array_equal(rates.load_rates_csv(path, edges), r.rates)


def test_reexported_from_rates():
    assert rates.optimal_rates is optimal_rates
    assert rates.OptimalRates is OptimalRates
    assert rates.verify_rates is verify_rates
    assert rates.OptimalRatesError is OptimalRatesError
    assert rates.write_rates_csv is choices.write_rates_csv
    assert "first-order" in METHODS and set(SOLVERS) == {"scs", "clarabel", "mosek"}
