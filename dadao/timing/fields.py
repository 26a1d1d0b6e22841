"""The keys of the ``[timing]`` config section, which the timing engine declares
(``dadao.engines.timing``): ``TIMING_FIELDS``, each key's type, default and documentation.

Durations are in seconds, bandwidth in bytes per second, message sizes in bytes, speed factors
and probabilities have no unit. A law is declared as ``{prefix}_law`` and one key per law
parameter, "auto" meaning not given (``dadao.timing.laws.law_from_section``)."""

from __future__ import annotations

from dadao.config import AUTO, Field
from dadao.timing.laws import LAW_DEFAULTS, LAW_PARAMETERS, LAWS
from dadao.timing.rounds import BARRIERS
from dadao.timing.stragglers import STRAGGLER_MODES


#: law parameter -> (the law it belongs to, what it is, whether it has the unit of the values)
_PARAMETER_DOCS = {
    "value": ("constant", "the value", True),
    "mean": ("exponential", "the mean", True),
    "shift": ("shifted_exponential", "the least value", True),
    "mean_excess": ("shifted_exponential", "the mean above the shift", True),
    "median": ("lognormal", "the median", True),
    "sigma": ("lognormal", "the standard deviation of the log", False),
}


def _law_fields(prefix: str, what: str, default_law: str, unit: str = "seconds"
                ) -> dict[str, Field]:
    """{prefix}_law and one key per law parameter, "auto" meaning not given (law_from_section)."""
    default = LAW_DEFAULTS.get(prefix)
    given = (f"; with none of its parameters given: "
             f"{', '.join(f'{k} = {v:g}' for k, v in default.items() if k != 'law')}"
             if default else "")
    out = {f"{prefix}_law": Field("str", default_law, f"law of {what}{given}",
                                  choices=tuple(LAWS))}
    for p in LAW_PARAMETERS:
        law, meaning, has_unit = _PARAMETER_DOCS[p]
        out[f"{prefix}_{p}"] = Field("float", AUTO, f"{prefix}_law = \"{law}\": {meaning} "
                                     f"({unit if has_unit else 'no unit'}; auto: not given)",
                                     minimum=0, auto=True)
    return out


TIMING_FIELDS: dict[str, Field] = {
    **_law_fields("compute", "one gradient's compute time at normal speed (seconds)",
                  "exponential"),
    "speed": Field("str", "uniform", "per-node speed factors (multipliers of compute time): "
                   "uniform (all 1), list (speed_factors), file (speed_path), law (speed_law)",
                   choices=("uniform", "list", "file", "law")),
    "speed_factors": Field("str", "", "speed = \"list\": n comma-separated factors > 0"),
    "speed_path": Field("path", AUTO, "speed = \"file\": CSV with header node,factor (nodes "
                        "not listed keep 1)", auto=True),
    **_law_fields("speed", "the drawn speed factors (speed = \"law\")", "lognormal",
                  unit="a factor, no unit"),
    "speed_seed": Field("int", 0, "seed of the drawn speed factors (independent of run.seed)",
                        minimum=0),
    "stragglers_fraction": Field("float", 0.0, "fraction of nodes that straggle (chosen by a "
                                 "seeded draw)", minimum=0, maximum=1),
    "stragglers_slowdown": Field("float", 10.0, "k: a straggler computes k times slower",
                                 minimum=1),
    "stragglers_mode": Field("str", "persistent", "persistent: always slow; transient: slow "
                             "during spells", choices=STRAGGLER_MODES),
    "stragglers_rate": Field("float", 0.1, "transient: slow spells start at this rate per "
                             "straggler (per second, a Poisson process)", minimum=0),
    **_law_fields("episode", "a slow spell's duration (seconds)", "exponential"),
    "stragglers_seed": Field("int", 0, "seed of which nodes straggle (independent of run.seed)",
                             minimum=0),
    **_law_fields("latency", "a message's latency (seconds)", "constant"),
    "bandwidth": Field("float", AUTO, "bytes per second of every link (auto: unlimited, size "
                       "costs nothing)", minimum=0, exclusive_minimum=True, auto=True),
    "message_bytes": Field("int", AUTO, "bytes of a message (auto: 8 d per vector sent, "
                           "float64)", minimum=0, auto=True),
    "links_path": Field("path", AUTO, "CSV with header u,v,latency,bandwidth: per-link constant "
                        "latency (seconds) and bandwidth (bytes per second); an empty cell keeps "
                        "the default (auto: none)", auto=True),
    "loss": Field("str", "none", "message loss: none, independent (loss_p per message) or "
                  "gilbert_elliott (a two-state channel per link)",
                  choices=("none", "independent", "gilbert_elliott")),
    "loss_p": Field("float", 0.0, "independent: probability that a message is lost",
                    minimum=0, maximum=1),
    "loss_good_to_bad": Field("float", 0.01, "gilbert_elliott: probability per message of "
                              "going from the good state to the bad", minimum=0, maximum=1),
    "loss_bad_to_good": Field("float", 0.1, "gilbert_elliott: probability per message of "
                              "going from the bad state to the good", minimum=0, maximum=1),
    "loss_good": Field("float", 0.0, "gilbert_elliott: loss probability in the good state",
                       minimum=0, maximum=1),
    "loss_bad": Field("float", 1.0, "gilbert_elliott: loss probability in the bad state",
                      minimum=0, maximum=1),
    "parallel": Field("bool", True, "a node computes and communicates at the same time "
                      "(DADAO's model); false: one thing at a time"),
    "serial_sends": Field("bool", False, "a node sends one message at a time (its outgoing "
                          "messages queue behind each other)"),
    "busy_link": Field("str", "queue", "an activation of a link still carrying an exchange: "
                       "queue (waits its turn) or skip (dropped)", choices=("queue", "skip")),
    "message_gradients": Field("str", "timed", "methods whose messages need a gradient (the "
                               "Continuized method): timed (each end computes it, a compute "
                               "time of the node, before sending) or free (the idealised "
                               "model: no time)", choices=("timed", "free")),
    "gradient": Field("str", "idealised", "idealised: the gradient is taken when its "
                      "computation ends; stale: taken where it starts, applied when it ends",
                      choices=("idealised", "stale")),
    "barrier": Field("str", "global", "synchronous methods: every node waits for all (global) "
                     "or only for its neighbours (neighbourhood)", choices=BARRIERS),
}
