"""Drawings of a run's graph (networkx spring layout, fixed seed: the same picture every time),
rebuilt from the graph section of its config.toml, each edge drawn as wide as its gossip rate.

The rates come from the run directory only: rates.csv (u,v,rate; written when the rates differ
between edges) or, without it, meta.json's rates.min = rates.max (every edge at that rate). A
width is ``MAX_WIDTH * rate / largest rate`` points, over a hairline of the graph's edges (so
that an edge of rate ~0 still shows), and a legend gives the scale. One drawing per distinct
set of rates among the runs on the graph; rates that are equal on every edge all give the same
picture, drawn once. A method without gossip clocks (a synchronous one) has no rates to draw.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

SEED = 1  # of the layout
#: width in points of the edge of largest rate
MAX_WIDTH = 4.0
#: the edges under the rates, so that every edge shows
HAIRLINE = 0.4


def _graph_config(flat: dict) -> dict:
    return {k[len("graph."):]: v for k, v in flat.items() if k.startswith("graph.")}


def edge_rates(run, edges) -> np.ndarray | None:
    """The gossip rate of each of ``edges`` ((u, v) pairs) in ``run``: rates.csv of its
    directory, else every edge at meta.json's rates.min when it equals rates.max; None when
    the run has no gossip rates (a synchronous method) or they were not recorded per edge (a
    time-varying list, an older run directory). RunDirError for a rates.csv that does not
    fit the graph."""
    from dadao import rundir
    from dadao.errors import DadaoError, RunDirError
    from dadao.rates import load_rates_csv

    path = os.path.join(run.path, rundir.RATES)
    if os.path.isfile(path):
        try:
            return load_rates_csv(path, edges)
        except DadaoError as exc:
            raise RunDirError(f"{rundir.RATES} does not fit the graph of config.toml: {exc}",
                              file=run.path) from None
    rates = run.meta.get("rates") or {}
    low, high = rates.get("min"), rates.get("max")
    if isinstance(low, (int, float)) and low == high and (run.meta.get("graph") or {}).get(
            "graphs", 1) == 1:
        return np.full(len(edges), float(low))
    return None


def graph_figures(members) -> list[tuple[Figure | None, str]]:
    """[(drawing, caption)] of the graph of ``members`` (runs on the same graph, with their
    group labels: [(label, run)]): one drawing per distinct set of edge rates, captioned with
    the groups that use it and the width scale; (None, why) when the graph cannot be
    rebuilt."""
    import networkx as nx

    from dadao import graphs
    from dadao.errors import DadaoError
    from dadao.experiment import build_graph

    run = members[0][1]
    gcfg = _graph_config(run.flat)
    if "family" not in gcfg:
        return [(None, "no config.toml graph section: not drawn")]
    try:
        G = build_graph(gcfg)
    except (DadaoError, OSError, KeyError, TypeError) as exc:
        return [(None, f"not drawn (the graph could not be rebuilt: {exc})")]
    first = ""
    if isinstance(G, list):
        G, first = G[0], f"the first of {len(G)} graphs; "
    edges = graphs.edge_array(G)
    if isinstance(G, graphs.EdgeGraph):
        G = G.to_networkx()
    drawings, without = {}, []  # rate vector (bytes) -> (rates, labels)
    for label, r in members:
        rates = edge_rates(r, edges)
        if rates is None:
            without.append(label)
            continue
        uniform = bool(len(rates)) and rates.min() == rates.max()
        key = b"uniform" if uniform else rates.tobytes()
        entry = drawings.setdefault(key, (rates, []))
        if label not in entry[1]:
            entry[1].append(label)
    pos = nx.spring_layout(G, seed=SEED)
    out = []
    for key, (rates, labels) in drawings.items():
        uniform = key == b"uniform"
        note = (f"{first}edge widths uniform: every edge has the same rate in "
                f"{', '.join(labels)}" if uniform else
                f"{first}edge width proportional to its gossip rate (rates.csv), "
                f"{MAX_WIDTH:g} pt = {rates.max():.4g}, the largest: {', '.join(labels)}")
        out.append((_draw(G, pos, edges, None if uniform else rates), note))
    if without:
        names = ", ".join(dict.fromkeys(without))
        note = (f"{first}edges drawn alike: {names} record no per-edge gossip rates (no gossip "
                f"clocks, or a time-varying list)")
        if out:
            out[-1] = (out[-1][0], out[-1][1] + f"; {names}: no per-edge gossip rates")
        else:
            out.append((_draw(G, pos, edges, None), note))
    return out


def _draw(G, pos, edges, rates) -> Figure:
    """The drawing: nodes, every edge as a hairline and, with ``rates``, as wide as its rate
    on top (a LineCollection whose widths are MAX_WIDTH * rate / max rate), with a legend of
    the scale."""
    fig = Figure(figsize=(4.0, 4.3 if rates is not None else 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    segments = [(pos[u], pos[v]) for u, v in edges]
    ax.add_collection(LineCollection(segments, colors="0.45" if rates is None else "0.75",
                                     linewidths=1.2 if rates is None else HAIRLINE, zorder=1))
    if rates is not None:
        top = float(rates.max())
        ax.add_collection(LineCollection(segments, colors="C1", zorder=1.5,
                                         linewidths=MAX_WIDTH * rates / top, gid="rates"))
        shown = [top, top / 2, top / 4]
        handles = [Line2D([], [], color="C1", linewidth=MAX_WIDTH * v / top) for v in shown]
        fig.legend(handles, [f"rate {v:.3g}" for v in shown], loc="outside lower center",
                   ncols=3, fontsize="small", title="edge width", title_fontsize="small")
    xy = np.array([pos[u] for u in G.nodes()])
    ax.scatter(xy[:, 0], xy[:, 1], s=30, color="C0", zorder=2)
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.autoscale_view()
    return fig
