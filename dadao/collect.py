"""`dadao collect`: one flat table of many run directories, a row per run.

A run directory is a folder holding meta.json, config.toml and trace.csv (docs/run_directory.md).
``find_runs`` looks for them under the folders it is given, at any depth (a sweep's folder, a
runs/ folder, or one run directory itself); ``table`` turns them into rows and columns;
``write_csv`` and ``write_json`` write the table atomically. docs/collect.md lists every column.

The table is a plain file that any tool reads without dadao: CSV (RFC 4180, the csv module),
floats as ``repr`` (they read back bit for bit), an empty cell where a run has no value; or a
JSON array of objects with the same keys.

A folder with a meta.json that cannot be read as a run (invalid JSON, no trace.csv or
config.toml) is skipped with one warning (``DadaoWarning``) naming it: one broken folder in a
sweep of hundreds must not hide the others. Unfinished runs (running, interrupted, failed,
diverged) are rows like the others, with their status.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import warnings

from dadao import config, rundir
from dadao.atomic import write_atomic
from dadao.errors import ConfigError, DadaoWarning, RunDirError, UsageError
from dadao.trace import WALL_TIME, Trace, events_of

#: the levels of ``*_to_LEVEL``: the first sample with dist_to_opt <= level x its value at t = 0
LEVELS = (("1e-4", 1e-4), ("1e-6", 1e-6), ("1e-8", 1e-8))
#: the axes of ``*_to_LEVEL``, each a column of trace.csv
AXES = ("gradients", "communications", "time")
METRICS = ("dist_to_opt", "suboptimality", "consensus")
#: the meta.json provenance fields copied as they are
PROVENANCE = ("config_hash", "host", "started", "finished")
#: versions listed first; the others follow in alphabetical order
FIRST_VERSIONS = ("python", "dadao")
#: the output formats, by the extension of ``-o``
FORMATS = (".csv", ".json")


# --- finding the runs ------------------------------------------------------------------------

def find_runs(dirs) -> list[str]:
    """Every folder holding a meta.json at or under the folders ``dirs`` (a run directory, or
    a folder of them at any depth), each once, in sorted order; RunDirError naming a DIR that
    is not a folder. A folder with meta.json is not searched further: a run directory holds no
    other run."""
    found = {}
    for top in dirs:
        if not os.path.exists(top):
            raise RunDirError("no such folder", file=top)
        if not os.path.isdir(top):
            raise RunDirError("not a folder (give run directories or folders holding them)",
                              file=top)
        for folder, subdirs, names in os.walk(top):
            if rundir.META in names or rundir.META in subdirs:
                subdirs[:] = []
                # the same run reached through two arguments (runs runs/a) is one row
                found.setdefault(os.path.realpath(folder), folder)
            subdirs.sort()
    return sorted(found.values(), key=os.path.relpath)


def read_runs(paths) -> list[tuple[str, Trace, dict, dict]]:
    """(path, trace, meta, config) of each run directory of ``paths`` that can be read; each
    other one is one warning, naming the folder and what is wrong."""
    out = []
    for path in paths:
        try:
            trace, meta = rundir.read_run(path)
            cfg_path = os.path.join(path, rundir.CONFIG)
            if not os.path.isfile(cfg_path):
                raise RunDirError(f"no {rundir.CONFIG}", file=path)
            # the resolved config as written, not config.load: validating it again would refuse
            # a run whose data file (graph.path, rates.path) has moved since it ran
            cfg = config.read_toml(cfg_path)
        except (RunDirError, ConfigError) as exc:
            warnings.warn(f"{exc}; skipped", DadaoWarning, stacklevel=2)
            continue
        out.append((path, trace, meta, cfg))
    return out


# --- the table -------------------------------------------------------------------------------

def config_columns(cfg: dict) -> dict:
    """{"section.key": value} of a resolved config; a table inside a section adds its keys
    as "section.table.key"."""
    out = {}

    def flatten(prefix, body):
        for key, value in body.items():
            if isinstance(value, dict):
                flatten(f"{prefix}{key}.", value)
            else:
                out[f"{prefix}{key}"] = value

    for section, body in cfg.items():
        if isinstance(body, dict):
            flatten(f"{section}.", body)
        else:
            out[section] = body
    return out


def _config_order(column: str) -> tuple:
    """Sort key of a config column: its section in the config's section order (sections no
    longer in the schema after them, alphabetically), then the key."""
    order = list(config.schema())
    section, _, key = column.partition(".")
    return (order.index(section) if section in order else len(order), section, key)


def _run_record(meta: dict) -> dict:
    """meta's ``run`` record: what the engine measured; {} while running (null) or absent."""
    run = meta.get("run")
    return run if isinstance(run, dict) else {}


