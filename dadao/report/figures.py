"""Convergence figures: dist_to_opt (log scale) against time, gradients and communications.

Built on ``matplotlib.figure.Figure`` with the Agg canvas, never pyplot: no display, no global
state, safe in tests, on clusters and in threads.
"""

from __future__ import annotations

import os
import re

import numpy as np
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dadao.atomic import write_atomic
from dadao.trace import WALL_TIME

AXES = {
    "time": "time (expected gradient steps per node)",
    "gradients": "gradients (whole network)",
    "communications": "communications (edge activations)",
    "wall_time": "wall-clock time (seconds, timing model)",
}
#: the panels of a run's figure: seconds first for a timed run, the idealised time otherwise
PLAIN_AXES = ("time", "gradients", "communications")
TIMED_AXES = ("wall_time", "gradients", "communications")


def default_axes(traces) -> tuple[str, ...]:
    """The panels for these traces: TIMED_AXES when every one has a wall_time column."""
    traces = list(traces)
    if traces and all(WALL_TIME in t.columns for t in traces):
        return TIMED_AXES
    return PLAIN_AXES
METRIC = "dist_to_opt"
METRIC_LABEL = r"$\frac{1}{n}\sum_i \|x_i - x^\star\|^2$"


def label(meta: dict) -> str:
    """"dadao, cycle n=16" from a run's meta.json."""
    graph = meta.get("graph") or {}
    family = graph.get("family", "graph")
    name = (meta.get("algorithm") or {}).get("name", "?")
    text = f"{name}, {family} n={graph.get('n', '?')}"
    if meta.get("status") not in (None, "completed"):
        text += f" ({meta['status']})"
    return text


def convergence_figure(runs, xs=None, title: str | None = None) -> Figure:
    """One panel per x axis in ``xs`` (default ``default_axes``); ``runs`` is a sequence of
    (Trace, label)."""
    xs = default_axes(t for t, _ in runs) if xs is None else tuple(xs)
    fig = Figure(figsize=(4.2 * len(xs), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(xs), squeeze=False)[0]
    _draw_runs(axes, runs, xs)
    axes[0].set_ylabel(METRIC_LABEL)
    if len(runs) > 1 or runs and runs[0][1]:
        axes[-1].legend(fontsize="small", loc="upper right")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


def _draw_runs(axes, runs, xs) -> None:
    """dist_to_opt of each (Trace, label) of ``runs`` on a log y axis, one panel per x."""
    for ax, x in zip(axes, xs):
        for trace, name in runs:
            y = np.asarray(trace[METRIC], dtype=float)
            keep = np.isfinite(y) & (y > 0)
            ax.semilogy(np.asarray(trace[x])[keep], y[keep], label=name, linewidth=1.4)
        ax.set_xlabel(AXES[x])
        ax.grid(True, which="major", alpha=0.3)


#: a run figure's margins in inches (left, right, bottom, top) and the gap between its panels:
#: fixed, because the constrained layout lays the text out again on every save
RUN_MARGINS = (0.8, 0.15, 0.55, 0.4)
RUN_GAP = 0.6
#: the y label of a run figure: plain text (a mathtext label is parsed again on every save)
RUN_YLABEL = "dist_to_opt = (1/n) \u03a3 \u2016x_i \u2212 x*\u2016\u00b2"
_SUPERSCRIPTS = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075"
                                             "\u2076\u2077\u2078\u2079")


class _UnicodePowers(ticker.LogFormatterSciNotation):
    """matplotlib's log tick labels (the same ticks labelled) as plain text, the exponent in
    superscript digits, instead of mathtext, whose parsing is most of a small figure's cost; a
    label it cannot turn into text is left as mathtext."""

    def __call__(self, x, pos=None):
        text = super().__call__(x, pos)
        match = re.fullmatch(r"\$\\mathdefault\{(.*)\}\$", text)
        if match is None:
            return text
        body = match.group(1).replace("\\times", "\u00d7")
        body = re.sub(r"\^\{(-?\d+)\}", lambda m: m.group(1).translate(_SUPERSCRIPTS), body)
        return text if "\\" in body or "{" in body else body


