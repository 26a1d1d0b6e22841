"""The exchange times of a synchronous method's gossip rounds, in seconds: ``RoundLinks``.

In a gossip round every edge (u, v) exchanges one message each way, of ``nbytes`` bytes; the
exchange takes the slower direction, max(u -> v, v -> u). A round cannot go on without every
message, so a lost message is sent again until it arrives: a message of a directed link takes
a_m attempts (1 + the losses before it, from the link's loss channel) and a_m transfer times,
each attempt drawing its own latency. Loss thus costs time and never changes the iterates.

Draws are per directed link, in order, on the streams of ``dadao.timing.links`` and
``dadao.timing.loss`` (the m-th attempt on u -> v is its m-th latency draw and loss decision),
in blocks of ``BLOCK`` messages; with a constant latency, no per-link overrides and no loss, a
round costs one number and nothing is drawn.
"""

from __future__ import annotations

import numpy as np

from dadao.errors import ConfigError
from dadao.timing.laws import Constant

#: a synchronous run whose messages need more attempts than this on average is refused
MAX_ATTEMPTS = 1000


class RoundLinks:
    """Exchange times (E,) of each gossip round: ``next_round(nbytes)``."""

    BLOCK = 256

    def __init__(self, links, loss, edges):
        self.links, self.loss = links, loss
        self.edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self.uniform = (isinstance(links.latency, Constant) and not links.overrides
                        and loss.law is None)
        directed = [(u, v) for u, v in self.edges.tolist()] + [(v, u) for u, v in
                                                               self.edges.tolist()]
        self.directed = directed
        self.bandwidths = np.array([links.bandwidth(u, v) for u, v in directed])
        self._latency = np.empty((len(directed), 0))  # per directed link: attempt latencies
        self._attempts = np.empty((len(directed), 0), dtype=np.int64)

    def next_round(self, nbytes: float) -> np.ndarray:
        """(E,) seconds of each edge's exchange in the next round of ``nbytes`` messages."""
        E = len(self.edges)
        if self.uniform:
            return np.full(E, self.links.latency.value + nbytes / self.links.default_bandwidth)
        if self._attempts.shape[1] == 0:
            self._draw_block()
        latency, attempts = self._latency[:, 0], self._attempts[:, 0]
        self._latency, self._attempts = self._latency[:, 1:], self._attempts[:, 1:]
        per_direction = latency + attempts * (nbytes / self.bandwidths)
        return np.maximum(per_direction[:E], per_direction[E:])

    def _draw_block(self) -> None:
        """The next BLOCK messages of every directed link: the sum of their attempts'
        latencies and their number of attempts."""
        B = self.BLOCK
        latency = np.empty((len(self.directed), B))
        attempts = np.empty((len(self.directed), B), dtype=np.int64)
        for r, (u, v) in enumerate(self.directed):
            if self.loss.law is None:
                counts = np.ones(B, dtype=np.int64)
            else:
                counts = _attempts(self.loss.channel(u, v), B)
            draws = self.links.transfer_times(u, v, 0.0, int(counts.sum()))
            ends = np.cumsum(counts)
            latency[r] = np.add.reduceat(draws, ends - counts)
            attempts[r] = counts
        self._latency, self._attempts = latency, attempts


def _attempts(channel, count: int) -> np.ndarray:
    """Attempts of each of the next ``count`` messages on a loss channel: 1 + the losses in a
    row before each success."""
    flags = np.empty(0, dtype=bool)
    while int((~flags).sum()) < count:
        if len(flags) > MAX_ATTEMPTS * count:
            raise ConfigError(f"more than {MAX_ATTEMPTS} attempts per message on average: a "
                              f"synchronous round waits for every message, and this loss "
                              f"lets almost none through", field="timing.loss")
        flags = np.concatenate([flags, channel.lost(max(count, 64))])
    successes = np.flatnonzero(~flags)[:count]
    used = int(successes[-1]) + 1
    # decisions beyond the last success needed go back to the channel, in order
    channel.pending = np.concatenate([flags[used:], channel.pending])
    return np.diff(np.concatenate([[-1], successes]))
