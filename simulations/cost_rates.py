"""Optimal gossip rates by cost: on graphs with a few slow links, what minimising the link busy
time sum_e c_e lambda_e gives against minimising the total rate sum_e lambda_e.

    python simulations/cost_rates.py [--out docs/cost_rates.md]

Writes the whole of --out (generated: edit this script, never the file) and, with the default
--out, the README's Measured row (docs/measured/cost_rates.json). For each graph, three
rate vectors, each meeting DADAO's condition chi_1 chi_2 = 1/2 exactly (verified by
eigendecomposition): theory-scaled uniform rates, the unweighted optimum (method "sdp") and the
cost-weighted optimum (method "sdp", costs c). The costs come from a link model
(dadao.rates.optimal.costs.costs_from_links): every link has 1 ms latency and 1e9 bytes/s, a
message is 8,000 bytes (d = 1000 float64), and a few links are 10 or 100 times slower (latency
x10 and bandwidth / 10, or x100 and / 100): drawn with a fixed seed on a grid and a random
geometric graph, the links between the cliques of a ring of cliques (clusters joined by slow
wide-area links).
"""

from __future__ import annotations

import argparse
import os
import sys

import networkx as nx
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from dadao import graphs, rates  # noqa: E402
from dadao.atomic import write_atomic  # noqa: E402
from dadao.rates.optimal import optimal_rates, verify_rates  # noqa: E402
from dadao.rates.optimal.costs import costs_from_links  # noqa: E402
from dadao.timing.laws import Constant  # noqa: E402
from dadao.timing.links import LinkOverride, Links  # noqa: E402

LATENCY_S = 1e-3
BANDWIDTH = 1e9  # bytes per second
MESSAGE_BYTES = 8 * 1000  # one float64 vector of d = 1000
SLOW_SEED = 0


def drawn(n10, n100):
    """slow_of(edges): {(u, v): factor} of n10 links 10x and n100 links 100x slower, drawn with
    SLOW_SEED."""
    def slow_of(edges):
        pick = np.random.default_rng(SLOW_SEED).choice(len(edges), n10 + n100, replace=False)
        return {tuple(edges[k].tolist()): (10.0 if i < n10 else 100.0)
                for i, k in enumerate(pick)}
    return slow_of


def ring_of_cliques(k, size):
    """k cliques of ``size`` nodes, clique c's last node joined to clique c+1's first."""
    G = nx.Graph()
    for c in range(k):
        nodes = range(size * c, size * (c + 1))
        G.add_edges_from((a, b) for a in nodes for b in nodes if a < b)
        G.add_edge(size * c + size - 1, (size * (c + 1)) % (size * k))
    return G