def run_figure(trace, meta: dict) -> Figure:
    """The figure of one run (``default_axes``), made to be cheap, since every run draws one:
    a fixed layout and no mathtext, unlike ``convergence_figure``."""
    xs = default_axes([trace])
    width, height = 4.2 * len(xs), 3.6
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    left, right, bottom, top = RUN_MARGINS
    panel = (width - left - right - RUN_GAP * (len(xs) - 1)) / len(xs)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=RUN_GAP / panel)
    axes = fig.subplots(1, len(xs), squeeze=False)[0]
    _draw_runs(axes, [(trace, label(meta))], xs)
    for ax in axes:
        ax.yaxis.set_major_formatter(_UnicodePowers())
        ax.yaxis.set_minor_formatter(_UnicodePowers(labelOnlyBase=False))
    axes[0].set_ylabel(RUN_YLABEL)
    axes[-1].legend(fontsize="small", loc="upper right")
    fig.suptitle(_title(meta), fontsize="medium")
    return fig


METRICS = {
    "dist_to_opt": METRIC_LABEL,
    "suboptimality": r"$f(\bar x) - f^\star$",
    "consensus": r"$\frac{1}{n}\sum_i \|x_i - \bar x\|^2$",
}


def group_rate(group) -> float | None:
    """The declared decay rate (meta.json theory.rate, per unit time) of a group's runs: their
    median (seeds may draw problems of other constants); None when no run declares one."""
    rates = [((r.meta.get("theory") or {}).get("rate")) for r in group.runs]
    rates = [float(v) for v in rates if isinstance(v, (int, float)) and v > 0]
    return float(np.median(rates)) if rates else None


