"""The timing engine: a run on the timing model of a cluster (``dadao.timing``), in seconds.

The same methods and node-local code as the other engines, on a model of how long things take:
a node computes (compute law, speed factors, stragglers), a link carries a message (latency,
size / bandwidth, loss), a synchronous round waits (a global or a neighbourhood barrier). The
trace gains ``wall_time``, the seconds the run has taken at each sample; meta.json's
``run.engine_detail.timing`` records the model.

Asynchronous methods. The timed schedule (``dadao.timing.schedule`` where a node computes and
communicates in parallel and sends its messages at once; the SimPy processes of
``dadao.timing.processes`` for any other choice) feeds the compiled timed loop
(``dadao.engines.kernels.timed_event_loop``): an exchange's messages are computed when they are
sent and applied, by both ends, when the exchange ends. Time inside is the idealised unit,
``TimingModel.unit_s`` seconds (the mean compute time), so t_max, log_every and the gossip
rates mean what they mean for the in-process engine; wall_time = t unit_s. With the default
model (exponential compute times of mean 1 s, links that take no time, no loss) and idealised
gradients the events are exactly the in-process engine's and so is the trace (``time`` ..
``consensus``), bit for bit.

Synchronous methods. Their iterations are the in-process engine's (``dadao.engines.rounds``);
each is timed as it runs: every node's computation, then the gossip rounds the method actually
made, each of messages of the size it actually stacked (``dadao.timing.round_links``), under
the chosen barrier (``dadao.timing.rounds``). ``time`` counts iterations, ``wall_time`` seconds.
"""

from __future__ import annotations

import numpy as np

from dadao import config as config_module
from dadao.engines import base, rounds
from dadao.engines import kernels
from dadao.engines.inprocess import EventRun
from dadao.errors import ConfigError, DadaoError
from dadao.timing.fields import TIMING_FIELDS
from dadao.timing.model import TimingModel, stacked_vectors
from dadao.timing.round_links import RoundLinks
from dadao.timing.rounds import Incidence, global_iteration
from dadao.timing.schedule import KIND_BITS, TimedSchedule


def timing_section(setup, given: dict | None) -> dict:
    """The validated ``[timing]`` section of a run: ``given`` (from Python), else the
    config's, else every default."""
    if given is not None:
        return config_module.validate_section("timing", dict(given))
    if setup.config is not None and "timing" in setup.config:
        return dict(setup.config["timing"])
    return config_module.validate_section("timing", {})


def timing_model(setup, section: dict) -> TimingModel:
    """The ``TimingModel`` of ``setup`` under ``section``; a DadaoError (one line naming the
    key, and the config file of a setup built from one) for a choice the run cannot take."""
    try:
        return _timing_model(setup, section)
    except DadaoError as exc:
        if setup.source is None or exc.file == setup.source:
            raise
        # the line names the config; a file it points to (links, speeds) goes in the message
        hint = f" ({exc.file})" if exc.file else ""
        raise exc.located(file=setup.source, hint=hint) from None


def _timing_model(setup, section: dict) -> TimingModel:
    if setup.time_varying:
        raise ConfigError("the timing engine runs on one graph, not a time-varying list",
                          field="graph")
    if section["gradient"] == "stale" and (setup.synchronous
                                           or setup.algorithm.apply_gradient is None):
        raise ConfigError(f"{setup.algorithm.name} has no stale gradient step; use gradient = "
                          f"\"idealised\"", field="timing.gradient")
    rates = None if setup.synchronous else setup.args.grad_rates
    return TimingModel.from_section(section, n=setup.n, d=setup.problem.dim,
                                    edges=setup.edge_lists[0], seed=setup.args.seed,
                                    grad_rates=rates)


