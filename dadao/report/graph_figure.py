"""A drawing of a run's graph (networkx spring layout, fixed seed: the same picture every time),
rebuilt from the graph section of its config.toml.

A run directory holds its rates' total, min and max (meta.json), not every edge's rate: when
min = max in every run on the graph the edges are drawn equally wide because their rates are
equal; otherwise they are drawn equally wide because the per-edge rates are not known, and the
caption says which.
"""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SEED = 1  # of the layout


def _graph_config(flat: dict) -> dict:
    return {k[len("graph."):]: v for k, v in flat.items() if k.startswith("graph.")}


def graph_figure(run, members) -> tuple[Figure | None, str]:
    """(the drawing, its note) of ``run``'s graph; ``members``: every run on it (their rates
    decide the note). (None, why) when the graph cannot be rebuilt."""
    import networkx as nx

    from dadao.errors import DadaoError
    from dadao.experiment import build_graph

    gcfg = _graph_config(run.flat)
    if "family" not in gcfg:
        return None, "no config.toml graph section: not drawn"
    try:
        G = build_graph(gcfg)
    except (DadaoError, OSError, KeyError, TypeError) as exc:
        return None, f"not drawn (the graph could not be rebuilt: {exc})"
    note = ""
    if isinstance(G, list):
        G, note = G[0], f"the first of {len(G)} graphs; "
    equal = all((r.meta.get("rates") or {}).get("min") == (r.meta.get("rates") or {}).get("max")
                for r in members)
    note += ("edge widths uniform: every edge has the same rate in these runs" if equal else
             "edge widths uniform: the run directories hold only the rates' total, min and max, "
             "not per-edge rates")
    fig = Figure(figsize=(4.0, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    pos = nx.spring_layout(G, seed=SEED)
    for u, v in G.edges():
        ax.plot([pos[u][0], pos[v][0]], [pos[u][1], pos[v][1]], color="0.45", linewidth=1.2,
                zorder=1)
    xy = [pos[u] for u in G.nodes()]
    ax.scatter([p[0] for p in xy], [p[1] for p in xy], s=30, color="C0", zorder=2)
    ax.set_axis_off()
    ax.set_aspect("equal")
    return fig, note
