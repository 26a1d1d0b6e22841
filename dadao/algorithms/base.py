"""What an asynchronous, event-driven algorithm is, for every engine.

An algorithm is a bundle of node-local, numba-compiled functions over one node's state ``s``, an
array of shape (S, d) (S named vectors in R^d), and a namedtuple ``k`` of float constants:

    flow(s, dt, k)                          follow the between-event dynamics for dt time units
    on_gradient(s, k, oracle, i, work)      node i's gradient clock ticks (s already flowed)
    apply_gradient(s, k, i, grad)           optional: the step of on_gradient with a gradient
                                            grad f_i(s[0]) taken earlier (a stale gradient:
                                            the timing engine's ``gradient = "stale"``)
    message(s, k, oracle, i, out)           the d-vector node i sends on a gossip event (it may
                                            use node i's own oracle: Continuized sends
                                            grad f_i^*(y_i))
    on_message(s, k, own, peer, e)          apply a gossip event on edge e given both messages
                                            (e indexes per-edge constants such as k.R[e])
    on_delayed_message(s, k, own, peer, e)  optional: on_message for messages sent earlier
                                            (a delayed exchange), as a difference own - peer
    primal(s, k, oracle, i, out)            the node's current estimate of x*

No function reads another node's state: on a gossip event each side calls ``message`` on its own
state, the two vectors are exchanged (over MPI, a link, or nothing at all), and each side calls
``on_message`` on its own state. Engines own the event loop, the clocks and the lazy time
bookkeeping (tau_i = time of node i's last update); algorithms own the maths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from dadao.errors import OptionError


@dataclass(frozen=True)
class AsyncAlgorithm:
    """An event-driven method, as engines see it.

    ``constants(problem, chi_1, chi_2, overrides=None, *, resistances=None)`` returns the
    namedtuple ``k`` passed to every compiled function; ``chi_1`` and ``chi_2`` are those of the
    actual rate Laplacian (time unit: expected gradient steps per node; worst case over the list
    for a time-varying graph), ``overrides`` a dict {name: value} of ``tunables`` checked by
    :func:`apply_overrides`, and ``resistances`` the per-edge R_e = b_e^T Lambda^+ b_e, given by
    the engine only to algorithms with ``needs_resistances``. Constants refuse problems the
    method cannot solve (``dadao.problems.ProblemError``, one line naming ``problem.kind``).

    ``init_state(n, d, x0, problem, nodes=None)`` returns the (n, S, d) initial state; row i
    may depend only on x0[i] and node i's own f_i, so it can be built for some nodes alone:
    ``nodes`` (n of them; x0 then holds their rows) gives the rows of those nodes only (an MPI
    rank's).
    """

    name: str
    state_names: tuple[str, ...]
    constants: Callable[..., Any]
    init_state: Callable[..., np.ndarray]
    flow: Any
    on_gradient: Any
    message: Any
    on_message: Any
    primal: Any
    #: ``on_delayed_message(s, k, own, peer, e)``: on_message for messages computed earlier than
    #: they are applied (the timing engine's delayed exchanges), written as a difference so that
    #: both ends change by opposite amounts; None where on_message already is one
    on_delayed_message: Any = None
    #: ``apply_gradient(s, k, i, grad)``: on_gradient's step with a given grad f_i (taken at
    #: row 0 of the state, x_i, possibly earlier); None for methods without one
    apply_gradient: Any = None
    #: refuse (or, when forced, warn about) rates with chi_1 chi_2 > 1/2 (DADAO's condition)
    enforces_rate_condition: bool = False
    #: accounting: gradient computations charged per gradient event and per gossip event
    #: (DADAO: 1 and 0; the Continuized method computes two conjugate gradients per gossip)
    gradients_per_gradient_event: int = 1
    gradients_per_gossip_event: int = 0
    reference: str = ""
    #: ``dadao.algorithms.theory.Theory``: predicted rate and counts per time unit
    theory: Any = None
    #: constants an ``[algorithm]`` section of a config may override (see ``apply_overrides``)
    tunables: tuple[str, ...] = ()
    #: False for methods whose gradients come with gossip events or that compute none: they run
    #: with every gradient clock at rate 0, and a positive ``grad_rates`` is refused
    gradient_clocks: bool = True
    #: False for methods that start every node at its own argmin f_i (gossip averaging): x0 is refused
    accepts_x0: bool = True
    #: the engine passes the per-edge resistances R_e of the rate Laplacian to ``constants``
    needs_resistances: bool = False
    #: the method evaluates grad f_i^* (a config's problem then keeps its H_i^{-1})
    needs_conjugate: bool = False
    #: whether the method runs on a time-varying list of graphs (others refuse one)
    supports_time_varying: bool = False
    #: ``default_rates(edges, n) -> (E,) rates`` this method is meant to be compared with
    default_rates: Callable[..., np.ndarray] | None = None

    @property
    def state_size(self) -> int:
        return len(self.state_names)


def apply_overrides(algorithm: str, values: dict, overrides: dict | None,
                    tunable: tuple[str, ...], *, may_be_zero: tuple[str, ...] = (),
                    checked_by_method: tuple[str, ...] = ()) -> dict:
    """``values`` (the theory constants, by name) with the user's ``overrides`` applied.

    Only names in ``tunable`` may be overridden (derived constants are recomputed by the caller
    from the result); each override must be a finite number > 0: every tunable constant of the
    methods is a step size, a rate or a weight that the theory takes positive, and a negative
    or zero one does not fail, it makes the run diverge (or stand still) slowly. The names in
    ``may_be_zero`` (a momentum) may also be 0; those in ``checked_by_method`` are left to
    the method's own check, which knows their exact range (DADAO's flow). Errors name the field
    as it is written in a config file: ``algorithm.<name>``.
    """
    import difflib
    import math
    import numbers

    out = dict(values)
    for name, value in (overrides or {}).items():
        if name not in tunable:
            close = difflib.get_close_matches(name, tunable, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            known = ", ".join(tunable) if tunable else "none"
            raise OptionError(f"{algorithm} has no such constant; {hint}"
                              f"(tunable: {known})", field=f"algorithm.{name}")
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not math.isfinite(value)):
            raise OptionError(f"must be a finite number, got {value!r}", field=f"algorithm.{name}")
        if name not in checked_by_method:
            _check_sign(algorithm, name, value, values.get(name), zero_ok=name in may_be_zero)
        out[name] = type(values[name])(value) if name in values else value
    return out


def _check_sign(algorithm: str, name: str, value, theory, *, zero_ok: bool) -> None:
    """Refuse a constant <= 0 (< 0 when ``zero_ok``), quoting the theory value it replaces."""
    if value > 0 or (zero_ok and value == 0):
        return
    usual = f"; the theory value is {float(theory):.6g}" if theory is not None else ""
    raise OptionError(f"must be {'>= 0' if zero_ok else '> 0'} (a constant of {algorithm}"
                      f"{usual}), got {value!r}", field=f"algorithm.{name}")
