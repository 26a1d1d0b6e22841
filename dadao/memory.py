"""What a run will need in memory, estimated before anything is allocated, and what there is.

A graph, a problem or a state too large for the machine must be refused in one line that says
how much it needs and how much there is, not by a MemoryError, a numpy "array is too big" or
the kernel's out-of-memory killer minutes later. The estimates are lower bounds of what building
each takes (the arrays that must exist at once), in bytes, 8 per float64 or int64:

- graph (networkx, nodes 0..n-1, E edges): G = 200 (n + E). A networkx graph is a dict of
  dicts: every node has two dict entries and an attribute dict, every edge two adjacency
  entries and one shared attribute dict; measured 200 to 290 bytes per node and per edge once
  built, 260 to 640 at the peak of building it (CPython 3.11). ``graph_edges`` gives E for each
  family: complete n(n-1)/2; path and star n - 1; cycle n; grid_2d 2n - rows - cols; torus_2d
  2n; hypercube (n/2) log2(n); barbell 2 C(n/2, 2) + 1; erdos_renyi p n(n-1)/2 (expected);
  random_geometric F(r) n(n-1)/2, F(r) = pi r^2 - 8 r^3/3 + r^4/2 the probability that two
  uniform points of the unit square are within r (r <= 1; F(1) below, 1 for r >= sqrt 2).
  The same graph as edge arrays (``edge_graph_bytes``, what a run holds): 8 (7 E + n).
- problem (``problem_bytes``), n nodes, dimension d, m samples per node:
  quadratic and averaging: the Hessians H_i, their inverses and one temporary, 3 x 8 n d^2;
  least squares: the rows and targets, 8 n m (d + 1), plus 3 x 8 n d^2 when the oracle is the
  Hessian (form "quadratic", or "auto" with d <= 2m); logistic: the per-node blocks and their
  stacked copy, 8 n m (2 d + 1); a LIBSVM file of M samples and D features: the dense matrix,
  its split over the nodes and their stacked copy, 3 x 8 M D.
- state (``state_bytes``): S vectors of R^d per node, the initial point and two iterates of
  every node for the metrics, 8 n d (S + 3).

``available_bytes`` is the least of: MemAvailable of /proc/meminfo (else the free physical pages
of ``os.sysconf``), the headroom under the cgroup's memory.max (a container's limit), the
headroom under RLIMIT_AS (the address-space limit of ``ulimit -v``), less this process's current
address space, and the headroom under an explicit budget ``DADAO_MEMORY_BUDGET`` (bytes, or
with a suffix K, M, G or T of powers of 1024: "1.5G"), less this process's resident memory: a
budget per process, so per MPI rank (mpiexec passes the environment on).
``require(need, what, error, field)`` refuses what cannot fit.
"""

from __future__ import annotations

import math
import os

#: bytes per node and per edge of a networkx graph (lower end of the measured range)
GRAPH_BYTES_PER_ITEM = 200
#: bytes of one float64 (or int64)
WORD = 8


def graph_edges(family: str, n: int, **params) -> float:
    """The number of edges (expected, for the random families) of the family's graph on n
    nodes; ``params`` as ``dadao.graphs.make_graph`` takes them (None or absent: the default).
    See the module docstring for the formulas."""
    pairs = n * (n - 1) / 2.0
    if family == "complete":
        return pairs
    if family in ("path", "star"):
        return float(n - 1)
    if family == "cycle":
        return float(n)
    if family == "torus_2d":
        return 2.0 * n
    if family == "grid_2d":
        rows, cols = params.get("rows"), params.get("cols")
        side = math.sqrt(n)
        return 2.0 * n - float(rows or side) - float(cols or side)
    if family == "hypercube":
        return n * math.log2(max(n, 1)) / 2.0
    if family == "barbell":
        half = n // 2
        return half * (half - 1) + 1.0
    if family == "erdos_renyi":
        p = params.get("p")
        return pairs * (min(1.0, 2.0 * math.log(n) / n) if p is None else float(p))
    if family == "random_geometric":
        r = params.get("radius")
        r = math.sqrt(2.0 * math.log(n) / (math.pi * n)) if r is None else float(r)
        return pairs * _close_pair_probability(r)
    return float(n)  # an unknown family is refused by make_graph; count it as a tree


def _close_pair_probability(r: float) -> float:
    """F(r): two uniform points of the unit square are within distance r (a lower bound for
    1 < r < sqrt 2, where F rises from F(1) = 0.975 to 1)."""
    if r >= math.sqrt(2.0):
        return 1.0
    r = min(r, 1.0)
    return math.pi * r * r - 8.0 * r ** 3 / 3.0 + r ** 4 / 2.0


def graph_bytes(n: int, edges: float) -> float:
    """Bytes of a networkx graph of n nodes and ``edges`` edges: 200 (n + E)."""
    return GRAPH_BYTES_PER_ITEM * (float(n) + float(edges))


def edge_graph_bytes(n: int, edges: float) -> float:
    """Bytes at the peak of building an EdgeGraph (``dadao.graphs.edge_graph``): the node pairs,
    their sorted copy, the sort keys and the final (E, 2) array, 7 x 8 E, plus a component label
    per node, 8 n."""
    return WORD * (7.0 * float(edges) + float(n))


