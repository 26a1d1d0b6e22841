"""Convergence figures: dist_to_opt (log scale) against time, gradients and communications.

Built on ``matplotlib.figure.Figure`` with the Agg canvas, never pyplot: no display, no global
state, safe in tests, on clusters and in threads.
"""

from __future__ import annotations

import os

import numpy as np
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
    for ax, x in zip(axes, xs):
        for trace, name in runs:
            y = np.asarray(trace[METRIC], dtype=float)
            keep = np.isfinite(y) & (y > 0)
            ax.semilogy(np.asarray(trace[x])[keep], y[keep], label=name, linewidth=1.4)
        ax.set_xlabel(AXES[x])
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel(METRIC_LABEL)
    if len(runs) > 1 or runs and runs[0][1]:
        axes[-1].legend(fontsize="small", loc="upper right")
    if title:
        fig.suptitle(title, fontsize="medium")
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
        lines = []
        for k, g in enumerate(groups):
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


def save(fig: Figure, path: str, dpi: int = 150) -> None:
    """Save atomically; the format follows the extension (.png, .pdf, .svg)."""
    import io

    ext = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    buf = io.BytesIO()
    fig.savefig(buf, format=ext, dpi=dpi)
    write_atomic(path, buf.getvalue())


def write_run_figures(trace, meta: dict, stem: str) -> None:
    """convergence.png and convergence.pdf of one run (the three panels of
    ``default_axes``)."""
    fig = convergence_figure([(trace, label(meta))], title=_title(meta))
    for ext in ("png", "pdf"):
        save(fig, f"{stem}.{ext}")


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
