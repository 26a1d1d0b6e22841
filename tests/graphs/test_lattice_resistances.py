"""Closed-form effective resistances of the unit-rate families against the dense computation."""

import numpy as np
import pytest

from dadao.graphs import edge_array, effective_resistances, make_graph, rate_constants
from dadao.graphs.lattice_resistances import (grid_resistances, lattice_edge_resistances,
                                              torus_resistances)

SHAPES = [("torus_2d", 3, 3), ("torus_2d", 4, 7), ("torus_2d", 9, 5), ("torus_2d", 3, 11),
          ("grid_2d", 2, 2), ("grid_2d", 2, 9), ("grid_2d", 7, 3), ("grid_2d", 6, 6),
          ("grid_2d", 13, 4), ("grid_2d", 3, 17)]


@pytest.mark.parametrize("family,rows,cols", SHAPES, ids=[f"{f}-{r}x{c}" for f, r, c in SHAPES])
def test_lattices_equal_the_dense_resistances(family, rows, cols):
    n = rows * cols
    edges = edge_array(make_graph(family, n, rows=rows, cols=cols))
    exact = effective_resistances(edges, np.ones(len(edges)), n, method="dense")
    closed = lattice_edge_resistances(edges, family, rows, cols)
    np.testing.assert_allclose(closed, exact, rtol=1e-12)
    assert closed.sum() == pytest.approx(n - 1, rel=1e-13)  # Foster's theorem
    # an edge list in another order and orientation gets the same values, edge by edge
    perm = np.random.default_rng(0).permutation(len(edges))
    np.testing.assert_array_equal(lattice_edge_resistances(edges[perm][:, ::-1], family, rows,
                                                           cols), closed[perm])


@pytest.mark.parametrize("method", ["sparse", "estimate"])
@pytest.mark.parametrize("family,rows,cols", [("torus_2d", 12, 20), ("grid_2d", 15, 14)])
def test_uniform_rates_take_the_closed_forms(method, family, rows, cols):
    n = rows * cols
    edges = edge_array(make_graph(family, n, rows=rows, cols=cols))
    rates = np.full(len(edges), 0.37)
    closed = rate_constants(edges, rates, n, method=method)
    dense = rate_constants(edges, rates, n, method="dense")
    for key in dense:
        assert closed[key] == pytest.approx(dense[key], rel=1e-11), key
    np.testing.assert_allclose(effective_resistances(edges, rates, n, method=method),
                               effective_resistances(edges, rates, n, method="dense"),
                               rtol=1e-11)


def test_square_torus_and_the_infinite_lattice():
    # edge-transitive: both directions (n - 1)/(2n); large tori approach the lattice's 1/2
    for side in (3, 8, 51):
        n = side * side
        along, across = torus_resistances(side, side)
        assert along == pytest.approx((n - 1) / (2 * n), rel=1e-14)
        assert across == pytest.approx(along, rel=1e-14)
    assert torus_resistances(2000, 3000)[0] == pytest.approx(0.5, abs=1e-6)
    # a long thin torus (n edges in each direction): Foster's theorem, n (a + b) = n - 1
    a, b = torus_resistances(3, 10_000)
    assert 30_000 * (a + b) == pytest.approx(30_000 - 1, rel=1e-12)


def test_grid_forms_agree_across_the_two_costs():
    # rows <= cols takes the S-form, rows > cols the T-form: the same grid both ways round
    R_columns, R_rows = grid_resistances(5, 9)
    T_columns, T_rows = grid_resistances(9, 5)
    np.testing.assert_allclose(R_columns, T_rows.T, rtol=1e-13)
    np.testing.assert_allclose(R_rows, T_columns.T, rtol=1e-13)
    # the middle of a big grid is nearly the infinite lattice (1/2), its corner edges larger
    C, _ = grid_resistances(301, 301)
    assert C[150, 150] == pytest.approx(0.5, abs=1e-4)
    assert C[0, 0] > 0.6
