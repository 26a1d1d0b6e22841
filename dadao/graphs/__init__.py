"""Graphs: families and IO (``families``, ``io``) apart from spectral constants (``spectral``).

    from dadao import graphs
    G = graphs.family_graph("random_geometric", 64, seed=1)   # an EdgeGraph: n and edges
    edges = graphs.edge_array(G)                     # THE edge order of the project (G.edges)
    H = graphs.make_graph("random_geometric", 64, seed=1)     # the same graph in networkx
    graphs.rate_constants(edges, rates, 64)          # chi_1, chi_2, lambda_2, lambda_max, ...

Everything is importable from ``dadao.graphs``; see each module for the conventions and maths.
"""

from dadao.errors import GraphError
from dadao.graphs.edge_graph import EdgeGraph, from_edges
from dadao.graphs.families import (FAMILIES, FAMILY_PARAMS, as_edges, check_connected,
                                   check_n, edge_array, family_graph, family_sequence,
                                   graph_sequence, make_graph)
from dadao.graphs.io import from_networkx, load_edge_list
from dadao.graphs.spectral import (CONSTANTS_MODES, DENSE_MAX_N, EXACT_MAX_N, chi_1, chi_2,
                                   constants_mode, constants_record, effective_resistances,
                                   graph_chi, laplacian, laplacian_extremes, rate_constants)

__all__ = [
    "GraphError",
    "FAMILIES",
    "FAMILY_PARAMS",
    "EdgeGraph",
    "from_edges",
    "family_graph",
    "family_sequence",
    "make_graph",
    "graph_sequence",
    "check_n",
    "as_edges",
    "check_connected",
    "edge_array",
    "from_networkx",
    "load_edge_list",
    "DENSE_MAX_N",
    "EXACT_MAX_N",
    "CONSTANTS_MODES",
    "constants_mode",
    "constants_record",
    "laplacian",
    "graph_chi",
    "laplacian_extremes",
    "effective_resistances",
    "chi_1",
    "chi_2",
    "rate_constants",
]
