"""The constants of one graph, as ``dadao graph`` prints them (numbers from ``dadao.graphs``,
``dadao.rates`` and each method's declared theory; nothing is recomputed here)."""

from __future__ import annotations

import math

from dadao import algorithms, graphs, rates
from dadao.algorithms.theory import Setting
from dadao.gossip import chebyshev_order, multi_consensus_rounds


def graph_report(G, family: str, rates_kind: str = "uniform") -> dict:
    """n, |E|, chi and its two eigenvalues, the integer orders of the synchronous methods
    (ceil(chi ln 2), floor(sqrt(chi))), chi_1 and chi_2 of ``rates_kind`` rates ("uniform":
    total 1, the Lbar of the paper; "theory": DADAO's theory rates, chi_1 chi_2 = 1/2), and, for
    every method that computes gradients, the expected communications per round of n gradients
    with its own default rates (the table the DADAO authors print)."""
    n = G.number_of_nodes()
    edges = graphs.edge_array(G)
    unit = rates.uniform_rates(edges, 1.0)
    lam = unit if rates_kind == "uniform" else rates.theory_rates(edges, n)
    shown = graphs.rate_constants(edges, lam, n)
    lambda_2, lambda_max = graphs.laplacian_extremes(G)
    chi = lambda_max / lambda_2  # graphs.graph_chi, with its two eigenvalues shown
    per_round = {}
    for name in algorithms.names():
        algo = algorithms.get_algorithm(name)
        theory = getattr(algo, "theory", None)
        if theory is None:
            continue
        # each method with its own default rates (DADAO: theory; Continuized, AD-PSGD: n/2)
        default = getattr(algo, "default_rates", None)
        own = default(edges, n) if default is not None else rates.theory_rates(edges, n)
        cond = rates.check_rate_condition(edges, own, n)
        setting = Setting(n=n, edges=len(edges), mu=1.0, L=1.0, chi=chi, chi_1=cond.chi_1,
                          chi_2=cond.chi_2, total_rate=float(own.sum()))
        if theory.gradients_per_time(setting) > 0:
            per_round[name] = float(theory.communications_per_round(setting))
    return {
        "family": family, "n": n, "edges": len(edges), "chi": chi,
        "lambda_2": lambda_2, "lambda_max": lambda_max,
        "ceil_chi_ln2": multi_consensus_rounds(chi),
        "floor_sqrt_chi": chebyshev_order(chi),
        "rates": {"kind": rates_kind, "total": float(lam.sum()), "chi_1": shown["chi_1"],
                  "chi_2": shown["chi_2"],
                  "sqrt_2_chi1_chi2": math.sqrt(2 * shown["chi_1"] * shown["chi_2"])},
        "communications_per_round": per_round,
    }
