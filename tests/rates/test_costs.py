"""Optimal rates by cost (issue 13, deliverable 4): minimise sum_e c_e lambda_e, the expected
link busy time per unit time, under chi_1 chi_2 <= 1/2.

Unit (and equal) costs are the unweighted program, cache entry included; a few slow links make
the weighted optimum cheaper than the unweighted one and slow edges gossip less; costs scale
out; bad costs, and bad costs files, are one-line errors naming the field and the file.

No test leans on a solver's luck: every solve goes through the default chain, its rates are
checked with the project's exact verification (chi_1 and chi_2 by eigendecomposition), and
solvers are compared with tolerances far above a converged Clarabel solve's (about 1e-7).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dadao import cli, config, experiment, graphs, rates
from dadao.errors import ConfigError, OptimalRatesError
from dadao.rates.optimal import optimal_rates, rates_cache_dir, verify_rates
from dadao.rates.optimal import cache as rates_cache
from dadao.rates.optimal.arguments import objective_weights
from dadao.rates.optimal.costs import costs_from_links, load_costs_csv
from dadao.timing.laws import Constant
from dadao.timing.links import LinkOverride, Links

#: objectives of two converged solves of one program agree to this (Clarabel: about 1e-7)
SOLVE_RTOL = 1e-4


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DADAO_CACHE_DIR", str(tmp_path / "cache"))


def graph(family, n):
    G = graphs.make_graph(family, n)
    return graphs.edge_array(G), G.number_of_nodes()


def slow_grid(factor=10.0):
    """The 5 x 5 grid with three links (6-7, 12-17, 17-18) ``factor`` times slower."""
    edges, n = graph("grid_2d", 25)
    slow = np.array([k for k, (u, v) in enumerate(edges.tolist())
                     if (u, v) in ((6, 7), (12, 17), (17, 18))])
    costs = np.ones(len(edges))
    costs[slow] = factor
    return edges, n, costs, slow


def assert_meets_condition(edges, r, n):
    """The rates meet chi_1 chi_2 <= 1/2, tight, by the project's exact check."""
    lam, cond = verify_rates(edges, r.rates, n, rescale=False)
    assert cond.satisfied and 0.5 * (1 - 1e-6) <= cond.product <= 0.5 * (1 + 1e-6)
    assert rates.check_rate_condition(edges, r.rates, n).satisfied


# ------------------------------------------------------------------------------------------
# (a) unit costs are today's program


def test_unit_costs_are_the_unweighted_program_and_share_its_cache_entry():
    edges, n = graph("grid_2d", 16)
    plain = optimal_rates(edges, n)
    assert plain.total_cost is None and "total_cost" not in plain.summary()
    unit = optimal_rates(edges, n, costs=np.ones(len(edges)))
    assert unit.from_cache, "unit costs must hit the entry of the unweighted program"
    np.testing.assert_array_equal(unit.rates, plain.rates)
    assert unit.total_cost == pytest.approx(plain.total, rel=1e-12)
    assert unit.uniform_total_cost == pytest.approx(plain.uniform_total, rel=1e-12)
    assert unit.total_rate == unit.total
    # equal costs of any size: the same rates, the objective in seconds
    threes = optimal_rates(edges, n, costs=np.full(len(edges), 3.0))
    assert threes.from_cache
    assert threes.total_cost == pytest.approx(3.0 * plain.total, rel=1e-12)
    assert len(list(rates_cache_dir().glob("*.npz"))) == 1
    # solved afresh, unit costs still give the unweighted rates to solver tolerance
    fresh = optimal_rates(edges, n, costs=np.ones(len(edges)), cache=False)
    np.testing.assert_allclose(fresh.rates, plain.rates, rtol=0, atol=1e-6 * plain.rates.max())