def between_cliques(size, factor):
    """slow_of(edges): the links between two cliques of ``size`` nodes, ``factor`` x slower."""
    def slow_of(edges):
        return {tuple(uv): factor for uv in edges.tolist() if uv[0] // size != uv[1] // size}
    return slow_of


#: (label, short label, graph, slow_of(edges) -> {(u, v): factor})
GRAPHS = (
    ("grid_2d 6 x 6, 3 links 10x and 3 links 100x slower", "grid 6 x 6",
     graphs.make_graph("grid_2d", 36), drawn(3, 3)),
    ("random_geometric n = 40 (seed 1), 6 links 10x and 6 links 100x slower",
     "random geometric n = 40", graphs.make_graph("random_geometric", 40, seed=1), drawn(6, 6)),
    ("ring of 4 cliques of 8 nodes, the 4 links between cliques 100x slower",
     "ring of cliques", ring_of_cliques(4, 8), between_cliques(8, 100.0)),
)
DOC = os.path.join(ROOT, "docs", "cost_rates.md")


def link_model(slow):
    return Links(latency=Constant(LATENCY_S), bandwidth=BANDWIDTH,
                 overrides={uv: LinkOverride(latency=LATENCY_S * f, bandwidth=BANDWIDTH / f)
                            for uv, f in slow.items()})


def row(name, edges, n, lam, costs, classes):
    """One table row of a rate vector that meets the condition (checked here, exactly)."""
    lam, cond = verify_rates(edges, lam, n, rescale=False)
    assert cond.satisfied and abs(cond.product - 0.5) <= 0.5e-6, cond.describe()
    busy = float(costs @ lam)
    means = [f"{lam[k].mean():.4f}" if k.size else "-" for k in classes]
    return busy, (f"| {name} | {cond.total:.4f} | {busy:.5f} | {cond.chi_1:.4f} | "
                  f"{cond.chi_2:.4f} | " + " | ".join(means) + " |")


def graph_section(label, G, slow_of):
    """The section's lines and the change of link busy time, cost-weighted against unweighted
    optimum (a fraction, negative: less)."""
    edges, n = graphs.edge_array(G), G.number_of_nodes()
    slow = slow_of(edges)
    costs = costs_from_links(link_model(slow), edges, MESSAGE_BYTES)
    factor = np.array([slow.get(tuple(uv), 1.0) for uv in edges.tolist()])
    classes = [np.flatnonzero(factor == f) for f in (1.0, 10.0, 100.0)]
    plain = optimal_rates(edges, n, cache=False)
    weighted = optimal_rates(edges, n, costs=costs, cache=False)
    uniform = rates.theory_rates(edges, n)
    shown = ", ".join(f"{costs[k[0]] * 1e3:.4g} ms" for k in classes if k.size)
    lines = [f"## {label}\n",
             f"n = {n}, |E| = {len(edges)}. Costs c_e per activation (fast, 10x, 100x links "
             f"present): {shown}. Unweighted optimum: {plain.label}; cost-weighted: "
             f"{weighted.label}.\n",
             "| rates | total rate | link busy s per unit time | chi_1 | chi_2 | mean rate, "
             "fast links | mean rate, 10x links | mean rate, 100x links |",
             "|---|---|---|---|---|---|---|---|"]
    busy = {}
    for name, lam in (("theory-scaled uniform", uniform), ("unweighted sdp", plain.rates),
                      ("cost-weighted sdp", weighted.rates)):
        busy[name], text = row(name, edges, n, lam, costs, classes)
        lines.append(text)
    lines.append("")
    slow_k = np.flatnonzero(factor > 1.0)
    off, plain_off = (int(np.sum(lam[slow_k] < 1e-6 * lam.max()))
                      for lam in (weighted.rates, plain.rates))
    lines.append(
        f"Link busy time: the cost-weighted optimum needs "
        f"{100 * (1 - busy['cost-weighted sdp'] / busy['unweighted sdp']):.1f}% less than the "
        f"unweighted optimum and "
        f"{100 * (1 - busy['cost-weighted sdp'] / busy['theory-scaled uniform']):.1f}% less "
        f"than uniform rates, for a total rate "
        f"{100 * (weighted.total / plain.total - 1):+.1f}% against the unweighted optimum's; "
        f"it switches off {off} of the {len(slow)} slow links (rate below 1e-6 of the largest "
        f"rate), the unweighted optimum {plain_off}.\n")
    print("\n".join(lines))
    return lines, busy["cost-weighted sdp"] / busy["unweighted sdp"] - 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DOC)
    args = parser.parse_args(argv)
    lines = [
        "# Optimal gossip rates by cost",
        "",
        "Generated by `python simulations/cost_rates.py`: do not edit, regenerate.",
        "",
        "`optimal_rates(edges, n, costs=c)` (`dadao rates ... --costs FILE.csv`, or `[rates] "
        "kind = \"sdp\"` with `costs_path`) minimises sum_e c_e lambda_e, the expected seconds "
        "of link busy time per unit time (c_e: seconds a link is busy per activation; lambda_e: "
        "activations per unit time, time in expected gradient steps per node), subject to "
        "DADAO's condition chi_1 chi_2 <= 1/2, where the unweighted program minimises the total "
        "rate sum_e lambda_e (docs/methods.md, Optimal rates). Every row below meets the "
        "condition with equality, checked by eigendecomposition; uniform rates are DADAO's "
        "theory rates (one rate on every edge, scaled to the condition).",
        "",
        f"Link model: {LATENCY_S * 1e3:g} ms latency and {BANDWIDTH:.0e} bytes/s on every "
        f"link, messages of {MESSAGE_BYTES:,} bytes; the slow links (drawn with seed "
        f"{SLOW_SEED}) have latency x10 and bandwidth / 10, or x100 and / 100, so their cost "
        f"is 10 or 100 times a fast link's. Costs are the mean transfer time of a message, the "
        f"slower direction of each link (`dadao.rates.optimal.costs.costs_from_links`).",
        "",
    ]
    change = {}
    for label, short, G, slow_of in GRAPHS:
        section, change[short] = graph_section(label, G, slow_of)
        lines += section
    write_atomic(args.out, "\n".join(lines).rstrip() + "\n")
    print(f"written: {args.out}")
    if os.path.abspath(args.out) == DOC:
        from measured import write_rows

        write_rows("cost_rates", "python simulations/cost_rates.py", [
            {"what": "optimal rates by link cost against by count, a few links 10x and 100x "
                     "slower",
             "figure": "link busy time " + ", ".join(f"{100 * c:.0f}% ({short})"
                                                     for short, c in change.items())
                       + ": [docs/cost_rates.md](docs/cost_rates.md)"}])


if __name__ == "__main__":
    main()
