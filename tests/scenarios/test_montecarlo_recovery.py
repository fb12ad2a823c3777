"""Recovery: the default Merton estimator on daily closes simulated from known parameters.

The data are drawn here, independently of ``mc_scenarios``: two assets, 40 years of daily log
returns ``r = d + s Z + sum of N ~ Poisson(p) jumps ~ N(mu_J, delta^2)`` with diffusive
correlation ``rho`` and independent jumps (``s = sigma / sqrt(365)``, ``p = lambda / 365``).

Tolerances are derived, not tuned. The estimator thresholds ``|r_t| > k sigma_t`` with the EWMA
forecast ``sigma_t``, which is known at ``t - 1``. Given the EWMA path, day ``t`` is a normal
mixture over the jump count ``j`` (weights ``w_j``, mean ``d + j mu_J``, variance
``s^2 + j delta^2``), so the flag probability ``q_t`` and the partial moments
``E[r^m 1{|r| > c}]`` (m = 1, 2) are closed form. Their sums are the compensators of the flag
count and of the flagged sums, which are martingales: the estimator's conditional targets are

- ``lambda~ = sum q_t / (n / 365)``, sd ``sqrt(sum q_t (1 - q_t)) / (n / 365)``;
- ``mu~ = sum E[r 1] / sum q_t``, sd ``sqrt(sum E[(r - mu~)^2 1]) / sum q_t``;
- the sample variance of the flagged returns ``V~ = sum E[r^2 1] / sum q_t - mu~^2``, sd from
  the flagged days' ``(r - mu)^2`` (plug-in), and ``delta^2 = V - mean(sigma_t^2)``;
- ``rho~ = rho s^2 sum 1 / (sigma_A sigma_B) / sqrt(sum z_A^2 sum z_B^2)`` over the no-jump
  days (jumps independent across assets add nothing to the cross products), sd from the plug-in
  ``sqrt(sum (z_A z_B)^2)`` over the same denominator.

Each estimate must be within 4 sd of its target, and each target near the true parameter,
within the estimator's own biases:

- the threshold misses jumps while the EWMA is inflated after a large jump (about 9 % of them
  here: ``lambda~`` below ``lambda``);
- ``delta`` is pulled down because ``sigma_t^2`` measures the total variance
  ``s^2 + p E[Y^2]``, not ``s^2``, and up by the days with two jumps;
- ``rho~`` is below ``rho`` because each asset's ``sigma_t`` moves with its own jumps, so
  ``E[1 / (sigma_A sigma_B)]^2 < E[1 / sigma_A^2] E[1 / sigma_B^2]`` (about 0.87 ``rho`` here).

The parameters (jumps of -25 % +- 5 %) make the threshold rule meaningful: with jumps of
-5 % +- 10 % most jumps stay below 4 EWMA sigmas, the estimator sees a fraction of them and
there is nothing to recover. The diffusive sigma is checked only loosely: the estimator's
``sigma_now`` is one EWMA reading of the total variance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from portmargin.market import PriceHistory
from portmargin.scenarios import MertonEstimate, estimate_merton, ewma_variance

SIGMA, LAM, MU, DELTA, RHO = 0.40, 5.0, -0.25, 0.05, 0.5
YEARS = 40
K = 4.0
S2 = SIGMA**2 / 365
P = LAM / 365
KAPPA = math.expm1(MU + DELTA**2 / 2)
DRIFT = (-(SIGMA**2) / 2 - LAM * KAPPA) / 365
JUMPS = np.arange(8)  # jump counts in one day; P(N >= 8) ~ 1e-20
WEIGHTS = stats.poisson.pmf(JUMPS, P)


def simulate(seed: int = 11) -> tuple[NDArray[np.float64], PriceHistory]:
    rng = np.random.Generator(np.random.PCG64(seed))
    n = YEARS * 365
    chol = np.linalg.cholesky(np.array([[1.0, RHO], [RHO, 1.0]]))
    z = rng.standard_normal((n, 2)) @ chol.T
    counts = rng.poisson(P, size=(n, 2))
    jumps = MU * counts + DELTA * np.sqrt(counts) * rng.standard_normal((n, 2))
    r = DRIFT + math.sqrt(S2) * z + jumps
    closes = 100.0 * np.exp(np.vstack([np.zeros((1, 2)), np.cumsum(r, axis=0)]))
    dates = np.datetime64("1980-01-01", "D") + np.arange(n + 1)
    return r, PriceHistory(underlyings=("A", "B"), dates=dates, closes=closes)


def partial_moments(c: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """``(q, E[r 1], E[r^2 1])`` per day for ``1 = 1{|r| > c}`` under the day's mixture."""
    mean = DRIFT + MU * JUMPS[None, :]
    sd = np.sqrt(S2 + DELTA**2 * JUMPS[None, :])
    lo = (-c[:, None] - mean) / sd
    hi = (c[:, None] - mean) / sd
    m0 = stats.norm.cdf(lo) + stats.norm.sf(hi)
    m1 = stats.norm.pdf(hi) - stats.norm.pdf(lo)  # E[Z 1]
    m2 = m0 - lo * stats.norm.pdf(lo) + hi * stats.norm.pdf(hi)  # E[Z^2 1]
    first = mean * m0 + sd * m1
    second = mean**2 * m0 + 2 * mean * sd * m1 + sd**2 * m2
    return (m0 @ WEIGHTS, first @ WEIGHTS, second @ WEIGHTS)


