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


def nothing_to_plot(trace) -> str:
    """Why ``trace`` gives no curve, in a few words ("has no rows"), or "" when it gives one: a
    point needs a finite, positive dist_to_opt (log scale)."""
    if len(trace) == 0:
        return "has no rows"
    y = np.asarray(trace[METRIC], dtype=float)
    if not np.any(np.isfinite(y) & (y > 0)):
        return f"has no finite, positive {METRIC} (log scale)"
    return ""
