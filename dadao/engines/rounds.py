"""Synchronous methods as a run of ``dadao.engines.base``: iterations of local steps and gossip
rounds, shared by every engine (in process, the rows of all nodes; over MPI, a rank's rows).

One iteration of a ``SyncAlgorithm`` = every node computes one gradient (or conjugate gradient)
of its own f_i, plus the gossip rounds the method asks for. Time is counted in iterations, so
t = 100 means 100 gradients per node, the unit of asynchronous methods.

Gossip round q (counted over the whole run) multiplies by the matrix of graph q mod K of a
time-varying list of K graphs, and costs |E_q| edge activations ("communications": one per edge
per round, carrying every vector the method stacks in that round). Gradients: n per oracle call.
These counts are taken from what the method actually did (docs/model.md, Counting).

Where the rows live is a *layout*: ``SingleProcess`` here (all rows), ``dadao.engines.mpi
.MpiLayout`` on a rank (its own rows, gossip by neighbourhood exchange); the run is the same code.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from dadao.algorithms.synchronous import LocalOracle
from dadao.engines.base import Counts


class Mixer:
    """``mix(X) = W_q X``, one gossip round on graph q mod K; counts rounds and edge activations."""

    def __init__(self, matrices, edge_counts):
        self.matrices, self.edge_counts = matrices, edge_counts
        self.rounds = 0
        self.communications = 0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        q = self.rounds % len(self.matrices)
        n = X.shape[0]
        out = (self.matrices[q] @ X.reshape(n, -1)).reshape(X.shape)
        self.rounds += 1
        self.communications += self.edge_counts[q]
        return out


class SingleProcess:
    """Where the rows of a synchronous run live: all in this process."""

    is_root = True
    catches_interrupt = True
    sums = None  # every row is here: the metrics' sums need no combining

    def local_problem(self, problem):
        """The problem as the rows here see it (row i = node i)."""
        return problem

    def local_x0(self, x0):
        return x0

    def shared(self, value):
        """The root's copy of a value computed everywhere (constants, matrices)."""
        return value

    def mixer(self, matrices, edge_counts):
        return Mixer(matrices, edge_counts)

    def gather(self, X):
        """The rows of every node, (n, d), on the root (None elsewhere)."""
        return X

    def agree(self, flag: bool) -> bool:
        return flag

    def record(self, wall_time_s: float) -> dict:
        return {"compile_time_s": None, "engine_detail": None}


def sample_iterations(t_max: float, log_every: float) -> list[float]:
    """Iterations at which to sample: the grid log_every, 2 log_every, ..., t_max, each rounded
    down to a whole iteration (the state between iterations is the last one), without repeats."""
    last = int(math.floor(t_max + 1e-9))
    grid = np.arange(1, int(math.floor(t_max / log_every + 1e-9)) + 1) * log_every
    its = {min(last, int(math.floor(t + 1e-9))) for t in grid} | {last}
    return [float(i) for i in sorted(i for i in its if i > 0)]


#: iterations between two points, other than samples, at which a synchronous run hands control
#: back to the sampling loop (to stop on a signal, or checkpoint): often enough that a stop is
#: immediate, rarely enough that the loop's look costs nothing next to an iteration
YIELD_EVERY = 64


class SyncRun:
    """A synchronous method's run on a layout (the run interface of ``dadao.engines.base``)."""

    def __init__(self, setup, layout):
        self.algo, self.problem = setup.algorithm, setup.problem
        self.layout = layout
        self.is_root = layout.is_root
        self.catches_interrupt = layout.catches_interrupt
        self.k = layout.shared(setup.constants)
        self.view = layout.local_problem(setup.problem)
        self.state = self.algo.init_state(self.view.n, setup.problem.dim,
                                          layout.local_x0(setup.args.x0), self.k)
        self.mixer = layout.mixer(layout.shared(setup.network.matrices(self.algo.gossip)),
                                  setup.network.edge_counts)
        self.local = LocalOracle(self.view)
        # counts of the last *completed* iteration: an interrupt inside ``step`` leaves the state
        # and these counts at the previous iteration, consistently
        self.done = Counts(gradients=0, communications=0, iterations=0, gossip_rounds=0)
        self.time = 0.0

    def sample_times(self, t_max, log_every):
        return sample_iterations(t_max, log_every)

    def advance(self, t_end, breakpoints):
        n = self.problem.n
        it = int(self.time)
        for target in breakpoints:
            if target <= it:
                continue  # sampled before a checkpoint the run resumed from
            while it < target:
                self.state = self.algo.step(self.state, self.k, self.local, self.mixer)
                self.iteration_done()
                it += 1
                self.done = Counts(gradients=n * self.local.calls,
                                   communications=self.mixer.communications, iterations=it,
                                   gossip_rounds=self.mixer.rounds)
                self.time = float(it)
                if it < target and it % YIELD_EVERY == 0:
                    yield float(it)  # not a sample: where a stop or a checkpoint may happen
            yield float(it)

    def iteration_done(self) -> None:
        """Called after each iteration's step (the timing engine times it here)."""

    def snapshot(self) -> tuple[dict, dict] | None:
        """(header, arrays) of the run after its last completed iteration: the method's state,
        the counters of iterations, gradients and gossip rounds (across processes: this
        process's rows)."""
        arrays = {f"state.{name}": np.asarray(value)
                  for name, value in zip(self.state._fields, self.state)}
        return ({"time": self.time, "done": dataclasses.asdict(self.done),
                 "rounds": self.mixer.rounds, "communications": self.mixer.communications,
                 "calls": self.local.calls}, arrays)

    def restore(self, header: dict, arrays: dict) -> None:
        """Put the run back where ``snapshot`` found it (same setup)."""
        values = []
        for name, value in zip(self.state._fields, self.state):
            kept = arrays[f"state.{name}"]
            if isinstance(value, np.ndarray):
                if kept.shape != value.shape:
                    raise ValueError(f"checkpoint state.{name} of shape {kept.shape}, the run's "
                                     f"is {value.shape}")
                values.append(kept.astype(value.dtype, copy=True))
            else:
                values.append(type(value)(kept.item()))
        self.state = type(self.state)(*values)
        self.done = Counts(**header["done"])
        self.mixer.rounds, self.mixer.communications = header["rounds"], header["communications"]
        self.local.calls = header["calls"]
        self.time = float(header["time"])

    def local_rows(self, t):
        """This process's primal rows at the last completed iteration."""
        return self.algo.primal(self.state, self.k, self.view)

    @property
    def sums(self):
        return self.layout.sums

    @property
    def nodes(self):
        """The nodes of ``local_rows`` (None: every node, in one process)."""
        return getattr(self.layout, "nodes", None)

    def primal_X(self, t):
        """The primal rows of every node (on the root) at the last completed iteration."""
        return self.layout.gather(self.local_rows(t))

    def counts(self) -> Counts:
        return self.done

    def agree(self, flag: bool) -> bool:
        return self.layout.agree(flag)

    def record(self, wall_time_s: float) -> dict:
        return self.layout.record(wall_time_s)
