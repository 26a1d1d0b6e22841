"""Validation of user parameters: every failure is one ProblemError line naming the field."""

import math
import numbers

import numpy as np

from .base import ProblemError


def check_int(field, value, *, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ProblemError(f"expected an integer >= {minimum}, got {value!r}",
                           field=f"problem.{field}")
    if value < minimum:
        raise ProblemError(f"must be >= {minimum}, got {value}", field=f"problem.{field}")
    return int(value)


def check_float(field, value, *, minimum=None, strict=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ProblemError(f"expected a finite number, got {value!r}", field=f"problem.{field}")
    value = float(value)
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        op = ">" if strict else ">="
        raise ProblemError(f"must be {op} {minimum:g}, got {value:g}", field=f"problem.{field}")
    return value


def check_choice(field, value, choices):
    # compared with their types: Python has True == 1 and False == 0, so a bare ``in`` would
    # take 1 for True (zero_based) and True for 1
    if not any(value == c and isinstance(value, bool) == isinstance(c, bool) for c in choices):
        raise ProblemError(
            f"must be one of {', '.join(map(repr, choices))}, got {value!r}",
                           field=f"problem.{field}")
    return value


def resolve_seed(seed):
    """An integer seed in [0, 2^64), the key of the problem's data streams
    (``dadao.problems.streams``); None draws a fresh one (stored in params)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy) % (1 << 64)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ProblemError(f"expected a non-negative integer or None, got {seed!r}",
                           field="problem.seed")
    if seed >= 1 << 64:
        raise ProblemError(f"must be below 2^64 (the key of the data's random streams is 64 "
                           f"bits), got {seed!r}", field="problem.seed")
    return int(seed)
