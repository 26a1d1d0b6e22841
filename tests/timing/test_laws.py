"""The laws of a duration (dadao.timing.laws): moments, reproducible draws, reading a law
from a dict. Times are in seconds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dadao.errors import ConfigError
from dadao.timing.laws import Constant, Exponential, LogNormal, ShiftedExponential, law_from_dict

from .common import SEED, assert_one_line


LAWS = [Constant(0.003), Exponential(0.01), ShiftedExponential(0.002, 0.005),
        LogNormal(0.01, 0.5)]


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
def test_sample_mean_is_within_five_standard_errors(law):
    N = 200_000
    x = law.draw(np.random.default_rng(SEED), N)
    assert x.dtype == np.float64 and x.shape == (N,) and np.all(x >= 0)
    tolerance = 5.0 * math.sqrt(law.variance / N)  # 0 for the constant: exact
    assert abs(x.mean() - law.mean) <= tolerance
    assert abs(x.var() - law.variance) <= 0.05 * law.variance + 1e-300


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
def test_draws_are_reproducible_and_independent_of_blocks(law):
    whole = law.draw(np.random.default_rng(SEED), 1000)
    again = law.draw(np.random.default_rng(SEED), 1000)
    rng = np.random.default_rng(SEED)
    blocks = np.concatenate([law.draw(rng, 300), law.draw(rng, 1), law.draw(rng, 699)])
    assert np.array_equal(whole, again) and np.array_equal(whole, blocks)


def test_law_maths():
    assert ShiftedExponential(1.0, 2.0).mean == 3.0
    assert ShiftedExponential(1.0, 2.0).variance == 4.0
    assert LogNormal(2.0, 0.5).mean == pytest.approx(2.0 * math.exp(0.125))
    assert np.median(LogNormal(2.0, 0.5).draw(np.random.default_rng(1), 100_001)) == \
        pytest.approx(2.0, rel=0.01)
    assert Constant(0.0).mean == 0.0  # the idealised link takes no time


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
def test_law_from_dict_reads_back_to_dict(law):
    assert law_from_dict(law.to_dict(), "timing.compute") == law


@pytest.mark.parametrize("spec, words", [
    ({"law": "exponentil", "mean": 1.0}, "did you mean 'exponential'"),
    ({"law": 3, "mean": 1.0}, "unknown law"),
    ({"mean": 1.0}, "missing 'law'"),
    ({"law": "exponential"}, "needs mean"),
    ({"law": "lognormal", "median": 1.0}, "needs sigma"),
    ({"law": "exponential", "mean": 1.0, "sigma": 2.0}, "takes no 'sigma'"),
    ({"law": "exponential", "mean": math.nan}, "finite number > 0"),
    ({"law": "exponential", "mean": math.inf}, "finite number > 0"),
    ({"law": "exponential", "mean": 0.0}, "finite number > 0"),
    ({"law": "shifted_exponential", "shift": -1.0, "mean_excess": 1.0}, "shift of the"),
    ({"law": "exponential", "mean": "0.01"}, "got '0.01'"),
    ({"law": "exponential", "mean": True}, "got True"),
    ({"law": "constant", "value": -0.5}, ">= 0"),
    ("exponential", "expected a table"),
])
def test_law_from_dict_errors_are_one_line_and_name_the_field(spec, words):
    with pytest.raises(ConfigError) as info:
        law_from_dict(spec, "timing.compute")
    assert_one_line(info.value, "timing.compute")
    assert words in str(info.value)


def test_direct_construction_checks_too():
    with pytest.raises(ConfigError, match="sigma of the lognormal law"):
        LogNormal(1.0, 0.0)
