"""Links: the time a message takes, latency + nbytes / bandwidth, in seconds (bandwidth in
bytes per second; math.inf: size costs nothing).

A message of ``vectors`` vectors of d float64 values has 8 d vectors bytes. The latency of the
m-th message u -> v is the m-th draw of a law on the stream (seed, (LATENCY_KEY, u, v)): a link
is directed in its keys. Per-link overrides (a CSV with header ``u,v,latency,bandwidth``)
replace a link's latency by a constant and/or its bandwidth, in both directions. An exchange on
an edge, a message each way at once, takes the slower direction: max(u -> v, v -> u)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dadao.errors import ConfigError
from dadao.timing.csv_files import csv_int, csv_number, csv_rows
from dadao.timing.laws import Constant, Draws, Law
from dadao.timing.streams import LATENCY_KEY, stream


#: bytes of one float64 value of a message
FLOAT64_BYTES = 8


def message_bytes(d: int, vectors: int = 1) -> int:
    """Bytes of a message of ``vectors`` vectors of d float64 values: 8 d vectors (a
    multi-consensus round sends one vector per round, so one message per round)."""
    if int(d) < 1 or int(vectors) < 0:
        raise ValueError(f"need d >= 1 and vectors >= 0, got d={d!r}, vectors={vectors!r}")
    return FLOAT64_BYTES * int(d) * int(vectors)


def transfer_time(latency, nbytes, bandwidth):
    """Seconds a message takes on a link: latency + nbytes / bandwidth (bytes per second;
    math.inf: size costs nothing)."""
    return latency + nbytes / bandwidth


@dataclass(frozen=True)
class LinkOverride:
    """A link's own latency (constant, seconds) and bandwidth (bytes per second); None keeps
    the model's default."""

    latency: float | None = None
    bandwidth: float | None = None


def load_link_overrides(path, edges=None, field: str = "timing.links_path"
                        ) -> dict[tuple[int, int], LinkOverride]:
    """Per-link overrides from a CSV file with header ``u,v,latency,bandwidth``: {(min(u, v),
    max(u, v)): LinkOverride}, applied to both directions. An empty cell keeps the default;
    bandwidth may be "inf". With ``edges`` (an (E, 2) array), every row must name an edge."""
    known = None if edges is None else {(min(u, v), max(u, v))
                                        for u, v in np.asarray(edges).reshape(-1, 2).tolist()}
    out = {}
    for lineno, (u_text, v_text, lat_text, bw_text) in csv_rows(
            path, ("u", "v", "latency", "bandwidth"), "link overrides file", field):
        u = csv_int(u_text, "u", lineno, path, field)
        v = csv_int(v_text, "v", lineno, path, field)
        key = (min(u, v), max(u, v))
        if known is not None and key not in known:
            raise ConfigError(f"line {lineno}: ({u}, {v}) is not an edge of the graph",
                              field=field, file=str(path))
        if key in out:
            raise ConfigError(f"line {lineno}: link ({u}, {v}) is given twice", field=field,
                              file=str(path))
        latency = None if lat_text == "" else csv_number(lat_text, "latency", lineno, path,
                                                         field, zero_ok=True)
        bandwidth = None if bw_text == "" else csv_number(bw_text, "bandwidth", lineno, path,
                                                          field, zero_ok=False, inf_ok=True)
        out[key] = LinkOverride(latency, bandwidth)
    return out


def _check_bandwidth(bandwidth, field: str = "timing.bandwidth") -> float:
    x = float(bandwidth)
    if not (x > 0):  # inf allowed: no cost per byte
        raise ConfigError(f"must be a number > 0 (bytes per second), got {bandwidth!r}",
                          field=field)
    return x


class Links:
    """Transfer times of messages: latency + nbytes / bandwidth, seconds.

    The latency of the m-th message u -> v is the m-th draw of ``latency`` on the stream (seed,
    (LATENCY_KEY, u, v)); ``overrides`` ({(u, v) with u < v: LinkOverride}, both directions)
    replace a link's latency by a constant and/or its bandwidth (bytes per second, default
    ``bandwidth``; math.inf: no cost per byte).
    """

    def __init__(self, latency: Law | None = None, bandwidth: float = math.inf, seed: int = 0,
                 overrides: dict | None = None):
        self.latency = latency if latency is not None else Constant(0.0)
        self.default_bandwidth = _check_bandwidth(bandwidth)
        self.seed = int(seed)
        self.overrides = dict(overrides or {})
        for o in self.overrides.values():
            if o.bandwidth is not None:
                _check_bandwidth(o.bandwidth, "timing.links_path")
        self._draws: dict[tuple[int, int], Draws] = {}

    def _override(self, u: int, v: int) -> LinkOverride:
        return self.overrides.get((min(u, v), max(u, v)), LinkOverride())

    def latency_law(self, u: int, v: int) -> Law:
        """The law of the latency of the link u - v (either direction)."""
        latency = self._override(u, v).latency
        return self.latency if latency is None else Constant(latency)

    def bandwidth(self, u: int, v: int) -> float:
        """The bandwidth of the link u - v, bytes per second."""
        bw = self._override(u, v).bandwidth
        return self.default_bandwidth if bw is None else bw

    def transfer_times(self, u: int, v: int, nbytes: float, size: int = 1) -> np.ndarray:
        """Seconds the next ``size`` messages of ``nbytes`` bytes u -> v take, in order."""
        key = (int(u), int(v))
        if key not in self._draws:
            self._draws[key] = Draws(self.latency_law(*key),
                                     stream(self.seed, (LATENCY_KEY,) + key))
        return transfer_time(self._draws[key].take(int(size)), float(nbytes),
                             self.bandwidth(*key))

    def mean_transfer_time(self, u: int, v: int, nbytes: float) -> float:
        """E[latency] + nbytes / bandwidth of the link u - v, seconds."""
        return transfer_time(self.latency_law(u, v).mean, float(nbytes), self.bandwidth(u, v))

    def exchange_times(self, edges, count: int, nbytes: float) -> np.ndarray:
        """(count, E): the time of each of the next ``count`` exchanges on every edge (u, v), a
        message each way at once: max(u -> v, v -> u) transfer time, seconds."""
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        out = np.empty((int(count), len(edges)))
        for e, (u, v) in enumerate(edges.tolist()):
            out[:, e] = np.maximum(self.transfer_times(u, v, nbytes, count),
                                   self.transfer_times(v, u, nbytes, count))
        return out
