"""``TimingModel``: a cluster's timing, built once from a ``[timing]`` section for one run.

It gathers what the timing engine consumes: the compute model (law, speed factors, stragglers),
the links (latency law, bandwidth, per-link overrides), message loss, and the choices of what a
node may do at once. Every random time comes from its own keyed stream (``dadao.timing``): the
m-th computation of node i is the m-th draw of node i's gradient clock's stream (seed, (0, i)),
re-timed by the compute law, so that with exponential compute times of mean 1 s a node computes
exactly when its idealised gradient clock ticks.

Units. The algorithms' constants are set in the idealised unit of time, one expected gradient
step of a node (``dadao.events``). The timing engine keeps that unit: one unit is ``unit_s``
seconds, the mean compute time of one gradient at normal speed (the compute law's mean), so
gossip rates, t_max and log_every keep their meaning, and every duration of the model (seconds)
is divided by ``unit_s`` where the engine compares it with the clocks. The trace's ``wall_time``
is in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dadao.errors import ConfigError
from dadao.events import GRADIENT_KEY
from dadao.timing.compute import ComputeModel
from dadao.timing.fields import TIMING_FIELDS
from dadao.timing.laws import Law, law_from_section
from dadao.timing.links import Links, load_link_overrides, message_bytes
from dadao.timing.loss import GilbertElliott, IndependentLoss, Loss
from dadao.timing.speeds import speeds_from_csv, speeds_from_law, speeds_from_list
from dadao.timing.stragglers import Stragglers, choose_stragglers


def defaults() -> dict:
    """A ``[timing]`` section with every default: the idealised model (exponential compute
    times of mean 1 s, links that take no time, no loss), except that a message needing a
    gradient (the Continuized method's) takes a compute time (``message_gradients``)."""
    return {key: spec.default for key, spec in TIMING_FIELDS.items()}


@dataclass(frozen=True)
class TimingModel:
    """The timing of one run (see the module docstring).

    ``compute``: how long each gradient takes (seconds); ``links`` and ``loss``: each message's
    transfer time and fate; ``vector_bytes``: bytes of one d-vector of a message (8 d unless
    ``message_bytes`` is given: then that is a message of one vector); ``parallel``,
    ``serial_sends``, ``busy_link``, ``message_gradients``, ``gradient``, ``barrier``: the
    choices of the section.
    """

    compute: ComputeModel
    compute_law: Law
    links: Links
    loss: Loss
    unit_s: float
    vector_bytes: int
    parallel: bool
    serial_sends: bool
    busy_link: str
    message_gradients: str
    gradient: str
    barrier: str
    section: dict

    @classmethod
    def from_section(cls, section: dict | None, *, n: int, d: int, edges, seed: int,
                     grad_rates=None) -> "TimingModel":
        """The model of a validated ``[timing]`` section (None: every default) for a run on n
        nodes, d-dimensional iterates, these edges, this seed; ``grad_rates`` g_i divide node i's
        compute times (a node of rate 2 computes twice as fast)."""
        s = {**defaults(), **(section or {})}
        law = law_from_section(s, "compute")
        if not law.mean > 0:
            raise ConfigError("the compute time's mean must be > 0 seconds: it is the unit of "
                              "time of the run", field="timing.compute_law")
        factors = _speed_factors(s, n)
        stragglers = _stragglers(s, n, seed)
        compute = ComputeModel(law, n, seed, factors=factors, stragglers=stragglers,
                               key_prefix=(GRADIENT_KEY,), rates=grad_rates)
        bandwidth = math.inf if s["bandwidth"] == "auto" else float(s["bandwidth"])
        overrides = ({} if s["links_path"] == "auto"
                     else load_link_overrides(s["links_path"], edges))
        links = Links(law_from_section(s, "latency"), bandwidth, seed, overrides)
        vector_bytes = (message_bytes(d, 1) if s["message_bytes"] == "auto"
                        else int(s["message_bytes"]))
        return cls(compute, law, links, Loss(_loss_law(s), seed), float(law.mean), vector_bytes,
                   bool(s["parallel"]), bool(s["serial_sends"]), s["busy_link"],
                   s["message_gradients"], s["gradient"], s["barrier"], s)

    @property
    def lossy(self) -> bool:
        return self.loss.law is not None

    def describe(self) -> dict:
        """The model as meta.json records it: the resolved section, the unit of time and what
        it implies (the stragglers chosen, the mean compute time)."""
        st = self.compute.stragglers
        return {"section": {k: v for k, v in self.section.items()},
                "unit_s": self.unit_s, "compute_mean_s": self.compute_law.mean,
                "vector_bytes": self.vector_bytes,
                "stragglers": [int(i) for i in st.nodes.tolist()],
                "stationary_loss": (0.0 if self.loss.law is None
                                    else float(self.loss.law.stationary_loss))}


def _speed_factors(s: dict, n: int):
    kind = s["speed"]
    if kind == "uniform":
        return None
    if kind == "list":
        return speeds_from_list(s["speed_factors"], n)
    if kind == "file":
        if s["speed_path"] == "auto":
            raise ConfigError("speed = \"file\" needs speed_path", field="timing.speed_path")
        return speeds_from_csv(s["speed_path"], n)
    return speeds_from_law(law_from_section(s, "speed"), n, int(s["speed_seed"]))


def _stragglers(s: dict, n: int, seed: int) -> Stragglers:
    nodes = choose_stragglers(n, float(s["stragglers_fraction"]), int(s["stragglers_seed"]))
    if not len(nodes):
        return Stragglers()
    return Stragglers(nodes, float(s["stragglers_slowdown"]), s["stragglers_mode"],
                      float(s["stragglers_rate"]), law_from_section(s, "episode"), seed)


def _loss_law(s: dict):
    if s["loss"] == "independent":
        return IndependentLoss(s["loss_p"]) if s["loss_p"] > 0 else None
    if s["loss"] == "gilbert_elliott":
        return GilbertElliott(s["loss_good_to_bad"], s["loss_bad_to_good"], s["loss_good"],
                              s["loss_bad"])
    return None


def stacked_vectors(width: int, d: int) -> int:
    """How many d-vectors a gossip round of a (n, width) stack carries: width / d, at least 1."""
    return max(1, int(np.ceil(width / d)))
