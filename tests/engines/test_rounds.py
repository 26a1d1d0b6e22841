"""The synchronous engine: accounting of gradients and communications, the authors' counts per
round, overrides, refusals, and how a run ends (diverged, interrupted)."""

import math

import networkx as nx
import numpy as np
import pytest

import dadao
from dadao import gossip, graphs, problems
from dadao.algorithms import get_algorithm
from dadao.algorithms.base import OptionError
from dadao.algorithms.synchronous import SyncAlgorithm, UnsupportedProblemError
from dadao.algorithms.theory import Setting
from dadao.versions import versions
from dadao.errors import RunArgumentError
from dadao.problems import ProblemError
from dadao.trace import COLUMNS, events_of

N = 16
SYNC = ("adom_plus", "adom_plus_mc", "msda", "opapc", "extra", "diging", "dgd")


@pytest.fixture(scope="module")
def least_squares():
    return problems.least_squares(N, 3, samples_per_node=20, seed=0)


def test_registry_returns_sync_algorithms():
    for name in SYNC:
        algo = get_algorithm(name)
        assert isinstance(algo, SyncAlgorithm) and algo.name == name
        assert algo.theory is not None and len(algo.tunables) >= 1


def test_counts_per_round_on_the_star_of_300_match_the_authors_table():
    chi = gossip.Network(graphs.make_graph("star", 300)).chi
    s = Setting(n=300, edges=299, mu=1.2, L=3.0, chi=chi, chi_1=math.nan, chi_2=math.nan,
                total_rate=math.nan)
    expected = {"adom_plus": 299, "adom_plus_mc": 62_192, "msda": 5_083}
    for name, count in expected.items():
        assert get_algorithm(name).theory.communications_per_round(s) == count


# rounds per iteration on the star n = 16 (chi = 16): T = ceil(16 ln 2) = 12, K = floor(4) = 4
ROUNDS_STAR_16 = {"adom_plus": 1, "adom_plus_mc": 12, "msda": 4, "opapc": 4, "extra": 1,
                  "diging": 1, "dgd": 1}


@pytest.mark.parametrize("name", SYNC)
def test_trace_columns_count_n_gradients_and_rounds_times_edges_per_iteration(name, least_squares):
    G = graphs.make_graph("star", N)
    E = G.number_of_edges()
    trace = dadao.simulate(G, least_squares, algorithm=name, t_max=10.5, log_every=2)
    assert tuple(trace.columns) == COLUMNS
    t = trace["time"]
    assert list(t) == [0, 2, 4, 6, 8, 10]  # whole iterations; t_max = 10.5 runs 10
    np.testing.assert_array_equal(trace["gradients"], N * t)
    np.testing.assert_array_equal(trace["communications"], ROUNDS_STAR_16[name] * E * t)
    meta = trace.meta
    assert meta["engine"] == "inprocess" and meta["algorithm"]["name"] == name
    assert meta["run"]["gradients"] == N * 10 and events_of(meta) == 10
    assert meta["run"]["communications"] == ROUNDS_STAR_16[name] * E * 10
    assert meta["run"]["gossip_rounds"] == ROUNDS_STAR_16[name] * 10
    # the declared theory counts per time unit are the ones the engine measured
    assert meta["theory"]["gradients_per_time"] == N
    assert meta["theory"]["communications_per_time"] == ROUNDS_STAR_16[name] * E


def keys_of(record, prefix=""):
    """Every key path of a nested record (the values of algorithm.constants aside)."""
    out = set()
    for key, value in record.items():
        out.add(prefix + key)
        if isinstance(value, dict) and key not in ("constants", "options"):
            out |= keys_of(value, prefix + key + ".")
    return out


def test_meta_has_the_shape_of_every_other_run(least_squares):
    """One result shape: a synchronous run's record has exactly the keys of an asynchronous
    one's, and ``engine`` names the engine that ran it."""
    G = graphs.make_graph("cycle", N)
    sync = dadao.simulate(G, least_squares, algorithm="extra", t_max=5, seed=7).meta
    other = dadao.simulate(G, least_squares, algorithm="dadao", t_max=5, seed=7).meta
    assert keys_of(sync) == keys_of(other)
    for key in ("status", "error", "engine", "algorithm", "seed", "t_max", "log_every",
                "graph", "rates", "problem", "theory", "run", "versions"):
        assert key in sync, key
    assert sync["status"] == "completed" and sync["error"] is None and sync["seed"] == 7
    assert sync["engine"] == "inprocess" and sync["run"]["iterations"] == 5
    assert sync["versions"] == versions()
    assert sync["graph"]["chi"] == pytest.approx(graphs.graph_chi(G))


def test_overrides_change_the_constant_and_what_derives_from_it(least_squares):
    G = graphs.make_graph("cycle", N)
    network = gossip.Network(G)
    opapc = get_algorithm("opapc")
    k = opapc.constants(least_squares, network, {"tau": 0.5})
    assert k.tau == 0.5 and k.xf_step == pytest.approx(2 * 0.5 / 1.5)
    adom = get_algorithm("adom_plus")
    k0 = adom.constants(least_squares, network)
    k = adom.constants(least_squares, network, {"sigma2": k0.sigma2 / 2, "eta": 2})
    assert k.eta == 2.0 and k.sigma1 == pytest.approx(1 / (2 / k0.sigma2 + 0.5))
    assert k.c5 == pytest.approx(1 / (1 + 2 * k.alpha))
    trace = dadao.simulate(G, least_squares, algorithm="msda", t_max=3,
                                 options={"mom": 0.5})
    assert trace.meta["algorithm"]["constants"]["mom"] == 0.5


