"""dadao: event-driven simulator of asynchronous decentralized optimization.

Time is measured in expected gradient steps per node: every node's gradient clock ticks at
rate 1 by default, so t = 100 means each node has computed about 100 gradients.
"""

from dadao.numba_cache import configure_numba_cache

__version__ = "0.1.0"

# Before any module decorates a function with numba.njit(cache=True): a read-only install
# without a writable home must not make the import fail (dadao.numba_cache).
configure_numba_cache()


def simulate(*args, **kwargs):
    """See ``dadao.api.simulate`` (imported lazily: it compiles numba code)."""
    from dadao.api import simulate as _simulate

    return _simulate(*args, **kwargs)
