"""Helpers shared by the tests (not tests themselves): the repository root, MPI cases and fault
injection, the full state of an in-process run."""

from pathlib import Path

#: the repository's root folder
ROOT = Path(__file__).resolve().parents[2]

#: a small, fast config: DADAO on an 8-cycle, least squares d = 3, 300 time units
SMALL_CONFIG = """
[graph]
family = "cycle"
n = 8
[problem]
kind = "least_squares"
dim = 3
samples_per_node = 20
[run]
t_max = 300.0
log_every = 5.0
"""
