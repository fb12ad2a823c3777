"""HS h-day windows and FHS EWMA scaling: spec figures on the bundled history, synthetic series."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portmargin.core import MarketDataError, ValidationError
from portmargin.data import demo_daily_paths
from portmargin.io import load_history
from portmargin.market import PriceHistory, Proxy
from portmargin.scenarios import (
    HistoricalScenarios,
    ewma_variance,
    fhs_scenarios,
    hs_scenarios,
)

AS_OF = "2021-11-24"


@pytest.fixture(scope="module")
def bundled() -> PriceHistory:
    return load_history(demo_daily_paths()).history


def history(closes: np.ndarray, start: str = "2021-01-01") -> PriceHistory:
    closes = np.asarray(closes, dtype=float)
    if closes.ndim == 1:
        closes = closes[:, None]
    names = ("A", "B", "C")[: closes.shape[1]]
    dates = np.datetime64(start, "D") + np.arange(closes.shape[0])
    return PriceHistory(underlyings=names, dates=dates, closes=closes)


def from_returns(r: np.ndarray) -> PriceHistory:
    return history(100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)])))


# --- HS on the project data (var-margin.md 3.2) ---------------------------------------------


def test_btc_worst_five_day_move_is_minus_44_2_percent(bundled: PriceHistory) -> None:
    w = bundled.joint_returns(["BTC"], as_of=AS_OF, lookback_days=100_000)
    s = hs_scenarios(w, horizon_days=5)
    worst = float(s.shocks[:, 0].min())
    assert round(worst, 3) == -0.442
    assert str(s.end_dates[int(np.argmin(s.shocks[:, 0]))]) == "2020-03-12"


def test_btc_sqrt_time_scaled_worst_is_minus_64_6_percent(bundled: PriceHistory) -> None:
    w = bundled.joint_returns(["BTC"], as_of=AS_OF, lookback_days=100_000)
    assert round(float(w.returns.min()), 4) == -0.4647
    s = hs_scenarios(w, horizon_days=5, sqrt_time_scaling=True)
    assert s.n_scenarios == w.n
    assert round(float(s.shocks.min()), 3) == -0.646


def test_joint_scenarios_share_dates_and_drop_windows_over_the_null_days(
    bundled: PriceHistory,
) -> None:
    w = bundled.joint_returns(as_of=AS_OF)
    assert w.n == 1095
    assert not w.short_history
    s = hs_scenarios(w, horizon_days=2)
    assert s.underlyings == ("BTC", "ETH")
    # Missing returns in the window: 04-17, 04-18, 10-09, 10-10, 10-12, 10-13, 10-14 (2020).
    # Runs of consecutive returns then lose h - 1 = 1 window each beyond the first run.
    runs = 1 + int(np.count_nonzero(np.diff(w.dates).astype(int) > 1))
    assert s.n_scenarios == w.n - runs * (2 - 1)
    np.testing.assert_allclose(s.weights, 1.0 / s.n_scenarios)
    assert not np.isin(np.datetime64("2020-04-19"), s.end_dates)  # 04-18 return missing
    assert np.isin(np.datetime64("2020-04-20"), s.end_dates)


# --- HS windows on synthetic data ----------------------------------------------------------


def test_overlapping_and_non_overlapping_windows_add_log_returns() -> None:
    r = np.log([1.1, 0.9, 1.2, 0.8, 1.05, 0.95, 1.01])
    w = from_returns(r).joint_returns(lookback_days=7)
    over = hs_scenarios(w, horizon_days=3)
    assert over.n_scenarios == 5
    np.testing.assert_allclose(over.log_returns[:, 0], np.convolve(r, np.ones(3), "valid"))
    non = hs_scenarios(w, horizon_days=3, overlapping=False)
    # ends at t_end (the last return), t_end - 3; 7 returns -> floor(7/3) = 2 windows
    assert non.end_dates.tolist() == [w.dates[3], w.dates[6]]
    np.testing.assert_allclose(non.log_returns[:, 0], [r[1:4].sum(), r[4:7].sum()])
    np.testing.assert_allclose(non.shocks, np.exp(non.log_returns) - 1)
    one = hs_scenarios(w)
    np.testing.assert_array_equal(one.log_returns, w.returns)


def test_a_window_over_a_missing_return_is_dropped() -> None:
    closes = [100.0, 101, 102, math.nan, 104, 105, 106, 107]
    w = history(np.array(closes)).joint_returns(lookback_days=10)
    # returns end on days 1, 2, 5, 6, 7 (days 3, 4 have none)
    s = hs_scenarios(w, horizon_days=2)
    assert s.end_dates.tolist() == [w.dates[1], w.dates[3], w.dates[4]]
    non = hs_scenarios(w, horizon_days=2, overlapping=False)
    # grid 7, 5, 3, 1: the window ending on 5 needs day 4's return; the one ending on 3 does too
    assert [str(d) for d in non.end_dates] == ["2021-01-08"]


@given(
    n=st.integers(1, 60),
    h=st.integers(1, 10),
    gaps=st.sets(st.integers(1, 59), max_size=5),
)
def test_window_counts_and_disjoint_non_overlapping_windows(n: int, h: int, gaps: set[int]) -> None:
    closes = np.linspace(100.0, 130.0, n + 1)
    closes[[g for g in gaps if g < n]] = np.nan
    hist = history(closes)
    try:
        w = hist.joint_returns(lookback_days=n)
    except MarketDataError:
        return
    consecutive_runs = np.split(
        np.arange(w.n), np.flatnonzero(np.diff(w.dates).astype(int) > 1) + 1
    )
    expected = sum(max(len(run) - h + 1, 0) for run in consecutive_runs)
    if expected == 0:
        with pytest.raises(MarketDataError):
            hs_scenarios(w, horizon_days=h)
        return
    over = hs_scenarios(w, horizon_days=h)
    assert over.n_scenarios == expected
    if len(consecutive_runs) == 1:
        assert over.n_scenarios == w.n - h + 1
    try:
        non = hs_scenarios(w, horizon_days=h, overlapping=False)
    except MarketDataError:
        return
    days = np.concatenate([d - np.arange(h) for d in non.end_dates])
    assert np.unique(days).size == days.size  # never share a day
    assert np.isin(days, w.dates).all()
    assert ((w.dates[-1] - non.end_dates).astype(int) % h == 0).all()
    if len(consecutive_runs) == 1:
        assert non.n_scenarios == w.n // h


def test_hs_errors() -> None:
    w = from_returns(np.full(5, 0.01)).joint_returns(lookback_days=5)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValidationError, match="horizon_days"):
            hs_scenarios(w, horizon_days=bad)  # type: ignore[arg-type]
    with pytest.raises(MarketDataError, match="6-day scenario needs 6"):
        hs_scenarios(w, horizon_days=6)
    with pytest.raises(ValidationError, match="overlapping"):
        hs_scenarios(w, overlapping=1)  # type: ignore[arg-type]


def test_scenario_type_validates_and_is_read_only() -> None:
    ok = {
        "underlyings": ("A",),
        "end_dates": np.array(["2021-01-02"], dtype="datetime64[D]"),
        "log_returns": np.array([[0.1]]),
        "weights": np.array([1.0]),
        "horizon_days": 1,
        "method": "hs",
        "overlapping": True,
        "sqrt_time_scaling": False,
    }
    s = HistoricalScenarios(**ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="read-only"):
        s.log_returns[0, 0] = 0.0
    for key, value, match in [
        ("log_returns", np.array([[0.1, 0.2]]), "log_returns"),
        ("log_returns", np.array([[math.nan]]), "log_returns"),
        ("weights", np.array([0.5]), "weights"),
        ("method", "mc", "method"),
        ("sigma_now", np.array([0.02]), "sigma_now"),
        ("end_dates", np.array([], dtype="datetime64[D]"), "end_dates"),
    ]:
        with pytest.raises(ValidationError, match=match):
            HistoricalScenarios(**{**ok, key: value})  # type: ignore[arg-type]


# --- FHS (var-margin.md 3.3) ---------------------------------------------------------------


def test_sigma_now_reference_values(bundled: PriceHistory) -> None:
    w = bundled.joint_returns(as_of=AS_OF, history_start={"ETH": "2017-01-01"})
    s = fhs_scenarios(bundled, w)
    assert s.sigma_now is not None
    assert round(float(s.sigma_now[0]), 6) == 0.030217
    assert round(float(s.sigma_now[1]), 6) == 0.039634
    assert round(float(s.sigma_now[0]) * math.sqrt(365), 4) == 0.5773
    assert round(float(s.sigma_now[1]) * math.sqrt(365), 4) == 0.7572
    # the window and history_start do not change the EWMA, which runs from the file's start
    short = fhs_scenarios(bundled, bundled.joint_returns(as_of=AS_OF, lookback_days=10))
    np.testing.assert_array_equal(short.sigma_now, s.sigma_now)  # type: ignore[arg-type]


def test_ewma_variance_matches_the_recursion() -> None:
    r = np.random.default_rng(1).normal(0.0, 0.02, 200)
    var = ewma_variance(r, ewma_lambda=0.9, seed_returns=10)
    expected = [float(np.mean(r[:10] ** 2))]
    for x in r:
        expected.append(0.9 * expected[-1] + 0.1 * x * x)
    np.testing.assert_allclose(var, expected, rtol=1e-12)


def test_fhs_scales_each_return_by_sigma_now_over_its_own_sigma() -> None:
    r = np.random.default_rng(2).normal(0.0, 0.02, 120)
    hist = from_returns(r)
    w = hist.joint_returns(lookback_days=50)
    var = ewma_variance(r)
    s = fhs_scenarios(hist, w)
    np.testing.assert_allclose(
        s.log_returns[:, 0], r[-50:] / np.sqrt(var[70:120]) * np.sqrt(var[-1])
    )
    s3 = fhs_scenarios(hist, w, horizon_days=3, overlapping=False)
    z = r[-50:] / np.sqrt(var[70:120])
    np.testing.assert_allclose(
        s3.log_returns[:, 0], np.sqrt(var[-1]) * z[-48:].reshape(16, 3).sum(axis=1)
    )


def test_fhs_turns_a_vol_jump_into_current_vol() -> None:
    rng = np.random.default_rng(20211124)
    r = np.concatenate([rng.normal(0.0, 0.01, 1000), rng.normal(0.0, 0.04, 1000)])
    hist = from_returns(r)
    w = hist.joint_returns(lookback_days=1500)
    s = fhs_scenarios(hist, w)
    assert s.sigma_now is not None
    assert 0.03 < s.sigma_now[0] < 0.05
    calm = slice(0, 500)  # the window's first 500 returns come from the 1 % regime
    assert np.std(w.returns[calm]) < 0.4 * s.sigma_now[0]
    assert np.std(s.log_returns[calm]) == pytest.approx(s.sigma_now[0], rel=0.1)
    assert np.std(s.log_returns) == pytest.approx(s.sigma_now[0], rel=0.1)


def test_fhs_leaves_a_constant_vol_series_nearly_unchanged() -> None:
    r = np.random.default_rng(7).normal(0.0, 0.02, 2000)
    hist = from_returns(r)
    w = hist.joint_returns(lookback_days=1500)
    s = fhs_scenarios(hist, w)
    assert np.std(s.log_returns) == pytest.approx(np.std(w.returns), rel=0.15)
    assert np.corrcoef(s.log_returns[:, 0], w.returns[:, 0])[0, 1] > 0.9
    ratio = s.log_returns[:, 0] / w.returns[:, 0]
    assert 0.6 < np.median(ratio) < 1.4


def test_fhs_zero_return_streak_is_guarded() -> None:
    r = np.concatenate([np.full(30, 0.01), np.zeros(2000), [0.01]])
    hist = from_returns(r)
    s = fhs_scenarios(hist, hist.joint_returns(lookback_days=5))
    assert np.isfinite(s.log_returns).all()


def test_fhs_errors() -> None:
    r = np.full(40, 0.01)
    hist = from_returns(r)
    w = hist.joint_returns(lookback_days=10)
    for lam in (0.0, 1.0, -0.5, 1.5, math.nan, True):
        with pytest.raises(ValidationError, match="ewma_lambda"):
            fhs_scenarios(hist, w, ewma_lambda=lam)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="ewma_seed_returns"):
        fhs_scenarios(hist, w, ewma_seed_returns=0)
    with pytest.raises(MarketDataError, match="40 daily returns; the EWMA seed needs 50"):
        fhs_scenarios(hist, w, ewma_seed_returns=50)
    with pytest.raises(ValidationError, match="horizon_days"):
        fhs_scenarios(hist, w, horizon_days=0)
    other = from_returns(np.full(40, 0.02))
    with pytest.raises(ValidationError, match=r"window\.returns"):
        fhs_scenarios(other, w)
    with pytest.raises(ValidationError, match="returns"):
        ewma_variance(np.array([[0.1]]), seed_returns=1)


def test_fhs_rejects_proxied_windows() -> None:
    closes = np.column_stack(
        [np.linspace(100, 140, 50), np.r_[[math.nan] * 10, np.linspace(1, 2, 40)]]
    )
    hist = history(closes)
    w = hist.joint_returns(lookback_days=45, proxies={"B": Proxy(underlying="A", beta=1.0)})
    with pytest.raises(ValidationError, match="proxied"):
        fhs_scenarios(hist, w, ewma_seed_returns=5)


def test_scenarios_become_a_keyed_set_dated_by_window_end(bundled: PriceHistory) -> None:
    s = hs_scenarios(bundled.joint_returns(as_of=AS_OF), horizon_days=2)
    keyed = s.to_scenario_set("hs 2d")
    assert keyed.underlyings == ("BTC", "ETH")
    assert keyed.labels[-1] == str(s.end_dates[-1]) == AS_OF
    names = np.array(["ETH", "BTC"], dtype=object)
    np.testing.assert_array_equal(keyed.spot_shocks(names), s.shocks.T[::-1])
    assert np.all(keyed.column("time_shift_days") == 2.0)
    assert np.all(keyed.column("weight") == 1.0)
