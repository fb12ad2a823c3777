"""Monte Carlo Merton scenarios (var-margin.md 3.4): validation table, martingale and pricing
checks, correlation repair, reproducibility and input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.pricing import merton
from portmargin.scenarios import (
    EIGEN_FLOOR,
    MC_SEED,
    CommonJumps,
    MertonMarginal,
    MertonParams,
    mc_scenarios,
    merton_mixture_var_es,
    repair_correlation,
)

BTC = MertonMarginal(sigma=0.5773, jump_intensity=3.482, jump_mean=-0.0100, jump_vol=0.1773)
ETH = MertonMarginal(sigma=0.7572, jump_intensity=2.868, jump_mean=-0.0867, jump_vol=0.2359)

# var-margin.md 3.4 validation targets: (h, alpha) -> long VaR, long ES, short VaR, short ES
TABLE = {
    (1, 0.99): (0.07255, 0.11376, 0.07648, 0.12630),
    (1, 0.995): (0.08442, 0.15007, 0.08930, 0.17075),
    (2, 0.99): (0.10623, 0.16291, 0.11443, 0.18800),
    (2, 0.995): (0.13186, 0.20995, 0.14122, 0.25109),
}


def rng(seed: int = MC_SEED) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def one(marginal: MertonMarginal) -> MertonParams:
    return MertonParams.independent(["X"], [marginal])


def var_es(losses: NDArray[np.float64], alpha: float) -> tuple[float, float]:
    """Empirical VaR/ES of var-margin.md section 5 (equal weights)."""
    ordered = np.sort(losses)[::-1]
    a = ordered.size * (1.0 - alpha)
    k = math.floor(a + 1e-9)
    f = a - k
    return float(ordered[k]), float((ordered[:k].sum() + f * ordered[k]) / a)


@pytest.mark.parametrize(("h", "alpha"), list(TABLE))
def test_mixture_reproduces_the_validation_table(h: int, alpha: float) -> None:
    long = merton_mixture_var_es(BTC, horizon_days=h, confidence=alpha, side="long")
    short = merton_mixture_var_es(BTC, horizon_days=h, confidence=alpha, side="short")
    got = (long.var, long.es, short.var, short.es)
    assert tuple(round(x, 5) for x in got) == TABLE[h, alpha]


@pytest.mark.parametrize("h", [1, 2])
def test_one_million_paths_match_the_table(h: int) -> None:
    s = mc_scenarios(one(BTC), horizon_days=h, paths=1_000_000, rng=rng())
    move = s.shocks[:, 0]
    for alpha in (0.99, 0.995):
        long_var, long_es, short_var, short_es = TABLE[h, alpha]
        lv, le = var_es(-move, alpha)
        sv, se = var_es(move, alpha)
        assert lv == pytest.approx(long_var, rel=0.02)
        assert sv == pytest.approx(short_var, rel=0.02)
        assert le == pytest.approx(long_es, rel=0.03)
        assert se == pytest.approx(short_es, rel=0.03)
    standard_error = move.std(ddof=1) / math.sqrt(move.size)
    assert abs(move.mean()) < 4.0 * standard_error


def test_mixture_quantile_is_the_cdf_root() -> None:
    """Without jumps the mixture is one normal: VaR and ES in closed form."""
    from scipy.stats import norm

    m = MertonMarginal(sigma=0.8, jump_intensity=0.0)
    tau = 3 / 365
    mean, sd = -0.5 * 0.64 * tau, 0.8 * math.sqrt(tau)
    x = mean + sd * norm.ppf(0.01)
    es = 1.0 - math.exp(mean + sd * sd / 2) * norm.cdf(norm.ppf(0.01) - sd) / 0.01
    got = merton_mixture_var_es(m, horizon_days=3, confidence=0.99, side="long")
    assert got.var == pytest.approx(-math.expm1(x), rel=1e-12)
    assert got.es == pytest.approx(es, rel=1e-12)


def test_mixture_rejects_bad_inputs() -> None:
    with pytest.raises(ValidationError, match="confidence"):
        merton_mixture_var_es(BTC, horizon_days=1, confidence=1.0, side="long")
    with pytest.raises(ValidationError, match="side"):
        merton_mixture_var_es(BTC, horizon_days=1, confidence=0.99, side="flat")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="horizon_days"):
        merton_mixture_var_es(BTC, horizon_days=0, confidence=0.99, side="long")
    busy = MertonMarginal(sigma=0.5, jump_intensity=2000.0, jump_mean=0.0, jump_vol=0.01)
    with pytest.raises(ValidationError, match="terms"):
        merton_mixture_var_es(busy, horizon_days=5, confidence=0.99, side="long")


# --- risk neutrality: the compensator makes F e^X a martingale ---------------------------------

STRESS = MertonMarginal(sigma=0.6, jump_intensity=5.0, jump_mean=-0.25, jump_vol=0.3)


def mc_prices(
    x: NDArray[np.float64], forward: float, strikes: NDArray[np.float64]
) -> tuple[NDArray[np.float64], ...]:
    """MC call and put prices on F e^X and their standard errors (zero rates)."""
    terminal = forward * np.exp(x)[:, None]
    calls = np.maximum(terminal - strikes, 0.0)
    puts = np.maximum(strikes - terminal, 0.0)
    root_n = math.sqrt(x.size)
    return (
        calls.mean(axis=0),
        calls.std(axis=0, ddof=1) / root_n,
        puts.mean(axis=0),
        puts.std(axis=0, ddof=1) / root_n,
    )


@pytest.mark.parametrize("marginal", [BTC, STRESS], ids=["btc", "stress"])
@pytest.mark.parametrize("days", [30, 182])
def test_mc_option_prices_match_the_merton_series(marginal: MertonMarginal, days: int) -> None:
    forward = 50_000.0
    strikes = forward * np.array([0.7, 0.9, 1.0, 1.1, 1.4])
    s = mc_scenarios(one(marginal), horizon_days=days, paths=400_000, rng=rng(days))
    call, call_se, put, put_se = mc_prices(s.log_returns[:, 0], forward, strikes)
    args = (days / 365, marginal.sigma)
    jumps = (marginal.jump_intensity, marginal.jump_mean, marginal.jump_vol)
    exact_call = merton.price(forward, strikes, *args, True, *jumps)
    exact_put = merton.price(forward, strikes, *args, False, *jumps)
    assert np.all(np.abs(call - exact_call) < 4.0 * call_se)
    assert np.all(np.abs(put - exact_put) < 4.0 * put_se)


def test_the_tutorial_compensator_fails_the_pricing_check() -> None:
    """lambda (mu_J + delta^2 / 2) instead of lambda kappa: prices miss by many errors."""
    days = 182
    tau = days / 365
    m = STRESS
    s = mc_scenarios(one(m), horizon_days=days, paths=400_000, rng=rng(days))
    wrong = m.jump_intensity * (m.kappa - (m.jump_mean + 0.5 * m.jump_vol**2)) * tau
    forward = 50_000.0
    strikes = forward * np.array([0.9, 1.0, 1.1])
    call, call_se, _, _ = mc_prices(s.log_returns[:, 0] + wrong, forward, strikes)
    jumps = (m.jump_intensity, m.jump_mean, m.jump_vol)
    exact = merton.price(forward, strikes, tau, m.sigma, True, *jumps)
    assert np.all(np.abs(call - exact) > 10.0 * call_se)


def test_common_jumps_keep_every_asset_a_martingale() -> None:
    common = CommonJumps(
        intensity=1.229,
        mean=np.array([-0.1466, -0.1917]),
        vol=np.array([0.2008, 0.2240]),
        correlation=np.array([[1.0, 0.998], [0.998, 1.0]]),
    )
    params = MertonParams(
        underlyings=("BTC", "ETH"),
        marginals=(BTC, ETH),
        correlation=np.array([[1.0, 0.6945], [0.6945, 1.0]]),
        common=common,
    )
    s = mc_scenarios(params, horizon_days=10, paths=300_000, rng=rng())
    move = s.shocks
    standard_error = move.std(axis=0, ddof=1) / math.sqrt(move.shape[0])
    assert np.all(np.abs(move.mean(axis=0)) < 4.0 * standard_error)
    # without the compensator term lambda_c kappa_c the mean is off by many errors
    bias = np.expm1(common.intensity * common.kappa * 10 / 365)
    assert np.all(np.abs(bias) > 10.0 * standard_error)


def test_diffusive_correlation_of_the_paths() -> None:
    params = MertonParams(
        underlyings=("A", "B"),
        marginals=(MertonMarginal(sigma=0.5, jump_intensity=0.0),) * 2,
        correlation=np.array([[1.0, -0.4], [-0.4, 1.0]]),
    )
    x = mc_scenarios(params, paths=200_000, rng=rng()).log_returns
    # sd of a sample correlation ~ (1 - rho^2) / sqrt(n)
    assert np.corrcoef(x, rowvar=False)[0, 1] == pytest.approx(-0.4, abs=4 * 0.84 / math.sqrt(2e5))


# --- correlation repair ------------------------------------------------------------------------

NOT_PD = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]


def test_non_positive_definite_correlation_is_repaired_and_reported() -> None:
    r = repair_correlation(NOT_PD)
    assert r.repaired
    assert r.eigenvalues[0] == pytest.approx(-0.8)
    assert np.allclose(np.diag(r.matrix), 1.0)
    assert np.allclose(r.matrix, r.matrix.T)
    assert np.linalg.eigvalsh(r.matrix).min() > 0
    assert np.allclose(r.cholesky @ r.cholesky.T, r.matrix)
    (line,) = r.report()
    assert "not positive definite" in line
    assert "-0.8" in line
    assert "clipped at 1e-08" in line
    params = MertonParams(
        underlyings=("A", "B", "C"),
        marginals=(BTC, BTC, ETH),
        correlation=np.array(NOT_PD),
    )
    (reported,) = params.report()
    assert reported == "MertonParams." + line
    assert params.correlation.tolist() == NOT_PD
    assert np.array_equal(params.correlation_repair.matrix, r.matrix)
    s = mc_scenarios(params, paths=1000, rng=rng())
    assert s.params.report() == (reported,)


def test_positive_definite_correlation_is_used_as_given() -> None:
    c = [[1.0, 0.6945], [0.6945, 1.0]]
    r = repair_correlation(c)
    assert not r.repaired
    assert r.report() == ()
    assert r.matrix.tolist() == c
    assert r.max_change == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=2, max_value=5).flatmap(
        lambda k: st.lists(
            st.floats(min_value=-1.0, max_value=1.0),
            min_size=k * (k - 1) // 2,
            max_size=k * (k - 1) // 2,
        ).map(lambda v: (k, v))
    )
)
def test_repair_always_gives_a_correlation_with_a_cholesky_factor(
    case: tuple[int, list[float]],
) -> None:
    k, values = case
    c = np.eye(k)
    c[np.triu_indices(k, 1)] = values
    c = np.triu(c) + np.triu(c, 1).T
    r = repair_correlation(c)
    assert np.allclose(np.diag(r.matrix), 1.0, atol=1e-12)
    assert np.all(np.abs(r.matrix) <= 1.0 + 1e-12)
    assert np.allclose(r.cholesky @ r.cholesky.T, r.matrix, atol=1e-12)
    assert r.repaired == bool(np.linalg.eigvalsh(c).min() < EIGEN_FLOOR)
    if not r.repaired:
        assert np.array_equal(r.matrix, c)


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        ([[1.0, 0.5], [0.4, 1.0]], "symmetric"),
        ([[1.0, 1.2], [1.2, 1.0]], r"\[-1, 1\]"),
        ([[0.9, 0.5], [0.5, 1.0]], "1 on the diagonal"),
        ([[1.0, np.nan], [np.nan, 1.0]], "finite"),
        ([1.0, 0.5], "square"),
    ],
)
def test_bad_correlations_are_rejected(matrix: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        repair_correlation(matrix)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=match):
        MertonParams(
            underlyings=("A", "B"),
            marginals=(BTC, ETH),
            correlation=np.array(matrix),
        )


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValidationError, match="sigma"):
        MertonMarginal(sigma=-0.1, jump_intensity=1.0)
    with pytest.raises(ValidationError, match="jump_intensity"):
        MertonMarginal(sigma=0.1, jump_intensity=math.nan)
    with pytest.raises(ValidationError, match="marginals"):
        MertonParams(underlyings=("A", "B"), marginals=(BTC,), correlation=np.eye(2))
    with pytest.raises(ValidationError, match=r"shape \(2, 2\)"):
        MertonParams(underlyings=("A", "B"), marginals=(BTC, ETH), correlation=np.eye(3))
    with pytest.raises(ValidationError, match=r"CommonJumps\.vol"):
        CommonJumps(
            intensity=1.0, mean=np.zeros(2), vol=np.array([0.1, -0.1]), correlation=np.eye(2)
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"paths": 0}, "paths"),
        ({"paths": 2.5}, "paths"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": True}, "horizon_days"),
        ({"rng": np.random.RandomState(1)}, "numpy.random.Generator"),
        ({"rng": 20211124}, "numpy.random.Generator"),
        ({"paths": 11, "antithetic": True}, "even"),
    ],
)
def test_bad_simulation_arguments_are_rejected(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"horizon_days": 1, "paths": 10, "rng": rng()} | kwargs
    with pytest.raises(ValidationError, match=match):
        mc_scenarios(one(BTC), **args)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="MertonParams"):
        mc_scenarios(BTC, paths=10, rng=rng())  # type: ignore[arg-type]


# --- reproducibility and antithetic pairs ---------------------------------------------------


def test_same_seed_same_paths() -> None:
    params = MertonParams(
        underlyings=("BTC", "ETH"),
        marginals=(BTC, ETH),
        correlation=np.array([[1.0, 0.6945], [0.6945, 1.0]]),
    )
    a = mc_scenarios(params, horizon_days=2, paths=5000, rng=rng())
    b = mc_scenarios(params, horizon_days=2, paths=5000, rng=rng())
    c = mc_scenarios(params, horizon_days=2, paths=5000, rng=rng(MC_SEED + 1))
    assert np.array_equal(a.log_returns, b.log_returns)
    assert not np.array_equal(a.log_returns, c.log_returns)
    assert a.method == "mc"
    assert a.n_scenarios == 5000
    assert np.all(a.weights == 1 / 5000)
    assert a.labels[:2] == ("path 1", "path 2")
    assert not a.log_returns.flags.writeable
    restored = np.random.Generator(np.random.PCG64())
    restored.bit_generator.state = dict(a.rng_state)
    again = mc_scenarios(params, horizon_days=2, paths=5000, rng=restored)
    assert np.array_equal(again.log_returns, a.log_returns)


def test_antithetic_twins_negate_the_normal_draws() -> None:
    """Twin sums leave the drift plus N mu_J: an integer multiple of mu_J above the drift."""
    m = MertonMarginal(sigma=0.6, jump_intensity=40.0, jump_mean=-0.05, jump_vol=0.1)
    s = mc_scenarios(one(m), horizon_days=3, paths=20_000, rng=rng(), antithetic=True)
    x = s.log_returns[:, 0]
    tau = 3 / 365
    drift = (-0.18 - 40.0 * m.kappa) * tau
    jumps = (x[:10_000] + x[10_000:]) / 2 - drift
    counts = jumps / m.jump_mean
    assert np.allclose(counts, np.round(counts), atol=1e-9)
    assert counts.max() >= 2
    assert s.antithetic

    calm = MertonMarginal(sigma=0.6, jump_intensity=0.0)
    y = mc_scenarios(one(calm), paths=10, rng=rng(), antithetic=True).log_returns[:, 0]
    assert np.allclose(y[:5] + y[5:], 2 * (-0.18 / 365), rtol=0, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    sigma=st.floats(min_value=0.05, max_value=2.0),
    lam=st.floats(min_value=0.0, max_value=50.0),
    mu=st.floats(min_value=-0.5, max_value=0.5),
    delta=st.floats(min_value=0.0, max_value=0.5),
    h=st.integers(min_value=1, max_value=10),
)
def test_mixture_es_exceeds_var_and_both_grow_with_confidence(
    sigma: float, lam: float, mu: float, delta: float, h: int
) -> None:
    m = MertonMarginal(sigma=sigma, jump_intensity=lam, jump_mean=mu, jump_vol=delta)
    for side in ("long", "short"):
        low = merton_mixture_var_es(m, horizon_days=h, confidence=0.95, side=side, terms=40)
        high = merton_mixture_var_es(m, horizon_days=h, confidence=0.99, side=side, terms=40)
        assert low.var <= low.es + 1e-12
        assert high.var <= high.es + 1e-12
        assert low.var <= high.var + 1e-12
        assert low.es <= high.es + 1e-12
        if side == "long":
            assert high.es < 1.0


def test_keyed_scenario_set_of_the_paths() -> None:
    params = MertonParams(
        underlyings=("BTC", "ETH"),
        marginals=(BTC, ETH),
        correlation=np.array([[1.0, 0.6945], [0.6945, 1.0]]),
    )
    s = mc_scenarios(params, horizon_days=2, paths=1000, rng=rng())
    keyed = s.to_scenario_set(name="var mc 2d")
    assert keyed.labels == s.labels
    assert keyed.underlyings == ("BTC", "ETH")
    moves = keyed.spot_shocks(np.array(["ETH", "BTC", "ETH"]))
    assert np.array_equal(moves, s.shocks.T[[1, 0, 1]])
    assert np.all(keyed.column("time_shift_days") == 2.0)
    assert np.all(keyed.column("weight") == 1.0)
    assert np.all(keyed.vol_shocks(np.array(["BTC"])) == 0.0)