@pytest.fixture(scope="module")
def case() -> tuple[NDArray[np.float64], NDArray[np.float64], MertonEstimate]:
    r, history = simulate()
    var = np.column_stack([ewma_variance(r[:, j]) for j in range(2)])
    return r, var, estimate_merton(history)


@pytest.mark.parametrize("j", [0, 1])
def test_jump_parameters_are_recovered(
    case: tuple[NDArray[np.float64], NDArray[np.float64], MertonEstimate], j: int
) -> None:
    r, var, est = case
    fit = est.assets[j]
    years = r.shape[0] / 365
    sigma_t = np.sqrt(var[:-1, j])
    q, first, second = partial_moments(K * sigma_t)
    flagged = np.abs(r[:, j]) > K * sigma_t
    assert fit.n == r.shape[0]
    assert fit.jump_days == int(flagged.sum())

    lam_target = q.sum() / years
    lam_sd = math.sqrt(float(np.sum(q * (1 - q)))) / years
    assert abs(fit.jump_intensity - lam_target) < 4 * lam_sd
    # jumps are missed, not invented: the EWMA stays inflated for weeks after a -25 % jump
    assert 0.85 * LAM < lam_target < 1.01 * LAM

    mu_target = first.sum() / q.sum()
    mu_sd = math.sqrt(float(np.sum(second - 2 * mu_target * first + mu_target**2 * q))) / q.sum()
    assert abs(fit.jump_mean - mu_target) < 4 * mu_sd
    assert mu_target == pytest.approx(MU, rel=0.02)

    v_target = second.sum() / q.sum() - mu_target**2
    rj = r[flagged, j]
    v_sd = float(np.std((rj - rj.mean()) ** 2, ddof=1)) / math.sqrt(rj.size)
    mean_var_t = float(np.mean(var[:-1, j][flagged]))
    assert abs(fit.jump_vol**2 + mean_var_t - v_target) < 4 * v_sd
    delta_target = math.sqrt(v_target - mean_var_t)
    # two opposite biases: sigma_t^2 is the total variance s^2 + p E[Y^2], not s^2 (lower);
    # days with two jumps (mean 2 mu_J) widen the flagged returns (higher, here +9 %)
    assert delta_target == pytest.approx(DELTA, rel=0.15)


def test_correlation_is_recovered(
    case: tuple[NDArray[np.float64], NDArray[np.float64], MertonEstimate],
) -> None:
    r, var, est = case
    sigma_t = np.sqrt(var[:-1])
    z = r / sigma_t
    calm = (np.abs(z) <= K).all(axis=1)
    assert est.correlation_n == int(calm.sum())
    za, zb = z[calm, 0] - z[calm, 0].mean(), z[calm, 1] - z[calm, 1].mean()
    scale = math.sqrt(float(za @ za) * float(zb @ zb))
    target = RHO * S2 * float(np.sum(1 / (sigma_t[calm, 0] * sigma_t[calm, 1]))) / scale
    sd = math.sqrt(float(np.sum((za * zb) ** 2))) / scale
    assert abs(est.correlation[0, 1] - target) < 4 * sd
    # attenuated (Cauchy-Schwarz): each asset's sigma_t moves with its own jumps
    assert 0.8 * RHO < target < RHO


def test_diffusive_sigma_is_the_current_ewma(
    case: tuple[NDArray[np.float64], NDArray[np.float64], MertonEstimate],
) -> None:
    """sigma = sigma_now sqrt(365); the EWMA averages to the total variance s^2 + p E[Y^2]."""
    _, var, est = case
    for j, fit in enumerate(est.assets):
        assert fit.sigma == pytest.approx(math.sqrt(var[-1, j] * 365), rel=1e-12)
        assert 0.5 * SIGMA < fit.sigma < 3 * SIGMA
    total_var = S2 + P * (MU**2 + DELTA**2)
    # mean of ~14,600 overlapping EWMA readings; effective sample ~ n / 32
    assert float(var[:-1].mean()) == pytest.approx(total_var, rel=0.15)
