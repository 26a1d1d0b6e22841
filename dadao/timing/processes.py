"""The timing model as SimPy processes: ``ProcessSchedule``, the timed schedule of an
asynchronous run for every choice of ``[timing]`` (``dadao.timing.schedule`` computes the same
events directly where nodes compute and communicate in parallel and send at once).

The processes read like the system (time in the engine's unit, ``unit_s`` seconds):

- ``node(i)``: node i computes gradients back to back; with ``parallel = false`` it holds its
  own resource (it does one thing at a time) while it computes;
- ``gossip_clocks()``: the edges' idealised Poisson clocks (``dadao.events``), merged, each
  arrival activating its edge's link;
- ``link(e)``: carries the exchanges of edge e one at a time; an activation that finds the
  link busy waits its turn (``busy_link = "queue"``) or is dropped (``"skip"``);
- ``exchange(e)``: with ``parallel = false`` it first holds both ends; it sends a message
  each way (SEND, both computed now), each ``message(u, v)`` travelling on its own (with
  ``serial_sends``, the message first waits for the sender's interface, which it holds for
  its nbytes / bandwidth, then flies for its latency; otherwise it takes latency + nbytes /
  bandwidth), and ends when both have arrived: both ends apply it (APPLY) unless a message
  was lost (then neither does).

Event times are carried exactly in Python (the end of a computation is the sum of its start
and its duration, as the direct schedule computes it); SimPy orders what happens. Draws come
from the same keyed streams as the direct schedule, in the same order, so where both apply the
events are the same (a test checks it).
"""

from __future__ import annotations

import numpy as np
import simpy

from dadao.engines.kernels import (APPLY, GRADIENT, GRADIENT_APPLY, GRADIENT_START, PAIR,
                                   SEND)
from dadao.events import merge_events
from dadao.timing.schedule import KIND_BITS, ExchangeDraws, TimedClocks