def test_the_cache_key_is_unchanged_without_costs_and_keyed_on_costs():
    edges, n = graph("cycle", 8)
    plain = rates_cache.cache_key(edges, n, "sdp", "auto", None, (None, None))
    assert rates_cache.cache_key(edges, n, "sdp", "auto", None, (None, None), None) == plain
    assert objective_weights(np.ones(len(edges))) is None
    costs = np.arange(1.0, len(edges) + 1)
    other = costs.copy()
    other[0] = 2.5
    keys = {rates_cache.cache_key(edges, n, "sdp", "auto", None, (None, None),
                                  objective_weights(c)) for c in (costs, other)}
    assert len(keys) == 2 and plain not in keys
    optimal_rates(edges, n)
    a = optimal_rates(edges, n, costs=costs)
    b = optimal_rates(edges, n, costs=other)
    assert not a.from_cache and not b.from_cache
    assert optimal_rates(edges, n, costs=costs).from_cache
    assert len(list(rates_cache_dir().glob("*.npz"))) == 3


def test_first_order_with_unit_costs_is_bit_identical():
    edges, n = graph("grid_2d", 16)
    plain = optimal_rates(edges, n, method="first-order", cache=False)
    unit = optimal_rates(edges, n, method="first-order", costs=np.ones(len(edges)), cache=False)
    np.testing.assert_array_equal(unit.rates, plain.rates)


# ------------------------------------------------------------------------------------------
# (b) slow links


def test_slow_links_gossip_less_and_the_weighted_optimum_costs_less():
    edges, n, costs, slow = slow_grid()
    plain = optimal_rates(edges, n)
    weighted = optimal_rates(edges, n, costs=costs)
    for r in (plain, weighted):
        assert r.exact, r.label
        assert_meets_condition(edges, r, n)
    plain_cost = float(costs @ plain.rates)
    assert weighted.total_cost == pytest.approx(float(costs @ weighted.rates), rel=1e-12)
    # strictly cheaper, by far more than any solver tolerance (about 20% here)
    assert weighted.total_cost < plain_cost * (1 - 0.05)
    # and no cheaper than it may be: not below the unweighted optimum's total rate times the
    # least cost (1), which bounds every feasible cost from below
    assert weighted.total_cost >= plain.total * (1 - SOLVE_RTOL)
    assert weighted.total_cost <= weighted.uniform_total_cost
    assert weighted.cost_saving == pytest.approx(
        1 - weighted.total_cost / weighted.uniform_total_cost)
    fast = np.setdiff1d(np.arange(len(edges)), slow)
    assert weighted.rates[slow].max() < 0.1 * plain.rates[slow].min()
    assert weighted.rates[slow].mean() < weighted.rates[fast].mean()


@pytest.mark.parametrize("method", ["sdp-search", "first-order", "relaxed", "max-connectivity"])
def test_every_method_takes_costs(method):
    """The exact methods agree; the others are verified upper bounds on the least cost."""
    edges, n = graph("grid_2d", 16)
    costs = np.ones(len(edges))
    costs[[0, 5, 9]] = 10.0
    exact = optimal_rates(edges, n, costs=costs)
    r = optimal_rates(edges, n, costs=costs, method=method)
    assert_meets_condition(edges, r, n)
    assert r.total_cost == pytest.approx(float(costs @ r.rates), rel=1e-12)
    if method == "sdp-search":
        assert r.exact
        assert r.total_cost == pytest.approx(exact.total_cost, rel=1e-3)
    else:
        assert not r.exact and "upper bound on the least total cost" in r.label
        assert r.total_cost >= exact.total_cost * (1 - SOLVE_RTOL)
    if method == "first-order":
        assert r.total_cost <= exact.total_cost * 1.02


# ------------------------------------------------------------------------------------------
# (c) scale


def test_costs_scale_out():
    edges, n, costs, _ = slow_grid(factor=100.0)
    one = optimal_rates(edges, n, costs=costs, cache=False)
    seven = optimal_rates(edges, n, costs=7.0 * costs, cache=False)
    tiny = optimal_rates(edges, n, costs=1e-6 * costs, cache=False)  # microseconds
    for r, factor in ((seven, 7.0), (tiny, 1e-6)):
        assert_meets_condition(edges, r, n)
        np.testing.assert_allclose(r.rates, one.rates, rtol=0, atol=1e-4 * one.rates.max())
        assert r.total_cost == pytest.approx(factor * one.total_cost, rel=SOLVE_RTOL)
        assert r.total == pytest.approx(one.total, rel=SOLVE_RTOL)