def group_figure(groups, xs=None, metric: str = METRIC, normalise: bool = False,
                 logx: bool = False, theory: bool = False,
                 title: str | None = None) -> tuple[Figure, list[str]]:
    """One panel per x axis in ``xs`` (default ``default_axes``), one legend entry per group
    (``dadao.report.grouping.Group``): the median over its runs and, with two runs or more, the
    band between the 25% and 75% quantiles. ``normalise``: each run's y divided by its start.
    ``theory``: each group's declared rate as a dashed line y0 exp(-rate t), against time only.
    A group whose runs lack an x column (wall_time: runs of other engines than the timing
    engine) is left out of that panel, keeping its colour in the others.
    Returns (the figure, notes: one line for each thing left out or interpolated)."""
    from dadao.report.aggregate import aggregate

    groups = list(groups)
    xs = default_axes(r.trace for g in groups for r in g.runs) if xs is None else tuple(xs)
    fig = Figure(figsize=(4.2 * len(xs), 3.9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(xs), squeeze=False)[0]
    notes, interpolated = [], set()
    banded = any(len(g.runs) > 1 for g in groups)
    for ax, x in zip(axes, xs):
        lines, missing = [], []
        for k, g in enumerate(groups):
            if not all(x in r.trace.columns for r in g.runs):
                missing.append(g.label or "the runs")
                continue
            curve = aggregate([r.trace for r in g.runs], x, metric, normalise)
            if curve is None:
                continue
            color = f"C{k % 10}"
            # x = 0 (the start) has no place on a log axis: leave it out rather than let
            # matplotlib clip it (which collapses the constrained layout)
            shown = curve.x > 0 if logx else slice(None)
            ax.plot(curve.x[shown], curve.median[shown], color=color, linewidth=1.4,
                    label=g.label + (f" ({curve.runs} runs)" if curve.runs > 1 else ""))
            if curve.runs > 1:
                ax.fill_between(curve.x[shown], curve.low[shown], curve.high[shown],
                                color=color, alpha=0.2, linewidth=0)
            if curve.interpolated:
                interpolated.add(x)
            lines.append((g, curve, color))
        if missing:
            notes.append(f"x = {x}: left out, no {x} column in trace.csv"
                         + (" (runs of the timing engine have one)" if x == WALL_TIME else "")
                         + ": " + ", ".join(missing))
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        ax.set_ylim(ax.get_ylim())  # the data's range: a theory line must not stretch it
        if theory and x == "time":
            for g, curve, color in lines:
                rate = group_rate(g)
                if rate is None:
                    notes.append(f"--theory: {g.label} declares no rate (theory.rate is "
                                 f"null): no line")
                    continue
                t = curve.x
                ax.plot(t, curve.median[0] * np.exp(-rate * (t - t[0])), color=color,
                        linestyle="--", linewidth=1.0)
        ax.set_xlabel(AXES[x])
        ax.grid(True, which="major", alpha=0.3)
    if theory and "time" not in xs:
        notes.append("--theory: declared rates are per unit time: drawn only against x = time")
    ylabel = METRICS[metric]
    axes[0].set_ylabel(f"{ylabel} / its start" if normalise else ylabel)
    if len(groups) > 1 or groups and groups[0].label:
        place_legend(fig, axes)
    caption = []
    if banded:
        caption.append("line: median over seeds; band: 25% to 75% quantiles")
    if interpolated:
        caption.append("runs interpolated in log y on a common grid of "
                       + ", ".join(sorted(interpolated)))
        notes.append(caption[-1])
    if theory and "time" in xs:
        caption.append("dashed: declared rate, y0 exp(-rate t)")
    if caption:
        fig.supxlabel("\n".join(caption), fontsize="small")  # one part a line: no clipping
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig, notes


#: a legend entry longer than this (characters) is wrapped, and such a legend goes below the
#: panels: inside one it would squeeze the axes to nothing
LEGEND_WIDTH = 48


def place_legend(fig: Figure, axes) -> None:
    """The legend of the first panel's lines: inside the last panel when its entries are short
    and few, else below the panels, each entry wrapped to LEGEND_WIDTH characters."""
    import textwrap

    handles, labels = axes[0].get_legend_handles_labels()
    if not handles:
        return
    if len(labels) <= 4 and max(len(label) for label in labels) <= LEGEND_WIDTH:
        axes[-1].legend(handles, labels, fontsize="small", loc="upper right")
        return
    wrapped = [textwrap.fill(label, 2 * LEGEND_WIDTH) for label in labels]
    fig.legend(handles, wrapped, fontsize="small", loc="outside lower center",
               ncols=min(len(axes), 2) if len(labels) > 1 else 1)


def save(fig: Figure, path: str, dpi: int = 150, metadata: dict | None = None) -> None:
    """Save atomically; the format follows the extension (.png, .pdf, .svg)."""
    import io

    ext = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    buf = io.BytesIO()
    fig.savefig(buf, format=ext, dpi=dpi, metadata=metadata)
    write_atomic(path, buf.getvalue())


def write_run_figures(trace, meta: dict, stem: str) -> None:
    """convergence.png and convergence.pdf of one run (``run_figure``); the PDF's fonts
    TrueType (Type 42) and no creation date, as the report's."""
    import matplotlib

    fig = run_figure(trace, meta)
    save(fig, f"{stem}.png")
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        save(fig, f"{stem}.pdf", metadata={"CreationDate": None})


def _title(meta: dict) -> str:
    problem = meta.get("problem") or {}
    parts = [label(meta)]
    if "kind" in problem:
        parts.append(f"{problem['kind']} d={problem.get('dim')}, kappa={problem.get('kappa', 0):.3g}")
    parts.append(f"seed {meta.get('seed')}")
    return "; ".join(parts)


def nothing_to_plot(trace, metric: str = METRIC) -> str:
    """Why ``trace`` gives no curve, in a few words ("has no rows"), or "" when it gives one: a
    point needs a finite, positive ``metric`` (log scale)."""
    if len(trace) == 0:
        return "has no rows"
    y = np.asarray(trace[metric], dtype=float)
    if not np.any(np.isfinite(y) & (y > 0)):
        return f"has no finite, positive {metric} (log scale)"
    return ""
