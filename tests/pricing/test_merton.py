"""Merton jump diffusion: reference tables, compensator, Fourier and Monte Carlo oracles."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from portmargin.core import PricingError
from portmargin.pricing import black76, merton

# (a) Haug parameterisation, QuantLib test-suite/jumpdiffusion.cpp (spot 100, r = 0.08, v = 0.25).
HAUG = [
    # K, T, lambda, gamma, price
    (80.0, 0.10, 1.0, 0.25, 20.67),
    (100.0, 0.10, 1.0, 0.75, 2.70),
    (100.0, 0.50, 10.0, 0.50, 9.00),
    (110.0, 0.25, 5.0, 0.50, 2.11),
    (120.0, 0.50, 5.0, 0.75, 2.21),
]

# (b) Non-zero mean jumps: spot 100, r = 0.05, T = 0.5, sigma 0.2, lambda 1, mu_J -0.1, delta 0.2.
RATE_B, TAU_B = 0.05, 0.5
JUMPS_B = {"jump_intensity": 1.0, "jump_mean": -0.10, "jump_vol": 0.20}
TABLE_B = [
    # K, call, call with the wrong compensator lambda * (mu_J + delta^2 / 2)
    (80.0, 23.357546, 23.5005),
    (100.0, 9.027842, 9.1257),
    (120.0, 2.276672, 2.3126),
]
PUT_B_100 = 6.558833


def _table_b_market() -> dict[str, float]:
    return {
        "forward": 100.0 * math.exp(RATE_B * TAU_B),
        "tau": TAU_B,
        "sigma": 0.20,
        "df": math.exp(-RATE_B * TAU_B),
    }


@pytest.mark.parametrize(("strike", "tau", "lam", "gamma", "expected"), HAUG)
def test_haug_table(strike: float, tau: float, lam: float, gamma: float, expected: float) -> None:
    v, r = 0.25, 0.08
    jump_vol = v * math.sqrt(gamma / lam)
    value = merton.price(
        forward=100.0 * math.exp(r * tau),
        strike=strike,
        tau=tau,
        sigma=v * math.sqrt(1.0 - gamma),
        is_call=True,
        jump_intensity=lam,
        jump_mean=-0.5 * jump_vol**2,
        jump_vol=jump_vol,
        df=math.exp(-r * tau),
    )
    assert abs(float(value) - expected) <= 1e-2


@pytest.mark.parametrize(("strike", "expected", "wrong"), TABLE_B)
def test_non_zero_mean_jump_table(strike: float, expected: float, wrong: float) -> None:
    value = float(merton.price(strike=strike, is_call=True, **_table_b_market(), **JUMPS_B))
    assert abs(value - expected) <= 1e-6
    assert abs(value - wrong) > 1e-2  # 0.14, 0.098, 0.036: far outside the tolerance


def test_non_zero_mean_jump_put() -> None:
    value = float(merton.price(strike=100.0, is_call=False, **_table_b_market(), **JUMPS_B))
    assert abs(value - PUT_B_100) <= 1e-6


def test_the_table_detects_the_wrong_compensator() -> None:
    """A series drifted by ``-lambda (mu_J + delta^2/2) T`` reproduces the wrong column."""
    market = _table_b_market()
    lam, mu, delta = JUMPS_B["jump_intensity"], JUMPS_B["jump_mean"], JUMPS_B["jump_vol"]
    n = np.arange(60.0)[:, None]
    weights = np.exp(
        -lam * TAU_B + n * math.log(lam * TAU_B) - np.cumsum(np.log(np.maximum(n, 1)), 0)
    )
    wrong_forward = market["forward"] * np.exp(
        -lam * (mu + delta**2 / 2) * TAU_B + n * (mu + delta**2 / 2)
    )
    sigma_n = np.sqrt(market["sigma"] ** 2 + n * delta**2 / TAU_B)
    strikes = np.array([k for k, _, _ in TABLE_B])
    terms = black76.price(wrong_forward, strikes, TAU_B, sigma_n, True, market["df"])
    np.testing.assert_allclose((weights * terms).sum(axis=0), [w for _, _, w in TABLE_B], atol=1e-4)
    # ... and the wrong forwards are not a martingale.
    assert abs((weights[:, 0] * wrong_forward[:, 0]).sum() / market["forward"] - 1.0) > 1e-3


def test_martingale_through_the_public_price() -> None:
    """With a vanishing strike each Black term is ``D (F_n - K)``: the call is ``sum w_n F_n``."""
    forward, strike, df = 50_000.0, 1e-9, 0.99
    for lam, mu, delta, tau in [
        (1.0, -0.1, 0.2, 0.5),
        (25.0, 0.05, 0.1, 2.0),
        (3.0, -0.4, 0.6, 1.0),
    ]:
        value = float(merton.price(forward, strike, tau, 0.3, True, lam, mu, delta, df))
        assert value / (df * (forward - strike)) == pytest.approx(1.0, abs=1e-12)


def test_characteristic_function_is_one_at_minus_i() -> None:
    phi = merton.characteristic_function(-1j, [0.1, 1.0, 3.0], 0.5, 4.0, -0.2, 0.3)
    np.testing.assert_allclose(phi, 1.0, atol=1e-14)
    assert merton.characteristic_function(0.0, 1.0, 0.5, 4.0, -0.2, 0.3) == 1.0


def test_series_agrees_with_the_fourier_integral(rng: np.random.Generator) -> None:
    n = 200
    forward = np.exp(rng.uniform(np.log(1e3), np.log(2e5), n))
    tau = np.exp(rng.uniform(np.log(0.02), np.log(3.0), n))
    args: dict[str, Any] = {
        "forward": forward,
        "strike": forward * np.exp(rng.uniform(-0.8, 0.8, n)),
        "tau": tau,
        "sigma": rng.uniform(0.1, 1.2, n),
        "is_call": rng.random(n) < 0.5,
        "jump_intensity": rng.uniform(0.0, 10.0, n),
        "jump_mean": rng.uniform(-0.3, 0.15, n),
        "jump_vol": rng.uniform(0.02, 0.5, n),
        "df": np.exp(-0.05 * tau),
    }
    series = merton.price(**args)
    fourier = merton.price_fourier(**args)
    assert np.all(np.abs(series - fourier) <= 1e-12 * forward)
    material = series > 1e-6 * forward
    assert np.all(np.abs(series - fourier)[material] <= 1e-9 * series[material])


def test_many_expected_jumps_need_more_than_eleven_terms() -> None:
    args: dict[str, Any] = {
        "forward": 100.0,
        "strike": np.array([70.0, 100.0, 130.0]),
        "tau": 1.0,
        "sigma": 0.3,
        "is_call": True,
        "jump_intensity": 20.0,
        "jump_mean": -0.02,
        "jump_vol": 0.05,
    }
    series = merton.price(**args)
    np.testing.assert_allclose(series, merton.price_fourier(**args), rtol=1e-10)
    # Haug's eleven-term rule misses most of the Poisson mass around n = lambda T = 20.
    n = np.arange(11.0)[:, None]
    weights = np.exp(-20.0 + n * math.log(20.0) - np.cumsum(np.log(np.maximum(n, 1)), 0))
    k = math.expm1(-0.02 + 0.05**2 / 2)
    forward_n = 100.0 * np.exp(-20.0 * k + n * (-0.02 + 0.05**2 / 2))
    terms = black76.price(forward_n, args["strike"], 1.0, np.sqrt(0.09 + n * 0.05**2), True)
    assert np.all(series - (weights * terms).sum(axis=0) > 1.0)


def test_no_jumps_is_black76(rng: np.random.Generator) -> None:
    n = 500
    args: dict[str, Any] = {
        "forward": 100.0,
        "strike": 100.0 * np.exp(rng.uniform(-1.0, 1.0, n)),
        "tau": rng.uniform(0.01, 3.0, n),
        "sigma": rng.uniform(0.05, 2.0, n),
        "is_call": rng.random(n) < 0.5,
        "df": 0.97,
    }
    expected = black76.price(**args)
    for jumps in (
        {"jump_intensity": 0.0, "jump_mean": -0.2, "jump_vol": 0.3},
        {"jump_intensity": 3.0, "jump_mean": 0.0, "jump_vol": 0.0},
    ):
        np.testing.assert_allclose(merton.price(**args, **jumps), expected, rtol=1e-13, atol=1e-13)


def test_put_call_parity(rng: np.random.Generator) -> None:
    n = 300
    args: dict[str, Any] = {
        "forward": 100.0,
        "strike": 100.0 * np.exp(rng.uniform(-1.0, 1.0, n)),
        "tau": rng.uniform(0.01, 3.0, n),
        "sigma": rng.uniform(0.05, 1.0, n),
        "jump_intensity": rng.uniform(0.0, 8.0, n),
        "jump_mean": rng.uniform(-0.3, 0.1, n),
        "jump_vol": rng.uniform(0.0, 0.4, n),
        "df": 0.95,
    }
    call = merton.price(is_call=True, **args)
    put = merton.price(is_call=False, **args)
    np.testing.assert_allclose(call - put, 0.95 * (100.0 - args["strike"]), atol=1e-12 * 200)


def test_monte_carlo_terminal_forward(rng: np.random.Generator) -> None:
    """Exact terminal draws: E[F_T] = F and the call price, each within 4 standard errors."""
    forward, tau, sigma, df = 100.0, 0.5, 0.2, math.exp(-RATE_B * TAU_B)
    draws = merton.simulate_terminal_forward(forward, tau, sigma, 1.0, -0.1, 0.2, 400_000, rng)
    assert draws.shape == (400_000,)
    se_mean = draws.std() / math.sqrt(draws.size)
    assert abs(draws.mean() - forward) < 4 * se_mean
    for strike in (80.0, 100.0, 120.0):
        payoff = df * np.maximum(draws - strike, 0.0)
        series = float(merton.price(forward, strike, tau, sigma, True, 1.0, -0.1, 0.2, df))
        assert abs(payoff.mean() - series) < 4 * payoff.std() / math.sqrt(payoff.size)


def test_monte_carlo_paths_are_martingales(rng: np.random.Generator) -> None:
    n_paths, n_steps = 100_000, 12
    paths = merton.simulate_paths(40_000.0, 1.0, 0.5, 6.0, -0.08, 0.15, n_steps, n_paths, rng)
    assert paths.shape == (n_paths, n_steps + 1)
    np.testing.assert_array_equal(paths[:, 0], 40_000.0)
    se = paths.std(axis=0)[1:] / math.sqrt(n_paths)
    assert np.all(np.abs(paths.mean(axis=0)[1:] - 40_000.0) < 4 * se)
    # The terminal column prices the call like the series does.
    payoff = np.maximum(paths[:, -1] - 44_000.0, 0.0)
    series = float(merton.price(40_000.0, 44_000.0, 1.0, 0.5, True, 6.0, -0.08, 0.15))
    assert abs(payoff.mean() - series) < 4 * payoff.std() / math.sqrt(n_paths)


def test_simulation_broadcasts_parameters_on_trailing_axes(rng: np.random.Generator) -> None:
    sigma = np.array([0.2, 0.4, 0.8])
    draws = merton.simulate_terminal_forward(100.0, 1.0, sigma, 2.0, -0.1, 0.2, 1000, rng)
    assert draws.shape == (1000, 3)
    paths = merton.simulate_paths(100.0, 1.0, sigma, 2.0, -0.1, 0.2, 4, 1000, rng)
    assert paths.shape == (1000, 5, 3)
    same = merton.simulate_terminal_forward(
        100.0, 0.0, 0.5, 2.0, -0.1, 0.2, 10, np.random.default_rng(1)
    )
    np.testing.assert_array_equal(same, 100.0)


def test_reproducible_with_the_same_seed() -> None:
    a = merton.simulate_paths(100.0, 1.0, 0.5, 2.0, -0.1, 0.2, 5, 50, np.random.default_rng(7))
    b = merton.simulate_paths(100.0, 1.0, 0.5, 2.0, -0.1, 0.2, 5, 50, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_expiry_and_broadcast_shapes() -> None:
    value = merton.price(
        np.array([[90.0], [110.0]]), 100.0, [0.0, 0.5, 1.0], 0.4, True, 2.0, -0.1, 0.2
    )
    assert value.shape == (2, 3)
    np.testing.assert_array_equal(value[:, 0], [0.0, 10.0])
    assert np.all(value[:, 1:] > value[:, :1])
    assert merton.price(100.0, 100.0, 0.5, 0.4, True, 2.0, -0.1, 0.2).shape == ()
    expired = merton.price(100.0, 90.0, -0.1, 0.4, False, 2.0, -0.1, 0.2, allow_expired=True)
    assert float(expired) == 0.0


def test_series_that_cannot_converge_raises() -> None:
    with pytest.raises(PricingError) as info:
        merton.price(100.0, 100.0, 1.0, 0.3, True, 2000.0, -0.001, 0.01)
    assert info.value.field == "jump_intensity"


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("jump_intensity", -1.0),
        ("jump_intensity", np.nan),
        ("jump_mean", np.inf),
        ("jump_vol", -0.1),
        ("sigma", -0.2),
        ("forward", 0.0),
        ("tau", -1.0),
    ],
)
def test_invalid_parameters_raise(field: str, bad: float) -> None:
    args: dict[str, Any] = {
        "forward": 100.0,
        "strike": 100.0,
        "tau": 0.5,
        "sigma": 0.3,
        "is_call": True,
        "jump_intensity": 1.0,
        "jump_mean": -0.1,
        "jump_vol": 0.2,
    }
    args[field] = bad
    for fn in (merton.price, merton.price_fourier):
        with pytest.raises(PricingError) as info:
            fn(**args)
        assert info.value.field == field
    sim = {k: v for k, v in args.items() if k not in ("strike", "is_call")}
    if field in sim:
        with pytest.raises(PricingError) as info:
            merton.simulate_terminal_forward(**sim, n_paths=10, rng=np.random.default_rng(0))
        assert info.value.field == field


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_path_counts_must_be_positive_integers(bad: Any) -> None:
    with pytest.raises(PricingError, match="n_paths"):
        merton.simulate_terminal_forward(
            100.0, 1.0, 0.5, 1.0, 0.0, 0.1, bad, np.random.default_rng(0)
        )
    with pytest.raises(PricingError, match="n_steps"):
        merton.simulate_paths(100.0, 1.0, 0.5, 1.0, 0.0, 0.1, bad, 10, np.random.default_rng(0))


@pytest.mark.parametrize("fn", [merton.price, merton.price_fourier])
def test_expired_and_live_options_in_one_array(fn: Callable[..., Any]) -> None:
    tau = np.array([[0.5, 0.0], [-0.1, 0.25]])
    value = fn(100.0, 90.0, tau, 0.4, True, 2.0, -0.1, 0.2, allow_expired=True)
    assert value.shape == (2, 2)
    assert value[0, 1] == value[1, 0] == 10.0
    np.testing.assert_allclose(value[0, 0], fn(100.0, 90.0, 0.5, 0.4, True, 2.0, -0.1, 0.2), 1e-12)
    expired = fn([100.0, 80.0], 90.0, 0.0, 0.4, [True, False], 2.0, -0.1, 0.2)
    np.testing.assert_array_equal(expired, [10.0, 10.0])
