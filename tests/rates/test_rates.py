"""Edge rates and DADAO's rate condition chi_1 chi_2 <= 1/2 (docs/model.md, The rate condition)."""

import math
import warnings

import numpy as np
import pytest

from dadao.graphs import chi_1, chi_2, edge_array, make_graph, rate_constants
from dadao.rates import (
    RateCondition,
    RateError,
    check_rate_condition,
    explicit_rates,
    load_rates_csv,
    require_rate_condition,
    theory_rates,
    uniform_rates,
)

GRAPHS = [("star", 16, {}), ("complete", 16, {}), ("cycle", 16, {}), ("path", 16, {}),
          ("grid_2d", 16, {}), ("barbell", 16, {}), ("hypercube", 32, {}),
          ("random_geometric", 40, {"seed": 1}), ("erdos_renyi", 40, {"seed": 1})]


def _edges(family="cycle", n=6, **params):
    return edge_array(make_graph(family, n, **params))


def test_uniform_rates():
    e = _edges()
    np.testing.assert_allclose(uniform_rates(e, 3.0), np.full(6, 0.5))
    assert uniform_rates(e, 3).dtype == np.float64
    for bad in (0, -1.0, math.nan, math.inf, "3"):
        with pytest.raises(RateError, match="total rate must be a finite number > 0"):
            uniform_rates(e, bad)


@pytest.mark.parametrize("family,n,params", GRAPHS, ids=[g[0] for g in GRAPHS])
def test_theory_rates_saturate_the_condition(family, n, params):
    e = _edges(family, n, **params)
    lam = theory_rates(e, n)
    assert lam.shape == (len(e),) and np.all(lam == lam[0])
    c1, c2 = chi_1(e, lam, n), chi_2(e, lam, n)
    assert c1 * c2 == pytest.approx(0.5, rel=1e-12)
    cond = check_rate_condition(e, lam, n)
    assert cond.satisfied and cond.scale_needed == pytest.approx(1.0, rel=1e-12)
    # lambda_com = sqrt(2 chi_1[Lbar] chi_2[Lbar]) is the total rate
    u = rate_constants(e, np.full(len(e), 1 / len(e)), n)
    assert lam.sum() == pytest.approx(math.sqrt(2 * u["chi_1"] * u["chi_2"]), rel=1e-12)


def test_theory_rates_of_the_star_300_match_the_table():
    e = _edges("star", 300)
    assert theory_rates(e, 300).sum() == pytest.approx(299.0, abs=5e-4)
    np.testing.assert_allclose(theory_rates(e, 300, method="sparse"), theory_rates(e, 300),
                               rtol=1e-9)


