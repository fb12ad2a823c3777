"""Implied volatility: round trips, bounds, error markers, inverse (coin) quotes."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from portmargin.core import PricingError
from portmargin.pricing import black76
from portmargin.pricing.implied_vol import implied_vol, inverse_implied_vol

OptionGrid = dict[str, NDArray[Any]]


def _vega_matters(g: OptionGrid, value: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Where the price carries the volatility to better than 1e-10.

    A price known to ``eps * V`` pins the vol only to about ``eps * V / vega`` (vega per unit
    vol); require that to be below 1e-10, and keep clear of subnormal prices.
    """
    vega_unit = black76.greeks(**g)["vega"] * 100.0
    keep: NDArray[np.bool_] = (vega_unit * 1e-10 > 4e-16 * value) & (value > 1e-250)
    return keep


def test_round_trip_on_a_random_grid(
    rng: np.random.Generator, option_grid: Callable[..., OptionGrid]
) -> None:
    g = option_grid(rng, 20_000, moneyness=3.0, sigma=(0.01, 5.0), tau=(1 / 365 / 24, 5.0))
    value = black76.price(**g)
    keep = _vega_matters(g, value)
    assert keep.mean() > 0.6
    vol = implied_vol(value[keep], **{k: v[keep] for k, v in g.items() if k != "sigma"})
    np.testing.assert_allclose(vol, g["sigma"][keep], rtol=0, atol=1e-8)
    # Far better than the requirement in practice.
    assert np.abs(vol - g["sigma"][keep]).max() < 1e-9


def test_round_trip_error_within_the_conditioning_of_the_price(
    rng: np.random.Generator, option_grid: Callable[..., OptionGrid]
) -> None:
    """Every option with time value round-trips to its conditioning bound.

    A price carries its own relative rounding error of about
    ``eps * (1 + |d|) * (1 + |d| / s)`` (``d = ln(F/K) / s``, see the black76 docstring), which
    moves the vol by that much times ``V / vega``. The solver stays within 10 times that bound
    plus 1e-12 relative; near the money this is about 1e-15.
    """
    g = option_grid(rng, 20_000, moneyness=3.0, sigma=(0.01, 5.0), tau=(1 / 365 / 24, 5.0))
    value = black76.price(**g)
    vega_unit = black76.greeks(**g)["vega"] * 100.0
    intrinsic = black76.price(**{**g, "sigma": 0.0})
    keep = (value > intrinsic) & (value > 1e-250)
    quote = {k: v[keep] for k, v in g.items() if k != "sigma"}
    vol = implied_vol(value[keep], **quote)
    sigma = g["sigma"][keep]
    s = sigma * np.sqrt(quote["tau"])
    d = np.abs(np.log(quote["forward"] / quote["strike"])) / s
    rounding = np.finfo(np.float64).eps * (1 + d) * (1 + d / s) * value[keep] / vega_unit[keep]
    assert np.all(np.abs(vol - sigma) <= 10 * rounding + 1e-12 * sigma)


def test_golden_venue_mark_in_coin() -> None:
    forward, strike, tau = 116086.34, 100000.0, 0.9640872
    mark = black76.inverse_price(forward, strike, tau, 0.4543, True)
    assert inverse_implied_vol(mark, forward, strike, tau, True) == pytest.approx(0.4543, abs=1e-12)
    # The venue's rounded mark (0.2425 BTC) maps back to its mark_iv of 45.43 %.
    rounded = inverse_implied_vol(0.2425, forward, strike, tau, True)
    assert rounded == pytest.approx(0.4543, abs=1e-4)


def test_price_at_intrinsic_gives_zero_vol() -> None:
    forward = np.array([100.0, 100.0, 100.0, 100.0])
    strike = np.array([90.0, 110.0, 110.0, 90.0])
    is_call = np.array([True, False, True, False])
    df = 0.98
    intrinsic = black76.price(forward, strike, 0.5, 0.0, is_call, df)
    np.testing.assert_array_equal(implied_vol(intrinsic, forward, strike, 0.5, is_call, df), 0.0)