# ------------------------------------------------------------------------------------------
# (d) errors


@pytest.mark.parametrize("costs,words", [
    (np.ones(7), "expected 8 values"),
    (np.ones((8, 1)), "expected 8 values"),
    ([1.0] * 7 + [0.0], "has cost 0.0"),
    ([1.0] * 7 + [-2.0], "has cost -2.0"),
    ([math.nan] + [1.0] * 7, "has cost nan"),
    ([math.inf] + [1.0] * 7, "has cost inf"),
    (["fast"] * 8, "expected 8 finite numbers"),
])
def test_bad_costs_are_one_line_errors_naming_costs(costs, words):
    edges, n = graph("cycle", 8)
    with pytest.raises(OptimalRatesError) as err:
        optimal_rates(edges, n, costs=costs)
    assert err.value.field == "costs" and err.value.exit_code == 2
    assert words in str(err.value) and "\n" not in str(err.value)


def write_costs(path, edges, costs, extra=""):
    path.write_text("u,v,cost\n" + "".join(f"{v},{u},{c!r}\n" for (u, v), c in
                                            zip(edges.tolist(), costs)) + extra)
    return path


def test_costs_csv_round_trip_either_orientation(tmp_path):
    edges, n, costs, _ = slow_grid()
    path = write_costs(tmp_path / "k.csv", edges, costs.tolist())
    np.testing.assert_array_equal(load_costs_csv(path, edges), costs)


@pytest.mark.parametrize("extra,rows,words", [
    ("0,4,1.0\n", None, "line 10: (0, 4) is not an edge of the graph"),
    ("1,0,2.0\n", None, "line 10: edge (1, 0) is given a cost twice"),
    ("", 7, "no cost given for edge (6, 7) (1 of 8 edges missing)"),
    ("", "0.0", "line 2: cost must be a finite number > 0; got '0.0'"),
    ("", "-1", "line 2: cost must be a finite number > 0; got '-1'"),
])
def test_bad_costs_files_name_the_file_the_field_and_the_line(tmp_path, extra, rows, words):
    edges, _ = graph("cycle", 8)
    values = [1.0] * len(edges)
    kept = edges
    if rows == 7:
        kept = edges[:7]
        values = values[:7]
    path = tmp_path / "k.csv"
    write_costs(path, kept, values, extra)
    if isinstance(rows, str):
        path.write_text(path.read_text().replace("1.0", rows, 1))
    with pytest.raises(ConfigError) as err:
        load_costs_csv(path, edges, field="--costs")
    assert err.value.field == "--costs" and err.value.file == str(path)
    assert words in err.value.message and "\n" not in str(err.value)


def test_costs_from_links_take_the_slower_direction():
    edges, n = graph("cycle", 4)
    links = Links(latency=Constant(0.01), bandwidth=1e6,
                  overrides={(0, 1): LinkOverride(latency=0.5), (2, 3): LinkOverride(
                      bandwidth=1e3)})
    costs = costs_from_links(links, edges, 8000)
    expect = {(0, 1): 0.5 + 8e-3, (2, 3): 0.01 + 8.0}
    for k, (u, v) in enumerate(edges.tolist()):
        assert costs[k] == pytest.approx(expect.get((u, v), 0.01 + 8e-3), rel=1e-12)
    with pytest.raises(OptimalRatesError, match="costs") as err:
        costs_from_links(Links(), edges, 8000)  # no latency, unlimited bandwidth: free links
    assert err.value.field == "costs"
    with pytest.raises(OptimalRatesError) as err:
        costs_from_links(links, edges, -1)
    assert err.value.field == "nbytes"


# ------------------------------------------------------------------------------------------
# the command line and the config


