"""The cone solvers: which are installed, their settings, and the default chain.

``solver=None`` (config value "auto") tries DEFAULT_CHAIN in order, skipping solvers that are not
installed: Clarabel (interior point), then MOSEK (interior point, when installed and licensed),
then SCS (operator splitting) with fixed scaling. Why this order and these settings:
docs/sdp_solvers.md, measured by simulations/bench_sdp_solvers.py.

Clarabel stops when its gap and residuals reach tol_gap_abs, tol_gap_rel and tol_feas. On
programs whose optimum is degenerate ("relaxed" on symmetric graphs) its residuals can stall
just above its default 1e-8, which it reports as AlmostSolved ("optimal_inaccurate"), and where
they stall depends on the machine's floating-point kernels; 1e-7 leaves a margin while the total
it gives is still exact far beyond what verification and the savings need.

SCS runs with eps_abs = eps_rel = 1e-7 (its default 1e-4 puts savings off in the third digit)
and, from SCS 3.2 on, ``adaptive_scale=False``: with its default adaptive rescaling of the dual
step, SCS can run for minutes on these programs and then stop at "optimal_inaccurate".
"""

from __future__ import annotations

SOLVERS = ("scs", "clarabel", "mosek")
DEFAULT_CHAIN = ("clarabel", "mosek", "scs")

# Settings passed to cvxpy's solve() for each solver (a time limit is added per solve).
SOLVER_SETTINGS = {
    "clarabel": dict(tol_gap_abs=1e-7, tol_gap_rel=1e-7, tol_feas=1e-7),
    "scs": dict(eps_abs=1e-7, eps_rel=1e-7, max_iters=200_000, adaptive_scale=False),
    "mosek": {},
}


def available_solvers() -> tuple:
    """The SOLVERS that cvxpy can use here (MOSEK only when installed and licensed)."""
    try:
        import cvxpy as cp
    except ImportError:
        return ()
    installed = set(cp.installed_solvers())
    return tuple(s for s in SOLVERS if s.upper() in installed)


def scs_has_fixed_scaling() -> bool:
    """SCS >= 3.2 accepts adaptive_scale (the switch that fixes its scaling)."""
    try:
        import scs
    except ImportError:
        return False
    parts = []
    for piece in str(getattr(scs, "__version__", "0")).split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts) >= (3, 2)


def solver_options(solver: str, time_limit_s: float | None = None,
                   settings: dict | None = None) -> dict:
    """Keyword arguments of cvxpy's ``Problem.solve`` for ``solver``: ``settings`` (default
    SOLVER_SETTINGS[solver]) plus the solver's own time limit when time_limit_s is given."""
    opts = dict(SOLVER_SETTINGS[solver] if settings is None else settings)
    if solver == "scs" and "adaptive_scale" in opts and not scs_has_fixed_scaling():
        opts.pop("adaptive_scale")  # older SCS: adaptive scaling is all there is
    if time_limit_s is not None:
        t = max(float(time_limit_s), 1e-3)
        if solver == "clarabel":
            opts["time_limit"] = t
        elif solver == "scs":
            opts["time_limit_secs"] = t
        elif solver == "mosek":
            opts["mosek_params"] = {**opts.get("mosek_params", {}),
                                    "MSK_DPAR_OPTIMIZER_MAX_TIME": t}
    return opts
