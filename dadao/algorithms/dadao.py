"""DADAO: Decoupled Accelerated Decentralized Asynchronous Optimization.

Nabli & Oyallon, ICML 2023 (arXiv 2208.00779); JMLR 26(207), 2025. Constants follow the authors'
code (docs/methods.md, DADAO).

Each node holds six vectors of R^d, in this order: x, xt, y, yt, z, zt ("t" for tilde). Between
events every node follows the same linear ODE, coordinate-wise:

    x'  = eta (xt - x)            xt' = eta (x - xt)
    y'  = alpha (yt - y)          yt' = -theta (nu xt + y + z)
    z'  = alpha (zt - z)          zt' = alpha_t (z - zt)

with nu = mu/2, r = sqrt(nu/L), eta = r/8, alpha = r/4, alpha_t = r/8, theta = 1/(2r). Time is in
expected gradient steps per node (gradient clocks of rate 1).

Gradient event at node i (no communication):
    g = grad f_i(x) - nu x - yt;   x -= gamma g;   xt -= gamma_t g;   yt += c_y g
with gamma = 1/(4L), gamma_t = 1/(4 sqrt(L nu)), c_y = 1 + r/4.

Gossip event on edge (i, j): each side sends w = y + z; with m = w_i - w_j,
    z_i -= beta m, zt_i -= beta_t m   (and symmetrically at j),
beta = 1/2, beta_t = 2 chi_1[Lambda] sqrt(L/nu), chi_1 of the actual rate Laplacian. The updates
conserve sum_i z_i and sum_i zt_i, which start at 0.

Rates must satisfy chi_1[Lambda] chi_2[Lambda] <= 1/2 (see ``dadao.rates``).

Overrides (``[algorithm] gamma = 0.1``): any of ``TUNABLES`` (the paper's constants); the derived
constants of the closed-form flow (l1, l2, omega, P(l1), P(l2)) are recomputed, and overrides that
make the flow invalid are refused. Time-varying graphs (a list of K graphs): chi_1 in beta_t is
the worst case over the list, and the engine uses graph floor(t chi_1[Lbar]) mod K
(``dadao.events.SwitchingClocks``), as the authors' code.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np

from dadao.algorithms.base import AsyncAlgorithm, OptionError, apply_overrides
from dadao.algorithms.common import copy_x, start_state
from dadao.algorithms.theory import Theory, async_gossip_counts
from dadao.problems.oracle import local_gradient
from dadao.rates import theory_rates

X, XT, Y, YT, Z, ZT = range(6)
STATE_NAMES = ("x", "xt", "y", "yt", "z", "zt")

DadaoConstants = namedtuple(
    "DadaoConstants",
    [
        # the paper's constants
        "L", "mu", "nu", "r", "eta", "alpha", "alpha_t", "theta",
        "gamma", "gamma_t", "c_y", "beta", "beta_t", "chi_1",
        # derived once for the closed-form flow (see ``flow``)
        "l1", "l2", "omega", "p1_y", "p1_yt", "p2_y", "p2_yt",
    ],
)


def particular_response(l: float, alpha: float, theta: float) -> tuple[float, float]:
    """P(l) = theta (-alpha, l - alpha) / (l^2 - alpha l + alpha theta).

    The (y, yt) block answers a forcing nu xt + z = q e^{-l t} with the particular solution
    P(l) q e^{-l t}. The denominator is >= alpha theta - alpha^2/4 = 1/8 - r^2/64 > 0.
    """
    det = l * l - alpha * l + alpha * theta
    return -theta * alpha / det, theta * (l - alpha) / det


def rate_scale(L: float, mu: float) -> float:
    """r = sqrt(nu/L) with nu = mu/2, per unit time: DADAO's speed scale.

    Every DADAO constant is a multiple of r or 1/r, and the squared error decays roughly like
    exp(-0.2 r t) (the declared rate below), so horizons are naturally given as multiples of 1/r.
    """
    return math.sqrt(mu / 2.0 / L)


#: the paper's constants a config may override (``[algorithm] gamma = 0.1``); l1, l2, omega and
#: the particular responses P(l1), P(l2) are derived from them again.
TUNABLES = ("eta", "alpha", "alpha_t", "theta", "gamma", "gamma_t", "c_y", "beta", "beta_t")


def theory_values(L: float, mu: float, chi_1: float) -> dict:
    """The paper's (code's) constants, by name, before any override."""
    nu = mu / 2.0
    r = rate_scale(L, mu)
    return {
        "L": float(L), "mu": float(mu), "nu": nu, "r": r,
        "eta": r / 8.0, "alpha": r / 4.0, "alpha_t": r / 8.0, "theta": 1.0 / (2.0 * r),
        "gamma": 1.0 / (4.0 * L), "gamma_t": 1.0 / (4.0 * math.sqrt(L * nu)),
        "c_y": 1.0 + r / 4.0, "beta": 0.5, "beta_t": 2.0 * chi_1 * math.sqrt(L / nu),
        "chi_1": float(chi_1),
    }


#: the constants of the flow, whose ranges ``_check_flow_constants`` checks (eta and alpha_t may
#: be 0); every other tunable must be > 0 (``apply_overrides``)
FLOW_CONSTANTS = ("eta", "alpha_t", "alpha", "theta")


def _check_flow_constants(v: dict) -> None:
    """Refuse constants for which the closed-form flow is invalid (one line, via OptionError).

    The flow needs eta, alpha_t >= 0 and alpha, theta > 0 (decaying blocks), and an underdamped
    (y, yt) oscillator, w^2 = alpha theta - alpha^2/4 > 0, i.e. theta > alpha/4; then
    l^2 - alpha l + alpha theta = (l - alpha/2)^2 + w^2 never vanishes, so P(l) exists.
    """
    for name in ("eta", "alpha_t"):
        if v[name] < 0:
            raise OptionError(f"must be >= 0 for DADAO's flow, got {v[name]!r}",
                              field=f"algorithm.{name}")
    for name in ("alpha", "theta"):
        if v[name] <= 0:
            raise OptionError(f"must be > 0 for DADAO's flow, got {v[name]!r}",
                              field=f"algorithm.{name}")
    if not v["alpha"] * v["theta"] - v["alpha"] ** 2 / 4.0 > 0:
        raise OptionError(f"DADAO's closed-form flow needs theta > alpha/4 "
                          f"(underdamped y block); got theta = {v['theta']!r}, "
                          f"alpha = {v['alpha']!r}", field="algorithm.theta")


def constants(L: float, mu: float, chi_1: float, overrides: dict | None = None) -> DadaoConstants:
    """DADAO's theory constants for L-smooth, mu-strongly convex f_i and chi_1 of the rate
    Laplacian, with ``overrides`` (names in ``TUNABLES``) applied and the derived constants of
    the closed-form flow recomputed from the result."""
    if not (L > 0 and mu > 0 and mu <= L):
        raise ValueError(f"need 0 < mu <= L, got mu = {mu}, L = {L}")
    v = apply_overrides("dadao", theory_values(L, mu, chi_1), overrides, TUNABLES,
                        checked_by_method=FLOW_CONSTANTS)
    if overrides:
        _check_flow_constants(v)
    alpha, theta = v["alpha"], v["theta"]
    l1, l2 = 2.0 * v["eta"], alpha + v["alpha_t"]
    p1 = particular_response(l1, alpha, theta)
    p2 = particular_response(l2, alpha, theta)
    return DadaoConstants(
        **v, l1=l1, l2=l2, omega=math.sqrt(alpha * theta - alpha * alpha / 4.0),
        p1_y=p1[0], p1_yt=p1[1], p2_y=p2[0], p2_yt=p2[1],
    )


def problem_constants(problem, chi_1: float, chi_2: float = 0.0, overrides: dict | None = None,
                      **_) -> DadaoConstants:
    """Constants of ``problem`` (its global L and mu) on a rate Laplacian with this chi_1.

    (chi_2 enters only through the rate condition, which the engine checks; the signature is the
    one every algorithm's ``constants`` has.)
    """
    return constants(problem.L, problem.mu, chi_1, overrides)


def generator_matrix(k: DadaoConstants) -> np.ndarray:
    """The 6x6 matrix A of s' = A s (state order x, xt, y, yt, z, zt); for tests and analysis."""
    A = np.zeros((6, 6))
    A[X, X], A[X, XT] = -k.eta, k.eta
    A[XT, X], A[XT, XT] = k.eta, -k.eta
    A[Y, Y], A[Y, YT] = -k.alpha, k.alpha
    A[YT, XT], A[YT, Y], A[YT, Z] = -k.theta * k.nu, -k.theta, -k.theta
    A[Z, Z], A[Z, ZT] = -k.alpha, k.alpha
    A[ZT, Z], A[ZT, ZT] = k.alpha_t, -k.alpha_t
    return A


@numba.njit(cache=True, fastmath=False)
def flow(s, dt, k):
    """s <- expm(A dt) s, in closed form (exact to rounding; no matrix exponential).

    (x, xt) and (z, zt) are autonomous 2x2 blocks: for M = [[-a, a], [b, -b]],
    expm(M D) = I + (1 - e^{-(a+b) D})/(a+b) M. The forcing of the (y, yt) block,
    nu xt(t) + z(t) = q0 + q1 e^{-l1 t} + q2 e^{-l2 t}, has
        q0 = nu (x + xt)/2 + (alpha_t z + alpha zt)/(alpha + alpha_t),
        q1 = -nu (x - xt)/2,  q2 = alpha (z - zt)/(alpha + alpha_t),
    and u = (y, yt) follows u(D) = Phi(D) (u0 - sum_k P_k q_k) + sum_k P_k q_k e^{-l_k D}, with
    Phi(D) = e^{-alpha D/2} [cos(w D) I + sin(w D)/w N], N = [[-alpha/2, alpha], [-theta, alpha/2]],
    w^2 = alpha theta - alpha^2/4, P_0 = P(0) = (-1, -1). It is written as increments
    u(D) - u0 with expm1 so that small D keeps full relative accuracy.
    """
    if dt <= 0.0:
        return
    a, at, sz = k.alpha, k.alpha_t, k.l2
    # 2x2 blocks: fraction of the gap closed after dt
    fx = -math.expm1(-k.l1 * dt) / 2.0          # (x, xt): a = b = eta
    fz = -math.expm1(-sz * dt) / sz             # (z, zt): a = alpha, b = alpha_t
    # (y, yt): Phi - I = c I + s N, with c = e^{-a D/2} cos(wD) - 1 computed without cancellation
    half = math.expm1(-0.5 * a * dt)
    wd = k.omega * dt
    sin_half = math.sin(0.5 * wd)
    damp = 1.0 + half
    cphi = half * math.cos(wd) - 2.0 * sin_half * sin_half
    sphi = damp * math.sin(wd) / k.omega
    e1m = math.expm1(-k.l1 * dt)                # e^{-l1 D} - 1
    e2m = math.expm1(-sz * dt)
    n00, n01, n10, n11 = -0.5 * a, a, -k.theta, 0.5 * a
    p1y, p1yt, p2y, p2yt = k.p1_y, k.p1_yt, k.p2_y, k.p2_yt
    nu = k.nu
    for m in range(s.shape[1]):
        x, xt, y, yt, z, zt = s[0, m], s[1, m], s[2, m], s[3, m], s[4, m], s[5, m]
        q0 = nu * (x + xt) * 0.5 + (at * z + a * zt) / sz
        q1 = -nu * (x - xt) * 0.5
        q2 = a * (z - zt) / sz
        # v = u0 - sum_k P_k q_k, with P_0 = (-1, -1)
        v0 = y + q0 - p1y * q1 - p2y * q2
        v1 = yt + q0 - p1yt * q1 - p2yt * q2
        dy = cphi * v0 + sphi * (n00 * v0 + n01 * v1) + p1y * q1 * e1m + p2y * q2 * e2m
        dyt = cphi * v1 + sphi * (n10 * v0 + n11 * v1) + p1yt * q1 * e1m + p2yt * q2 * e2m
        s[0, m] = x + (xt - x) * fx
        s[1, m] = xt + (x - xt) * fx
        s[2, m] = y + dy
        s[3, m] = yt + dyt
        s[4, m] = z + a * (zt - z) * fz
        s[5, m] = zt + at * (z - zt) * fz


@numba.njit(cache=True)
def apply_gradient(s, k, i, grad):
    """With grad = grad f_i at some point: g = grad - nu x - yt; x -= gamma g;
    xt -= gamma_t g; yt += c_y g."""
    for m in range(s.shape[1]):
        g = grad[m] - k.nu * s[0, m] - s[3, m]
        s[0, m] -= k.gamma * g
        s[1, m] -= k.gamma_t * g
        s[3, m] += k.c_y * g


@numba.njit(cache=True)
def on_gradient(s, k, oracle, i, work):
    """The gradient step at x: ``apply_gradient`` with grad f_i(x)."""
    local_gradient(oracle, i, s[0], work)
    apply_gradient(s, k, i, work)


@numba.njit(cache=True)
def message(s, k, oracle, i, out):
    """w = y + z, the one d-vector a node sends on a gossip event."""
    for m in range(s.shape[1]):
        out[m] = s[2, m] + s[4, m]


@numba.njit(cache=True)
def on_message(s, k, own, peer, e):
    """With m = w_own - w_peer: z -= beta m, zt -= beta_t m."""
    for m in range(s.shape[1]):
        diff = own[m] - peer[m]
        s[4, m] -= k.beta * diff
        s[5, m] -= k.beta_t * diff


#: DADAO's estimate of x* at node i is x_i
primal = copy_x


def init_state(n: int, d: int, x0=None, problem=None, nodes=None) -> np.ndarray:
    """x = x0 (zero by default; a (d,) vector for all nodes or (n, d) per node); all else 0."""
    return start_state(n, 6, d, x0, rows=(X,))


ALGORITHM = AsyncAlgorithm(
    name="dadao",
    state_names=STATE_NAMES,
    constants=problem_constants,
    init_state=init_state,
    flow=flow,
    on_gradient=on_gradient,
    apply_gradient=apply_gradient,
    message=message,
    on_message=on_message,
    primal=primal,
    enforces_rate_condition=True,
    tunables=TUNABLES,
    supports_time_varying=True,
    default_rates=lambda edges, n: theory_rates(edges, n),
    reference="Nabli & Oyallon, DADAO, ICML 2023 (arXiv 2208.00779)",
    theory=Theory(
        *async_gossip_counts(),
        # The paper proves a rate of order sqrt(mu/L); the constant 0.2 is an empirical one
        # (docs/methods.md, DADAO: squared error ~ exp(-0.2 sqrt(nu/L) t)).
        rate=lambda s: 0.2 * rate_scale(s.L, s.mu),
        gradients="O(n sqrt(kappa) log(1/eps))",
        communications="O(n sqrt(chi_1 chi_2) sqrt(kappa) log(1/eps))",
        note="rate condition chi_1 chi_2 <= 1/2",
    ),
)