def test_explicit_rates_sequence_and_mapping():
    e = _edges("path", 4)  # (0,1), (1,2), (2,3)
    np.testing.assert_array_equal(explicit_rates(e, [1, 2, 3]), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(explicit_rates(e, np.array([0.5, 0, 2])), [0.5, 0.0, 2.0])
    got = explicit_rates(e, {(1, 0): 1.0, (1, 2): 2.0, (3, 2): 3.0})
    np.testing.assert_array_equal(got, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("values,needle", [
    ([1, 2], "expected 3 rates"),
    ([1, -2, 3], "rate of edge (1, 2) must be a finite number >= 0"),
    ([1, 2, math.nan], "rate of edge (2, 3)"),
    ([1, 2, "x"], "rate of edge (2, 3)"),
    ({(0, 1): 1, (1, 2): 1}, "no rate given for edge (2, 3)"),
    ({(0, 1): 1, (1, 2): 1, (2, 3): 1, (0, 3): 1}, "(0, 3), which is not an edge"),
    ({(0, 1): 1, (1, 0): 1, (1, 2): 1, (2, 3): 1}, "edge (0, 1) is given a rate twice"),
    ({(0, 1): 1, (1, 2): -1, (2, 3): 1}, "rate of edge (1, 2)"),
    ({"ab": 1}, "rate keys must be node pairs"),
])
def test_explicit_rates_errors(values, needle):
    with pytest.raises(RateError) as info:
        explicit_rates(_edges("path", 4), values)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_load_rates_csv(tmp_path):
    e = _edges("path", 4)
    good = tmp_path / "rates.csv"
    good.write_text("u,v,rate\n1,0,0.5\n1,2,1.5\n\n3,2,2\n")
    np.testing.assert_array_equal(load_rates_csv(good, e), [0.5, 1.5, 2.0])

    cases = {
        "header.csv": ("a,b,c\n0,1,1\n", "line 1: expected the header 'u,v,rate'"),
        "fields.csv": ("u,v,rate\n0,1,1\n1,2\n", "line 3: expected 3 fields"),
        "ids.csv": ("u,v,rate\n0,x,1\n", "line 2: u and v must be integer"),
        "neg.csv": ("u,v,rate\n0,1,1\n1,2,-4\n2,3,1\n", "line 3: rate of edge (1, 2)"),
        "dup.csv": ("u,v,rate\n0,1,1\n1,0,1\n", "line 3: edge (1, 0) is given a rate twice"),
        "unknown.csv": ("u,v,rate\n0,1,1\n1,2,1\n2,3,1\n0,3,1\n", "(0, 3), which is not an edge"),
        "missing.csv": ("u,v,rate\n0,1,1\n", "no rate given for edge (1, 2)"),
    }
    for name, (text, needle) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(RateError) as info:
            load_rates_csv(path, e)
        assert str(path) in str(info.value) and needle in str(info.value), name
    with pytest.raises(RateError, match="rates file not found"):
        load_rates_csv(tmp_path / "none.csv", e)


def test_rate_condition_broken_is_refused_with_the_fix():
    e = _edges("barbell", 16)
    lam = 0.3 * theory_rates(e, 16)
    cond = check_rate_condition(e, lam, 16)
    assert isinstance(cond, RateCondition) and not cond.satisfied
    assert cond.product == pytest.approx(0.5 / 0.09, rel=1e-9)
    assert cond.scale_needed == pytest.approx(1 / 0.3, rel=1e-9)
    assert cond.total == pytest.approx(lam.sum())
    with pytest.raises(RateError) as info:
        require_rate_condition(e, lam, 16)
    msg = str(info.value)
    assert "chi_1 chi_2 <= 1/2" in msg and "is broken" in msg
    assert "chi_1 chi_2 = 5.556" in msg and "multiply every rate by at least 3.333" in msg
    assert "\n" not in msg


def test_rate_condition_forced_warns():
    e = _edges("cycle", 16)
    lam = 0.3 * theory_rates(e, 16)
    with pytest.warns(RuntimeWarning, match="chi_1 chi_2 <= 1/2 is broken"):
        cond = require_rate_condition(e, lam, 16, force=True)
    assert not cond.satisfied


def test_rate_condition_met_is_silent():
    e = _edges("grid_2d", 16)
    lam = 2.0 * theory_rates(e, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cond = require_rate_condition(e, lam, 16)
    assert cond.satisfied and cond.scale_needed == pytest.approx(0.5, rel=1e-12)
    assert "holds" in cond.describe()
    # exactly saturated rates pass despite rounding in chi_1 and chi_2
    require_rate_condition(e, theory_rates(e, 16), 16)


def test_rate_condition_with_switched_off_edge():
    e = _edges("cycle", 8)
    lam = np.ones(8)
    lam[3] = 0.0
    cond = check_rate_condition(e, lam, 8)
    assert cond.chi_2 == pytest.approx(3.5)  # the switched-off edge spans a path of 7 edges
    lam[5] = 0.0
    with pytest.raises(RateError, match="rate Laplacian is disconnected"):
        check_rate_condition(e, lam, 8)
