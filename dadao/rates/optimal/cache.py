"""The on-disk cache of optimal rates: one .npz file (rates, JSON metadata) per request.

The key (:func:`cache_key`) digests everything a result depends on: n, the edge array, the
requested method and solver ("auto" for the default chain), the node caps, the limits (max_iter,
time_limit_s), the objective's weights (the per-edge costs normalised to mean 1, what the rates
depend on; no costs and equal costs have none, and keep the key of the unweighted program as it
was before costs existed), FORMULATION (the version of the programs and of the solver settings),
ENTRY_FORMAT (the version of what an entry holds) and, for the requests whose answer can come
from the first-order method (method "first-order", and "sdp" on the default chain without
caps, which falls back to it), FIRST_ORDER (the version of that method). The metadata records
what actually produced the rates (method, solver, status, label, attempts), so a cached
fallback result says which solver made it.

Nothing read back is trusted. An entry holds its own key (the problem it solved) and a digest of
its rates; :func:`load` refuses, with :class:`UnusableEntry` and the reason, a file that is not
a readable .npz of exactly "rates" (float64, 1-d) and "meta" (a JSON object), the entry of
another problem, or rates that are not the bytes stored by :func:`store`. What the rates claim
(verified, tight, their total) is checked by the caller, who knows the graph
(``dadao.rates.optimal._from_cache``). An absent entry is a plain miss (None). Entries are written
atomically; a read-only cache folder is not an error.
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
# Version of the entry's contents (ENTRY_FORMAT "2": key and rates digest in the metadata):
# part of the key too, so entries of an older format are never read, not even to warn.
ENTRY_FORMAT = "2"
# Version of the first-order method (its stopping rules, smoothing and defaults): in the key of
# the requests it can answer. "2": L-BFGS-B on rates with a certified gap (was: log-rates).
FIRST_ORDER = "2"
ARRAYS = ("meta", "rates")


class UnusableEntry(Exception):
    """A cache entry that exists but cannot be used; ``reason`` says why, in a few words.

    Not a DadaoError: it never reaches a user, the result is solved again instead."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def rates_cache_dir() -> Path:
    """$DADAO_CACHE_DIR/optimal_rates if set, else ~/.cache/dadao/optimal_rates."""
    root = os.environ.get("DADAO_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                              "dadao")
    return Path(root) / "optimal_rates"


def entry_path(key: str) -> Path:
    """The file of the entry stored under key."""
    return rates_cache_dir() / f"{key}.npz"


def cache_key(e, n, method, solver, caps, limits=None, weights=None) -> str:
    """Digest of (n, edges, method, solver request, caps, limits, weights) under FORMULATION
    (and FIRST_ORDER where the first-order method can answer)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"optimal_rates:{FORMULATION}:{ENTRY_FORMAT}:{n}:{method}:{solver}:{limits}:"
             .encode())
    if method == "first-order" or (method == "sdp" and solver == "auto" and caps is None):
        h.update(f"first_order:{FIRST_ORDER}:".encode())
    h.update(np.ascontiguousarray(e, dtype=np.int64).tobytes())
    h.update(b"caps:" + (b"none" if caps is None else
                         np.ascontiguousarray(caps, dtype=np.float64).tobytes()))
    if weights is not None:
        h.update(b"weights:" + np.ascontiguousarray(weights, dtype=np.float64).tobytes())
    return h.hexdigest()


def rates_digest(rates) -> str:
    """Digest of the float64 bytes of a rate vector: a changed rate is a changed digest."""
    data = np.ascontiguousarray(rates, dtype=np.float64)
    return hashlib.blake2b(data.tobytes(), digest_size=20).hexdigest()


def load(key):
    """(rates, metadata dict) stored under key; None when there is no entry.

    Raises UnusableEntry when the file is there but cannot be used (see the module docstring).
    """
    path = entry_path(key)
    if not path.exists():
        return None
    rates, meta = _read_entry(path)
    if meta.get("key") != key:
        raise UnusableEntry("it is the entry of another problem (its key differs)")
    if meta.get("rates_digest") != rates_digest(rates):
        raise UnusableEntry("its rates do not match their digest (the file was altered)")
    return rates, meta


def _read_entry(path: Path):
    """(rates, meta) of a well-formed entry file, else UnusableEntry."""
    try:
        data = np.load(path, allow_pickle=False)
        if not hasattr(data, "files"):  # a bare .npy array, not an archive
            raise UnusableEntry("not an .npz archive")
        with data:
            names = sorted(data.files)
            if names != list(ARRAYS):
                raise UnusableEntry(f"it holds {', '.join(names) or 'no arrays'}, not "
                                    f"{' and '.join(ARRAYS)}")
            rates, meta_text = data["rates"], data["meta"]
    except UnusableEntry:
        raise
    except Exception as exc:
        # The bytes come from outside: whatever numpy's zip and .npy parsers raise on them
        # (BadZipFile, EOFError, ValueError, zlib.error, ...) means one thing, unreadable.
        detail = str(exc).splitlines()[0].split(". ")[0] if str(exc) else "no detail"
        raise UnusableEntry(f"not a readable .npz file ({type(exc).__name__}: {detail})") \
            from None
    if rates.dtype != np.float64 or rates.ndim != 1:
        raise UnusableEntry(f"its rates are {rates.dtype} of shape {rates.shape}, not a float64 "
                            f"vector")
    if meta_text.dtype.kind != "U" or meta_text.ndim != 0:
        raise UnusableEntry("its metadata is not a JSON text")
    try:
        meta = json.loads(str(meta_text))
    except ValueError as exc:
        raise UnusableEntry(f"its metadata is not JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise UnusableEntry("its metadata is not a JSON object")
    return np.array(rates), meta


def store(key, rates, meta: dict) -> bool:
    """Write rates and JSON-ready metadata under key, with the key and the digest of the rates;
    False where the cache folder is not writable (not an error: the result is still returned).
    """
    folder = rates_cache_dir()
    lam = np.ascontiguousarray(rates, dtype=np.float64)
    meta = {**meta, "key": key, "rates_digest": rates_digest(lam)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, rates=lam, meta=json.dumps(meta, default=_jsonable))
        write_atomic(entry_path(key), buf.getvalue())
    except OSError:
        return False
    return True


def _jsonable(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return float(x)
