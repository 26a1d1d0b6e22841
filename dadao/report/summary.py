"""What a report says, as plain data: sections of text, figures and tables, rendered alike by
``dadao.report.html`` and ``dadao.report.pdf``. Every number comes from the run directories
(meta.json, trace.csv, config.toml) and ``dadao.collect``'s rows; nothing is run again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dadao.collect import LEVELS, row_of
from dadao.report import bounds, figures
from dadao.trace import WALL_TIME


@dataclass
class Table:
    """A table of text cells; ``note``: one line under it."""

    header: list
    rows: list
    note: str = ""


@dataclass
class Item:
    """One piece of a section: kind "text" (``text``), "figure" (``figure``, ``text`` its
    caption) or "table" (``table``)."""

    kind: str
    text: str = ""
    figure: object = None
    table: Table | None = None


@dataclass
class Section:
    title: str
    items: list = field(default_factory=list)


def report_sections(groups, naming, seeds) -> list[Section]:
    """The sections of the report of ``groups`` (``dadao.report.grouping.group_runs``)."""
    runs = [r for g in groups for r in g.runs]
    return [_overview(groups, naming, seeds), _convergence(groups), _counts(groups),
            _bounds(groups), _graphs(groups), _provenance(runs)]


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _overview(groups, naming, seeds) -> Section:
    runs = sum(len(g.runs) for g in groups)
    s = Section("Runs and groups")
    s.items.append(Item("text", (
        f"{runs} run(s) in {len(groups)} group(s). Keys that differ between groups: "
        f"{', '.join(naming) or 'none'}; seed keys aggregated within a group: "
        f"{', '.join(seeds) or 'none'}.")))
    rows = [[g.label, str(len(g.runs)), ", ".join(_fmt(v) for v in g.seeds),
             ", ".join(sorted({str(r.meta.get('status')) for r in g.runs}))] for g in groups]
    s.items.append(Item("table", table=Table(["group", "runs", "run.seed", "status"], rows)))
    return s


def _convergence(groups) -> Section:
    s = Section("Convergence")
    s.items.append(Item("text", (
        "dist_to_opt of each run divided by its value at the start, log scale. Each line is "
        "the median over a group's seeds at each x; the band spans the 25% to 75% quantiles "
        "(no bootstrap). Against gradients and communications the seeds' counts differ: their "
        "log y is interpolated on a common grid. Dashed: each group's declared rate "
        "(meta.json theory.rate), y0 exp(-rate t), against time only.")))
    traces = [r.trace for g in groups for r in g.runs]
    xs = ["time", "gradients", "communications"]
    if any(WALL_TIME in t.columns for t in traces):  # the timing engine's runs, the others noted
        xs.append(WALL_TIME)
    for x in xs:
        fig, notes = figures.group_figure(groups, (x,), normalise=True, theory=(x == "time"))
        fig.set_size_inches(6.4, 4.2)
        caption = f"dist_to_opt / its start against {figures.AXES[x]}"
        if notes:
            caption += " (" + "; ".join(notes) + ")"
        s.items.append(Item("figure", caption, figure=fig))
    rows = []
    for g in groups:
        rate = figures.group_rate(g)
        rows.append([g.label, _fmt(rate), "-" if not rate else f"{math.log(10) / rate:.4g}"])
    s.items.append(Item("table", table=Table(
        ["group", "declared rate (per unit time)", "time per decade, ln(10)/rate"], rows,
        "theory.rate of meta.json: dist_to_opt <= C exp(-rate t); median over the seeds")))
    return s


def _spread(values) -> str:
    """"median [min, max]" of the values reached; how many reached when not all did."""
    got = [v for v in values if v is not None]
    if not got:
        return "not reached"
    text = f"{np.median(got):.4g} [{min(got):.4g}, {max(got):.4g}]"
    if len(got) < len(values):
        text += f" ({len(got)} of {len(values)} reached)"
    return text


def _counts(groups) -> Section:
    s = Section("Counts to reach an accuracy")
    header = ["group"]
    for name, _ in LEVELS:
        header += [f"gradients to {name}", f"communications to {name}"]
    rows = []
    for g in groups:
        # dadao.collect's row: the first sample with dist_to_opt <= level x its start
        cells = [row_of(r.path, r.trace, r.meta, {}) for r in g.runs]
        line = [g.label]
        for name, _ in LEVELS:
            for axis in ("gradients", "communications"):
                line.append(_spread([c[f"{axis}_to_{name}"] for c in cells]))
        rows.append(line)
    s.items.append(Item("table", table=Table(header, rows, (
        "first sample with dist_to_opt <= level x its start (dadao collect's columns); "
        "median [min, max] over the seeds; gradients of the whole network, communications in "
        "edge activations"))))
    return s


def _setting_of(run) -> tuple:
    g, p = run.meta.get("graph") or {}, run.meta.get("problem") or {}
    return (g.get("family"), g.get("n"), g.get("edges"), g.get("chi"), g.get("graphs") or 1,
            p.get("kind"), p.get("kappa"))


def _bounds(groups) -> Section:
    s = Section("Lower bounds")
    s.items.append(Item("text", (
        "Smooth, strongly convex decentralized optimization (kappa = L / mu, chi = "
        "lambda_max / lambda_2 of the graph's Laplacian):")))
    s.items.append(Item("table", table=Table(["bound on", "order", "reference"],
                                             [list(b) for b in bounds.BOUNDS])))
    rows = []
    settings = {}
    for g in groups:
        for r in g.runs:
            settings.setdefault(_setting_of(r), []).append(g.label)
    for (family, n, edges, chi, graphs, kind, kappa), labels in settings.items():
        if None in (n, edges, chi, kappa):
            continue
        tv = graphs > 1
        line = [f"{family} n={n}, {kind}", f"{kappa:.4g}", f"{chi:.4g}"]
        for name, eps in LEVELS:
            b = bounds.bound_values(n, edges, kappa, chi, eps, time_varying=tv)
            line.append(f"{b['gradients']:.4g} / {b['communications']:.4g}")
        rows.append(line)
    if rows:
        s.items.append(Item("table", table=Table(
            ["setting", "kappa", "chi"] + [f"gradients / communications, eps={name}"
                                          for name, _ in LEVELS], rows, bounds.NOTE)))
    return s


def _graph_key(run) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in run.flat.items() if k.startswith("graph.")))


def _graphs(groups) -> Section:
    from dadao.report.graph_figure import graph_figures

    s = Section("Graphs and rates")
    seen = {}
    for g in groups:
        for r in g.runs:
            seen.setdefault(_graph_key(r), []).append((g, r))
    for members in seen.values():
        first = members[0][1]
        meta_g = first.meta.get("graph") or {}
        title = f"{meta_g.get('family')} n={meta_g.get('n')}, |E|={_fmt(meta_g.get('edges'))}"
        for fig, note in graph_figures([(g.label, r) for g, r in members]):
            if fig is not None:
                s.items.append(Item("figure", f"{title}: {note}", figure=fig))
            else:
                s.items.append(Item("text", f"{title}: {note}"))
        rows, done = [], set()
        for grp, r in members:
            if grp.label in done:
                continue
            done.add(grp.label)
            rt = r.meta.get("rates") or {}
            rows.append([grp.label, _fmt(meta_g.get("chi")), _fmt(rt.get("kind")),
                         _fmt(rt.get("chi_1")), _fmt(rt.get("chi_2")), _fmt(rt.get("total")),
                         _fmt(rt.get("min")), _fmt(rt.get("max"))])
        s.items.append(Item("table", table=Table(
            ["group", "chi", "rates.kind", "chi_1", "chi_2", "total rate", "min", "max"], rows,
            "chi of the unweighted Laplacian; chi_1 = 1/lambda_2 and chi_2 = max_e R_e / 2 of "
            "the rate Laplacian; total: communications per unit time (first seed of each "
            "group)")))
    return s


def _provenance(runs) -> Section:
    s = Section("Provenance")
    rows = []
    for r in runs:
        m = r.meta
        command = m.get("command")
        rows.append([r.path, _fmt(m.get("status")), _fmt(m.get("config_hash")),
                     _fmt(m.get("host")), _fmt(m.get("started")),
                     " ".join(command) if isinstance(command, list) else _fmt(command)])
    s.items.append(Item("table", table=Table(
        ["run directory", "status", "config hash", "host", "started", "command"], rows)))
    versions = {}
    for r in runs:
        for k, v in (r.meta.get("versions") or {}).items():
            versions.setdefault(k, set()).add(str(v))
    vrows = [[k, ", ".join(sorted(v))] for k, v in sorted(versions.items())]
    if vrows:
        s.items.append(Item("table", table=Table(["package", "version(s)"], vrows,
                                                 "meta.json versions of every run")))
    return s
