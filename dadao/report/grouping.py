"""Groups of run directories and their labels: runs that differ only by their seeds are one group.

The keys compared are those of each run's resolved config (config.toml, flattened by
``dadao.collect.config_columns``: "graph.n", "rates.kind", ...). Paths (``*.path``,
``*_path``) are left out: the same data file reached from two folders is the same run. A key
that differs between the runs either names the groups or is a seed: ``run.seed`` always, and
``graph.seed`` / ``problem.seed`` when they vary with it (each run.seed value goes with one
value of theirs, as in a sweep that draws a new problem per seed).

A run directory without config.toml (written by hand, or by an older version) is compared on
what its meta.json says: algorithm.name, graph.family, graph.n and run.seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dadao import config, rundir
from dadao.collect import config_columns

SEED = "run.seed"
#: seeds of their own sections: seeds too when they change with run.seed
FOLLOWERS = ("graph.seed", "problem.seed")
#: short forms of the labels of common keys; any other key reads "key=value"
SHORT = {
    "algorithm.name": "{}",
    "rates.kind": "{} rates",
    "graph.family": "{}",
    "graph.n": "n={}",
    "problem.kind": "{}",
    "run.engine": "{} engine",
}


@dataclass
class Run:
    """One run directory: its trace, meta.json and flattened resolved config."""

    path: str
    trace: object
    meta: dict
    flat: dict


@dataclass
class Group:
    """Runs equal on every differing key but their seeds; ``values`` are those keys' values."""

    label: str
    values: dict
    runs: list = field(default_factory=list)

    @property
    def seeds(self) -> list:
        return [r.flat.get(SEED) for r in self.runs]


def read_run(path: str) -> Run:
    """The run directory at ``path`` (RunDirError naming it when unreadable); its config is
    config.toml as written (not validated again: a moved data file must not refuse it)."""
    trace, meta = rundir.read_run(path)
    cfg_path = os.path.join(path, rundir.CONFIG)
    if os.path.isfile(cfg_path):
        flat = config_columns(config.read_toml(cfg_path))
    else:
        flat = _flat_from_meta(meta)
    return Run(path, trace, meta, flat)


def _flat_from_meta(meta: dict) -> dict:
    graph = meta.get("graph") if isinstance(meta.get("graph"), dict) else {}
    algo = meta.get("algorithm") if isinstance(meta.get("algorithm"), dict) else {}
    return {"algorithm.name": algo.get("name"), "graph.family": graph.get("family"),
            "graph.n": graph.get("n"), SEED: meta.get("seed")}


def _is_path(key: str) -> bool:
    return key.endswith(".path") or key.endswith("_path")


def differing_keys(runs) -> list[str]:
    """The config keys whose values are not the same in every run (a key absent from a run
    counts as the value None), paths left out, in sorted order."""
    keys = set().union(*(r.flat for r in runs)) if runs else set()
    out = []
    for key in sorted(keys):
        if _is_path(key):
            continue
        values = {repr(r.flat.get(key)) for r in runs}
        if len(values) > 1:
            out.append(key)
    return out


def seed_keys(runs, differing) -> list[str]:
    """The differing keys that are seeds: run.seed, and each follower whose value is a
    function of run.seed (never two values for one run.seed)."""
    out = [SEED] if SEED in differing else []
    for key in FOLLOWERS:
        if key not in differing or SEED not in differing:
            continue
        seen = {}
        if all(seen.setdefault(repr(r.flat.get(SEED)), repr(r.flat.get(key)))
               == repr(r.flat.get(key)) for r in runs):
            out.append(key)
    return out


def label_of(values: dict, fallback: str) -> str:
    """"dadao, sdp rates" from {"algorithm.name": "dadao", "rates.kind": "sdp"} (keys a run's
    config lacks, None, left out); ``fallback`` when nothing is left (one group)."""
    parts = []
    for key, value in values.items():
        if value is None:  # a key this run's config does not have says nothing of it
            continue
        parts.append(SHORT[key].format(value) if key in SHORT else f"{key}={value}")
    return ", ".join(parts) or fallback


def group_runs(runs, fallback: str = "") -> tuple[list[Group], list[str], list[str]]:
    """(groups in order of first appearance, the keys that name them, the seed keys).

    ``fallback``: the label of the single group when nothing but seeds differs (default: the
    first run's "method, family n=N")."""
    from dadao.report.figures import label as meta_label

    runs = list(runs)
    differing = differing_keys(runs)
    seeds = seed_keys(runs, differing)
    naming = [k for k in differing if k not in seeds]
    groups: dict[tuple, Group] = {}
    for r in runs:
        values = {k: r.flat.get(k) for k in naming}
        key = tuple(repr(v) for v in values.values())
        if key not in groups:
            groups[key] = Group(label_of(values, fallback or meta_label(r.meta)), values)
        groups[key].runs.append(r)
    return list(groups.values()), naming, seeds
