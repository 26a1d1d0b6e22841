"""Test helper: the full state of an in-process asynchronous run at any time, flowed on copies.

The engine only ever needs each node's primal estimate at a sample (``primal_rows``); tests that
check invariants of the whole state (the sum of DADAO's z over the nodes, say) need every row
flowed to a common time, which this compiles once per method from its ``flow``.
"""

from __future__ import annotations

import numba
import numpy as np

_FLOWS: dict = {}


def flowed_states(run, t=None) -> np.ndarray:
    """(n, S, d): every node's state of ``run`` (a ``dadao.engines.inprocess.EventRun``) flowed
    from its own time tau_i to t (default: the run's current time), on copies."""
    t = run.time if t is None else float(t)
    if t < run.time:
        raise ValueError(f"t = {t} is before the run's current time {run.time}")
    flow = run.algo.flow
    if flow not in _FLOWS:
        @numba.njit
        def flow_all(state, tau, t, k, out):
            for i in range(state.shape[0]):
                out[i] = state[i]
                flow(out[i], t - tau[i], k)

        _FLOWS[flow] = flow_all
    out = np.empty_like(run.state)
    _FLOWS[flow](run.state, run.tau, t, run.k, out)
    return out
