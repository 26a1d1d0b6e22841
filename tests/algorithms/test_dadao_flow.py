"""DADAO's closed-form between-event flow against scipy's matrix exponential."""

import numpy as np
import pytest
import scipy.linalg

from dadao.algorithms import dadao


def flow_matrix(k, dt):
    """F(dt) as a 6x6 matrix: the closed-form flow applied to each unit vector."""
    basis = np.eye(6)[:, :, None].copy()  # six states (6, d=1), one per unit vector
    out = np.empty((6, 6))
    for col in range(6):
        s = basis[col].copy()
        dadao.flow(s, dt, k)
        out[:, col] = s[:, 0]
    return out


KAPPAS = [1.0, 2.0, 5.0, 17.3, 100.0, 1e3, 1e4]
DTS = np.geomspace(1e-6, 1e3, 19)


@pytest.mark.parametrize("kappa", KAPPAS)
def test_flow_matches_expm_normwise(kappa):
    L = 3.0
    k = dadao.constants(L=L, mu=L / kappa, chi_1=7.5)
    A = dadao.generator_matrix(k)
    worst = 0.0
    for dt in DTS:
        ref = scipy.linalg.expm(A * dt)
        err = np.linalg.norm(flow_matrix(k, dt) - ref) / np.linalg.norm(ref)
        worst = max(worst, err)
    assert worst <= 1e-10, f"kappa={kappa}: worst normwise error {worst:.2e}"


def test_flow_is_a_semigroup_and_vectorised_over_coordinates():
    k = dadao.constants(L=2.0, mu=0.1, chi_1=40.0)
    rng = np.random.default_rng(0)
    s = rng.normal(size=(6, 5))
    once, twice = s.copy(), s.copy()
    dadao.flow(once, 3.7, k)
    dadao.flow(twice, 1.2, k)
    dadao.flow(twice, 2.5, k)
    np.testing.assert_allclose(once, twice, rtol=1e-12, atol=1e-12 * np.abs(s).max())
    # each coordinate follows the same 6x6 linear map
    F = flow_matrix(k, 3.7)
    np.testing.assert_allclose(once, F @ s, rtol=1e-12, atol=1e-13)


def test_zero_dt_is_identity():
    k = dadao.constants(L=1.0, mu=0.5, chi_1=1.0)
    s = np.arange(12.0).reshape(6, 2)
    before = s.copy()
    dadao.flow(s, 0.0, k)
    assert np.array_equal(s, before)


def test_flow_conserves_what_the_ode_conserves():
    """x + xt and alpha_t z + alpha zt are invariants of the ODE (rows of A sum to zero there)."""
    k = dadao.constants(L=5.0, mu=0.05, chi_1=3.0)
    s = np.random.default_rng(1).normal(size=(6, 3))
    s0 = s.copy()
    dadao.flow(s, 50.0, k)
    np.testing.assert_allclose(s[0] + s[1], s0[0] + s0[1], rtol=1e-13)
    np.testing.assert_allclose(k.alpha_t * s[4] + k.alpha * s[5],
                               k.alpha_t * s0[4] + k.alpha * s0[5], rtol=1e-12)


def test_constants_match_the_specification():
    L, mu, chi_1 = 4.0, 0.5, 10.0
    k = dadao.constants(L, mu, chi_1)
    nu = mu / 2
    r = np.sqrt(nu / L)
    assert k.nu == nu and np.isclose(k.r, r)
    assert np.isclose(k.eta, r / 8) and np.isclose(k.alpha, r / 4)
    assert np.isclose(k.alpha_t, r / 8) and np.isclose(k.theta, 1 / (2 * r))
    assert np.isclose(k.gamma, 1 / (4 * L)) and np.isclose(k.gamma_t, 1 / (4 * np.sqrt(L * nu)))
    assert np.isclose(k.c_y, 1 + r / 4) and k.beta == 0.5
    assert np.isclose(k.beta_t, 2 * chi_1 * np.sqrt(L / nu))
    with pytest.raises(ValueError, match="mu"):
        dadao.constants(1.0, 0.0, 1.0)