@pytest.mark.parametrize("options,message", [
    ({"etaa": 1.0}, r"^algorithm\.etaa: adom_plus has no such constant; did you mean 'eta'\? "),
    ({"tau1": 0.3}, r"^algorithm\.tau1: adom_plus has no such constant"),
    ({"eta": float("nan")}, r"^algorithm\.eta: must be a finite number, got nan$"),
    ({"eta": "big"}, r"^algorithm\.eta: must be a finite number, got 'big'$"),
])
def test_bad_overrides_are_refused_with_one_line(options, message, least_squares):
    G = graphs.make_graph("cycle", N)
    with pytest.raises(OptionError, match=message) as info:
        dadao.simulate(G, least_squares, algorithm="adom_plus", t_max=3, options=options)
    assert "\n" not in str(info.value)


def test_refusals_name_the_field_in_one_line(least_squares):
    G = graphs.make_graph("cycle", N)
    logistic = problems.logistic(N, 3, samples_per_node=20, seed=0)
    Gs = [graphs.make_graph("random_geometric", N, seed=k) for k in range(3)]
    cases = [
        (ProblemError, r"^problem\.kind: msda needs the conjugate gradient grad f_i\^\*, which "
                       r"logistic problems do not have",
         dict(problem=logistic, graph=G, algorithm="msda")),
        (UnsupportedProblemError, r"^graph: opapc needs one fixed graph, got a time-varying list "
                                  r"of 3 graphs$",
         dict(problem=least_squares, graph=Gs, algorithm="opapc")),
        (RunArgumentError, r"^x0: msda is a dual method",
         dict(problem=least_squares, graph=G, algorithm="msda", x0=np.ones(3))),
        (UnsupportedProblemError, r"^graph: has 8 nodes but the problem has n = 16$",
         dict(problem=least_squares, graph=graphs.make_graph("cycle", 8), algorithm="dgd")),
        (gossip.NetworkError, r"^graph: graph is disconnected",
         dict(problem=least_squares, graph=nx.disjoint_union(
             graphs.make_graph("cycle", 8), graphs.make_graph("cycle", 8)), algorithm="dgd")),
        (RunArgumentError, r"^t_max: must be a positive finite time",
         dict(problem=least_squares, graph=G, algorithm="dgd", t_max=-1)),
    ]
    for error, message, kwargs in cases:
        kwargs.setdefault("t_max", 3)
        with pytest.raises(error, match=message) as info:
            dadao.simulate(kwargs.pop("graph"), kwargs.pop("problem"), **kwargs)
        assert "\n" not in str(info.value)


def test_a_diverging_run_stops_and_says_so(least_squares):
    G = graphs.make_graph("cycle", N)
    alpha = 5.0 / least_squares.L  # DGD is unstable beyond (1 + lambda_min(M)) / L < 2 / L
    trace = dadao.simulate(G, least_squares, algorithm="dgd", t_max=10_000, log_every=1,
                                 options={"alpha": alpha})
    assert trace.status == "diverged"
    assert trace.meta["error"].startswith("dist_to_opt reached")
    assert trace.meta["run"]["t_end"] < 200 and trace.meta["run"]["t_end"] == trace["time"][-1]
    assert len(trace) == trace.meta["run"]["t_end"] + 1


def test_ctrl_c_stops_cleanly_and_keeps_the_trace(least_squares):
    G = graphs.make_graph("cycle", N)
    seen = []

    def progress(t, events, dist):
        seen.append((t, events, dist))
        if t >= 30:
            raise KeyboardInterrupt

    trace = dadao.simulate(G, least_squares, algorithm="adom_plus_mc", t_max=100,
                                 log_every=10, progress=progress)
    assert trace.status == "interrupted"
    assert list(trace["time"]) == [0, 10, 20, 30]
    assert trace.meta["run"]["t_end"] == 30 and events_of(trace.meta) == 30
    assert trace.meta["run"]["gradients"] == 30 * N
    assert [s[0] for s in seen] == [0, 10, 20, 30]
    assert np.all(np.isfinite(trace.final_x))


def test_ctrl_c_inside_an_iteration_leaves_the_last_completed_one(least_squares):
    """An interrupt in the middle of an iteration (here: inside a gossip round) keeps the state
    and counts of the iteration before, consistently."""
    G = graphs.make_graph("cycle", N)
    calls = {"rounds": 0}
    algo = get_algorithm("adom_plus_mc")
    T = gossip.multi_consensus_rounds(graphs.graph_chi(G))
    real_step = algo.step

    def step(state, k, local, mix):
        def interrupting_mix(X):
            calls["rounds"] += 1
            if calls["rounds"] == 7 * T + 3:  # 3 rounds into the 8th iteration
                raise KeyboardInterrupt
            return mix(X)
        return real_step(state, k, local, interrupting_mix)

    import dataclasses
    wrapped = dataclasses.replace(algo, step=step)
    trace = dadao.simulate(G, least_squares, algorithm=wrapped, t_max=100, log_every=5)
    assert trace.status == "interrupted"
    assert trace.meta["run"]["t_end"] == 7
    assert trace["gradients"][-1] == 7 * N
    assert trace["communications"][-1] == 7 * T * G.number_of_edges()
    assert trace.meta["run"]["gossip_rounds"] == 7 * T
    # the kept state is exactly that of an uninterrupted run after 7 iterations
    ref = dadao.simulate(G, least_squares, algorithm="adom_plus_mc", t_max=7)
    np.testing.assert_array_equal(trace.final_x, ref.final_x)
