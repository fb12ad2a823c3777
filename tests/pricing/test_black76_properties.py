"""Property tests of the Black-76 kernel (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.pricing import black76

forwards = st.floats(1.0, 1e6)
log_moneyness = st.floats(-3.0, 3.0)
taus = st.floats(0.0, 5.0)
sigmas = st.floats(0.0, 5.0)
dfs = st.floats(0.5, 1.05)

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)


@SETTINGS
@given(forwards, log_moneyness, taus, sigmas, st.booleans(), dfs)
def test_price_within_no_arbitrage_bounds(
    forward: float, x: float, tau: float, sigma: float, is_call: bool, df: float
) -> None:
    strike = forward * math.exp(-x)
    value = float(black76.price(forward, strike, tau, sigma, is_call, df))
    intrinsic = max(forward - strike if is_call else strike - forward, 0.0) * df
    upper = df * (forward if is_call else strike)
    assert intrinsic <= value <= upper


@SETTINGS
@given(forwards, log_moneyness, st.floats(1e-3, 5.0), st.booleans(), dfs)
def test_price_non_decreasing_in_vol(
    forward: float, x: float, tau: float, is_call: bool, df: float
) -> None:
    strike = forward * math.exp(-x)
    sigma = np.linspace(0.0, 3.0, 61)
    value = black76.price(forward, strike, tau, sigma, is_call, df)
    assert np.all(np.diff(value) >= -1e-13 * (forward + strike))
    g = black76.greeks(forward, strike, tau, sigma, is_call, df)
    assert np.all(g["vega"] >= 0.0)
    assert np.all(g["gamma"] >= 0.0)


@SETTINGS
@given(forwards, st.floats(1e-3, 5.0), st.floats(0.01, 3.0), st.booleans())
def test_call_decreasing_and_put_increasing_in_strike(
    forward: float, tau: float, sigma: float, is_call: bool
) -> None:
    strike = forward * np.exp(np.linspace(-3.0, 3.0, 121))
    value = black76.price(forward, strike, tau, sigma, is_call)
    step = np.diff(value) * (1.0 if is_call else -1.0)
    assert np.all(step <= 1e-13 * (forward + strike[1:]))


@SETTINGS
@given(forwards, log_moneyness, taus, sigmas, dfs)
def test_put_call_parity_and_delta_parity(
    forward: float, x: float, tau: float, sigma: float, df: float
) -> None:
    strike = forward * math.exp(-x)
    call, put = black76.price(forward, strike, tau, sigma, np.array([True, False]), df)
    assert abs((call - put) - df * (forward - strike)) <= 4e-15 * (forward + strike)
    g = black76.greeks(forward, strike, tau, sigma, np.array([True, False]), df)
    if sigma * math.sqrt(tau) >= 1e-12:
        assert abs(g["delta"][0] - g["delta"][1] - df) <= 1e-15
        for key in ("gamma", "vega", "vanna", "volga"):
            assert g[key][0] == g[key][1]


@SETTINGS
@given(forwards, log_moneyness, st.floats(1e-4, 5.0), st.floats(1e-3, 5.0), st.booleans())
def test_venue_theta_bounded_by_value_and_raw_theta(
    forward: float, x: float, tau: float, sigma: float, is_call: bool
) -> None:
    strike = forward * math.exp(-x)
    g = black76.greeks(forward, strike, tau, sigma, is_call)
    value = float(black76.price(forward, strike, tau, sigma, is_call))
    assert g["theta"] >= -value
    assert g["theta"] <= 0.0
    assert g["theta"] >= g["raw_theta"] / 365.0 * min(1.0, 365.0 * tau)
