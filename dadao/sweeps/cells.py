"""The cells of a sweep: every (grid values, seed), its overrides, its resolved config, its folder.

A cell's config is the base with the cell's values applied as ``--set`` overrides
(``dadao.config.load``: the same checks and the same rules, a new selector dropping the old
variant's keys), its seed as ``--seed``, and with vary_data_seeds graph.seed (for the families
that take one) and problem.seed set to that seed. Its folder is
``<out>/<readable values>-<config_hash of the resolved config>``: the same cell always maps to
the same folder, and a cell whose config changed maps to a new one.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import tempfile
from dataclasses import dataclass

from dadao import config, rundir
from dadao.errors import ConfigError, DadaoError
from dadao.sweeps.spec import Grid, SweepSpec, literal

#: longest readable part of a folder name, in characters (the hash keeps it unique)
READABLE_CHARS = 60
#: what stands for an inline [base] in error lines
INLINE = "[base]"


@dataclass(frozen=True)
class Cell:
    """One run of a sweep. ``values``: {axis key: value} of its grid; ``seed``: its run.seed;
    ``sets`` and ``run_seed``: what ``dadao.runs.run_config`` gets (``sets=``, ``seed=``);
    ``key``: its folder's name, ``path`` the folder; ``engine``: its run.engine."""

    key: str
    path: str
    grid: int
    values: dict
    seed: int
    sets: tuple
    run_seed: int | None
    engine: str = "inprocess"

    def describe(self) -> str:
        """"algorithm.name = "dgd", graph.n = 8, seed 1"."""
        return ", ".join([f"{k} = {literal(v)}" for k, v in self.values.items()]
                         + [f"seed {self.seed}"])


@contextlib.contextmanager
def base_file(spec: SweepSpec):
    """The path of the sweep's base config: sweep.base, or an inline [base] written to a
    temporary file (its paths made absolute from the sweep file's folder) for the sweep's
    duration."""
    if spec.inline_base is None:
        yield spec.base
        return
    import tomli_w

    here = os.path.dirname(os.path.abspath(spec.path))
    body = {section: ({k: absolute(f"{section}.{k}", v, here) for k, v in keys.items()}
                      if isinstance(keys, dict) else keys)
            for section, keys in spec.inline_base.items()}
    try:
        text = tomli_w.dumps(body)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot be written as a config: {exc}", field="[base]",
                          file=spec.path) from None
    with tempfile.TemporaryDirectory(prefix="dadao-sweep-") as folder:
        path = os.path.join(folder, "base.toml")
        with open(path, "w") as fh:
            fh.write(text)
        yield path


def _path_keys() -> set:
    """Every "section.key" whose value is a file path, in any variant of its section."""
    keys = set()
    for section, (_, common, variants) in config.schema().items():
        for fields in (common, *variants.values()):
            keys |= {f"{section}.{k}" for k, spec in fields.items() if spec.type == "path"}
    return keys


def absolute(key: str, value, folder: str):
    """A path value of the sweep file, relative to ``folder`` (the sweep file's), made absolute:
    the base config would otherwise read it relative to itself."""
    if isinstance(value, str) and value and value != config.AUTO and key in _path_keys():
        return os.path.normpath(os.path.join(folder, os.path.expanduser(value)))
    return value


def expand(spec: SweepSpec, base: str) -> list[Cell]:
    """The cells of the sweep, in file order, each once; a ConfigError line for a cell whose
    config is invalid, or for two cells of one grid that are the same run."""
    cells, known = [], set()
    for grid in spec.grids or (Grid(0, ()),):
        keys = [key for key, _ in grid.axes]
        in_grid = {}
        for row in grid.rows:
            for combo in itertools.product(*[values for _, values in grid.axes]):
                values = {**dict(zip(keys, combo)), **row}
                for seed in spec.seeds or (None,):
                    cell, digest = _cell(spec, base, grid.index, values, seed)
                    if digest in in_grid:
                        raise ConfigError(f"cells {in_grid[digest].describe()} and "
                                          f"{cell.describe()} are the same run (the same "
                                          f"resolved config): remove one",
                                          field=f"[[grid]] #{grid.index}", file=spec.path)
                    in_grid[digest] = cell
                    if digest not in known:  # grids are a union: a cell of two runs once
                        known.add(digest)
                        cells.append(cell)
    return cells


