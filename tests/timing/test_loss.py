"""Message loss (dadao.timing.loss): independent and Gilbert-Elliott channels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dadao.errors import ConfigError
from dadao.timing.loss import GilbertElliott, IndependentLoss, Loss, gilbert_elliott_states

from .common import SEED, assert_one_line


def test_independent_loss_rate_and_reproducibility():
    p = 0.1
    lost = Loss(IndependentLoss(p), SEED).lost(0, 1, 200_000)
    assert abs(lost.mean() - p) < 5 * math.sqrt(p * (1 - p) / len(lost))
    chunked = Loss(IndependentLoss(p), SEED)
    assert np.array_equal(np.concatenate([chunked.lost(0, 1, 7), chunked.lost(0, 1, 199_993)]),
                          lost)
    assert not Loss(None, SEED).lost(0, 1, 10).any()
    with pytest.raises(ConfigError) as info:
        IndependentLoss(1.5)
    assert_one_line(info.value, "timing.loss_p")


def test_gilbert_elliott_long_run_loss_is_its_stationary_value():
    law = GilbertElliott(good_to_bad=0.05, bad_to_good=0.3, loss_good=0.01, loss_bad=0.5)
    assert law.stationary_bad == pytest.approx(0.05 / 0.35)
    assert law.stationary_loss == pytest.approx(6 / 7 * 0.01 + 1 / 7 * 0.5)
    lost = Loss(law, SEED).lost(2, 5, 400_000)
    assert abs(lost.mean() - law.stationary_loss) < 0.005
    # bursts: a loss is more likely right after a loss than on average
    assert lost[1:][lost[:-1]].mean() > 2 * law.stationary_loss
    chunked = Loss(law, SEED)
    parts = [chunked.lost(2, 5, k) for k in (1, 0, 999, 399_000)]
    assert np.array_equal(np.concatenate(parts), lost)


@pytest.mark.parametrize("g2b, b2g", [(0.05, 0.3), (0.0, 0.4), (1.0, 1.0), (0.7, 0.0),
                                      (1.0, 0.2)])
def test_vectorised_gilbert_elliott_states_match_the_chain(g2b, b2g):
    law = GilbertElliott(g2b, b2g)
    u = np.random.default_rng(3).random(2000)
    for start in (0, 1):
        states, s = [start], start
        for x in u:
            s = (1 if x < g2b else 0) if s == 0 else (0 if x < b2g else 1)
            states.append(s)
        assert np.array_equal(gilbert_elliott_states(start, u, law), states)


def test_a_channel_that_never_changes_state_is_refused():
    with pytest.raises(ConfigError, match="never changes"):
        GilbertElliott(0.0, 0.0)
