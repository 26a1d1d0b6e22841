"""P threads standing for P MPI ranks, for testing what ranks compute together in one process.

``on_thread_ranks(P, order, work)`` runs ``work(rank, sums)`` on P threads and returns their
results; ``sums`` (``ThreadSums``) offers the reductions of ``dadao.reproducible``: every
thread deposits its array and each gets the reduction of all of them, combined in ``order`` (a
permutation of the ranks: MPI may combine in any order).
"""

import threading

import numpy as np


class ThreadSums:
    """The reductions of one of P threads standing for P ranks: every thread deposits its
    array, and each gets the reduction of all of them, combined in ``order`` (a permutation of
    the ranks: MPI may combine in any order)."""

    def __init__(self, rank, shared, barrier, order):
        self.rank, self.shared, self.barrier, self.order = rank, shared, barrier, order

    def _combine(self, values, op):
        self.shared[self.rank] = np.array(values, copy=True)
        self.barrier.wait()
        out = self.shared[self.order[0]].copy()
        for r in self.order[1:]:
            out = op(out, self.shared[r])
        self.barrier.wait()
        return out

    def max(self, values):
        return self._combine(values, np.maximum)

    def sum(self, values):
        return self._combine(values, np.add)


def on_thread_ranks(P, order, work):
    """[work(0, sums_0), ..., work(P - 1, sums_{P-1})], each on its own thread; an exception on
    a thread is raised here."""
    shared = {}
    barrier = threading.Barrier(P)
    out = [None] * P
    errors = []

    def rank(r):
        try:
            out[r] = work(r, ThreadSums(r, shared, barrier, order))
        except BaseException as exc:  # noqa: BLE001: handed to the caller
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=rank, args=(r,)) for r in range(P)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out
