"""Message loss on every directed link u -> v, each link on its own stream (seed, (LOSS_KEY, u,
v)), one channel per link.

Independent: each message is lost with probability p. Gilbert-Elliott: a two-state channel, good
(G) and bad (B), one step per message; message m is lost with probability loss_good in G,
loss_bad in B, then the state moves G -> B with probability good_to_bad, B -> G with probability
bad_to_good. Stationary law pi_B = good_to_bad / (good_to_bad + bad_to_good); long-run loss rate
pi_G loss_good + pi_B loss_bad; bad spells last 1 / bad_to_good messages on average (bursts)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from dadao.errors import ConfigError
from dadao.timing.streams import LOSS_KEY, stream


def _probability(value, name: str, field: str) -> float:
    x = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else \
        math.nan
    if not 0.0 <= x <= 1.0:
        raise ConfigError(f"{name} must be a probability in [0, 1], got {value!r}", field=field)
    return x


@dataclass(frozen=True)
class IndependentLoss:
    """Each message is lost with probability p, independently of every other."""

    p: float

    def __post_init__(self):
        object.__setattr__(self, "p", _probability(self.p, "p", "timing.loss_p"))

    @property
    def stationary_loss(self) -> float:
        return self.p


@dataclass(frozen=True)
class GilbertElliott:
    """A two-state channel: good (G) and bad (B), one step per message.

    Message m is lost with probability loss_good in G, loss_bad in B; then the state moves G -> B
    with probability good_to_bad, B -> G with probability bad_to_good. The chain's stationary law
    is pi_B = good_to_bad / (good_to_bad + bad_to_good), and the long-run loss rate
    pi_G loss_good + pi_B loss_bad. Bad spells last 1 / bad_to_good messages on average: bursts.
    """

    good_to_bad: float
    bad_to_good: float
    loss_good: float = 0.0
    loss_bad: float = 1.0

    def __post_init__(self):
        for name in ("good_to_bad", "bad_to_good", "loss_good", "loss_bad"):
            object.__setattr__(self, name, _probability(getattr(self, name), name,
                                                        f"timing.loss_{name}"))
        if self.good_to_bad + self.bad_to_good == 0:
            raise ConfigError("good_to_bad and bad_to_good are both 0: the channel never changes "
                              "state (use loss = \"independent\")", field="timing.loss_good_to_bad")

    @property
    def stationary_bad(self) -> float:
        return self.good_to_bad / (self.good_to_bad + self.bad_to_good)

    @property
    def stationary_loss(self) -> float:
        bad = self.stationary_bad
        return (1.0 - bad) * self.loss_good + bad * self.loss_bad


def gilbert_elliott_states(state: int, u: np.ndarray, law: GilbertElliott) -> np.ndarray:
    """States s_0..s_k of the chain from s_0 = ``state`` (0 good, 1 bad), s_{m+1} = B if
    u_m < good_to_bad when s_m = G, s_{m+1} = G if u_m < bad_to_good when s_m = B.

    Vectorised: each step is a map of {G, B} onto itself, either constant (it sets the state),
    the identity or the swap. s_{m+1} is the value set at the last constant step up to m (s_0 if
    none) flipped once per swap since then.
    """
    if not len(u):
        return np.array([state], dtype=np.int8)
    to_bad_from_good = u < law.good_to_bad   # the next state (1: bad) from G
    stays_bad = u >= law.bad_to_good         # the next state from B
    sets = to_bad_from_good == stays_bad
    swaps = to_bad_from_good & ~stays_bad
    last_set = np.maximum.accumulate(np.where(sets, np.arange(len(u)), -1))
    at = np.maximum(last_set, 0)
    base = np.where(last_set >= 0, to_bad_from_good[at], bool(state)).astype(np.int64)
    swaps_upto = np.cumsum(swaps)
    swaps_since = swaps_upto - np.where(last_set >= 0, swaps_upto[at], 0)
    return np.concatenate([[int(state)], base ^ (swaps_since & 1)]).astype(np.int8)


class LossChannel:
    """The loss process of one directed link, drawn from its own stream.

    Independent loss: one uniform v_m per message, lost iff v_m < p. Gilbert-Elliott: the
    initial state is drawn from the stationary law (a first uniform: bad iff < pi_B), then two
    uniforms (u_m, v_m) per message: message m is lost iff v_m < the loss probability of its
    state, and u_m moves the state. Stateful: ``lost(k)`` continues where the last call ended.
    """

    #: decisions are made in blocks of at least this many messages and handed out in order
    #: (the same decisions as one at a time: the chain is run message by message either way)
    BLOCK = 256

    def __init__(self, law, rng: np.random.Generator):
        self.law = law
        self.rng = rng
        self.state = None
        if isinstance(law, GilbertElliott):
            self.state = int(rng.random() < law.stationary_bad)
        self.pending = np.empty(0, dtype=bool)

    def lost(self, k: int) -> np.ndarray:
        """Whether each of the next k messages is lost (bool array)."""
        k = int(k)
        if len(self.pending) < k:
            more = self._decide(max(self.BLOCK, k - len(self.pending)))
            self.pending = np.concatenate([self.pending, more])
        out, self.pending = self.pending[:k], self.pending[k:]
        return out

    def _decide(self, k: int) -> np.ndarray:
        if isinstance(self.law, IndependentLoss):
            return self.rng.random(k) < self.law.p
        draws = self.rng.random((k, 2))
        states = gilbert_elliott_states(self.state, draws[:, 0], self.law)
        self.state = int(states[-1])  # the state of the first message not yet decided
        loss = np.where(states[:-1] == 1, self.law.loss_bad, self.law.loss_good)
        return draws[:, 1] < loss


class Loss:
    """Message loss on every directed link u -> v: ``law`` (IndependentLoss, GilbertElliott or
    None for none) run on the stream (seed, (LOSS_KEY, u, v)) of each link, one channel each."""

    def __init__(self, law=None, seed: int = 0):
        self.law = law
        self.seed = int(seed)
        self._channels: dict[tuple[int, int], LossChannel] = {}

    def channel(self, u: int, v: int) -> LossChannel:
        key = (int(u), int(v))
        if key not in self._channels:
            self._channels[key] = LossChannel(self.law, stream(self.seed, (LOSS_KEY,) + key))
        return self._channels[key]

    def lost(self, u: int, v: int, k: int = 1) -> np.ndarray:
        """Whether each of the next k messages u -> v is lost (bool array, reproducible)."""
        if self.law is None:
            return np.zeros(int(k), dtype=bool)
        return self.channel(u, v).lost(k)
