"""Graphs from outside the project: any networkx graph, and edge-list files."""

from __future__ import annotations

import os
import re

import networkx as nx

from dadao.errors import GraphError
from dadao.graphs.families import check_connected, check_n

def from_networkx(G) -> nx.Graph:
    """Return a copy of G on the nodes 0..n-1, ready for the rest of `dadao`.

    Nodes are numbered in the sorted order of their labels (insertion order when the labels do not
    sort); the original label is kept as node attribute ``label``. Directed and multi-graphs are
    made simple and undirected; self-loops are dropped (b_ii = 0: they carry no gossip).
    Refuses n < 2 and disconnected graphs.
    """
    H = nx.Graph(G)
    H.remove_edges_from(list(nx.selfloop_edges(H)))
    try:
        order = sorted(H.nodes)
    except TypeError:
        order = list(H.nodes)
    check_n(len(order), "graph")
    index = {label: i for i, label in enumerate(order)}
    out = nx.Graph()
    out.add_nodes_from((i, {"label": label}) for i, label in enumerate(order))
    out.add_edges_from((index[u], index[v]) for u, v in H.edges)
    check_connected(out)
    return out


_SPLIT = re.compile(r"[\s,]+")


def load_edge_list(path) -> nx.Graph:
    """Read a graph from a text file with one edge "u v" per line.

    Fields are separated by whitespace or commas; '#' starts a comment; an optional third column
    (a weight, say) is ignored. Labels are integers where they parse as such, strings otherwise,
    and are renumbered as in :func:`from_networkx`. Raises GraphError naming the file (and line)
    for a missing file, a malformed line, no edges, or a disconnected graph.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except FileNotFoundError:
        raise GraphError(f"edge list file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphError(f"cannot read edge list file {path}: {exc}") from None
    G = nx.Graph()
    for lineno, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = [f for f in _SPLIT.split(text) if f]
        if len(fields) not in (2, 3):
            raise GraphError(f"{path}, line {lineno}: expected 'u v' or 'u v weight', "
                             f"got {line.strip()!r}")
        G.add_edge(_label(fields[0]), _label(fields[1]))
    if G.number_of_edges() == 0:
        raise GraphError(f"{path}: no edges found")
    try:
        return from_networkx(G)
    except GraphError as exc:
        raise GraphError(f"{path}: {exc}") from None


def _label(text: str):
    try:
        return int(text)
    except ValueError:
        return text

