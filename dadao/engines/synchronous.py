"""The synchronous engine: rounds of local computation and neighbourhood averaging.

One iteration of a ``SyncAlgorithm`` = every node computes one gradient (or conjugate gradient)
of its own f_i, plus the gossip rounds the method asks for. Time is counted in iterations, so
t = 100 means 100 gradients per node, the same unit as the asynchronous engines.

Gossip round q (counted over the whole run) multiplies by the matrix of graph q mod K of a
time-varying list of K graphs, and costs |E_q| edge activations ("communications": one per edge
per round, carrying every vector the method stacks in that round). Gradients: n per oracle call.
These counts are taken from what the method actually did, and the tests hold them against
algorithms.md's accounting (ADOM+: n and |E| per iteration; multi-consensus T|E|; MSDA K|E|).
"""

from __future__ import annotations

import math
import time as wallclock

import numpy as np

from dadao.algorithms import get_algorithm
from dadao.algorithms.synchronous import LocalOracle, UnsupportedProblemError
from dadao.algorithms.theory import Setting
from dadao.engines.arguments import RunArgumentError, check_run_arguments
from dadao.engines.inprocess import DIVERGENCE_FACTOR
from dadao.gossip import Network
from dadao.trace import TraceRecorder, metrics
from dadao.versions import versions


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
    """Where the rows of a synchronous run live: all in this process. An MPI rank's layout
    (``dadao.engines.mpi.MpiLayout``) holds its own nodes' rows, mixes by neighbourhood exchange
    and gathers the rows to the root for the metrics; the run itself is the same code."""

    is_root = True
    catches_interrupt = True

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

    def meta(self) -> dict:
        return {}


def setting(problem, network) -> Setting:
    """The theory's Setting of a synchronous run (no rate Laplacian: chi_1 = chi_2 = nan).

    ``edges`` is |E| of a static graph, the mean |E_q| of a time-varying list.
    """
    return Setting(n=problem.n, edges=float(np.mean(network.edge_counts)), mu=problem.mu,
                   L=problem.L, chi=network.chi, chi_1=math.nan, chi_2=math.nan,
                   total_rate=math.nan)


def sample_iterations(t_max: float, log_every: float) -> list[int]:
    """Iterations at which to sample: the grid log_every, 2 log_every, ..., t_max, each rounded
    down to a whole iteration (the state between iterations is the last one), without repeats."""
    last = int(math.floor(t_max + 1e-9))
    grid = np.arange(1, int(math.floor(t_max / log_every + 1e-9)) + 1) * log_every
    its = {min(last, int(math.floor(t + 1e-9))) for t in grid} | {last}
    return sorted(i for i in its if i > 0)


def simulate(problem, graph, *, algorithm, t_max, seed=0, log_every=None, progress=None,
             options=None, x0=None, layout=None):
    """Run a synchronous method and return its ``Trace`` (columns and meta as ``inprocess``).

    Parameters
    ----------
    problem : dadao.problems.Problem
    graph : networkx.Graph or list of them
        A list is a time-varying sequence: gossip round q uses graph q mod K (methods whose
        ``supports_time_varying`` is False refuse it).
    algorithm : str or SyncAlgorithm
    t_max : float
        Horizon in iterations (= gradients per node); floor(t_max) iterations are run.
    seed : int >= 0
        Recorded; the synchronous methods here are deterministic (zero initial duals).
    log_every : float
        Sampling period (default t_max / 200), rounded down to whole iterations.
    progress : callable(t, events, dist_to_opt), optional
        Called at every sample; ``events`` counts iterations.
    options : dict, optional
        Overrides of the algorithm's tunable constants (``[algorithm] eta = ...``).
    x0 : array (d,) or (n, d), optional
        Initial primal iterate (default 0).
    layout : SingleProcess (default) or dadao.engines.mpi.MpiLayout
        Where the rows live; with an MPI layout every rank calls this function and the Trace is
        returned on the root (None elsewhere).

    Raises ``RunArgumentError``, ``NetworkError``, ``UnsupportedProblemError`` or ``OptionError``
    (ValueErrors with one line naming the argument) for unusable arguments.
    """
    algo, network, args, k = prepare(problem, graph, algorithm=algorithm, t_max=t_max,
                                     seed=seed, log_every=log_every, options=options, x0=x0)
    return run(problem, algo, network, args, k, progress=progress, layout=layout)


