"""Graphs from outside the project: any networkx graph, and edge-list files."""

from __future__ import annotations

import io
import os
import re
import warnings

import networkx as nx

from dadao.errors import DadaoWarning, GraphError
from dadao.graphs.families import check_connected, check_n
from dadao.input_files import read_text


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
    and are renumbered as in :func:`from_networkx`. The file is UTF-8 text, with or without a
    byte order mark. Self-loops ("u u": no gossip) are dropped and repeated edges ("u v" again,
    or "v u") kept once, with one DadaoWarning giving their counts and first lines. Raises
    GraphError naming the file (and line) for a missing file or one that is not a regular file,
    a malformed line, no edges, or a disconnected graph.
    """
    path = os.fspath(path)
    # universal newlines, as a text-mode file: line numbers are those an editor shows
    lines = io.StringIO(read_text(path, "edge list file", GraphError), newline=None).readlines()
    G = nx.Graph()
    loops, repeats = [], []
    for lineno, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = [f for f in _SPLIT.split(text) if f]
        if len(fields) not in (2, 3):
            raise GraphError(f"{path}, line {lineno}: expected 'u v' or 'u v weight', "
                             f"got {line.strip()!r}")
        u, v = _label(fields[0]), _label(fields[1])
        if u == v:
            loops.append(lineno)
            G.add_node(u)
            continue
        if G.has_edge(u, v):
            repeats.append(lineno)
        G.add_edge(u, v)
    if G.number_of_edges() == 0:
        only = f" (only {len(loops)} self-loop(s), which carry no gossip)" if loops else ""
        raise GraphError(f"{path}: no edges found{only}")
    _warn_dropped(path, loops, repeats)
    try:
        return from_networkx(G)
    except GraphError as exc:
        raise GraphError(f"{path}: {exc}") from None


def _warn_dropped(path, loops: list[int], repeats: list[int]) -> None:
    """One warning for the lines the graph does not keep: a gossip graph is simple, so a
    self-loop has nothing to exchange and a repeated edge is the same edge (its rate is one
    number)."""
    parts = [f"{len(lines)} {what} (first at line{'s' if len(lines) > 1 else ''} "
             f"{', '.join(map(str, lines[:3]))}{', ...' if len(lines) > 3 else ''})"
             for what, lines in (("self-loop(s) dropped", loops),
                                 ("repeated edge(s) kept once", repeats)) if lines]
    if parts:
        warnings.warn(f"{path}: {'; '.join(parts)}", DadaoWarning, stacklevel=3)


def _label(text: str):
    try:
        return int(text)
    except ValueError:
        return text

