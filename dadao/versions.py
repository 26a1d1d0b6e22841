"""Versions of Python, dadao, its event schedule (``dadao.events.SCHEDULE_VERSION``), its problem
data (``dadao.problems.streams.PROBLEM_DATA_VERSION``; which problem kinds each version changed:
``DATA_CHANGES`` there) and every requirement of dadao, for run metadata (one source).

The requirements are read from the installed package's metadata, so a dependency added to
pyproject.toml is reported without touching this file.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import re


@functools.lru_cache(maxsize=1)
def _versions() -> tuple:
    out = {"python": platform.python_version()}
    try:
        out["dadao"] = importlib.metadata.version("dadao")
        requires = importlib.metadata.requires("dadao") or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        from dadao import __version__

        out["dadao"] = __version__
        requires = []
    from dadao.events import SCHEDULE_VERSION  # the schedule's construction: a seed's events

    from dadao.problems.streams import PROBLEM_DATA_VERSION  # a seed's problem data

    out["schedule"] = str(SCHEDULE_VERSION)   # a version string, like the others
    out["problem_data"] = str(PROBLEM_DATA_VERSION)
    for req in requires:
        if "extra ==" in req:
            continue
        name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return tuple(out.items())


def versions() -> dict:
    """{"python": ..., "dadao": ..., "numpy": ..., ...}: read once per process."""
    return dict(_versions())