class ProcessSchedule(TimedClocks):
    """Windows of the timed events of an asynchronous run from SimPy processes (module
    docstring); the parameters of ``dadao.timing.schedule.TimedSchedule``."""

    kind = "simpy"

    def __init__(self, model, args, n: int, computes: bool, nbytes: float, per_end: int = 0):
        super().__init__(model, args, n, computes)
        self.per_end = int(per_end)
        # a message's duration known when it is drawn (ExchangeDraws) unless it depends on
        # when its computation starts (transient stragglers) or waits for a sender
        self.by_message = bool(model.serial_sends
                               or (self.per_end and model.compute.timed_by_start))
        self.nbytes = float(nbytes)
        E = len(self.edges)

        self.env = simpy.Environment()
        self.log_t: list[float] = []
        self.log_id: list[int] = []
        self.held_t = np.empty(0)
        self.held_id = np.empty(0, dtype=np.int64)
        self.busy = ([simpy.Resource(self.env, 1) for _ in range(self.n)]
                     if not model.parallel else None)
        self.senders = ([simpy.Resource(self.env, 1) for _ in range(self.n)]
                        if model.serial_sends else None)
        self.draws = [ExchangeDraws(u, v, model.links, model.loss, nbytes, self.unit,
                                    model.compute, per_end)
                      for u, v in self.edges.tolist()]
        self.queues = [simpy.Store(self.env) for _ in range(E)]
        self.link_busy = np.zeros(E, dtype=bool)   # an activation accepted and not carried
        self.arrivals = simpy.Store(self.env)
        self.stale = model.gradient == "stale"
        for i in self.computing.tolist():
            self.env.process(self.node(i))
        for e in range(E):
            self.env.process(self.link(e))
        self.env.process(self.gossip_clocks())

    # -- the processes ------------------------------------------------------------------------

    def emit(self, t: float, clock: int, kind: int) -> None:
        self.log_t.append(t)
        self.log_id.append((clock << KIND_BITS) + kind)

    def at(self, t: float):
        """A timeout to the exact time t (SimPy's clock is within rounding of it)."""
        return self.env.timeout(max(0.0, t - self.env.now))

    def node(self, i: int):
        """Node i computes gradients back to back (holding itself when it does one thing at a
        time): each ends at its start plus its duration."""
        compute = self.model.compute
        end_s = 0.0   # seconds: the end of the last computation, where the next may start
        while True:
            if self.busy is not None:
                request = self.busy[i].request()
                yield request
                start_s = max(end_s, self.env.now * self.unit)
            else:
                start_s = end_s
            if self.stale:
                self.emit(start_s / self.unit, i, GRADIENT_START)
            work = compute.work(i, 1)
            if compute.stragglers.is_straggler(i):
                end_s = float(compute.finish_time(i, start_s, work[0]))
            else:
                end_s = float(np.cumsum(np.array([start_s, work[0]]))[-1])
            yield self.at(end_s / self.unit)
            self.emit(end_s / self.unit, i, GRADIENT_APPLY if self.stale else GRADIENT)
            if self.busy is not None:
                self.busy[i].release(request)

    def gossip_clocks(self):
        """The edges' gossip clocks, merged: each arrival activates its edge."""
        while True:
            batch = yield self.arrivals.get()
            for t, e in zip(*batch):
                yield self.at(t)
                if self.model.busy_link == "skip" and self.link_busy[e]:
                    self.skipped_activations += 1
                    continue
                self.link_busy[e] = True
                self.queues[e].put(t)

    def link(self, e: int):
        """Edge e's link carries its exchanges one at a time, in the order of activation."""
        free_at = 0.0
        while True:
            activated = yield self.queues[e].get()
            start = max(activated, free_at)
            yield self.at(start)
            free_at = yield self.env.process(self.exchange(e, start))
            self.link_busy[e] = len(self.queues[e].items) > 0

    def exchange(self, e: int, start: float):
        """One exchange on edge e, from ``start``: its end (exact)."""
        u, v = (int(x) for x in self.edges[e])
        held = []
        if self.busy is not None:
            for node in (u, v):   # in node order: two exchanges never wait on each other
                request = self.busy[node].request()
                yield request
                held.append((node, request))
            start = max(start, self.env.now)
        clock = self.n + e
        if not self.by_message:
            durations, lost = self.draws[e].peek(1)
            duration, lost = float(durations[0]), bool(lost[0])
            self.draws[e].take(1)
            self.lost_exchanges += lost   # counted where it starts, as the direct schedule
            if duration == 0 and not lost:
                self.emit(start, clock, PAIR)
                end = start
            else:
                self.emit(start, clock, SEND)
                end = start + duration
                yield self.at(end)
        else:
            self.emit(start, clock, SEND)
            arrivals = [self.env.process(self.message(u, v, start)),
                        self.env.process(self.message(v, u, start))]
            results = yield simpy.AllOf(self.env, arrivals)
            ends, losses = zip(*results.values())
            end, lost = max(ends), any(losses)
            self.lost_exchanges += lost
        if not lost and (end > start or self.by_message):
            self.emit(end, clock, APPLY)
        for node, request in held:
            self.busy[node].release(request)
        return end

    def message(self, u: int, v: int, start: float):
        """A message u -> v of an exchange started at ``start``: computed by u (if the method's
        messages need a gradient), sent (behind u's earlier messages with serial sends: the
        sender is held nbytes / bandwidth), then flying its latency: (arrival, lost)."""
        links, unit, compute = self.model.links, self.unit, self.model.compute
        ready = start
        if self.per_end:
            work = float(compute.message_work(u, v, self.per_end).sum())
            ready = start + compute.message_duration(u, start * unit, work) / unit
            yield self.at(ready)
        wire = self.nbytes / links.bandwidth(u, v) / unit
        if self.senders is not None:
            with self.senders[u].request() as request:
                yield request
                sent = max(ready, self.env.now)
                yield self.at(sent + wire)
        else:
            sent = ready
        latency = float(links.transfer_times(u, v, 0.0, 1)[0]) / unit
        lost = bool(self.model.loss.lost(u, v, 1)[0])
        arrival = sent + wire + latency
        yield self.at(arrival)
        return arrival, lost

    # -- the schedule ---------------------------------------------------------------------------

    def until(self, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """Events in [current time, t_end), as (times, ids) sorted by (time, id)."""
        if t_end < self.time:
            raise ValueError("the schedule cannot go back in time")
        times, ids = self.gossip.until(t_end)
        if len(times):
            self.arrivals.put((times.tolist(), (ids - self.n).tolist()))
        if t_end > self.env.now:
            self.env.run(until=t_end)
        log_t = np.concatenate([self.held_t, np.array(self.log_t)])
        log_id = np.concatenate([self.held_id, np.array(self.log_id, dtype=np.int64)])
        self.log_t, self.log_id = [], []
        now = log_t < t_end   # SimPy may have reached an exact time at t_end within rounding
        self.held_t, self.held_id = log_t[~now], log_id[~now]
        self.time = float(t_end)
        return merge_events([log_t[now]], [log_id[now]])
