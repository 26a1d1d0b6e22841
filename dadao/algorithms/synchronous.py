"""What a synchronous decentralized method is, for every engine.

A synchronous method proceeds in iterations. In each, every node computes one gradient (or one
conjugate gradient) of its own f_i, and the network performs some gossip rounds: one round is the
product W X of a gossip matrix W (Laplacian form, ``dadao.gossip``) with the stacked node vectors
X (n, ...). A method is a small set of pure functions over its state, a namedtuple of arrays of
shape (n, d) (one row per node), in the optax style:

    constants(problem, network, overrides=None) -> k          (namedtuple of floats and ints)
    init_state(n, d, x0, k) -> state                           (x0: (n, d) array or None)
    step(state, k, local, mix) -> new state                    (one iteration)
    primal(state, k, problem) -> X (n, d)                      (the nodes' estimates of x*)

Rule 1 of docs/design.md (a method only touches its own node) holds row-wise: every operation of
``step`` acts on each row separately, except through ``mix`` (X -> W_q X, one gossip round; the
engine performs it: a sparse product in process, a neighbourhood exchange over MPI) and through
``local`` (``LocalOracle``: row i -> grad f_i(row i)). Rows are processed together with numpy.

Time unit: one iteration = one gradient per node = 1 time unit, the unit of asynchronous methods
(expected gradient steps per node).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numba
import numpy as np

from dadao.errors import UnsupportedProblemError
from dadao.problems.oracle import local_conjugate_gradient, local_gradient


@dataclass(frozen=True)
class SyncAlgorithm:
    """A synchronous method, as engines see it (see the module docstring for the functions).

    ``gossip`` is the kind of matrix ``mix`` multiplies by ("laplacian": W = L_G/lambda_max, or
    "metropolis": I - M for Metropolis weights); ``oracle`` is "gradient" or "conjugate" (dual
    methods, which need ``problem.has_conjugate``). ``tunables`` are the constants a config may
    override (``[algorithm] eta = ...``), validated by ``dadao.algorithms.base.apply_overrides``.
    """

    name: str
    state_names: tuple[str, ...]
    constants: Callable[..., Any]
    init_state: Callable[..., Any]
    step: Callable[..., Any]
    primal: Callable[..., np.ndarray]
    theory: Any
    tunables: tuple[str, ...] = ()
    gossip: str = "laplacian"
    oracle: str = "gradient"
    supports_time_varying: bool = False
    #: False for dual methods, which start from the dual point 0 (x_i = argmin f_i): x0 refused
    accepts_x0: bool = True
    reference: str = ""

    @property
    def state_size(self) -> int:
        return len(self.state_names)

    @property
    def needs_conjugate(self) -> bool:
        """Dual methods evaluate grad f_i^* (a config's problem then keeps its H_i^{-1})."""
        return self.oracle == "conjugate"

    def check_problem(self, problem) -> None:
        """Refuse a problem the method cannot use (dual methods need grad f_i^*)."""
        if self.oracle == "conjugate" and not problem.has_conjugate:
            from dadao.problems import ProblemError

            kind = problem.params.get("kind", problem.name)
            raise ProblemError(
                f"{self.name} needs the conjugate gradient grad f_i^*, which "
                f"{kind} problems do not have (use least_squares or quadratic)",
                               field="problem.kind")

    def check_network(self, network) -> None:
        """Refuse a time-varying list for a method whose theory needs one fixed graph."""
        if network.K > 1 and not self.supports_time_varying:
            raise UnsupportedProblemError(
                f"{self.name} needs one fixed graph, got a time-varying list of "
                f"{network.K} graphs", field="graph")


# --------------------------------------------------------------------------------------------
# Node-local oracles over all rows (compiled loops; each row uses only its node's data)


@numba.njit(cache=True)
def gradients(oracle, X, out):
    """out[i] = grad f_i(X[i]) for every row i."""
    for i in range(X.shape[0]):
        local_gradient(oracle, i, X[i], out[i])


@numba.njit(cache=True)
def conjugate_gradients(oracle, Y, out):
    """out[i] = grad f_i^*(Y[i]) for every row i (needs ``problem.has_conjugate``)."""
    for i in range(Y.shape[0]):
        local_conjugate_gradient(oracle, i, Y[i], out[i])


class LocalOracle:
    """The oracle a ``step`` sees: grad f_i (or grad f_i^*) of every node at its own row.

    Counts the local computations it is asked for (one per node per call), so the engine's
    gradient column is what the method actually computed.
    """

    def __init__(self, problem):
        self.oracle = problem.oracle
        self.calls = 0

    def gradient(self, X: np.ndarray) -> np.ndarray:
        out = np.empty_like(X)
        gradients(self.oracle, np.ascontiguousarray(X), out)
        self.calls += 1
        return out

    def conjugate_gradient(self, Y: np.ndarray) -> np.ndarray:
        out = np.empty_like(Y)
        conjugate_gradients(self.oracle, np.ascontiguousarray(Y), out)
        self.calls += 1
        return out


# --------------------------------------------------------------------------------------------
# Pieces shared by the methods


def make_constants(cls, algorithm: str, theory_values: dict, overrides, tunables, derive=None,
                   *, may_be_zero=()):
    """``cls`` (a namedtuple) from the theory values with the user's overrides applied.

    ``derive(values) -> dict`` adds the constants computed from the tunable ones, so an override
    of a step size propagates to everything that depends on it (one place for every number);
    None when no constant is derived. ``may_be_zero``: tunables that may be set to 0 (see
    ``apply_overrides``; the others must be > 0).
    """
    from dadao.algorithms.base import apply_overrides

    values = apply_overrides(algorithm, theory_values, overrides, tunables,
                             may_be_zero=may_be_zero)
    if derive is not None:
        values.update(derive(values))
    return cls(**{name: values[name] for name in cls._fields})


def zeros_state(cls, n: int, d: int, x0, x_fields=("x",)):
    """State ``cls`` with the fields in ``x_fields`` set to x0 (default 0) and the others 0."""
    x = np.zeros((n, d)) if x0 is None else np.array(np.broadcast_to(x0, (n, d)), dtype=float)
    return cls(**{name: (x.copy() if name in x_fields else np.zeros((n, d)))
                  for name in cls._fields})


def metropolis_lambda_min(network) -> float:
    """lambda_min(Mt) = 1 - lambda_max(W)/2 >= 0, for Mt = (I + M)/2 and M = I - W with Metropolis
    weights (``network.metropolis_spectrum``: the worst lambda_max(W) over a time-varying list).

    It is also (1 + lambda_min(M))/2, so lambda_min(Mt)/L is both EXTRA's default step (half its
    limit 2 lambda_min(Mt)/L) and DGD's (half its stability limit (1 + lambda_min(M))/L).
    """
    _, w_max = network.metropolis_spectrum
    return 1.0 - w_max / 2.0


def primal_x(s, k, problem) -> np.ndarray:
    """``primal`` of a primal method whose estimate of x* is its iterate x (rows: nodes)."""
    return s.x


def chebyshev_values(cheb, order: str = "K") -> dict:
    """The constants of a Chebyshev gossip ``cheb`` (``dadao.gossip.chebyshev_constants``) as a
    method stores them: its order K under the name ``order``, gamma_W = 1/chi, c1, c2, c3."""
    return {order: cheb.K, "gamma_W": cheb.gamma, "c1": cheb.c1, "c2": cheb.c2, "c3": cheb.c3}


def chebyshev_mix(mix, X: np.ndarray, k, order: int) -> np.ndarray:
    """P_K(W) X, K = ``order`` rounds of ``mix`` (``dadao.gossip.chebyshev_gossip``), with the
    constants stored in ``k`` by ``chebyshev_values``: MSDA's AccGossip, OPAPC's P."""
    from dadao import gossip

    cheb = gossip.ChebyshevConstants(gamma=k.gamma_W, K=order, c1=k.c1, c2=k.c2, c3=k.c3)
    return gossip.chebyshev_gossip(mix, X, cheb)