def test_cli_costs_flag_prints_the_link_busy_time(tmp_path, monkeypatch, capsys):
    edges, n = graph("cycle", 8)
    costs = [10.0] + [1.0] * 7
    write_costs(tmp_path / "k.csv", edges, costs)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["rates", "cycle", "--n", "8", "--costs", "k.csv", "-o", "r.csv"]) == 0
    out = capsys.readouterr().out
    assert "link busy time sum_e c_e lambda_e (seconds per unit time)" in out
    lam = rates.load_rates_csv("r.csv", edges)
    assert f"optimal {float(np.dot(costs, lam)):.6g}" in out
    assert cli.main(["rates", "cycle", "--n", "8", "--costs", "k.csv", "--json"]) == 0
    import json

    info = json.loads(capsys.readouterr().out)
    assert info["costs"] == "k.csv"
    assert info["optimal"]["total_cost"] == pytest.approx(float(np.dot(costs, lam)), rel=1e-9)
    assert info["optimal"]["from_cache"]


def test_config_costs_path_gives_the_weighted_rates(tmp_path):
    edges, n = graph("cycle", 8)
    costs = [10.0] + [1.0] * 7
    write_costs(tmp_path / "k.csv", edges, costs)
    (tmp_path / "c.toml").write_text(
        '[graph]\nfamily = "cycle"\nn = 8\n[problem]\nkind = "least_squares"\ndim = 3\n'
        'samples_per_node = 20\n[algorithm]\nname = "dadao"\n[rates]\nkind = "sdp"\n'
        'costs_path = "k.csv"\n[run]\nt_max = 10.0\n')
    cfg = config.load(str(tmp_path / "c.toml"))
    assert cfg["rates"]["costs_path"] == str(tmp_path / "k.csv")
    setup = experiment.from_config(cfg, source=str(tmp_path / "c.toml"))
    direct = optimal_rates(edges, n, costs=costs)
    assert direct.from_cache
    assert setup.rates_detail["total_cost"] == pytest.approx(direct.total_cost, rel=1e-12)
    # without the key: the unweighted rates
    cfg["rates"]["costs_path"] = "auto"
    plain = experiment.from_config(cfg)
    assert "total_cost" not in plain.rates_detail


def test_costs_from_timing_are_the_links_mean_exchange_times(tmp_path):
    """[rates] costs_from_timing: the costs are each edge's mean exchange time under [timing]
    (the slower direction, a message of 8 d bytes): the same rates as those costs given."""
    edges, n = graph("cycle", 8)
    (tmp_path / "links.csv").write_text("u,v,latency,bandwidth\n0,1,0.05,\n3,4,0.05,\n")
    (tmp_path / "c.toml").write_text(
        '[graph]\nfamily = "cycle"\nn = 8\n[problem]\nkind = "least_squares"\ndim = 3\n'
        'samples_per_node = 20\n[algorithm]\nname = "dadao"\n[rates]\nkind = "sdp"\n'
        'costs_from_timing = true\n[run]\nt_max = 10.0\nengine = "timing"\n'
        '[timing]\nlatency_value = 0.001\nbandwidth = 1e6\nlinks_path = "links.csv"\n')
    setup = experiment.from_config(config.load(str(tmp_path / "c.toml")),
                                   source=str(tmp_path / "c.toml"))
    expected = np.array([0.05 if (u, v) in ((0, 1), (3, 4)) else 0.001
                         for u, v in edges.tolist()]) + 24 / 1e6
    direct = optimal_rates(edges, n, costs=expected)
    assert direct.from_cache   # the config's solve: same costs, same cache entry
    assert setup.rates_detail["total_cost"] == pytest.approx(direct.total_cost, rel=1e-12)
    slow = [e for e, (u, v) in enumerate(edges.tolist()) if (u, v) in ((0, 1), (3, 4))]
    fast = [e for e in range(len(edges)) if e not in slow]
    assert setup.args.edge_rates[slow].max() < setup.args.edge_rates[fast].min()
