"""Closed-form spectra and resistances against the dense eigendecomposition, and the large
structured graphs that used to take minutes (a path of 20000 nodes: over five minutes of Lanczos
at tol 1e-12 on its clustered top eigenvalues)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from dadao import cli
from dadao.graphs import edge_array, make_graph, rate_constants, spectral
from dadao.graphs import known_spectra

FAMILIES = [("path", 40, {}), ("path", 2, {}), ("cycle", 41, {}), ("cycle", 42, {}),
            ("cycle", 3, {}), ("complete", 25, {}), ("star", 30, {}), ("hypercube", 64, {}),
            ("grid_2d", 30, {"rows": 5, "cols": 6}), ("grid_2d", 49, {}),
            ("grid_2d", 7, {"rows": 1, "cols": 7}),
            ("torus_2d", 35, {"rows": 5, "cols": 7}), ("torus_2d", 9, {})]


@pytest.mark.parametrize("family,n,params", FAMILIES,
                         ids=[f"{f}-{n}-{'x'.join(map(str, p.values()))}" for f, n, p in FAMILIES])
def test_closed_forms_equal_the_dense_eigenvalues(family, n, params):
    edges = edge_array(make_graph(family, n, **params))
    found = known_spectra.family_of(edges, n)
    assert found is not None
    lambda_2, lambda_max = known_spectra.extremes(found[0], n, found[1], found[2])
    dense = rate_constants(edges, np.full(len(edges), 0.5), n, method="dense")
    assert 0.5 * lambda_2 == pytest.approx(dense["lambda_2"], rel=1e-11)
    assert 0.5 * lambda_max == pytest.approx(dense["lambda_max"], rel=1e-12)


@pytest.mark.parametrize("family,n,params", [("path", 300, {}), ("cycle", 301, {}),
                                             ("torus_2d", 120, {"rows": 10, "cols": 12}),
                                             ("star", 200, {})])
def test_the_sparse_path_agrees_with_the_dense_one(family, n, params):
    """rate_constants (sparse: closed forms where they apply) against dense, uniform rates and
    random rates (which the closed-form spectrum does not take, the resistances of trees and
    cycles do)."""
    edges = edge_array(make_graph(family, n, **params))
    for lam in (np.full(len(edges), 3.0),
                np.random.default_rng(0).uniform(0.1, 5.0, len(edges))):
        d = rate_constants(edges, lam, n, method="dense")
        s = rate_constants(edges, lam, n, method="sparse")
        for key in d:
            assert s[key] == pytest.approx(d[key], rel=1e-9), key


def test_a_relabelled_graph_is_not_taken_for_its_family():
    n = 60
    edges = edge_array(make_graph("path", n))
    perm = np.random.default_rng(1).permutation(n)
    assert known_spectra.family_of(np.sort(perm[edges], axis=1), n) is None
    assert known_spectra.family_of(edges[:-1], n) is None  # not the path any more


def test_lambda_max_falls_back_to_shift_invert_where_lanczos_stalls(monkeypatch):
    """A relabelled path (no closed form): plain Lanczos stalls on its clustered top, the
    shift-invert fallback finds lambda_max = 4 cos^2(pi/(2n)) to rounding."""
    n = 3000
    edges = edge_array(make_graph("path", n))
    perm = np.random.default_rng(2).permutation(n)
    edges = np.sort(perm[edges], axis=1)
    monkeypatch.setattr(spectral, "LANCZOS_RESTARTS", 1)  # as if it stalled
    c = rate_constants(edges, np.ones(n - 1), n, method="sparse")
    exact = known_spectra.extremes("path", n)
    assert c["lambda_max"] == pytest.approx(exact[1], rel=1e-12)
    assert c["lambda_2"] == pytest.approx(exact[0], rel=1e-9)


@pytest.mark.parametrize("family", ["path", "cycle"])
def test_a_path_or_cycle_of_20000_nodes_takes_seconds(family, capsys):
    n = 20_000
    t0 = time.perf_counter()
    assert cli.main(["graph", family, "--n", str(n), "--json"]) == 0
    seconds = time.perf_counter() - t0
    info = json.loads(capsys.readouterr().out)
    exact = known_spectra.extremes(family, n)
    assert (info["lambda_2"], info["lambda_max"]) == pytest.approx(exact, rel=1e-12)
    # total rate 1 on E edges: a path's bridges have R_e = E = n - 1; a cycle's edges
    # (n - 1)/(n lambda_e) = n - 1 as well
    assert info["rates"]["chi_2"] == pytest.approx(0.5 * (n - 1), rel=1e-12)
    assert seconds < 60, seconds  # was over 5 minutes (path) and 2 minutes (cycle)


@pytest.mark.parametrize("family,n,params,equal", [
    ("complete", 20, {}, True), ("hypercube", 32, {}, True), ("torus_2d", 36, {}, True),
    ("torus_2d", 35, {"rows": 5, "cols": 7}, False), ("grid_2d", 36, {}, False),
])
def test_equal_resistances_where_the_family_says_so(family, n, params, equal):
    """Foster's theorem gives R_e = (n - 1)/(E c) on the edge-transitive families: the dense
    resistances agree, and are not all equal where the family says they are not."""
    edges = edge_array(make_graph(family, n, **params))
    found = known_spectra.family_of(edges, n)
    assert known_spectra.equal_resistances(*found) is equal
    lam = np.full(len(edges), 2.0)
    R = spectral.effective_resistances(edges, lam, n, method="dense")
    if equal:
        np.testing.assert_allclose(R, (n - 1) / (2.0 * len(edges)), rtol=1e-11)
        np.testing.assert_allclose(
            spectral.effective_resistances(edges, lam, n, method="sparse"), R, rtol=1e-11)
    else:
        assert R.max() - R.min() > 1e-3 * R.max()


def test_a_large_square_torus_takes_seconds(capsys):
    n = 141 * 141
    t0 = time.perf_counter()
    assert cli.main(["graph", "torus_2d", "--n", str(n), "--json"]) == 0
    seconds = time.perf_counter() - t0
    info = json.loads(capsys.readouterr().out)
    assert info["lambda_max"] == pytest.approx(known_spectra.extremes("torus_2d", n, 141, 141)[1],
                                               rel=1e-12)
    assert seconds < 60, seconds  # was about 30 s: a factorisation per rate vector
