"""Black-76 kernel: QuantLib oracle, venue golden case, greeks by finite differences, edges."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from portmargin.core import PricingError, year_fraction
from portmargin.pricing import black76

ql = pytest.importorskip("QuantLib")

OptionGrid = dict[str, NDArray[Any]]

# Golden case of specs/pricing-conventions.md section 3: public ticker of BTC-26JUN26-100000-C.
GOLDEN_F = 116086.34
GOLDEN_K = 100000.0
GOLDEN_SIGMA = 0.4543
GOLDEN_T = float(year_fraction(1752057345721, 1782460800000))  # expiry 2026-06-26 08:00 UTC


def test_golden_year_fraction() -> None:
    assert abs(GOLDEN_T - 0.9640872) < 5e-8


def test_quantlib_black_formula_oracle(
    rng: np.random.Generator, option_grid: Callable[..., OptionGrid]
) -> None:
    g = option_grid(rng, 3000)
    value = black76.price(**g)
    oracle = np.array(
        [
            ql.blackFormula(ql.Option.Call if c else ql.Option.Put, k, f, s * math.sqrt(t), d)
            for f, k, t, s, c, d in zip(
                g["forward"], g["strike"], g["tau"], g["sigma"], g["is_call"], g["df"], strict=True
            )
        ]
    )
    np.testing.assert_allclose(value, oracle, rtol=1e-9, atol=1e-13 * g["forward"].max())
    assert np.all(np.abs(value - oracle) <= 1e-13 * (g["forward"] + g["strike"]) + 1e-9 * oracle)


def test_golden_deribit_ticker() -> None:
    args = (GOLDEN_F, GOLDEN_K, GOLDEN_T, GOLDEN_SIGMA, True)
    g = black76.greeks(*args)
    assert float(black76.inverse_price(*args)) == pytest.approx(0.242477, abs=5e-7)
    assert float(black76.price(*args)) / GOLDEN_F == pytest.approx(0.242477, abs=5e-7)
    assert float(g["delta"]) == pytest.approx(0.711384, abs=5e-7)
    assert float(g["vega"]) == pytest.approx(389.2917, abs=5e-5)
    assert float(g["theta"]) == pytest.approx(-25.1292, abs=5e-5)
    assert float(g["rho"]) == pytest.approx(524.787, abs=5e-4)
    assert float(black76.inverse_delta(*args)) == pytest.approx(0.46891, abs=5e-6)
    # The venue's own (rounded) numbers, within the reproduction tolerances of section 3.
    assert float(black76.inverse_price(*args)) == pytest.approx(0.2425, abs=3e-4)
    assert float(g["delta"]) == pytest.approx(0.71138, abs=2e-4)
    assert float(g["vega"]) == pytest.approx(389.29, rel=5e-3)
    assert float(g["theta"]) == pytest.approx(-25.13, rel=1e-2)
    assert float(g["rho"]) == pytest.approx(524.78, rel=5e-3)


def test_dividing_by_the_index_is_not_the_venue_mark() -> None:
    index = 109_000.0  # any price other than the forward of the expiry
    usd = float(black76.price(GOLDEN_F, GOLDEN_K, GOLDEN_T, GOLDEN_SIGMA, True))
    assert usd / index != pytest.approx(0.242477, abs=3e-4)


def test_put_call_parity(rng: np.random.Generator, option_grid: Callable[..., OptionGrid]) -> None:
    g = option_grid(rng, 5000)
    g.pop("is_call")
    call = black76.price(is_call=True, **g)
    put = black76.price(is_call=False, **g)
    parity = g["df"] * (g["forward"] - g["strike"])
    excess = np.abs(call - put - parity) / (g["forward"] + g["strike"])
    assert excess.max() <= 4e-15


def test_homogeneous_of_degree_one(
    rng: np.random.Generator, option_grid: Callable[..., OptionGrid]
) -> None:
    g = option_grid(rng, 1000)
    scaled = {**g, "forward": 8.0 * g["forward"], "strike": 8.0 * g["strike"]}
    np.testing.assert_allclose(black76.price(**scaled), 8.0 * black76.price(**g), rtol=1e-14)


@pytest.mark.parametrize("is_call", [True, False])
def test_deep_out_of_the_money_relative_accuracy(rng: np.random.Generator, is_call: bool) -> None:
    mp = pytest.importorskip("mpmath")
    n = 400
    forward = 100.0
    x = rng.uniform(0.2, 3.0, n)
    strike = forward * np.exp(x if is_call else -x)
    sigma = rng.uniform(0.05, 1.5, n)
    tau = np.exp(rng.uniform(np.log(1.0 / 8760.0), np.log(5.0), n))
    value = black76.price(forward, strike, tau, sigma, is_call)

    def exact(k: float, t: float, v: float) -> float:
        with mp.workdps(50):
            f, k_, s = mp.mpf(forward), mp.mpf(k), mp.mpf(v) * mp.sqrt(mp.mpf(t))
            d1 = (mp.log(f / k_) + s * s / 2) / s
            d2 = d1 - s
            if is_call:
                return float(f * mp.ncdf(d1) - k_ * mp.ncdf(d2))
            return float(k_ * mp.ncdf(-d2) - f * mp.ncdf(-d1))

    oracle = np.array([exact(k, t, v) for k, t, v in zip(strike, tau, sigma, strict=True)])
    keep = oracle > 1e-250
    assert keep.sum() > n // 2
    rel = np.abs(value[keep] - oracle[keep]) / oracle[keep]
    s = (sigma * np.sqrt(tau))[keep]
    d = np.abs(np.log(forward / strike))[keep] / s
    # Documented bound: about 100 ulp * (1 + |d|) * (1 + |d| / s), from the difference form.
    assert np.all(rel <= 1e-14 * (1.0 + d) * (1.0 + d / s))
    # Values that matter for margin (above 1e-12 of the forward) are accurate to 1e-12.
    assert np.all(rel[oracle[keep] > 1e-12 * forward] <= 1e-12)


# --- greeks against central finite differences ------------------------------------------


@pytest.fixture
def fd_grid(rng: np.random.Generator, option_grid: Callable[..., OptionGrid]) -> OptionGrid:
    """Options away from the singular corners, where central differences are accurate."""
    return option_grid(rng, 400, moneyness=0.8, sigma=(0.1, 1.5), tau=(0.05, 3.0))


def _central(
    fn: Callable[[float], NDArray[np.float64]], h: float | NDArray[np.float64]
) -> NDArray[np.float64]:
    """``(fn(+1) - fn(-1)) / (2 h)`` for a function of the bump direction."""
    result: NDArray[np.float64] = (fn(1.0) - fn(-1.0)) / (2.0 * h)
    return result


def test_delta_and_gamma_by_finite_differences(fd_grid: OptionGrid) -> None:
    g = black76.greeks(**fd_grid)
    h = 1e-4 * fd_grid["forward"]

    def bumped(key: str) -> Callable[[float], NDArray[np.float64]]:
        def fn(sign: float) -> NDArray[np.float64]:
            args = {**fd_grid, "forward": fd_grid["forward"] + sign * h}
            return black76.price(**args) if key == "value" else black76.greeks(**args)[key]

        return fn

    np.testing.assert_allclose(g["delta"], _central(bumped("value"), h), rtol=1e-6, atol=1e-9)
    scale = g["gamma"].max()
    np.testing.assert_allclose(
        g["gamma"], _central(bumped("delta"), h), rtol=1e-6, atol=1e-8 * scale
    )


def test_vega_vanna_volga_by_finite_differences(fd_grid: OptionGrid) -> None:
    g = black76.greeks(**fd_grid)
    h = 1e-5

    def bumped(key: str) -> Callable[[float], NDArray[np.float64]]:
        def fn(sign: float) -> NDArray[np.float64]:
            args = {**fd_grid, "sigma": fd_grid["sigma"] + sign * h}
            return black76.price(**args) if key == "value" else black76.greeks(**args)[key]

        return fn

    vega = _central(bumped("value"), h) / 100.0
    np.testing.assert_allclose(g["vega"], vega, rtol=1e-6, atol=1e-8 * np.abs(vega).max())
    vanna = _central(bumped("delta"), h) / 100.0
    np.testing.assert_allclose(g["vanna"], vanna, rtol=1e-5, atol=1e-8 * np.abs(vanna).max())
    volga = _central(bumped("vega"), h) / 100.0
    np.testing.assert_allclose(g["volga"], volga, rtol=1e-5, atol=1e-8 * np.abs(volga).max())


def test_raw_theta_by_finite_differences(fd_grid: OptionGrid) -> None:
    """``raw_theta = dV/dt`` with F, sigma and the rate ``r = -ln(D)/T`` held fixed."""
    g = black76.greeks(**fd_grid)
    tau = fd_grid["tau"]
    rate = -np.log(fd_grid["df"]) / tau
    h = 1e-6 * tau

    def aged(sign: float) -> NDArray[np.float64]:
        t = tau - sign * h  # calendar time moves forward by sign * h
        return black76.price(**{**fd_grid, "tau": t, "df": np.exp(-rate * t)})

    theta = _central(aged, h)
    np.testing.assert_allclose(g["raw_theta"], theta, rtol=1e-6, atol=1e-8 * np.abs(theta).max())


def test_rho_by_finite_differences(fd_grid: OptionGrid) -> None:
    """Rho per 1 % of rate with the spot ``D * F`` fixed: F scales by exp(dr T), D by exp(-dr T)."""
    g = black76.greeks(**fd_grid)
    tau = fd_grid["tau"]
    h = 1e-6

    def shifted(sign: float) -> NDArray[np.float64]:
        growth = np.exp(sign * h * tau)
        args = {**fd_grid, "forward": fd_grid["forward"] * growth, "df": fd_grid["df"] / growth}
        return black76.price(**args)

    rho = _central(shifted, h) / 100.0
    np.testing.assert_allclose(g["rho"], rho, rtol=1e-6, atol=1e-9 * np.abs(rho).max())


def test_inverse_delta_is_log_forward_sensitivity_of_coin_value(fd_grid: OptionGrid) -> None:
    h = 1e-5

    def coin(sign: float) -> NDArray[np.float64]:
        return black76.inverse_price(**{**fd_grid, "forward": fd_grid["forward"] * (1 + sign * h)})

    np.testing.assert_allclose(black76.inverse_delta(**fd_grid), _central(coin, h), atol=1e-8)


def test_inverse_price_and_delta_definitions(fd_grid: OptionGrid) -> None:
    g = black76.greeks(**fd_grid)
    coin = black76.inverse_price(**fd_grid)
    np.testing.assert_array_equal(coin, black76.price(**fd_grid) / fd_grid["forward"])
    np.testing.assert_allclose(black76.inverse_delta(**fd_grid), g["delta"] - coin, atol=1e-15)


def test_greeks_use_venue_formulas_with_unit_discount(fd_grid: OptionGrid) -> None:
    args = {**fd_grid, "df": 1.0}
    g = black76.greeks(**args)
    F, K, T, sig, call = (args[k] for k in ("forward", "strike", "tau", "sigma", "is_call"))
    s = sig * np.sqrt(T)
    d1 = np.log(F / K) / s + s / 2
    pdf = np.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi)
    n = {"d1": _ndtr(d1), "d2": _ndtr(d1 - s)}
    np.testing.assert_allclose(g["delta"], np.where(call, n["d1"], n["d1"] - 1), atol=1e-14)
    np.testing.assert_allclose(g["gamma"], pdf / (F * s), rtol=1e-12)
    np.testing.assert_allclose(g["vega"], F * pdf * np.sqrt(T) / 100, rtol=1e-12)
    rho = np.where(call, K * T * n["d2"], -K * T * (1 - n["d2"])) / 100
    np.testing.assert_allclose(g["rho"], rho, rtol=1e-9, atol=1e-9)
    theta_day = -F * pdf * sig / (2 * np.sqrt(T) * 365)
    value = black76.price(**args)
    expected = np.maximum(theta_day * np.minimum(1.0, T * 365), -value)
    np.testing.assert_allclose(g["theta"], expected, rtol=1e-12, atol=1e-12)


def _ndtr(x: NDArray[np.float64]) -> NDArray[np.float64]:
    from scipy.special import ndtr

    result: NDArray[np.float64] = ndtr(x)
    return result


# --- venue theta rule ---------------------------------------------------------------------


def test_theta_is_prorated_when_less_than_a_day_remains() -> None:
    # 22MAY20-like row: 0.36 days to expiry, at the money.
    tau = 0.36 / 365
    g = black76.greeks(9000.0, 9000.0, tau, 0.8, True)
    assert float(g["theta"]) == pytest.approx(float(g["raw_theta"]) / 365 * 0.36, rel=1e-12)
    longer = black76.greeks(9000.0, 9000.0, 10 / 365, 0.8, True)
    assert float(longer["theta"]) == pytest.approx(float(longer["raw_theta"]) / 365, rel=1e-12)


def test_theta_never_loses_more_than_the_option_value() -> None:
    # Cheap option whose one-day decay would exceed its value (like BTC-29MAY20-3500-P).
    args = (9000.0, 5500.0, 2.0 / 365, 0.9, False)
    g = black76.greeks(*args)
    value = float(black76.price(*args))
    assert float(g["raw_theta"]) / 365 < -value
    assert float(g["theta"]) == -value


# --- edge cases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tau", "sigma"),
    [(0.0, 0.5), (0.5, 0.0), (1e-30, 0.5), (0.0, 0.0)],
    ids=["expiry", "zero-vol", "tiny-s", "both"],
)
def test_intrinsic_value_and_greeks(tau: float, sigma: float) -> None:
    forward = np.array([90.0, 100.0, 110.0, 90.0, 100.0, 110.0])
    is_call = np.array([True, True, True, False, False, False])
    df = 0.97
    value = black76.price(forward, 100.0, tau, sigma, is_call, df)
    np.testing.assert_array_equal(value, df * np.array([0, 0, 10, 10, 0, 0.0]))
    g = black76.greeks(forward, 100.0, tau, sigma, is_call, df)
    np.testing.assert_array_equal(g["delta"], df * np.array([0, 0, 1, -1, 0, 0.0]))
    for key in ("gamma", "vega", "theta", "rho", "vanna", "volga", "raw_theta"):
        np.testing.assert_array_equal(g[key], 0.0)
    coin = black76.inverse_price(forward, 100.0, tau, sigma, is_call, df)
    np.testing.assert_array_equal(coin, value / forward)


def test_negative_tau_needs_allow_expired() -> None:
    with pytest.raises(PricingError, match="tau") as info:
        black76.price(100.0, 90.0, [0.5, -0.01], 0.5, True)
    assert info.value.field == "tau"
    assert info.value.value == -0.01
    expired = black76.price([100.0, 80.0], 90.0, -0.01, 0.5, [True, False], allow_expired=True)
    np.testing.assert_array_equal(expired, [10.0, 10.0])
    g = black76.greeks(100.0, 90.0, -1.0, 0.5, True, allow_expired=True)
    assert float(g["delta"]) == 1.0
    assert float(g["gamma"]) == 0.0


def test_mixed_live_and_expired_options_in_one_array() -> None:
    tau = np.array([0.5, 0.0, 0.25, 0.0])
    value = black76.price(100.0, 90.0, tau, 0.5, True)
    assert value[1] == value[3] == 10.0
    assert value[0] == black76.price(100.0, 90.0, 0.5, 0.5, True)
    assert value[2] == black76.price(100.0, 90.0, 0.25, 0.5, True)


BAD_INPUTS = [
    ("forward", np.nan),
    ("forward", 0.0),
    ("forward", -5.0),
    ("forward", np.inf),
    ("strike", np.nan),
    ("strike", 0.0),
    ("strike", -1.0),
    ("sigma", np.nan),
    ("sigma", -0.2),
    ("sigma", np.inf),
    ("tau", np.nan),
    ("tau", -0.5),
    ("tau", np.inf),
    ("df", -0.5),
    ("df", 0.0),
    ("df", np.nan),
]


@pytest.mark.parametrize(("field", "bad"), BAD_INPUTS)
@pytest.mark.parametrize("fn", [black76.price, black76.greeks, black76.inverse_delta])
def test_invalid_inputs_raise_a_typed_error_naming_the_field(
    fn: Callable[..., Any], field: str, bad: float
) -> None:
    args: dict[str, Any] = {
        "forward": 100.0,
        "strike": 90.0,
        "tau": 0.5,
        "sigma": 0.5,
        "is_call": True,
        "df": 1.0,
    }
    args[field] = np.array([args[field], bad, args[field]])
    with pytest.raises(PricingError) as info:
        fn(**args)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: got {bad!r}")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [1, np.array([1.0, 0.0]), "call"])
def test_is_call_must_be_boolean(bad: Any) -> None:
    with pytest.raises(PricingError, match="is_call"):
        black76.price(100.0, 90.0, 0.5, 0.5, bad)


def test_non_numeric_input_raises_pricing_error() -> None:
    with pytest.raises(PricingError, match="strike"):
        black76.price(100.0, "ninety", 0.5, 0.5, True)


# --- shapes and broadcasting --------------------------------------------------------------


def test_scalar_inputs_give_zero_dimensional_float64_arrays() -> None:
    value = black76.price(100.0, 90.0, 0.5, 0.5, True)
    assert isinstance(value, np.ndarray)
    assert value.shape == ()
    assert value.dtype == np.float64
    assert all(v.shape == () for v in black76.greeks(100.0, 90.0, 0.5, 0.5, True).values())


def test_broadcast_over_a_trailing_scenario_axis(rng: np.random.Generator) -> None:
    n_options, n_scenarios = 7, 5
    forward = np.full((n_options, 1), 100.0)
    strike = rng.uniform(60.0, 140.0, (n_options, 1))
    is_call = (rng.random(n_options) < 0.5)[:, None]
    shock = np.linspace(-0.3, 0.3, n_scenarios)
    shocked = forward * (1.0 + shock)  # (n_options, n_scenarios)
    value = black76.price(shocked, strike, 0.25, 0.6, is_call)
    assert value.shape == (n_options, n_scenarios)
    for j in range(n_scenarios):
        column = black76.price(shocked[:, j], strike[:, 0], 0.25, 0.6, is_call[:, 0])
        np.testing.assert_array_equal(value[:, j], column)
    g = black76.greeks(shocked, strike, 0.25, 0.6, is_call)
    assert all(v.shape == (n_options, n_scenarios) for v in g.values())


def test_large_arrays_match_small_slices(
    rng: np.random.Generator, option_grid: Callable[..., OptionGrid]
) -> None:
    """Arrays longer than the internal block size price exactly like their pieces."""
    g = option_grid(rng, 40_000)
    g["tau"][::97] = 0.0  # scattered options at expiry
    whole = black76.price(**g)
    pieces = [black76.price(**{k: v[i : i + 999] for k, v in g.items()}) for i in (0, 17_000)]
    np.testing.assert_array_equal(whole[:999], pieces[0])
    np.testing.assert_array_equal(whole[17_000:17_999], pieces[1])
    g2 = {**g, "forward": g["forward"][::-1].copy()}  # non-trivial strides elsewhere
    np.testing.assert_array_equal(
        black76.price(**{k: v[::2] for k, v in g2.items()}), black76.price(**g2)[::2]
    )


def test_empty_arrays() -> None:
    assert black76.price(np.empty((0, 3)), 1.0, 1.0, 1.0, True).shape == (0, 3)
