"""Engines: what runs a ``dadao.setup.Setup``. ``REGISTRY`` is the only list of engine names.

Config choices (``run.engine``), ``dadao run --engine``, ``dadao.simulate(engine=...)`` and the
docs all read it. An engine is one module defining ``ENGINE``, an ``dadao.engines.base.Engine``,
plus one line here; the module may declare a config section of its own (``Engine.config_section``
and ``Engine.config_fields``), which ``dadao.config`` then validates and documents like the rest.
docs/design.md shows how to add one.

Modules are imported on first use: looking up a name never loads an engine.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass

from dadao.errors import RunArgumentError


@dataclass(frozen=True)
class EngineEntry:
    """One registered engine: its name, the module that defines ``ENGINE``, one line of doc."""

    name: str
    module: str
    summary: str


REGISTRY: tuple[EngineEntry, ...] = (
    EngineEntry("inprocess", "dadao.engines.inprocess",
                "one process: the compiled event loop, or rounds for synchronous methods"),
    EngineEntry("mpi", "dadao.engines.mpi",
                "across the ranks of `mpiexec -n P dadao run ...`; the same results"),
    EngineEntry("timing", "dadao.engines.timing",
                "one process, on the timing model of a cluster ([timing]): wall_time in "
                "seconds"),
)

DEFAULT = "inprocess"


def names() -> tuple[str, ...]:
    """The registered engine names, in registry order."""
    return tuple(entry.name for entry in REGISTRY)


def check_name(name) -> str:
    """``name`` if it is registered, else RunArgumentError naming ``engine``."""
    if name not in names():
        close = difflib.get_close_matches(str(name), names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RunArgumentError(f"unknown engine {name!r}{hint}; choose one of "
                               f"{', '.join(names())}", field="engine")
    return name


def get_engine(name: str):
    """The ``Engine`` registered as ``name`` (its module is imported on first use)."""
    entry = REGISTRY[names().index(check_name(name))]
    return importlib.import_module(entry.module).ENGINE
