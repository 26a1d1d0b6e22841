"""Registry of the event-driven algorithms, by the name used in configs (``[algorithm] name``)."""

from __future__ import annotations

import difflib
import importlib

from dadao.errors import UnknownAlgorithmError

#: name -> module defining ``ALGORITHM``; modules load on first use (each compiles numba code).
_MODULES = {
    "dadao": "dadao.algorithms.dadao",
    "continuized": "dadao.algorithms.continuized",
    "randomized_gossip": "dadao.algorithms.randomized_gossip",
    "accelerated_gossip": "dadao.algorithms.accelerated_gossip",
    "async_sgd": "dadao.algorithms.async_sgd",
    # synchronous methods (SyncAlgorithm; run in rounds by dadao.engines.rounds)
    "adom_plus": "dadao.algorithms.adom_plus",
    "adom_plus_mc": "dadao.algorithms.adom_plus:MULTI_CONSENSUS",
    "msda": "dadao.algorithms.msda",
    "opapc": "dadao.algorithms.opapc",
    "extra": "dadao.algorithms.extra",
    "diging": "dadao.algorithms.diging",
    "dgd": "dadao.algorithms.dgd",
}


def names() -> tuple[str, ...]:
    return tuple(sorted(_MODULES))


def get_algorithm(name: str):
    """The ``AsyncAlgorithm`` called ``name``; unknown names are refused with a suggestion."""
    if name not in _MODULES:
        close = difflib.get_close_matches(str(name), _MODULES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownAlgorithmError(
            f"unknown algorithm {name!r}{hint}; known: {', '.join(names())}")
    module, _, attribute = _MODULES[name].partition(":")  # "module:ATTRIBUTE" when not ALGORITHM
    return getattr(importlib.import_module(module), attribute or "ALGORITHM")