def problem_bytes(kind: str, n: int, dim: int = 1, samples_per_node: int = 1,
                  form: str = "auto") -> float:
    """Bytes of the data of a synthetic problem (see the module docstring for the formulas)."""
    n, d, m = float(n), float(dim), float(samples_per_node)
    hessians = 3.0 * WORD * n * d * d
    if kind in ("quadratic", "averaging"):
        return hessians
    if kind == "least_squares":
        rows = WORD * n * m * (d + 1.0)
        as_hessian = form == "quadratic" or (form == "auto" and d <= 2.0 * m)
        return rows + (hessians if as_hessian else 0.0)
    if kind == "logistic":
        return WORD * n * m * (2.0 * d + 1.0)
    return 0.0


def dense_data_bytes(samples: int, features: int) -> float:
    """Bytes of a LIBSVM file's samples held densely: 3 x 8 M D."""
    return 3.0 * WORD * float(samples) * float(features)


def state_bytes(n: int, dim: int, vectors: int) -> float:
    """Bytes of a run's state: ``vectors`` vectors of R^d per node plus 3 more, 8 n d (S + 3)."""
    return WORD * float(n) * float(dim) * (vectors + 3.0)


def algorithm_state_bytes(algorithm, n: int, dim: int) -> float:
    """``state_bytes`` of a method's run: its ``state_names`` vectors per node (1 without)."""
    return state_bytes(n, dim, len(getattr(algorithm, "state_names", ())) or 1)


def peak_resident_bytes() -> float | None:
    """This process's peak resident memory in bytes (``getrusage``), None where unknown."""
    import sys

    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak if sys.platform == "darwin" else peak * 1024.0  # macOS: bytes; Linux: KiB


def available_bytes() -> float:
    """The memory this process can still allocate (see the module docstring); inf if unknown."""
    return min(_physical_available(), _cgroup_headroom(), _address_space_headroom(),
               _budget_headroom())


#: the environment variable of an explicit memory budget per process
BUDGET_VARIABLE = "DADAO_MEMORY_BUDGET"
_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_budget() -> float:
    """The bytes of ``DADAO_MEMORY_BUDGET`` (inf when unset); a value that is not a positive
    number of bytes, with an optional suffix K, M, G or T, is refused in one line naming it."""
    from dadao.errors import UsageError

    text = os.environ.get(BUDGET_VARIABLE, "").strip()
    if not text:
        return math.inf
    suffix = text[-1].upper() if text[-1].isalpha() else ""
    try:
        value = float(text[:-1] if suffix else text) * _SUFFIXES[suffix]
    except (KeyError, ValueError):
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise UsageError(f"must be a number of bytes > 0, with an optional suffix K, M, G or T "
                         f"(\"1.5G\"), got {text!r}", field=BUDGET_VARIABLE)
    return value


def _status_bytes(field: str) -> float:
    """A size of this process in /proc/self/status ("VmRSS", "VmSize"), in bytes; 0 where
    unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return 0.0


def resident_bytes() -> float:
    """This process's resident memory now (VmRSS), 0 where unknown."""
    return _status_bytes("VmRSS")


def _budget_headroom() -> float:
    """DADAO_MEMORY_BUDGET less this process's resident memory, or inf without a budget."""
    budget = memory_budget()
    return budget if math.isinf(budget) else max(0.0, budget - resident_bytes())


def _physical_available() -> float:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES")) * float(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return math.inf


def _cgroup_headroom() -> float:
    """memory.max - memory.current of this process's cgroup (v2), or inf without a limit."""
    try:
        with open("/proc/self/cgroup") as fh:
            line = next((entry for entry in fh if entry.startswith("0::")), "")
        folder = os.path.join("/sys/fs/cgroup", line.strip()[3:].lstrip("/"))
        with open(os.path.join(folder, "memory.max")) as fh:
            limit = fh.read().strip()
        if limit == "max":
            return math.inf
        with open(os.path.join(folder, "memory.current")) as fh:
            return max(0.0, float(limit) - float(fh.read().strip()))
    except (OSError, ValueError):
        return math.inf


def _address_space_headroom() -> float:
    """RLIMIT_AS (soft) less this process's address space (VmSize), or inf without a limit."""
    try:
        import resource
    except ImportError:  # not on Windows
        return math.inf
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return math.inf
    return max(0.0, float(soft) - _status_bytes("VmSize"))


def describe_bytes(count: float) -> str:
    """1536 -> "1.5 KiB"; an astronomical count stays readable ("8.2e+12 TiB")."""
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    value, unit = float(count), units[0]
    for unit in units:
        if value < 1024.0 or unit == units[-1]:
            break
        value /= 1024.0
    return f"{value:.3g} {unit}" if unit != "bytes" else f"{value:.0f} bytes"


def require(need: float, what: str, error, **where) -> None:
    """Refuse (``error(message, **where)``) a need of ``need`` bytes that does not fit in
    ``available_bytes()``; ``what`` says what needs it ("a cycle graph of n = 1,000,000,000
    nodes and about 1e+09 edges")."""
    have = available_bytes()
    if need > have:
        raise error(f"{what} needs about {describe_bytes(need)} of memory, but "
                    f"{describe_bytes(have)} is available", **where)
