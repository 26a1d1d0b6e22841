"""The sweep file (docs/sweep.md): its sections, parsed and checked, before anything runs.

    [sweep]   base (a config path, relative to the sweep file), out, seeds, vary_data_seeds,
              figures
    [base]    instead of sweep.base: the config's sections, inline
    [[grid]]  axes "section.key" = [values] (a cartesian product) and zip = [{...}, ...] (rows
              of keys that vary together); several [[grid]] tables are a union

Every mistake is one ``ConfigError`` line naming the sweep file and the key ("s.toml: [[grid]] #2
graph.n: empty axis ..."). Whether an axis key is a config key, and whether its values are
valid, is the config's own check, made for each cell (``dadao.sweeps.cells``).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field

from dadao import config
from dadao.errors import ConfigError
from dadao.input_files import read_text, regular_file

#: the tables of a sweep file, and the keys of [sweep]
SECTIONS = ("sweep", "base", "grid")
SWEEP_KEYS = ("base", "out", "seeds", "vary_data_seeds", "figures")
#: the keys vary_data_seeds sets in every cell (to the cell's run.seed)
DATA_SEEDS = ("graph.seed", "problem.seed")
#: the folder of a sweep whose file names none: sweeps/<sweep file stem>
DEFAULT_ROOT = "sweeps"


@dataclass(frozen=True)
class Grid:
    """One [[grid]] table: ``axes`` [(key, values)] crossed, times its zipped ``rows`` (each a
    {key: value}; [{}] when it has none). ``index``: its place in the file, from 1."""

    index: int
    axes: tuple
    rows: tuple = ({},)


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep file. ``base``: the config file (None with an inline ``inline_base``);
    ``seeds``: the run.seed values (None: each cell's own); ``out``: the sweep's folder;
    ``figures``: whether each cell writes its convergence.png/.pdf (no part of a cell's config:
    a cell done with figures is done without)."""

    path: str
    out: str
    base: str | None = None
    inline_base: dict | None = None
    seeds: tuple | None = None
    vary_data_seeds: bool = False
    grids: tuple = field(default_factory=tuple)
    figures: bool = True


def _hint(word, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def read(path: str, out: str | None = None) -> SweepSpec:
    """The sweep file at ``path``, checked; ``out`` (``--out``) replaces its sweep.out."""
    text = read_text(path, "sweep file", ConfigError, file=path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=path) from None
    for name in raw:
        if name not in SECTIONS:
            raise ConfigError(f"unknown section{_hint(name, SECTIONS)} (a sweep file has "
                              f"[sweep], [base] and [[grid]] tables)", field=f"[{name}]",
                              file=path)
    head = raw.get("sweep", {})
    if not isinstance(head, dict):
        raise ConfigError("expected a [sweep] table", field="sweep", file=path)
    for key in head:
        if key not in SWEEP_KEYS:
            raise ConfigError(f"unknown key{_hint(key, SWEEP_KEYS)} (keys: "
                              f"{', '.join(SWEEP_KEYS)})", field=f"sweep.{key}", file=path)
    base, inline = _base(path, head, raw)
    vary, figures = (_boolean(path, head, key, default) for key, default in
                     (("vary_data_seeds", False), ("figures", True)))
    return SweepSpec(path=path, out=out or _out(path, head), base=base, inline_base=inline,
                     seeds=_seeds(path, head), vary_data_seeds=vary,
                     grids=_grids(path, raw.get("grid", []), vary), figures=figures)


def _boolean(path: str, head: dict, key: str, default: bool) -> bool:
    value = head.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"expected true or false, got {value!r}", field=f"sweep.{key}",
                          file=path)
    return value


def _base(path: str, head: dict, raw: dict):
    """(config path, None) for sweep.base, (None, sections) for an inline [base]."""
    if "base" in head and "base" in raw:
        raise ConfigError("both sweep.base and a [base] table: give one of them",
                          field="sweep.base", file=path)
    if "base" in raw:
        if not isinstance(raw["base"], dict):
            raise ConfigError("expected a [base] table of config sections", field="base",
                              file=path)
        return None, raw["base"]
    if "base" not in head:
        raise ConfigError("required key is missing: the config every cell starts from (or an "
                          "inline [base] table)", field="sweep.base", file=path)
    name = head["base"]
    if not isinstance(name, str) or not name:
        raise ConfigError(f"expected a config file path, got {name!r}", field="sweep.base",
                          file=path)
    # relative to the sweep file, as a config's own paths are relative to the config
    resolved = os.path.join(os.path.dirname(path), os.path.expanduser(name))
    return regular_file(resolved, "config file", ConfigError, field="sweep.base",
                        file=path), None


def _out(path: str, head: dict) -> str:
    out = head.get("out")
    if out is None:
        stem = os.path.splitext(os.path.basename(path))[0]
        return os.path.join(DEFAULT_ROOT, stem)
    if not isinstance(out, str) or not out:
        raise ConfigError(f"expected a folder path, got {out!r}", field="sweep.out", file=path)
    return os.path.expanduser(out)


