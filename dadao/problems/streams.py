"""Where a problem's random data comes from: keyed counter-based streams, node by node.

Node i's draws for a field f of its data (its eigenvalues, its rows, its labels, ...) are the
words 0, 1, ... of the stream (NODE_DATA_KEY, i, f) under the problem's seed, and the draws
that every node shares (a common centre, a common direction, the shuffle of a data file) those
of (SHARED_DATA_KEY, f) (``dadao.counter_rng``: Philox4x64-10, one word per draw, a uniform
U = k 2^-53 or a normal Phi^-1((k + 1/2) 2^-53) of its top 53 bits k). Node i's data is
therefore a pure function of (seed, i): an MPI rank builds its own nodes' data and nothing
else, a build of all nodes gives the same data block after block, and no node's data depends
on n or on the other nodes.

Each constructor numbers its own fields (``dadao.problems.synthetic``). The kinds 9 and 10
follow those of the clocks (0-2, ``dadao.events``) and of the timing model (3-8,
``dadao.timing.streams``), so no problem stream is a clock's even when the problem seed equals
the run seed.

``PROBLEM_DATA_VERSION`` names this construction, and ``DATA_CHANGES`` what each version
changed: version 1 drew a whole problem from one numpy Generator, node after node (so node i's
data depended on every node before it), and version 2 (the keyed streams) changed every kind;
version 3 changed the libsvm kind only (its default logistic reg, 0.1 lambda_max(X^T X)/(4 M),
is taken from reproducible sums over the samples instead of numpy's spectral norm of X, so an
MPI rank that reads its own nodes' samples gets it: other bits, so another resolved
``problem.reg``). A run or checkpoint recorded with another version is not the result of its
config any more when a version since then changed its kind (``data_changed``; ``dadao.runs``,
``dadao.checkpoint``); one of another kind is.
"""

from __future__ import annotations

import numpy as np

from dadao.counter_rng import (CounterStream, family_words, normals_of, permutation_of,
                               uniforms_of)

PROBLEM_DATA_VERSION = 3
#: each version's change from the one before: the problem kinds whose data (or whose values
#: resolved from the data, as a default reg) it changed; EVERY_KIND: all of them
EVERY_KIND = "*"
DATA_CHANGES = {2: EVERY_KIND, 3: ("libsvm",)}
NODE_DATA_KEY = 9     # (9, i, f): node i's draws for its field f
SHARED_DATA_KEY = 10  # (10, f): the draws of field f that all nodes share


def node_words(seed: int, field: int, nodes, count: int) -> np.ndarray:
    """(len(nodes), count) uint64: words 0 .. count - 1 of each node's stream of ``field``."""
    return family_words(seed, (NODE_DATA_KEY, 0, field), nodes, count)


def node_uniforms(seed: int, field: int, nodes, count: int) -> np.ndarray:
    """(len(nodes), count) uniforms on [0, 1) from each node's stream of ``field``."""
    return uniforms_of(node_words(seed, field, nodes, count))


def node_normals(seed: int, field: int, nodes, count: int) -> np.ndarray:
    """(len(nodes), count) standard normals from each node's stream of ``field``."""
    return normals_of(node_words(seed, field, nodes, count))


def node_subsets(seed: int, field: int, nodes, size: int, k: int) -> np.ndarray:
    """(len(nodes), k) int64: for each node a uniformly random k-subset of 0 .. size - 1 (the
    first k entries of the permutation of ``size`` words of its stream of ``field``), in the
    order drawn."""
    return permutation_of(node_words(seed, field, nodes, size))[:, :k]


def shared_stream(seed: int, field: int) -> CounterStream:
    """The stream of ``field`` that every node shares (numpy-like draws, in order)."""
    return CounterStream(seed, (SHARED_DATA_KEY, field))


def all_nodes(n: int) -> np.ndarray:
    """0 .. n - 1 as the int64 array of nodes a whole problem is built for."""
    return np.arange(int(n), dtype=np.int64)


def data_changed(version, kind) -> bool:
    """Whether a problem of ``kind`` (a [problem] kind; None: unknown) recorded with problem
    data version ``version`` (an int or its string, as meta.json and checkpoints keep it) has
    other data, or other values resolved from its data, under ``PROBLEM_DATA_VERSION``: a
    version after it changed that kind (``DATA_CHANGES``). A version this dadao does not know
    (a newer one, or not a version) counts as changed."""
    text = str(version)
    if not text.isdigit():
        return True
    old = int(text)
    if old == PROBLEM_DATA_VERSION:
        return False
    if not 1 <= old < PROBLEM_DATA_VERSION:
        return True
    for later in range(old + 1, PROBLEM_DATA_VERSION + 1):
        kinds = DATA_CHANGES[later]
        if kinds == EVERY_KIND or kind is None or kind in kinds:
            return True
    return False
