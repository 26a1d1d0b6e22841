"""The keyed random streams of the timing model: the key constants and ``stream``.

Each source of random times draws from its own stream, ``SeedSequence(seed, spawn_key=key)``,
the construction of every Poisson clock of ``dadao.events``. The first element of a key names
the source: 0, 1 and 2 are ``dadao.events``' clocks, and the keys here follow (3 to 8), so no
two streams coincide; the table of keys is in ``dadao.timing``'s docstring. What is drawn:
durations in seconds, speed factors (no unit), uniforms deciding losses, a permutation choosing
the stragglers."""

from __future__ import annotations

import numpy as np

from dadao.events import clock_stream


# Keys of the random streams (first element of a spawn key). 0, 1 and 2 are dadao.events' clocks
# (gradient, gossip, gossip of a time-varying graph); these follow, so no two streams coincide.
COMPUTE_KEY = 3           # (3, u, v): node u's computations for its messages to v (a node's
                          # gradients are drawn on its gradient clock's stream (0, i))
SPEED_KEY = 4             # (4,): speed factors drawn from a law, with the factors' own seed
STRAGGLER_KEY = 5         # (5, i, 0): starts of node i's slow spells; (5, i, 1): their lengths
LATENCY_KEY = 6           # (6, u, v): latency of the messages u -> v
LOSS_KEY = 7              # (7, u, v): loss of the messages u -> v
STRAGGLER_CHOICE_KEY = 8  # (8,): which nodes straggle, with the stragglers' own seed


def stream(seed: int, key: tuple[int, ...]) -> np.random.Generator:
    """The random stream of one source of random times: ``SeedSequence(seed, spawn_key=key)``,
    the same construction as every Poisson clock (``dadao.events.clock_stream``)."""
    return clock_stream(int(seed), tuple(int(k) for k in key))
