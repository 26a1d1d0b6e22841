"""Node speed factors (dadao.timing.speeds): from a list, a CSV file, a law."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dadao.errors import ConfigError
from dadao.timing.laws import Constant, LogNormal
from dadao.timing.speeds import speeds_from_csv, speeds_from_law, speeds_from_list

from .common import assert_one_line


def test_speeds_from_a_list_and_a_string():
    assert np.array_equal(speeds_from_list([1, 2.5, 1], 3), [1.0, 2.5, 1.0])
    assert np.array_equal(speeds_from_list("1, 2.5 ,1", 3), [1.0, 2.5, 1.0])
    for bad, words in [([1, 2], "expected 3"), ([1, 0, 1], "node 1"), ([1, math.inf, 1], "node 1"),
                       ("1, x, 1", "comma-separated"), ([1, True, 1], "node 1")]:
        with pytest.raises(ConfigError, match=words) as info:
            speeds_from_list(bad, 3)
        assert_one_line(info.value, "timing.speed_factors")


def test_speeds_from_a_csv(tmp_path):
    path = tmp_path / "speeds.csv"
    path.write_text("node,factor\n2,3.5\n\n0, 0.5\n")
    assert np.array_equal(speeds_from_csv(path, 4), [0.5, 1.0, 3.5, 1.0])
    for text, words in [("n,f\n0,1\n", "header"), ("node,factor\n0,1\n0,2\n", "line 3: node 0"),
                        ("node,factor\n7,1\n", "not in 0..3"), ("node,factor\n1,-2\n", "> 0"),
                        ("node,factor\n1,2,3\n", "expected 2 fields")]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=words) as info:
            speeds_from_csv(path, 4)
        assert info.value.field == "timing.speed_path" and info.value.file == str(path)
        assert "\n" not in str(info.value)


def test_speeds_from_a_law_use_their_own_seed():
    law = LogNormal(1.0, 0.3)
    a = speeds_from_law(law, 20_000, seed=3)
    assert np.array_equal(a, speeds_from_law(law, 20_000, seed=3))
    assert not np.array_equal(a, speeds_from_law(law, 20_000, seed=4))
    assert abs(a.mean() - law.mean) <= 5 * math.sqrt(law.variance / len(a))
    with pytest.raises(ConfigError, match="must be a finite number > 0"):
        speeds_from_law(Constant(0.0), 3, seed=0)
