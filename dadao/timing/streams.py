"""The keyed random streams of the timing model: the key constants and ``stream``.

Each source of random times draws from its own keyed counter-based stream
(``dadao.counter_rng``: Philox4x64-10 under the run seed, addressed by the key and a counter),
the construction of every Poisson clock of ``dadao.events``. The first element of a key names
the source: 0, 1 and 2 are ``dadao.events``' clocks, and the keys here follow (3 to 8), so no
two streams coincide; the table of keys is in ``dadao.timing``'s docstring. What is drawn:
durations in seconds, speed factors (no unit), uniforms deciding losses, a permutation choosing
the stragglers. Every value takes one counter word (exponentials and normals by inversion), so
the j-th draw of a stream is a pure function of (seed, key, j)."""

from __future__ import annotations

from dadao.counter_rng import CounterStream
from dadao.events import clock_stream


# Keys of the random streams (first element of a stream's identity). 0, 1 and 2 are
# dadao.events' clocks (gradient, gossip, gossip of a time-varying graph); these follow, so no
# two streams coincide.
COMPUTE_KEY = 3           # (3, u, v): node u's computations for its messages to v (a node's
                          # gradients are drawn on its gradient clock's stream (0, i))
SPEED_KEY = 4             # (4,): speed factors drawn from a law, with the factors' own seed
STRAGGLER_KEY = 5         # (5, i, 0): starts of node i's slow spells; (5, i, 1): their lengths
LATENCY_KEY = 6           # (6, u, v): latency of the messages u -> v
LOSS_KEY = 7              # (7, u, v): loss of the messages u -> v
STRAGGLER_CHOICE_KEY = 8  # (8,): which nodes straggle, with the stragglers' own seed


def stream(seed: int, key: tuple[int, ...]) -> CounterStream:
    """The random stream of one source of random times, identified by ``key``: the same
    construction as every Poisson clock (``dadao.events.clock_stream``), so the stream
    (0, i) draws node i's gradient clock's exponentials."""
    return clock_stream(int(seed), tuple(int(k) for k in key))
