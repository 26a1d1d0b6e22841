"""The compiled engine against a slow, independent reading of DADAO's dynamics
(docs/methods.md, DADAO).

The reference below shares nothing with the engine but the event schedule: it stores every node's
state densely, integrates the ODE with scipy's matrix exponential of the 6x6 generator written out
from the specification, and applies the gradient and gossip rules with numpy on whole arrays.
"""

import math

import numpy as np

from dadao.trace import events_of
import scipy.linalg

import dadao
from dadao import graphs, problems, rates
from dadao.events import schedule


def reference_dadao(problem, edges, lam, chi_1, t_end, seed, x0):
    L, mu = problem.L, problem.mu
    nu = mu / 2
    r = math.sqrt(nu / L)
    eta, alpha, alpha_t, theta = r / 8, r / 4, r / 8, 1 / (2 * r)
    gamma, gamma_t, c_y = 1 / (4 * L), 1 / (4 * math.sqrt(L * nu)), 1 + r / 4
    beta, beta_t = 0.5, 2 * chi_1 * math.sqrt(L / nu)
    # order x, xt, y, yt, z, zt
    A = np.array([
        [-eta, eta, 0, 0, 0, 0],
        [eta, -eta, 0, 0, 0, 0],
        [0, 0, -alpha, alpha, 0, 0],
        [0, -theta * nu, -theta, 0, -theta, 0],
        [0, 0, 0, 0, -alpha, alpha],
        [0, 0, 0, 0, alpha_t, -alpha_t],
    ])
    n, d = problem.n, problem.dim
    S = np.zeros((n, 6, d))
    S[:, 0] = x0
    tau = np.zeros(n)
    times, clocks = schedule(seed, np.ones(n), edges, lam, t_end)

    def advance(i, t):
        S[i] = scipy.linalg.expm(A * (t - tau[i])) @ S[i]
        tau[i] = t

    for t, c in zip(times, clocks):
        if c < n:
            advance(c, t)
            x, yt = S[c, 0], S[c, 3]
            g = problem.local_gradients(np.tile(x, (n, 1)))[c] - nu * x - yt
            S[c, 0] -= gamma * g
            S[c, 1] -= gamma_t * g
            S[c, 3] += c_y * g
        else:
            i, j = edges[c - n]
            advance(i, t)
            advance(j, t)
            m = (S[i, 2] + S[i, 4]) - (S[j, 2] + S[j, 4])
            S[i, 4] -= beta * m
            S[j, 4] += beta * m
            S[i, 5] -= beta_t * m
            S[j, 5] += beta_t * m
    for i in range(n):
        advance(i, t_end)
    return S[:, 0], len(times)


def test_engine_equals_the_reference_implementation():
    n = 6
    G = graphs.make_graph("cycle", n)
    edges = graphs.edge_array(G)
    problem = problems.least_squares(n, 3, samples_per_node=12, seed=4)
    lam = rates.theory_rates(edges, n)
    cond = rates.check_rate_condition(edges, lam, n)
    x0 = np.random.default_rng(0).normal(size=3)
    t_end = 25.0
    trace = dadao.simulate(G, problem, rates=lam, t_max=t_end, seed=9, x0=x0, log_every=5.0)
    X_ref, n_events = reference_dadao(problem, edges, lam, cond.chi_1, t_end, 9, x0)
    assert events_of(trace.meta) == n_events > 100
    scale = np.abs(X_ref).max()
    assert np.abs(trace.final_x - X_ref).max() <= 1e-9 * scale
    dist = np.mean(np.sum((X_ref - problem.x_star) ** 2, axis=1))
    np.testing.assert_allclose(trace["dist_to_opt"][-1], dist, rtol=1e-8)
