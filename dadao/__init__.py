"""dadao: event-driven simulator of asynchronous decentralized optimization.

Time is measured in expected gradient steps per node: every node's gradient clock ticks at
rate 1 by default, so t = 100 means each node has computed about 100 gradients.
"""

__version__ = "0.1.0"


def simulate(*args, **kwargs):
    """See ``dadao.api.simulate`` (imported lazily: it compiles numba code)."""
    from dadao.api import simulate as _simulate

    return _simulate(*args, **kwargs)