def _cell(spec: SweepSpec, base: str, grid: int, values: dict, seed: int | None):
    here = os.path.dirname(os.path.abspath(spec.path))
    sets = [f"{k}={literal(absolute(k, v, here))}" for k, v in values.items()]
    cfg = _load(spec, base, sets, seed, values)
    if spec.vary_data_seeds:
        data = cfg["run"]["seed"]
        sets.append(f"problem.seed={data}")
        if "seed" in cfg["graph"]:  # the random families; a cycle has no seed to vary
            sets.append(f"graph.seed={data}")
        cfg = _load(spec, base, sets, seed, values)
    digest = config.config_hash(cfg)
    key = f"{readable(values, cfg['run']['seed'])}-{digest}"
    return Cell(key, os.path.join(spec.out, key), grid, dict(values), cfg["run"]["seed"],
                tuple(sets), seed, cfg["run"]["engine"]), digest


def _load(spec: SweepSpec, base: str, sets: list, seed, values: dict) -> dict:
    try:
        return config.load(base, sets=sets, seed=seed)
    except DadaoError as exc:
        if spec.inline_base is not None and exc.file == base:
            exc = exc.located(file=INLINE)
        if exc.field and exc.field.startswith("--set "):  # the override is the cell's value
            exc = exc.located(field=exc.field[len("--set "):])
        where = ", ".join([f"{k} = {literal(v)}" for k, v in values.items()]
                          + ([f"seed {seed}"] if seed is not None else []))
        raise ConfigError(str(exc), field=f"cell {where}" if where else "cell",
                          file=spec.path) from None


def readable(values: dict, seed: int) -> str:
    """The readable part of a cell's folder name: "dadao-n16-seed0"."""
    parts = []
    for key, value in values.items():
        name = key.split(".", 1)[1]
        if isinstance(value, str):
            parts.append(os.path.splitext(os.path.basename(value))[0] or value)
        elif isinstance(value, bool):
            parts.append(f"{name}{str(value).lower()}")
        elif isinstance(value, float):
            parts.append(f"{name}{value:g}")
        else:
            parts.append(f"{name}{value}")
    parts.append(f"seed{seed}")
    text = re.sub(r"[^A-Za-z0-9_.+-]+", "_", "-".join(parts)).lstrip(".")
    return text[:READABLE_CHARS]


def state(path: str) -> tuple[str | None, bool]:
    """(status of the run in the folder ``path``: None when there is none, "unreadable" when its
    meta.json cannot be read, "stale" when it completed with another event schedule version
    or problem data version (``dadao.runs.same_draws``: it runs again); whether it holds a
    checkpoint)."""
    checkpoint = os.path.exists(os.path.join(path, rundir.CHECKPOINT))
    if not os.path.exists(os.path.join(path, rundir.META)):
        return None, checkpoint
    try:
        meta = rundir.read_meta(path)
    except DadaoError:
        return "unreadable", checkpoint
    from dadao.runs import same_draws

    if meta.get("status") == "completed" and not same_draws(meta):
        return "stale", checkpoint  # other events or other data: it runs again
    return meta.get("status"), checkpoint


def not_in_sweep(out: str, cells: list[Cell]) -> list[str]:
    """The run directories in ``out`` that are no cell of this sweep (an axis changed): left
    alone, listed in the summary."""
    if not os.path.isdir(out):
        return []
    mine = {cell.key for cell in cells}
    return sorted(name for name in os.listdir(out)
                  if name not in mine and os.path.isfile(os.path.join(out, name, rundir.META)))