def _seeds(path: str, head: dict):
    if "seeds" not in head:
        return None
    seeds = head["seeds"]
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(f"expected a non-empty list of seeds like [0, 1, 2], got {seeds!r}",
                          field="sweep.seeds", file=path)
    for seed in seeds:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ConfigError(f"expected integers >= 0, got {seed!r}", field="sweep.seeds",
                              file=path)
    if len(set(seeds)) < len(seeds):
        again = next(s for s in seeds if seeds.count(s) > 1)
        raise ConfigError(f"seed {again} is listed twice", field="sweep.seeds", file=path)
    return tuple(seeds)


def _flat(table: dict, prefix: str = "") -> dict:
    """{"algorithm": {"name": x}} (TOML's bare dotted keys) -> {"algorithm.name": x}."""
    out = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out


def _grids(path: str, grids, vary: bool) -> tuple:
    if isinstance(grids, dict):
        raise ConfigError("expected [[grid]] tables (an array of tables), got a [grid] table: "
                          "write [[grid]]", field="grid", file=path)
    if not isinstance(grids, list) or not all(isinstance(g, dict) for g in grids):
        raise ConfigError("expected [[grid]] tables", field="grid", file=path)
    return tuple(_grid(path, index, table, vary) for index, table in enumerate(grids, 1))


def _grid(path: str, index: int, table: dict, vary: bool) -> Grid:
    where = f"[[grid]] #{index}"
    zipped = table.get("zip")
    axes = _flat({k: v for k, v in table.items() if k != "zip"})
    if not axes and zipped is None:
        raise ConfigError("no axis: give \"section.key\" = [values] or zip = [{...}, ...]",
                          field=where, file=path)
    for key, values in axes.items():
        _check_key(path, f"{where} {key}", key, vary)
        if not isinstance(values, list):
            raise ConfigError(f"expected a list of values, got {values!r} (write "
                              f"[{literal(values)}] for one value)", field=f"{where} {key}",
                              file=path)
        if not values:
            raise ConfigError("empty axis: give at least one value", field=f"{where} {key}",
                              file=path)
        seen = []
        for value in values:
            _check_value(path, f"{where} {key}", value)
            if _same(value) in seen:
                raise ConfigError(f"value {literal(value)} is listed twice (each cell runs "
                                  f"once)", field=f"{where} {key}", file=path)
            seen.append(_same(value))
    rows = ({},) if zipped is None else _rows(path, where, zipped, axes, vary)
    return Grid(index, tuple(axes.items()), rows)


def _rows(path: str, where: str, zipped, axes: dict, vary: bool) -> tuple:
    if not isinstance(zipped, list) or not zipped or \
            not all(isinstance(row, dict) for row in zipped):
        raise ConfigError("expected a non-empty list of tables of keys that vary together, "
                          "like zip = [{\"graph.family\" = \"cycle\", \"graph.n\" = 16}, ...]",
                          field=f"{where} zip", file=path)
    rows = []
    for number, row in enumerate(zipped, 1):
        row = _flat(row)
        if not row:
            raise ConfigError(f"row {number} is empty", field=f"{where} zip", file=path)
        for key, value in row.items():
            _check_key(path, f"{where} zip row {number} {key}", key, vary)
            if key in axes:
                raise ConfigError("is both an axis and a zipped key of this grid: keep one",
                                  field=f"{where} zip row {number} {key}", file=path)
            _check_value(path, f"{where} zip row {number} {key}", value)
        if row in rows:
            raise ConfigError(f"row {number} repeats row {rows.index(row) + 1}",
                              field=f"{where} zip", file=path)
        rows.append(row)
    return tuple(rows)


def _check_key(path: str, where: str, key: str, vary: bool) -> None:
    section, dot, name = key.partition(".")
    if not dot or not name or "." in name:
        raise ConfigError("expected a config key section.key (quoted: \"graph.n\" = [8, 16])",
                          field=where, file=path)
    sections = config.schema()
    if section not in sections:
        raise ConfigError(f"unknown config section {section!r}{_hint(section, sections)} "
                          f"(sections: {', '.join(sections)})", field=where, file=path)
    if key == "run.seed":
        raise ConfigError("the seeds of a sweep are [sweep] seeds = [...], not an axis",
                          field=where, file=path)
    if vary and key in DATA_SEEDS:
        raise ConfigError("vary_data_seeds = true sets it to each cell's run.seed: remove "
                          "this axis or vary_data_seeds", field=where, file=path)


def _check_value(path: str, where: str, value) -> None:
    if isinstance(value, (list, dict)) or not isinstance(value, (str, int, float, bool)):
        raise ConfigError(f"expected a string, number or boolean value, got {value!r}",
                          field=where, file=path)


def _same(value):
    """What makes two axis values the same (TOML's true is not 1)."""
    return (isinstance(value, bool), value)


def literal(value) -> str:
    """A value as the TOML text that ``--set`` reads back as the same value."""
    import tomli_w

    return tomli_w.dumps({"v": value})[len("v = "):].strip()
