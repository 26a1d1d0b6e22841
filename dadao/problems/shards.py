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
    reductions across the processes that hold the other nodes. ``numbers``: the whole
    problem's numbers when they are known already (a ``summary_of`` the same problem): the
    shard then draws its nodes' data and solves nothing."""

    n: int
    nodes: np.ndarray
    sums: object
    numbers: object = None

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


def shard_arguments(shard: Shard | None) -> dict:
    """The keyword arguments of ``build_problem`` for the nodes of ``shard`` (none without)."""
    if shard is None:
        return {}
    return {"nodes": shard.nodes, "n": shard.n, "sums": shard.sums, "numbers": shard.numbers}


def every_node(values: np.ndarray, shard: Shard | None) -> np.ndarray:
    """(n,): the per-node ``values`` of the nodes held (one each, in node order) and those of
    every other process's nodes: each entry from the one process holding it, so the sum across
    processes adds zeros to it and is exact."""
    if shard is None:
        return values
    spread = np.zeros(shard.n)
    spread[shard.nodes] = values
    return shard.sums.sum(spread)


def everywhere(flag: bool, shard: Shard | None) -> bool:
    """Whether ``flag`` holds on every process of the shard's problem."""
    if shard is None:
        return bool(flag)
    return not shard.sums.max(np.array([0.0 if flag else 1.0]))[0]


def fewest(counts: np.ndarray, shard: Shard | None) -> int:
    """The minimum of per-node ``counts`` over every node of the shard's problem."""
    low = int(counts.min()) if len(counts) else np.iinfo(np.int64).max
    if shard is None:
        return low
    return int(-shard.sums.max(np.array([-float(low)]))[0])


#: the kinds whose constructors build shards (their global numbers are sums over nodes;
#: logistic: d <= CURVATURE_MAX_DIM, see ``shard_refusal``; libsvm: every process reads the
#: whole file to check it and keeps the rows of its nodes' samples, ``dadao.problems.libsvm``)
SHARDED_KINDS = ("quadratic", "averaging", "least_squares", "logistic", "libsvm")


def shard_refusal(pcfg: dict) -> str | None:
    """Why the problem of a [problem] section cannot be built in shards, or None. A libsvm
    problem's dimension is the file's, unknown before it is read: its constructor refuses a
    shard of a logistic loss above CURVATURE_MAX_DIM features (field ``mpi.data``)."""
    from .base import CURVATURE_MAX_DIM

    kind = pcfg.get("kind")
    if kind not in SHARDED_KINDS:
        return f"a {kind} problem is built whole (per rank: {', '.join(SHARDED_KINDS)})"
    d = pcfg.get("dim", 1)  # libsvm has none: checked once the file has given it
    if kind == "logistic" and isinstance(d, int) and d > CURVATURE_MAX_DIM:
        return (f"a logistic problem above dim = {CURVATURE_MAX_DIM:,} is built whole (Newton's "
                "method for its x* needs the d x d Hessian)")
    return None


def summary_of(problem):
    """The problem without any node's data: its constants, x*, f*, curvature root and params
    (what a run is prepared with before each rank knows its nodes); ``nodes`` is empty."""
    from .oracle import oracle_of_nodes

    n = problem.n
    return dataclasses.replace(problem, oracle=oracle_of_nodes(problem.oracle, [], n),
                               const=problem.const[:0], nodes=np.zeros(0, dtype=np.int64),
                               shared_root=(problem.curvature_root,))
