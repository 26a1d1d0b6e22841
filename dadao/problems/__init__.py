"""Local objectives f_i of decentralized optimization problems, their constants and optimum.

    from dadao.problems import make_problem, local_gradient
    P = make_problem("least_squares", 300, dim=2, seed=0)
    P.L, P.mu, P.kappa, P.x_star          # computed from the data; x* certified to 1e-10
    local_gradient(P.oracle, i, x, out)   # numba-compiled, for event loops

Problem.params holds exactly the keyword arguments that rebuild the problem:
make_problem(**P.params) returns the same problem.
"""

import difflib
import inspect

from .base import Problem, ProblemError
from .shards import SHARDED_KINDS
from .libsvm import libsvm, read_libsvm
from .oracle import (
    LEAST_SQUARES,
    LOGISTIC,
    QUADRATIC,
    Oracle,
    local_conjugate_gradient,
    local_gradient,
    local_value,
)
from .synthetic import averaging, least_squares, logistic, quadratic

CONSTRUCTORS = {
    "quadratic": quadratic,
    "least_squares": least_squares,
    "logistic": logistic,
    "libsvm": libsvm,
    "averaging": averaging,
}


def _hint(word, choices):
    close = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def make_problem(kind: str, n: int, *, seed=None, conjugate: bool = True, shard=None,
                 **params) -> Problem:
    """Build the problem `kind` ("quadratic", "least_squares", "logistic", "libsvm", "averaging").

    params are the constructor's keyword arguments (libsvm: path, loss, split, reg, zero_based).
    ``conjugate`` False: no H_i^{-1} (``Problem.has_conjugate`` False) for the kinds that would
    store them, which only methods evaluating grad f_i^* need.
    ``shard``: a ``dadao.problems.shards.Shard``, the nodes this process builds of a problem
    built by several together (the kinds of ``SHARDED_KINDS``).
    Unknown kinds, unknown or missing parameters raise ProblemError with a "did you mean" hint.
    """
    if kind not in CONSTRUCTORS:
        known = ", ".join(CONSTRUCTORS)
        raise ProblemError(
            f"unknown problem {kind!r}; {_hint(str(kind), list(CONSTRUCTORS))}"
            f"(known: {known})", field="problem.kind")
    make = CONSTRUCTORS[kind]
    sig = inspect.signature(make)
    if "conjugate" in sig.parameters:
        params["conjugate"] = conjugate
    if shard is not None and "shard" not in sig.parameters:
        raise ProblemError(f"a {kind} problem is built whole on every process (its data "
                           f"per process: {', '.join(SHARDED_KINDS)})", field="problem.kind")
    accepted = [p for p in sig.parameters if p not in ("n", "seed", "shard")]
    for name in params:
        if name not in accepted:
            raise ProblemError(
                f"unknown parameter for {kind}; {_hint(name, accepted)}"
                f"(accepted: {', '.join(accepted)})", field=f"problem.{name}")
    for name, p in sig.parameters.items():
        if p.default is inspect.Parameter.empty and name not in ("n",) and name not in params:
            raise ProblemError(f"required for {kind}", field=f"problem.{name}")
    if shard is not None:
        params["shard"] = shard
    return make(n=n, seed=seed, **params)


__all__ = [
    "Problem",
    "ProblemError",
    "Oracle",
    "QUADRATIC",
    "LEAST_SQUARES",
    "LOGISTIC",
    "local_gradient",
    "local_conjugate_gradient",
    "local_value",
    "make_problem",
    "quadratic",
    "least_squares",
    "logistic",
    "libsvm",
    "read_libsvm",
    "averaging",
]
