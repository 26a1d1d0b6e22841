"""The on-disk cache of optimal rates: one .npz file (rates, JSON metadata) per request.

The key (:func:`cache_key`) digests everything a result depends on: n, the edge array, the
requested method and solver ("auto" for the default chain), the node caps, the limits (max_iter,
time_limit_s) and FORMULATION, the version of the programs and of the solver settings. The
metadata records what actually produced the rates (method, solver, status, label, attempts), so a
cached fallback result says which solver made it. Entries are written atomically; an unreadable
entry is a miss; a read-only cache folder is not an error.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from dadao.atomic import write_atomic

# Version of the formulations and solver settings: part of the key, bump it when they change.
FORMULATION = "2"


def rates_cache_dir() -> Path:
    """$DADAO_CACHE_DIR/optimal_rates if set, else ~/.cache/dadao/optimal_rates."""
    root = os.environ.get("DADAO_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                              "dadao")
    return Path(root) / "optimal_rates"


def cache_key(e, n, method, solver, caps, limits=None) -> str:
    """Digest of (n, edges, method, solver request, caps, limits) under FORMULATION."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"optimal_rates:{FORMULATION}:{n}:{method}:{solver}:{limits}:".encode())
    h.update(np.ascontiguousarray(e, dtype=np.int64).tobytes())
    h.update(b"caps:" + (b"none" if caps is None else
                         np.ascontiguousarray(caps, dtype=np.float64).tobytes()))
    return h.hexdigest()


def load(key):
    """(rates, metadata dict) stored under key, or None (absent or unreadable)."""
    path = rates_cache_dir() / f"{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            rates = np.array(data["rates"], dtype=np.float64)
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError):
        return None
    return (rates, meta) if isinstance(meta, dict) else None


def store(key, rates, meta: dict) -> None:
    """Write rates and JSON-ready metadata under key (silently skipped where not writable)."""
    folder = rates_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, rates=np.asarray(rates, dtype=np.float64),
                 meta=json.dumps(meta, default=_jsonable))
        write_atomic(folder / f"{key}.npz", buf.getvalue())
    except OSError:
        pass  # a read-only cache is not an error: the result is still returned


def _jsonable(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return float(x)
