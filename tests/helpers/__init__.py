"""Helpers shared by the tests (not tests themselves): the repository root, MPI cases and fault
injection, the full state of an in-process run."""

import os
import stat
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

#: the smallest useful config: the 8-cycle of SMALL_CONFIG, 10 time units
TINY_CONFIG = SMALL_CONFIG.replace("t_max = 300.0\nlog_every = 5.0",
                                   "t_max = 10.0\nlog_every = 1.0")


def listing(root) -> dict:
    """Every path under ``root`` with its kind, size and modification time: two listings are
    equal when nothing under ``root`` was created, removed or written."""
    out = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            kind = ("dir" if stat.S_ISDIR(st.st_mode) else "fifo" if stat.S_ISFIFO(st.st_mode)
                    else "file")
            out[os.path.relpath(path, root)] = (kind, 0 if kind == "dir" else st.st_size,
                                                0 if kind == "dir" else st.st_mtime_ns)
    return out
