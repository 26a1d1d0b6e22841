"""Compute times: ``ComputeModel``, how long each gradient of each node takes, in seconds.

Gradient m of node i needs w_{i,m} = f_i X_{i,m} / g_i seconds at normal speed: X_{i,m} drawn in
order from a law on node i's gradient clock's stream (seed, (0, i)), f_i the node's speed factor
(``dadao.timing.speeds``), g_i its gradient rate; stragglers (``dadao.timing.stragglers``) then
turn the work into a finish time. Back to back from t_0, t_m = t_{m-1} + w_m off a straggler (summed sequentially, as
a Poisson clock accumulates its gaps). ``sync_compute`` gives the durations of the iterations of
a synchronous method (``dadao.timing.rounds``)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from dadao.timing.laws import Draws, Law
from dadao.timing.speeds import checked_factors
from dadao.events import GRADIENT_KEY
from dadao.timing.streams import COMPUTE_KEY, stream
from dadao.timing.stragglers import Stragglers


class ComputeModel:
    """How long each gradient of each node takes, in seconds.

    Gradient m of node i needs w_{i,m} = f_i X_{i,m} seconds at normal speed: X_{i,m} from
    ``law``, drawn in order from the stream (seed, key_prefix + (i,)), f_i the node's speed
    factor (default 1); stragglers then slow the node down (``Stragglers.finish_time``).

    ``rates`` g_i (default 1) divide node i's works: w_{i,m} = f_i X_{i,m} / g_i.

    ``key_prefix`` defaults to (GRADIENT_KEY,) of ``dadao.events``: the m-th computation of
    node i is the m-th tick of its gradient clock, re-timed by the law. With an Exponential(1.0)
    law, unit factors and no stragglers, a node computing back to back from 0 finishes at
    exactly the arrivals of its gradient clock of rate g_i (E * 1.0 / g_i == E / g_i, summed in
    the same order): what the engine's exactness needs. Messages that need a gradient draw on
    streams of their own, (seed, (COMPUTE_KEY, u, v)) (``message_work``).
    """

    def __init__(self, law: Law, n: int, seed: int, factors=None,
                 stragglers: Stragglers | None = None, key_prefix=(GRADIENT_KEY,), rates=None):
        self.law = law
        self.n = int(n)
        self.seed = int(seed)
        self.factors = np.ones(self.n) if factors is None else np.asarray(factors, np.float64)
        if self.factors.shape != (self.n,):
            raise ValueError(f"expected {self.n} speed factors, got shape {self.factors.shape}")
        checked_factors(self.factors, "timing.speed")
        # a node's gradient rate g_i divides its works (E / g_i exactly: the idealised clock's
        # gap, where multiplying by 1 / g_i could differ in the last bit)
        self.rates = np.ones(self.n) if rates is None else np.asarray(rates, np.float64)
        if self.rates.shape != (self.n,) or not np.all(np.isfinite(self.rates)):
            raise ValueError(f"expected {self.n} finite gradient rates")
        self.stragglers = stragglers if stragglers is not None else Stragglers()
        self.key_prefix = tuple(int(k) for k in key_prefix)
        self._draws: dict[int, Draws] = {}
        self._message_draws: dict[tuple[int, int], Draws] = {}

    def work(self, node: int, size: int = 1) -> np.ndarray:
        """The next ``size`` works of ``node`` (seconds at normal speed): f_i X_{i,m}, in order."""
        node = int(node)
        if node not in self._draws:
            self._draws[node] = Draws(self.law, stream(self.seed, self.key_prefix + (node,)))
        draws = self._draws[node].take(int(size))
        if self.factors[node] != 1.0:
            draws = draws * self.factors[node]
        return draws if self.rates[node] == 1.0 else draws / self.rates[node]

    def message_work(self, u: int, v: int, size: int = 1) -> np.ndarray:
        """The next ``size`` works (seconds at normal speed) of the computations node u makes
        for its messages to v (methods whose messages need a gradient: the Continuized
        method's grad f_u^*(y_u)): f_u X, X drawn from the compute law on the stream
        (seed, (COMPUTE_KEY, u, v)), one per link so that each edge's exchanges are timed by
        draws of their own."""
        key = (int(u), int(v))
        if key not in self._message_draws:
            self._message_draws[key] = Draws(self.law, stream(self.seed, (COMPUTE_KEY,) + key))
        draws = self._message_draws[key].take(int(size))
        return draws if self.factors[key[0]] == 1.0 else draws * self.factors[key[0]]

    @property
    def timed_by_start(self) -> bool:
        """Whether a computation's duration depends on when it starts (transient
        stragglers)."""
        return self.stragglers.mode == "transient" and len(self.stragglers.nodes) > 0

    def message_duration(self, node: int, start: float, work):
        """Seconds a message computation of ``work`` started at ``start`` takes on ``node``
        (stragglers included): work, k work on a persistent straggler, W^{-1}(W(start) +
        work) - start on a transient one."""
        if not self.stragglers.is_straggler(node):
            return work
        if self.stragglers.mode == "persistent":
            return work * self.stragglers.slowdown
        return self.finish_time(node, start, work) - start

    def finish_time(self, node: int, start, work):
        """When a computation of ``work`` seconds at normal speed started at ``start`` ends."""
        return self.stragglers.finish_time(node, start, work)

    def next_finish(self, node: int, start: float) -> float:
        """Draw the node's next gradient; the time it ends if it starts at ``start``."""
        return float(self.finish_time(node, start, self.work(node, 1)[0]))

    def back_to_back(self, node: int, start: float, count: int) -> np.ndarray:
        """End times of the node's next ``count`` gradients computed one after the other from
        ``start``: t_m = t_{m-1} + w_m off a straggler (summed sequentially, as a Poisson clock
        accumulates its gaps), W^{-1}(W(start) + w_1 + ... + w_m) on one."""
        work = self.work(node, count)
        if not self.stragglers.is_straggler(node):
            return np.cumsum(np.concatenate([[float(start)], work]))[1:]
        done = np.cumsum(np.concatenate([[0.0], work]))[1:]
        return self.finish_time(node, np.full(count, float(start)), done)

    def sync_compute(self, T: int) -> Callable[[int, np.ndarray], np.ndarray]:
        """For ``sync_round_times``: compute(tau, starts) -> each node's duration (seconds) of
        iteration tau's gradient started at starts[i]. The T works of every node are drawn here,
        node by node; iteration by iteration only transient stragglers need their own step."""
        works = self.works(T)
        return lambda tau, starts: self.durations(works[tau], starts)

    def works(self, T: int) -> np.ndarray:
        """(T, n): the next T works of every node (seconds at normal speed), drawn node by
        node."""
        if not self.n:
            return np.empty((T, 0))
        return np.column_stack([self.work(i, T) for i in range(self.n)])

    def durations(self, work: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(n,) seconds each node's computation of ``work`` (n,) started at ``starts`` takes,
        stragglers included (a step of their own only for the transient ones)."""
        s = self.stragglers
        nodes = s.nodes[s.nodes < self.n]
        out = np.array(work, dtype=np.float64)
        if s.mode == "persistent":
            out[nodes] *= s.slowdown
            return out
        for i in nodes.tolist():  # only the transient stragglers: a fraction of the nodes
            out[i] = s.finish_time(i, starts[i], work[i]) - starts[i]
        return out