@pytest.mark.parametrize(
    ("price", "is_call"),
    [
        (9.99, True),  # below intrinsic 10 of the call F=100, K=90
        (-0.01, False),  # negative
        (100.0, True),  # at the upper bound F
        (95.0, False),  # above the upper bound K = 90 of the put
        (np.nan, True),
        (np.inf, False),
    ],
)
def test_prices_outside_the_bounds_raise_or_give_nan(price: float, is_call: bool) -> None:
    prices = np.array([12.0, price])
    with pytest.raises(PricingError) as info:
        implied_vol(prices, 100.0, 90.0, 0.5, is_call)
    assert info.value.field == "price"
    assert "D*max(F-K, 0) <= price < D*F" in str(info.value)
    marked = implied_vol(prices, 100.0, 90.0, 0.5, is_call, on_error="nan")
    assert np.isnan(marked[1])
    expected = implied_vol(12.0, 100.0, 90.0, 0.5, is_call)
    assert marked[0] == expected


def test_inverse_errors_name_the_coin_price() -> None:
    with pytest.raises(PricingError) as info:
        inverse_implied_vol([0.2, 1.5], 100.0, 90.0, 0.5, True)
    assert info.value.field == "price_coin"
    assert info.value.value == 1.5


def test_discounted_prices_round_trip() -> None:
    args = (np.array([100.0, 100.0]), 120.0, 2.0, 0.7, np.array([True, False]), 0.9)
    value = black76.price(*args)
    np.testing.assert_allclose(implied_vol(value, *args[:3], *args[4:]), 0.7, rtol=1e-12)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("forward", {"forward": np.nan}),
        ("strike", {"strike": -1.0}),
        ("tau", {"tau": 0.0}),
        ("df", {"df": 0.0}),
        ("is_call", {"is_call": 1}),
        ("on_error", {"on_error": "ignore"}),
    ],
)
def test_invalid_arguments_always_raise(field: str, kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        "forward": 100.0,
        "strike": 90.0,
        "tau": 0.5,
        "is_call": True,
        "on_error": "nan",
    }
    args.update(kwargs)
    with pytest.raises(PricingError) as info:
        implied_vol(12.0, **args)
    assert info.value.field == field


def test_shapes_broadcast_like_the_pricer() -> None:
    strike = np.array([[80.0], [100.0], [120.0]])
    sigma = np.array([0.3, 0.6, 0.9, 1.2])
    value = black76.price(100.0, strike, 0.5, sigma, True)
    vol = implied_vol(value, 100.0, strike, 0.5, True)
    assert vol.shape == (3, 4)
    np.testing.assert_allclose(vol, np.broadcast_to(sigma, (3, 4)), rtol=1e-12)
    scalar = implied_vol(float(value[0, 0]), 100.0, 80.0, 0.5, True)
    assert isinstance(scalar, np.ndarray)
    assert scalar.shape == ()


def test_non_convergence_is_reported() -> None:
    with pytest.raises(PricingError, match="max_iter=1"):
        implied_vol(5.0, 100.0, 100.0, 1.0, True, max_iter=1)
    assert np.isnan(implied_vol(5.0, 100.0, 100.0, 1.0, True, max_iter=1, on_error="nan"))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.floats(-3.0, 3.0),
    st.floats(0.01, 5.0),
    st.floats(1.0 / 365.0 / 24.0, 5.0),
    st.booleans(),
)
def test_round_trip_property(x: float, sigma: float, tau: float, is_call: bool) -> None:
    forward, strike = 100.0, 100.0 * math.exp(-x)
    value = black76.price(forward, strike, tau, sigma, is_call)
    vega = float(black76.greeks(forward, strike, tau, sigma, is_call)["vega"]) * 100.0
    intrinsic = max(forward - strike if is_call else strike - forward, 0.0)
    if value > intrinsic:
        vol = float(implied_vol(value, forward, strike, tau, is_call))
        assert vol > 0.0
        if vega * 1e-10 > 4e-16 * value and value > 1e-250:
            assert abs(vol - sigma) <= 1e-8