def prepare(problem, graph, *, algorithm, t_max, seed=0, log_every=None, options=None, x0=None):
    """(algorithm, Network, checked RunArguments, constants k): every check of a synchronous run,
    before anything runs (arguments as for ``simulate``)."""
    algo = get_algorithm(algorithm) if isinstance(algorithm, str) else algorithm
    if not hasattr(algo, "step"):
        raise UnsupportedProblemError(
            f"algorithm: {algo.name} is asynchronous; run it with dadao.engines.inprocess")
    # refusals that need no graph constants first: Network computes a spectrum per graph
    algo.check_problem(problem)
    if x0 is not None and not algo.accepts_x0:
        raise RunArgumentError(f"x0: {algo.name} is a dual method and starts from the dual point "
                               "0 (x_i = argmin f_i); x0 cannot be set")
    network = Network(graph)
    if network.n != problem.n:
        raise UnsupportedProblemError(
            f"graph: has {network.n} nodes but the problem has n = {problem.n}")
    algo.check_network(network)
    args = check_run_arguments(problem, network.graphs[0].edges,
                               np.zeros(len(network.graphs[0].edges)), x0=x0, t_max=t_max,
                               log_every=log_every, seed=seed)
    return algo, network, args, algo.constants(problem, network, options)


def run(problem, algo, network, args, k, *, progress=None, layout=None):
    """Run the checked synchronous run of ``prepare`` (see ``simulate``)."""
    layout = SingleProcess() if layout is None else layout
    k = layout.shared(k)
    view = layout.local_problem(problem)
    state = algo.init_state(view.n, problem.dim, layout.local_x0(args.x0), k)
    mixer = layout.mixer(layout.shared(network.matrices(algo.gossip)), network.edge_counts)
    local = LocalOracle(view)
    n = problem.n

    recorder = TraceRecorder()
    # counts of the last *completed* iteration: an interrupt inside ``step`` leaves the state
    # and these counts at the previous iteration, consistently
    done = {"iterations": 0, "oracle_calls": 0, "communications": 0, "rounds": 0}
    start_scale = None

    def sample():
        nonlocal start_scale
        X = layout.gather(algo.primal(state, k, view))
        ok = True
        if layout.is_root:
            dist, subopt, cons = metrics(X, problem)
            recorder.add(float(done["iterations"]), float(n * done["oracle_calls"]),
                         float(done["communications"]), dist, subopt, cons)
            if start_scale is None:
                start_scale = dist if dist > 0 else float(problem.x_star @ problem.x_star) + 1.0
            if progress is not None:
                progress(float(done["iterations"]), done["iterations"], dist)
            ok = math.isfinite(dist) and dist <= DIVERGENCE_FACTOR * start_scale
        return layout.agree(ok)

    status, error = "completed", None
    wall0 = wallclock.perf_counter()
    sample()
    try:
        it = 0
        for target in sample_iterations(args.t_max, args.log_every):
            while it < target:
                new_state = algo.step(state, k, local, mixer)
                state, it = new_state, it + 1
                done.update(iterations=it, oracle_calls=local.calls,
                            communications=mixer.communications, rounds=mixer.rounds)
            if not sample():
                status = "diverged"
                if layout.is_root:
                    error = (f"dist_to_opt reached {recorder.last('dist_to_opt'):.3g} at "
                             f"t = {it}, more than {DIVERGENCE_FACTOR:.0e} x its start "
                             f"{recorder.first('dist_to_opt'):.3g}")
                break
    except KeyboardInterrupt:
        if not layout.catches_interrupt:
            raise
        status = "interrupted"
        if done["iterations"] > recorder.last("time"):
            progress = None  # record where the run stopped; a second Ctrl-C must not be asked for
            sample()
    wall = wallclock.perf_counter() - wall0

    X = layout.gather(algo.primal(state, k, view))
    layout_meta = layout.meta()  # collective: every rank's share, on the root
    if not layout.is_root:
        return None
    iterations = done["iterations"]
    s = setting(problem, network)
    theory = algo.theory
    meta = {
        "status": status,
        "error": error,
        "engine": "synchronous",
        "algorithm": algo.name,
        "seed": args.seed,
        "t_max": float(args.t_max),
        "t_end": recorder.last("time"),
        "log_every": args.log_every,
        "events": iterations,
        "events_counted": "iterations (one gradient per node each)",
        "gossip_rounds": done["rounds"],
        "gradients": n * done["oracle_calls"],
        "communications": done["communications"],
        "wall_time_s": wall,
        "events_per_s": iterations / wall if wall > 0 else float("nan"),
        "n": n,
        "dim": problem.dim,
        "edges": int(round(s.edges)),
        "graphs": network.K,
        "edges_per_graph": network.edge_counts,
        "chi": float(network.chi),
        "gossip": algo.gossip,
        "constants": {name: float(v) for name, v in k._asdict().items()},
        "theory": {
            "rate": theory.rate(s) if theory.rate is not None else None,
            "gradients_per_time": theory.gradients_per_time(s),
            "communications_per_time": theory.communications_per_time(s),
        },
        "versions": versions(),
        **layout_meta,
    }
    return recorder.trace(meta, final_x=X)
