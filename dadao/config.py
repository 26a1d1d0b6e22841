"""Run configurations: the TOML schema, loading, overrides and validation.

A config has five sections (``SCHEMA``): ``[graph]``, ``[problem]``, ``[algorithm]``, ``[rates]``
and ``[run]``. Which keys a section takes depends on its selector (``graph.family``,
``problem.kind``, ``rates.kind``, ``algorithm.name``). Every error is a ``ConfigError``: one line
"FILE: section.key: what is wrong", with a "did you mean" suggestion for misspelt keys and choices.

``load(path, sets=(), seed=None)`` returns the validated config with every default written out:
the dict that ``config.toml`` of a run directory holds and that ``dadao.experiment`` builds from.
Paths inside a config are relative to the config file and are stored absolute once resolved.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import numbers
import os
import tomllib
from dataclasses import dataclass
from typing import Any

from dadao import engines, graphs
from dadao.input_files import read_text, regular_file
from dadao.rates import optimal
from dadao.algorithms import get_algorithm, names as algorithm_names
from dadao.errors import ConfigError

REQUIRED = object()
#: the value of a key whose default is computed (radius, p, log_every, ...); resolved on load or
#: when the experiment is built, and written out as the number it became.
AUTO = "auto"


@dataclass(frozen=True)
class Field:
    """One key: its type ("int", "float", "str", "bool", "path"), default and constraints."""

    type: str
    default: Any = REQUIRED
    doc: str = ""
    choices: tuple = ()
    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | None = None
    auto: bool = False

    def describe_type(self) -> str:
        words = {"int": "integer", "float": "number", "str": "string", "bool": "true or false",
                 "path": "file path"}[self.type]
        if self.choices:
            words = " | ".join(f'"{c}"' for c in self.choices)
        if self.minimum is not None:
            words += f" {'>' if self.exclusive_minimum else '>='} {self.minimum:g}"
        if self.maximum is not None:
            words += f" <= {self.maximum:g}"
        if self.auto:
            words += ' or "auto"'
        return words


def _f(type_, default=REQUIRED, doc="", **kw) -> Field:
    return Field(type_, default, doc, **kw)


SEED = _f("int", 0, "seed of this section's random draws (independent of run.seed)", minimum=0)

#: section -> (selector key or None, keys every variant takes, {selector value: extra keys})
SCHEMA: dict[str, tuple[str | None, dict[str, Field], dict[str, dict[str, Field]]]] = {
    "graph": (
        "family",
        {
            "family": _f("str", REQUIRED, "graph family, or \"file\" to read an edge list",
                         choices=graphs.FAMILIES + ("file",)),
            "n": _f("int", REQUIRED, "number of nodes (not with family = \"file\")", minimum=2),
            "time_varying": _f("int", 0, "K >= 2: a time-varying graph of K graphs of the "
                               "family (random families; graph k's seed spawned from graph.seed)",
                               minimum=0),
        },
        {
            "file": {"path": _f("path", REQUIRED, "edge list: one \"u v\" per line, # comments")},
            "grid_2d": {"rows": _f("int", AUTO, "lattice rows (auto: square)", minimum=1, auto=True),
                        "cols": _f("int", AUTO, "lattice columns", minimum=1, auto=True)},
            "torus_2d": {"rows": _f("int", AUTO, "lattice rows (auto: square)", minimum=3,
                                    auto=True),
                         "cols": _f("int", AUTO, "lattice columns", minimum=3, auto=True)},
            "erdos_renyi": {"p": _f("float", AUTO, "edge probability (auto: 2 ln(n)/n)",
                                    minimum=0, maximum=1, auto=True),
                            "seed": SEED},
            "random_geometric": {"radius": _f("float", AUTO,
                                              "connection radius (auto: sqrt(2 ln(n)/(pi n)))",
                                              minimum=0, auto=True),
                                 "seed": SEED},
        },
    ),
    "problem": (
        "kind",
        {
            "kind": _f("str", REQUIRED, "local objectives f_i",
                       choices=("quadratic", "least_squares", "logistic", "libsvm", "averaging")),
            "seed": SEED,
        },
        {
            "quadratic": {"dim": _f("int", 10, "dimension d", minimum=1),
                          "kappa": _f("float", 10.0, "condition number L/mu of the sum",
                                      minimum=1)},
            "least_squares": {
                "dim": _f("int", 10, "dimension d", minimum=1),
                "samples_per_node": _f("int", 100, "rows of A_i", minimum=1),
                "reg": _f("float", 0.0, "ridge term (reg/2)||x||^2 per node", minimum=0),
                "form": _f("str", AUTO, "oracle: Hessian (quadratic) or per-sample (rows)",
                           choices=("quadratic", "rows"), auto=True),
            },
            "logistic": {
                "dim": _f("int", 10, "dimension d", minimum=1),
                "samples_per_node": _f("int", 100, "samples per node", minimum=1),
                "reg": _f("float", AUTO, "ridge term (auto: 0.1 mean lambda_max/(4m))",
                          minimum=0, exclusive_minimum=True, auto=True),
            },
            "libsvm": {
                "path": _f("path", REQUIRED, "LIBSVM / svmlight data file"),
                "loss": _f("str", "logistic", "loss on the file's samples",
                           choices=("logistic", "least_squares")),
                "split": _f("str", "iid", "how samples are spread over nodes",
                            choices=("iid", "label")),
                "reg": _f("float", AUTO, "ridge term (auto: 0 for least squares, "
                          "0.1 lambda_max/(4M) for logistic)", minimum=0, auto=True),
            },
            "averaging": {"dim": _f("int", 10, "dimension d", minimum=1)},
        },
    ),
    "algorithm": (
        "name",
        {"name": _f("str", "dadao", "method; other keys override its constants",
                    choices=algorithm_names())},
        {},
    ),
    "rates": (
        "kind",
        {"kind": _f("str", "auto", "edge gossip rates (asynchronous methods); auto: the "
                    "method's own (DADAO: theory)",
                    choices=("auto", "theory", "uniform", "explicit", "sdp"))},
        {
            "auto": {},
            "theory": {},
            "uniform": {"total": _f("float", REQUIRED, "sum of the edge rates", minimum=0,
                                    exclusive_minimum=True)},
            "explicit": {"path": _f("path", REQUIRED, "CSV with header u,v,rate")},
            "sdp": {
                "method": _f("str", "sdp", "optimal rates: least total rate with chi_1 chi_2 "
                             "<= 1/2 (computed once, cached)", choices=optimal.METHODS),
                "solver": _f("str", AUTO, "cone solver (auto: clarabel, then scs with fixed "
                             "scaling, then the first-order method for sdp; a named solver is "
                             "strict)", choices=optimal.SOLVERS, auto=True),
                "node_cap": _f("float", AUTO, "cap on each node's total gossip rate (auto: "
                               "none)", minimum=0, exclusive_minimum=True, auto=True),
                "costs_path": _f("path", AUTO, "CSV with header u,v,cost, every edge once: "
                                 "seconds a link is busy per activation; minimise the total "
                                 "link busy time instead of the total rate (auto: none)",
                                 auto=True),
                "costs_from_timing": _f("bool", False, "the costs are each edge's mean exchange "
                                        "time under the [timing] section (latency + message "
                                        "bytes / bandwidth, the slower direction): the rates "
                                        "of least link busy time on that cluster"),
            },
        },
    ),
    "run": (
        None,
        {
            "t_max": _f("float", REQUIRED, "horizon, in expected gradient steps per node",
                        minimum=0, exclusive_minimum=True),
            "log_every": _f("float", AUTO, "sampling period of the metrics (auto: t_max/200)",
                            minimum=0, exclusive_minimum=True, auto=True),
            "seed": _f("int", 0, "seed of the event schedule (Poisson clocks)", minimum=0),
            # "engine": engine_field(), read from the registry when the schema is asked for
            "force": _f("bool", False, "run even when the rates break the algorithm's "
                        "condition (warns; divergence is watched)"),
        },
        {},
    ),
}

#: [graph] key only with time_varying >= 2
SWITCH_PERIOD = _f("float", AUTO, "how long each graph of a time-varying list is used (auto: "
                   "1 / max_k chi_1 of the unit-rate Laplacians, as the authors' code)",
                   minimum=0, exclusive_minimum=True, auto=True)

#: [graph] key written only when given, so that configs without it keep their hash (and their
#: run directories)
GRAPH_CONSTANTS = _f("str", "auto", "how chi_1, chi_2 and the spectra are computed: exact (a "
                     "factorisation), estimate (iterative solvers and certified bounds, "
                     f"docs/graph_constants.md) or auto (exact up to {graphs.EXACT_MAX_N:,} "
                     "nodes); closed forms at any size", choices=graphs.CONSTANTS_MODES)

#: the algorithm's own keys: any name in its ``tunables`` (a finite number)
ALGORITHM_CONSTANT = _f("float", REQUIRED, "override of one of the method's constants")


def _hint(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_value(source, field, spec: Field, value, base_dir):
    """The value, converted (int -> float, relative path -> absolute), or a ConfigError."""
    if spec.auto and value == AUTO:
        return AUTO
    kind = spec.type
    ok = {
        "int": isinstance(value, numbers.Integral) and not isinstance(value, bool),
        "float": isinstance(value, numbers.Real) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "path": isinstance(value, str) and value != "",
        "bool": isinstance(value, bool),
    }[kind]
    if not ok:
        raise ConfigError(f"expected {spec.describe_type()}, got {value!r} "
                          f"({type(value).__name__})", field=field, file=source)
    if kind == "float":
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"must be finite, got {value}", field=field, file=source)
    if spec.choices and value not in spec.choices:
        raise ConfigError(f"unknown choice {value!r}{_hint(value, spec.choices)} "
                          f"(allowed: {', '.join(map(str, spec.choices))})",
                          field=field, file=source)
    if spec.minimum is not None and (value < spec.minimum or
                                     (spec.exclusive_minimum and value == spec.minimum)):
        op = ">" if spec.exclusive_minimum else ">="
        raise ConfigError(f"must be {op} {spec.minimum:g}, got {value:g}", field=field, file=source)
    if spec.maximum is not None and value > spec.maximum:
        raise ConfigError(f"must be <= {spec.maximum:g}, got {value:g}", field=field, file=source)
    if kind == "path":
        path = os.path.normpath(os.path.join(base_dir, os.path.expanduser(value)))
        value = regular_file(path, "file", ConfigError, field=field, file=source)
    return value


def schema() -> dict:
    """``SCHEMA`` and the sections the registered engines declare (``Engine.config_section``).

    An engine's section is optional: it appears in a resolved config when the config has it or
    selects that engine (``run.engine``), with every default written out.
    """
    out = dict(SCHEMA)
    selector, common, variants = SCHEMA["run"]
    keys = list(common)
    fields = {**common, "engine": engine_field()}
    out["run"] = (selector, {k: fields[k] for k in keys[:3] + ["engine"] + keys[3:]}, variants)
    out.update(engine_sections())
    return out


def engine_field() -> Field:
    """``run.engine``: one of the registered engines (``dadao.engines.REGISTRY``)."""
    return _f("str", engines.DEFAULT, "engine: "
              + "; ".join(f"{e.name} ({e.summary})" for e in engines.REGISTRY),
              choices=engines.names())


def engine_sections() -> dict:
    """{section: (None, fields, {})} of every registered engine that declares a section."""
    out = {}
    for name in engines.names():
        engine = engines.get_engine(name)
        if engine.config_section:
            out[engine.config_section] = (None, dict(engine.config_fields), {})
    return out


def _engine_of_section(section: str) -> str | None:
    for name in engines.names():
        if engines.get_engine(name).config_section == section:
            return name
    return None


def section_fields(section: str, selector_value=None) -> dict[str, Field]:
    """The keys ``section`` takes when its selector has ``selector_value``."""
    _, common, variants = schema()[section]
    return {**common, **variants.get(selector_value, {})}


def validate(raw: dict, source: str = "config", base_dir: str = ".") -> dict:
    """Check ``raw`` (a parsed TOML document) against the schema; return it with defaults filled.

    Raises ConfigError for unknown sections or keys, wrong types, out-of-range values, unknown
    choices, missing required keys and missing files.
    """
    if not isinstance(raw, dict):
        raise ConfigError("expected a TOML document of sections", file=source)
    sections = schema()
    for section, body in raw.items():
        if section not in sections:
            raise ConfigError(f"unknown section{_hint(section, sections)} "
                              f"(sections: {', '.join(sections)})", field=f"[{section}]",
                              file=source)
        if not isinstance(body, dict):
            raise ConfigError("expected a [section] of keys", field=section, file=source)
    out = {section: _validate_section(section, dict(raw.get(section, {})), source, base_dir)
           for section in SCHEMA}
    for section in engine_sections():
        if section in raw or out["run"]["engine"] == _engine_of_section(section):
            out[section] = _validate_section(section, dict(raw.get(section, {})), source,
                                             base_dir)
    _resolve_auto(out)
    return out


def validate_section(section: str, body: dict, source: str = "config", base_dir: str = ".") -> dict:
    """One section of a config (``dadao.config.schema``), checked, with its defaults filled:
    for a section given from Python (``simulate(engine="timing", timing={...})``)."""
    return _validate_section(section, dict(body), source, base_dir)


def _validate_section(section: str, body: dict, source: str, base_dir: str) -> dict:
    """One section of a config, checked, with its defaults filled."""
    selector, common, _ = schema()[section]
    sel_spec = common.get(selector) if selector else None
    sel_value = body.get(selector, None if sel_spec is None else sel_spec.default)
    if selector and sel_value is REQUIRED:
        close = difflib.get_close_matches(selector, [str(k) for k in body], n=1)
        if close:  # "famly" for "family": name the key that is there
            raise ConfigError(f"unknown key{_hint(close[0], [selector])} (keys: "
                              f"{', '.join(section_fields(section))})",
                              field=f"{section}.{close[0]}", file=source)
        raise ConfigError("required key is missing", field=f"{section}.{selector}",
                          file=source)
    if selector:
        sel_value = _check_value(source, f"{section}.{selector}", sel_spec, sel_value, base_dir)
    fields = section_fields(section, sel_value)
    if section == "graph" and sel_value == "file":
        fields.pop("n")
        if "n" in body:
            raise ConfigError("not used with family = \"file\" (the file gives the nodes); "
                              "remove it", field="graph.n", file=source)
    if section == "graph" and isinstance(body.get("time_varying"), int) and \
            body["time_varying"] >= 2:
        fields["switch_period"] = SWITCH_PERIOD
    if section == "graph" and "constants" in body:
        fields["constants"] = GRAPH_CONSTANTS
    extra = {k: v for k, v in body.items() if k not in fields}
    if section == "algorithm":
        extra = _algorithm_constants(source, sel_value, extra)
    elif extra:
        key = next(iter(extra))
        what = f"{section}.{selector} = {sel_value!r}" if selector else f"[{section}]"
        raise ConfigError(f"unknown key for {what}{_hint(key, fields)} (keys: "
                          f"{', '.join(fields)})", field=f"{section}.{key}", file=source)
    resolved = {}
    for key, spec in fields.items():
        if key in body:
            resolved[key] = _check_value(source, f"{section}.{key}", spec, body[key], base_dir)
        elif spec.default is REQUIRED:
            when = f" (for {selector} = {sel_value!r})" if selector and key != selector else ""
            raise ConfigError(f"required key is missing{when}", field=f"{section}.{key}",
                              file=source)
        else:
            resolved[key] = spec.default
    resolved.update(extra)  # the algorithm's constant overrides, already checked
    if section == "graph":
        _check_time_varying(resolved.get("time_varying", 0), source)
    return resolved


def _check_time_varying(K: int, source: str) -> None:
    """graph.time_varying is a count of graphs, not a switch: 1 would silently be one static
    graph (TOML's ``1`` is how some write "true"), so only 0 and K >= 2 are meaningful."""
    if K == 1:
        raise ConfigError("must be 0 (one static graph) or the number K >= 2 of graphs of a "
                          "time-varying graph; 1 graph is a static graph: write 0",
                          field="graph.time_varying", file=source)


def _algorithm_constants(source, name, extra: dict) -> dict:
    """Keys of [algorithm] besides name: overrides of the method's tunable constants."""
    tunable = tuple(getattr(get_algorithm(name), "tunables", ()))
    checked = {}
    for key, value in extra.items():
        if key not in tunable:
            known = ", ".join(tunable) if tunable else "none"
            raise ConfigError(f"{name} has no such constant"
                              f"{_hint(key, tunable)} (tunable: {known})",
                              field=f"algorithm.{key}", file=source)
        checked[key] = _check_value(source, f"algorithm.{key}", ALGORITHM_CONSTANT, value, ".")
    return checked


def _resolve_auto(cfg: dict) -> None:
    """Replace the "auto" values that the config alone determines by the numbers they stand for."""
    run = cfg["run"]
    if run["log_every"] == AUTO:
        run["log_every"] = run["t_max"] / 200.0
    g = cfg["graph"]
    if g["family"] == "erdos_renyi" and g["p"] == AUTO:
        g["p"] = min(1.0, 2.0 * math.log(g["n"]) / g["n"])
    if g["family"] == "random_geometric" and g["radius"] == AUTO:
        g["radius"] = math.sqrt(2.0 * math.log(g["n"]) / (math.pi * g["n"]))
    if g["family"] in ("grid_2d", "torus_2d"):
        rows, cols = g["rows"], g["cols"]
        if rows == AUTO and cols == AUTO:
            side = math.isqrt(g["n"])
            if side * side == g["n"]:
                rows = cols = side
        elif rows == AUTO and g["n"] % cols == 0:
            rows = g["n"] // cols
        elif cols == AUTO and g["n"] % rows == 0:
            cols = g["n"] // rows
        g["rows"], g["cols"] = rows, cols  # still "auto" if impossible: make_graph says why


def parse_set(text: str) -> tuple[str, str, Any]:
    """``section.key=value`` of ``--set``; value parsed as TOML (bare words are strings)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"expected section.key=value, got {text!r}", file="--set")
    path, value = text.split("=", 1)
    section, key = path.strip().split(".", 1)
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return section, key, parsed


def read_toml(path: str) -> dict:
    """Parse a TOML file (UTF-8, with or without a byte order mark); a missing file, a folder, a
    named pipe or a syntax error is one ConfigError line."""
    text = read_text(path, "config file", ConfigError, file=path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=path) from None


def load(path: str, sets=(), seed: int | None = None) -> dict:
    """Read, override (``--set`` texts, then ``--seed``) and validate the config at ``path``.

    A mistake in a key that a ``--set`` (or ``--seed``) gave is named by that override: by the
    override alone when the file does not have the key ("--set graph.bogus: unknown key ..."),
    else by the file's key with the override that changed it ("c.toml: run.t_max: must be > 0,
    got -1 (given by --set run.t_max=-1)").
    """
    raw = read_toml(path)
    overridden = {}
    try:
        _apply_sets(raw, sets, path, overridden)
        if seed is not None:
            overridden["run.seed"] = ("--seed", f"--seed {seed}",
                                      "seed" in raw.get("run", {}))
            raw.setdefault("run", {})["seed"] = seed
        return validate(raw, source=path, base_dir=os.path.dirname(os.path.abspath(path)))
    except ConfigError as exc:
        if exc.field not in overridden:
            raise
        label, given, in_file = overridden[exc.field]
        if in_file:
            raise exc.located(hint=f" (given by {given})") from None
        out = exc.located(field=label)
        out.file = None
        raise out from None


def _apply_sets(raw: dict, sets, path: str, overridden: dict) -> None:
    """Write the ``--set`` texts into ``raw``; ``overridden`` maps each key they set to (the
    override that names it, its text, whether the file has the key): "graph.n" -> ("--set
    graph.n", "--set graph.n=32", True)."""
    sections = schema()
    for text in sets:
        section, key, value = parse_set(text)
        if section not in sections:
            raise ConfigError(f"unknown section{_hint(section, sections)} "
                              f"(sections: {', '.join(sections)})", field=section, file="--set")
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise ConfigError("expected a [section] of keys", field=section, file=path)
        name = f"{section}.{key}"
        # whether the file itself has the key (a second --set of it does not make it so)
        in_file = overridden[name][2] if name in overridden else key in raw[section]
        if key == sections[section][0] and raw[section].get(key) != value:
            # a new selector makes the old variant's keys meaningless: drop them
            keep = sections[section][1]
            raw[section] = {k: v for k, v in raw[section].items() if k in keep}
        raw[section][key] = value
        overridden[name] = (f"--set {name}", f"--set {text.strip()}", in_file)


def config_hash(cfg: dict) -> str:
    """Short digest of a resolved config (it contains run.seed): names run directories."""
    text = json.dumps(cfg, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def to_toml(cfg: dict) -> str:
    """The config as TOML text, sections in schema order."""
    import tomli_w

    ordered = {s: cfg[s] for s in schema() if s in cfg}
    return tomli_w.dumps(ordered)


def reference_markdown() -> str:
    """The config reference of README.md, generated from SCHEMA (tests keep the two equal)."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]

    def row(section, key, spec, when=""):
        default = "required" if spec.default is REQUIRED else f"`{json.dumps(spec.default)}`"
        where = f" ({when})" if when else ""
        lines.append(f"| `{section}.{key}` | {spec.describe_type()} | {default} | "
                     f"{spec.doc}{where} |")

    for section, (selector, common, variants) in schema().items():
        for key, spec in common.items():
            row(section, key, spec)
        for value, fields in variants.items():
            for key, spec in fields.items():
                row(section, key, spec, f"{selector} = \"{value}\"")
    row("graph", "switch_period", SWITCH_PERIOD, "time_varying >= 2")
    row("graph", "constants", GRAPH_CONSTANTS, "optional: left out of the resolved config "
        "when not given")
    lines.append("| `algorithm.<constant>` | number | the theory value | override of one of the "
                 "method's tunable constants (`dadao graph` and meta.json list them) |")
    return "\n".join(lines)