def row_of(path: str, trace: Trace, meta: dict, cfg: dict) -> dict:
    """One run's row, {column: value}; None where the run has no value."""
    run = _run_record(meta)
    events = None  # no run record yet (running, failed before its end)
    if run:
        try:
            events = events_of(meta)
        except (KeyError, TypeError):  # a record of another version, without the counts
            pass
    has_rows = len(trace) > 0
    last = {c: float(trace[c][-1]) for c in trace.columns} if has_rows else {}
    row = {"path": os.path.relpath(path), **config_columns(cfg),
           "status": meta.get("status"), "events": events,
           "wall_time_s": run.get("wall_time_s"), "compile_time_s": run.get("compile_time_s"),
           # the counts at the run's end (meta), or, for a run that has none, the trace so far
           "gradients": run.get("gradients", last.get("gradients")),
           "communications": run.get("communications", last.get("communications"))}
    axes = AXES + ((WALL_TIME,) if WALL_TIME in trace.columns else ())
    for name, level in LEVELS:
        for axis in axes:
            value = trace.first_time_below("dist_to_opt", level, x=axis) if has_rows else math.inf
            row[f"{axis}_to_{name}"] = value if value != math.inf else None
    for metric in METRICS:
        row[f"final_{metric}"] = last.get(metric)
    for key in PROVENANCE:
        row[key] = meta.get(key)
    versions = meta.get("versions")
    for key, value in (versions.items() if isinstance(versions, dict) else ()):
        row[f"versions.{key}"] = value
    return row


def columns_of(rows: list[dict], config_keys) -> list[str]:
    """The columns of ``rows``, in their fixed order: path, the config keys ``config_keys``
    (section order, then key), the run's results, provenance, versions."""
    present = set().union(*rows) if rows else set()
    fixed = ["status", "events", "wall_time_s", "compile_time_s", "gradients", "communications"]
    for name, _ in LEVELS:
        fixed += [f"{axis}_to_{name}" for axis in AXES + (WALL_TIME,)]
    fixed += [f"final_{m}" for m in METRICS] + list(PROVENANCE)
    # a wall_time_to_ column only when some run has a wall_time (the timing engine's runs)
    fixed = [c for c in fixed if c in present or not c.startswith(WALL_TIME)]
    first = [f"versions.{k}" for k in FIRST_VERSIONS if f"versions.{k}" in present]
    versions = first + sorted(c for c in present if c.startswith("versions.") and c not in first)
    return ["path"] + sorted(set(config_keys), key=_config_order) + fixed + versions


def table(dirs) -> tuple[list[str], list[dict]]:
    """(columns, rows) of the run directories found under ``dirs``, rows sorted by path;
    RunDirError when there is none."""
    runs = read_runs(find_runs(dirs))
    if not runs:
        raise RunDirError("no run directory (a folder with meta.json, config.toml and "
                          "trace.csv) found", file=", ".join(dirs))
    rows = [row_of(path, trace, meta, cfg) for path, trace, meta, cfg in runs]
    config_keys = {key for *_, cfg in runs for key in config_columns(cfg)}
    return columns_of(rows, config_keys), rows


# --- writing ---------------------------------------------------------------------------------

def check_format(path: str) -> str:
    """The extension of ``path`` (.csv or .json); UsageError naming ``-o`` otherwise."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise UsageError("the extension must be .csv or .json", field=f"-o {path}")
    return ext


def cell(value) -> str:
    """A value as a CSV cell: empty for None, ``repr`` for a float (reads back bit for bit),
    true/false for a bool (the config's spelling), JSON for a list or a table."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(rundir.strict_json(value), separators=(",", ":"))
    return str(value)


def csv_text(columns, rows) -> str:
    """The table as CSV text (RFC 4180: the csv module, \\r\\n line ends), header first."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return buf.getvalue()


def json_text(columns, rows) -> str:
    """The table as a JSON array of objects, one per row with every column as a key (null
    where empty), in column order; strict JSON: nan is null, inf is "inf" (as in meta.json)."""
    records = [{c: rundir.strict_json(row.get(c)) for c in columns} for row in rows]
    return json.dumps(records, indent=1, allow_nan=False) + "\n"


def write(path: str, columns, rows) -> None:
    """The table to ``path``, atomically, in the format of its extension."""
    text = (json_text if check_format(path) == ".json" else csv_text)(columns, rows)
    write_atomic(path, text)
