"""The timing model of a cluster: how long computing and communicating take, in seconds.

The model is data, as the event schedule is (design rule 2): it says how long the m-th gradient
of node i takes, when node i is slow, how long the m-th message from u to v travels and whether
it is lost, each from its own random stream, and the timing engine (``dadao.engines.timing``,
docs/timing.md) only consumes those draws.

Keyed streams. Each random time is drawn from the keyed counter-based stream of (seed, key)
(``dadao.timing.streams``, ``dadao.counter_rng``), disjoint from the keys of ``dadao.events``
(0, 1, 2):

    node i's gradient computations         (0, i)          run seed (its gradient clock's)
    node u's computations for messages to v (3, u, v)      run seed
    speed factors drawn from a law         (4,)            the speed factors' own seed
    slow spells of straggler i             (5, i, 0) starts, (5, i, 1) lengths    run seed
    latency of the directed link u -> v    (6, u, v)       run seed
    loss on the directed link u -> v       (7, u, v)       run seed
    which nodes are stragglers             (8,)            the stragglers' own seed

so adding stragglers to one node, or latency to one link, never changes another draw. A link is
directed in its keys (a full-duplex cable is two channels: what travels u -> v never shifts the
draws of v -> u). Within a stream, the j-th value takes word j (by inversion) and times are
accumulated sequentially, so they do not depend on how the draws are split into blocks.

The modules, each documenting its maths:

    streams      the stream keys and ``stream``
    laws         the laws of a duration (``Constant``, ``Exponential``, ``ShiftedExponential``,
                 ``LogNormal``), built from a config-like dict by ``law_from_dict``
    speeds       node speed factors (a list, a CSV, a law)
    stragglers   stragglers, persistent or in transient slow spells
    compute      ``ComputeModel``: factors, law and stragglers combined into finish times
    links        ``Links``: latency + size / bandwidth, per-link overrides from a CSV
    loss         ``Loss``: independent, or a Gilbert-Elliott channel per link
    rounds       ``sync_round_times``: the wall time of a synchronous method, computed directly;
                 the per-iteration steps the engine times its iterations with
    round_links  ``RoundLinks``: the exchange times of each gossip round (lost messages resent)
    fields       ``TIMING_FIELDS``: the keys of the ``[timing]`` config section
    model        ``TimingModel``: the model of one run, built from its section
    schedule     ``TimedSchedule``: an asynchronous run's timed events, computed directly
    processes    ``ProcessSchedule``: the same events from SimPy processes, for every choice
    csv_files    reading the CSV files of speeds and link overrides
    hints        the "did you mean" hint of the error messages
"""

from dadao.timing.compute import ComputeModel
from dadao.timing.fields import TIMING_FIELDS
from dadao.timing.laws import (
    LAWS, Constant, Exponential, Law, LogNormal, ShiftedExponential, law_from_dict,
    law_from_section,
)
from dadao.timing.links import (
    LinkOverride, Links, load_link_overrides, message_bytes, transfer_time,
)
from dadao.timing.loss import GilbertElliott, IndependentLoss, Loss, LossChannel
from dadao.timing.rounds import BARRIERS, sync_round_times
from dadao.timing.speeds import speeds_from_csv, speeds_from_law, speeds_from_list
from dadao.timing.stragglers import Stragglers, choose_stragglers
from dadao.timing.streams import (
    COMPUTE_KEY, LATENCY_KEY, LOSS_KEY, SPEED_KEY, STRAGGLER_CHOICE_KEY, STRAGGLER_KEY, stream,
)

__all__ = [
    "BARRIERS", "COMPUTE_KEY", "LATENCY_KEY", "LAWS", "LOSS_KEY", "SPEED_KEY",
    "STRAGGLER_CHOICE_KEY", "STRAGGLER_KEY", "TIMING_FIELDS", "ComputeModel", "Constant",
    "Exponential", "GilbertElliott", "IndependentLoss", "Law", "LinkOverride", "Links",
    "LogNormal", "Loss", "LossChannel", "ShiftedExponential", "Stragglers", "choose_stragglers",
    "law_from_dict", "law_from_section", "load_link_overrides", "message_bytes",
    "speeds_from_csv", "speeds_from_law", "speeds_from_list", "stream", "sync_round_times",
    "transfer_time",
]
