"""Registry of the event-driven algorithms, by the name used in configs (``[algorithm] name``)."""

from __future__ import annotations

import difflib
import importlib

#: name -> module defining ``ALGORITHM``; modules load on first use (each compiles numba code).
_MODULES = {
    "dadao": "dadao.algorithms.dadao",
}


class UnknownAlgorithmError(ValueError):
    pass


def names() -> tuple[str, ...]:
    return tuple(sorted(_MODULES))


def get_algorithm(name: str):
    """The ``AsyncAlgorithm`` called ``name``; unknown names are refused with a suggestion."""
    if name not in _MODULES:
        close = difflib.get_close_matches(str(name), _MODULES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownAlgorithmError(
            f"unknown algorithm {name!r}{hint}; known: {', '.join(names())}")
    return importlib.import_module(_MODULES[name]).ALGORITHM