class TimedEventRun(EventRun):
    """An asynchronous run on the timed schedule (the run interface of ``dadao.engines.base``)."""

    def __init__(self, setup, model: TimingModel, *, processes=False, events_per_window=None):
        algo = setup.algorithm
        n, d, E = setup.n, setup.problem.dim, len(setup.args.edges)
        self.model = model
        # buffers of the timed loop: each edge's two messages in flight, each node's gradient
        self.messages = np.zeros((E, 2, d))
        self.grads = np.zeros((n, d))
        computes = algo.gradient_clocks
        nbytes = model.vector_bytes
        # gradients each end of an exchange computes for its message (Continuized: 1 each)
        per_end = (-(-algo.gradients_per_gossip_event // 2)
                   if model.message_gradients == "timed" else 0)
        if (processes or not model.parallel or model.serial_sends
                or (per_end and model.compute.timed_by_start)):
            from dadao.timing.processes import ProcessSchedule
            schedule = ProcessSchedule(model, setup.args, n, computes, nbytes, per_end)
        else:
            schedule = TimedSchedule(model, setup.args, n, computes, nbytes, per_end)
        self.schedule = schedule
        super().__init__(setup, events_per_window=events_per_window, clocks=schedule)

    @staticmethod
    def _event_loop(algo):
        return kernels.timed_event_loop(algo)

    def _process(self, times, ids) -> None:
        self._run_events(times, ids & ((1 << KIND_BITS) - 1), ids >> KIND_BITS, self.n,
                         self.edges, self.state, self.tau, self.k, self.problem.oracle,
                         self.messages, self.grads, self.counts_)

    def wall_time(self, t) -> float:
        """Seconds at time t (units of ``unit_s`` seconds)."""
        return float(t) * self.model.unit_s

    # the timed schedule's state (links in flight, streams of every link) is not checkpointed
    snapshot = restore = None

    def record(self, wall_time_s: float) -> dict:
        s = self.schedule
        return {"compile_time_s": self.compile_s,
                "engine_detail": {"timing": self.model.describe(), "schedule": s.kind,
                                  "lost_exchanges": s.lost_exchanges,
                                  "skipped_activations": s.skipped_activations}}


class RecordingMixer(rounds.Mixer):
    """A mixer that keeps the width (columns of the (n, width) stack) of each round since the
    last ``take``."""

    def __init__(self, matrices, edge_counts):
        super().__init__(matrices, edge_counts)
        self.widths = []

    def __call__(self, X):
        self.widths.append(int(np.prod(X.shape[1:])))
        return super().__call__(X)

    def take(self) -> list[int]:
        widths, self.widths = self.widths, []
        return widths


class TimedLayout(rounds.SingleProcess):
    def mixer(self, matrices, edge_counts):
        return RecordingMixer(matrices, edge_counts)


class TimedSyncRun(rounds.SyncRun):
    """A synchronous run whose iterations are timed as they run (module docstring)."""

    def __init__(self, setup, model: TimingModel):
        super().__init__(setup, TimedLayout())
        self.model = model
        self.d = setup.problem.dim
        edges = setup.edge_lists[0]
        self.round_links = RoundLinks(model.links, model.loss, edges)
        self.incidence = Incidence(edges, setup.n) if model.barrier == "neighbourhood" else None
        self.node_times = np.zeros(setup.n)   # seconds: each node's end of its last iteration
        self.clock = [0.0]                    # seconds at the end of each iteration
        self._works = np.empty((0, setup.n))
        self._calls = self.local.calls

    def iteration_done(self) -> None:
        # each node computes as many gradients as the method called its oracle this iteration
        calls = self.local.calls - self._calls
        self._calls = self.local.calls
        work = np.zeros(len(self.node_times))
        for _ in range(calls):
            if not len(self._works):
                self._works = self.model.compute.works(256)
            work, self._works = work + self._works[0], self._works[1:]
        durations = self.model.compute.durations(work, self.node_times)
        links = [self.round_links.next_round(self.model.vector_bytes
                                             * stacked_vectors(width, self.d))
                 for width in self.mixer.take()]
        if self.incidence is None:
            end = global_iteration(self.clock[-1], durations,
                                   [float(np.max(lk, initial=0.0)) for lk in links])
            self.node_times = np.full(len(self.node_times), end)
        else:
            self.node_times = self.incidence.iteration(self.node_times, durations, links)
            end = float(np.max(self.node_times, initial=0.0))
        self.clock.append(end)

    def wall_time(self, t) -> float:
        """Seconds at the end of iteration t."""
        return float(self.clock[int(t)])

    snapshot = restore = None

    def record(self, wall_time_s: float) -> dict:
        return {"compile_time_s": None,
                "engine_detail": {"timing": self.model.describe(), "schedule": "rounds"}}


class Timing(base.Engine):
    """Runs a setup on the timing model of its ``[timing]`` section (``timing=``: the section
    as a dict, from Python; ``processes=True``: the SimPy processes even where the direct
    schedule applies)."""

    name = "timing"
    timed = True
    config_section = "timing"
    config_fields = TIMING_FIELDS

    def check(self, setup, group) -> None:
        timing_model(setup, timing_section(setup, None))

    def run(self, setup, *, group=None, progress=None, journal=None, timing=None,
            processes=False, events_per_window=None):
        model = timing_model(setup, timing_section(setup, timing))
        if setup.synchronous:
            run = TimedSyncRun(setup, model)
        else:
            run = TimedEventRun(setup, model, processes=processes,
                                events_per_window=events_per_window)
        return base.trace(run, setup, base.drive(run, setup, progress, journal), self.name)


ENGINE = Timing()
