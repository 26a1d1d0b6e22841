"""A shard: the nodes of a problem that one process builds, and how it meets the others.

An MPI rank of a run holds the data of its own nodes only. Its constructor call is the whole
problem's with a ``Shard(n, nodes, sums)``: it draws those nodes' data from their keyed streams
(``dadao.problems.streams``: the same numbers as in the whole problem), and ``build_problem``
computes the constants, x* and f* of the whole problem from every process's part, combined
through ``sums`` (``dadao.reproducible``): the same bits as one process building every node.
The processes of ``sums`` build their shards together (collective), their nodes disjoint and
covering 0 .. n - 1.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from dadao.errors import ProblemError


@dataclass(frozen=True, eq=False)
class Shard:
    """The nodes ``nodes`` (increasing int64) of an n-node problem, and ``sums``: the
    reductions across the processes that hold the other nodes."""

    n: int
    nodes: np.ndarray
    sums: object

    def rows(self) -> np.ndarray:
        """(n,) int64: node i's row in this shard's arrays, -1 for a node held elsewhere."""
        rows = np.full(self.n, -1, dtype=np.int64)
        rows[self.nodes] = np.arange(len(self.nodes))
        return rows


def held_nodes(n: int, shard: Shard | None) -> np.ndarray:
    """The nodes a constructor builds: every node without a shard, else the shard's (checked:
    increasing, distinct, in 0 .. n - 1, of an n-node problem)."""
    if shard is None:
        return np.arange(int(n), dtype=np.int64)
    nodes = np.asarray(shard.nodes, dtype=np.int64)
    if shard.n != n or nodes.ndim != 1 or (len(nodes) and (
            nodes[0] < 0 or nodes[-1] >= n or np.any(np.diff(nodes) <= 0))):
        raise ProblemError(f"a shard of an {n}-node problem must hold increasing distinct "
                           f"nodes in 0..{n - 1}", field="problem")
    return nodes


#: the kinds whose constructors build shards (their global numbers are sums over nodes)
SHARDED_KINDS = ("quadratic", "averaging")


def summary_of(problem):
    """The problem without any node's data: its constants, x*, f*, curvature root and params
    (what a run is prepared with before each rank knows its nodes); ``nodes`` is empty."""
    from .base import keep_curvature_root
    from .oracle import oracle_of_nodes

    n = problem.n
    summary = dataclasses.replace(problem, oracle=oracle_of_nodes(problem.oracle, [], n),
                                  const=problem.const[:0], nodes=np.zeros(0, dtype=np.int64))
    keep_curvature_root(summary, problem.curvature_root)
    return summary
