"""The one-call Python API: graph(s), problem, method, rates, horizon, seed -> Trace.

    trace = dadao.simulate(G, problem, rates="theory", t_max=600, seed=0)

``simulate`` is ``dadao.setup.prepare`` followed by the engine's ``run``: whatever the method
and the engine, it returns the same ``Trace`` (docs/run_directory.md lists its ``meta``).
"""

from __future__ import annotations

from dadao import engines
from dadao.setup import prepare


def simulate(graph, problem, *, rates="auto", algorithm="dadao", t_max: float, seed: int = 0,
             engine: str = engines.DEFAULT, log_every=None, grad_rates=None, x0=None,
             force=False, options=None, switch_period=None, progress=None, **engine_options):
    """Simulate ``algorithm`` on ``problem`` over ``graph`` until ``t_max``; return a Trace.

    ``graph``: a connected graph on the nodes 0..n-1 (a ``dadao.graphs.EdgeGraph`` or a networkx
    graph), an (E, 2) edge array, or a list of them (a time-varying graph, for the methods that
    support one). Time is in expected
    gradient steps per node (an iteration of a synchronous method). ``rates`` (asynchronous
    methods), ``log_every``, ``grad_rates``, ``x0``, ``force``, ``options`` (overrides of the
    method's constants) and ``switch_period``: see ``dadao.setup.prepare``. ``progress``:
    callable(t, events, dist_to_opt), called at every sample.

    ``engine``: a registered engine (``dadao.engines.names()``). ``engine_options`` go to it:
    ``events_per_window`` (inprocess, mpi); ``comm`` (mpi: another communicator than
    COMM_WORLD) and ``on_failure``. With "mpi" every rank of the job calls this with the same
    arguments; the root gets the Trace, equal to the in-process one, the others None.
    """
    chosen = engines.get_engine(engines.check_name(engine))
    group = chosen.group(**{k: engine_options.pop(k) for k in ("comm",) if k in engine_options})
    try:
        error, setup = None, None
        try:
            setup = prepare(graph, problem, algorithm=algorithm, rates=rates, t_max=t_max,
                            seed=seed, log_every=log_every, grad_rates=grad_rates, x0=x0,
                            force=force, options=options, switch_period=switch_period,
                            engine=engine)
        except Exception as exc:  # noqa: BLE001: every process of the group must hear of it
            error = exc
        group.agree_on_error(error)
        return chosen.run(setup, group=group, progress=progress, **engine_options)
    finally:
        group.close()  # an MPI group's watchdog ends with the run


__all__ = ["simulate"]
