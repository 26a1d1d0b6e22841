"""Quick start: DADAO on a 16-node cycle, least squares, theory rates; prints its convergence.

    python simulations/quickstart.py
"""

import dadao
from dadao import graphs, problems
from dadao.algorithms.dadao import rate_scale


def main():
    G = graphs.make_graph("cycle", 16)
    problem = problems.least_squares(16, 10, samples_per_node=50, seed=0)
    r = rate_scale(problem.L, problem.mu)
    t_max = round(100 / r)
    print(f"DADAO on a 16-node cycle, least squares d=10: L={problem.L:.3g}, mu={problem.mu:.3g}, "
          f"kappa={problem.kappa:.3g}; horizon t_max={t_max} (100/sqrt(nu/L))")
    trace = dadao.simulate(G, problem, rates="theory", t_max=t_max, seed=0, log_every=t_max / 10)
    print(f"{'time':>8} {'gradients':>10} {'comms':>8} {'dist_to_opt':>12} {'consensus':>12}")
    for row in zip(*(trace[c] for c in ("time", "gradients", "communications", "dist_to_opt",
                                         "consensus"))):
        print(f"{row[0]:8.1f} {row[1]:10.0f} {row[2]:8.0f} {row[3]:12.3e} {row[4]:12.3e}")
    m = trace.meta
    print(f"status {m['status']}: {m['events']} events in {m['wall_time_s']:.2f} s; "
          f"dist_to_opt fell by {trace['dist_to_opt'][0] / trace['dist_to_opt'][-1]:.1e}")


if __name__ == "__main__":
    main()
