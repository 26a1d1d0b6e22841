"""Edge gossip rates: choices and files (``choices``), DADAO's rate condition and the rate
theory of a run (``condition``), and optimal rates (``optimal``: an SDP solved with CVXPY, or a
first-order method).

Everything is importable from ``dadao.rates``; see each module for the conventions and maths.
"""

from dadao.errors import OptimalRatesError, RateError
from dadao.rates.choices import (explicit_rates, load_rates_csv, sequence_theory_rates,
                                 theory_rates, uniform_rates, write_rates_csv)
from dadao.rates.condition import (RateCondition, check_rate_condition, condition_from_chis,
                                   default_switch_period, require_rate_condition, run_condition,
                                   unit_rate_chis, worst_case_condition)
from dadao.rates.optimal import OptimalRates, optimal_rates, verify_rates

__all__ = [
    "RateError",
    "uniform_rates",
    "theory_rates",
    "sequence_theory_rates",
    "explicit_rates",
    "load_rates_csv",
    "write_rates_csv",
    "RateCondition",
    "condition_from_chis",
    "check_rate_condition",
    "require_rate_condition",
    "run_condition",
    "worst_case_condition",
    "unit_rate_chis",
    "default_switch_period",
    "OptimalRates",
    "OptimalRatesError",
    "optimal_rates",
    "verify_rates",
]
