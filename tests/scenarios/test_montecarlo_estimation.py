"""Merton estimation (var-margin.md 3.4 steps 1-6): the spec's table on the bundled history."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.core import MarketDataError, ValidationError
from portmargin.data import demo_daily_paths
from portmargin.io import load_history
from portmargin.market import PriceHistory
from portmargin.scenarios import (
    MertonEstimate,
    MertonFitOptions,
    estimate_merton,
    ewma_variance,
)

AS_OF = "2021-11-24"
START = {"BTC": "2017-01-01", "ETH": "2017-01-01"}
CO_JUMP_DAYS = (
    "2017-09-14",
    "2018-11-14",
    "2018-11-19",
    "2019-04-02",
    "2019-09-24",
    "2020-03-12",
)


@pytest.fixture(scope="module")
def bundled() -> PriceHistory:
    return load_history(demo_daily_paths()).history


@pytest.fixture(scope="module")
def estimate(bundled: PriceHistory) -> MertonEstimate:
    return estimate_merton(bundled, as_of=AS_OF, history_start=START)


@pytest.mark.parametrize(
    ("underlying", "days", "lam", "mu", "delta", "sigma"),
    [
        ("BTC", 17, 3.482, -0.0100, 0.1773, 0.5773),
        ("ETH", 14, 2.868, -0.0867, 0.2359, 0.7572),
    ],
)
def test_reference_table(
    estimate: MertonEstimate,
    underlying: str,
    days: int,
    lam: float,
    mu: float,
    delta: float,
    sigma: float,
) -> None:
    a = estimate.asset(underlying)
    assert a.n == 1782
    assert a.jump_days == days
    assert round(a.jump_intensity, 3) == lam
    assert round(a.jump_mean, 4) == mu
    assert round(a.jump_vol, 4) == delta
    assert round(a.sigma, 4) == sigma
    assert a.marginal.jump_intensity == a.jump_intensity


def test_sigma_now_is_the_fhs_reference(estimate: MertonEstimate) -> None:
    assert round(estimate.asset("BTC").sigma_now, 6) == 0.030217
    assert round(estimate.asset("ETH").sigma_now, 6) == 0.039634


def test_correlation_over_no_jump_days(estimate: MertonEstimate) -> None:
    assert estimate.correlation_n == 1757 == 1782 - (17 + 14 - 6)
    assert round(float(estimate.correlation[0, 1]), 4) == 0.6945
    assert np.array_equal(np.diag(estimate.correlation), [1.0, 1.0])


def test_co_jump_days_and_common_parameters(estimate: MertonEstimate) -> None:
    c = estimate.common
    assert c is not None
    assert tuple(str(d) for d in c.dates) == CO_JUMP_DAYS
    assert c.n == 1782
    assert round(c.jumps.intensity, 3) == 1.229
    assert np.round(c.jumps.mean, 4).tolist() == [-0.1466, -0.1917]
    assert np.round(c.jumps.vol, 4).tolist() == [0.2008, 0.2240]
    assert round(float(c.jumps.correlation[0, 1]), 3) == 0.998
    for full, idio in zip(estimate.assets, c.idiosyncratic, strict=True):
        assert idio.jump_days == full.jump_days - 6
        assert set(full.jump_dates.tolist()) == set(idio.jump_dates.tolist()) | set(
            c.dates.tolist()
        )
        assert idio.jump_intensity == pytest.approx(full.jump_intensity - c.jumps.intensity)


def test_params_with_and_without_common_jumps(estimate: MertonEstimate) -> None:
    plain = estimate.params()
    assert plain.common is None
    assert plain.marginal("BTC").jump_intensity == estimate.asset("BTC").jump_intensity
    joint = estimate.params(common_jumps=True)
    assert joint.common is estimate.common.jumps  # type: ignore[union-attr]
    assert joint.marginal("ETH").jump_intensity == pytest.approx(2.868 - 1.229, abs=1e-3)
    assert joint.report() == ()


def test_report_prints_the_table(estimate: MertonEstimate) -> None:
    text = "\n".join(estimate.report())
    assert "BTC         1,782        17     3.482  -0.0100  0.1773  0.5773" in text
    assert "ETH         1,782        14     2.868  -0.0867  0.2359  0.7572" in text
    assert "n = 1,757): BTC/ETH 0.6945" in text
    assert "lambda_c 1.229/yr" in text
    assert "rho_J 0.998" in text
    assert "2020-03-12" in text
    assert estimate.warnings == ()


def test_jumps_are_the_days_beyond_k_ewma_sigmas(bundled: PriceHistory) -> None:
    """Independent recount of BTC's jump days with the EWMA of section 3.3."""
    r = bundled.log_returns()[:, bundled.column("BTC")]
    ok = np.isfinite(r) & (bundled.dates <= np.datetime64(AS_OF))
    sigma = np.sqrt(ewma_variance(r[ok])[:-1])
    dates = bundled.dates[ok]
    in_sample = dates >= np.datetime64("2017-01-01")
    for k in (3.0, 4.0, 5.0):
        e = estimate_merton(
            bundled,
            underlyings=["BTC"],
            as_of=AS_OF,
            history_start={"BTC": "2017-01-01"},
            options=MertonFitOptions(jump_threshold=k),
        )
        expected = dates[in_sample & (np.abs(r[ok] / sigma) > k)]
        assert np.array_equal(e.asset("BTC").jump_dates, expected)
        assert e.common is None
        assert e.correlation.tolist() == [[1.0]]


def test_ewma_runs_from_the_first_return_of_the_file(bundled: PriceHistory) -> None:
    """history_start limits the sample, not the EWMA: sigma_now does not depend on it."""
    late = estimate_merton(bundled, as_of=AS_OF, history_start={"BTC": "2020-01-01"})
    early = estimate_merton(bundled, as_of=AS_OF)
    assert late.asset("BTC").sigma_now == early.asset("BTC").sigma_now
    assert late.asset("BTC").n < early.asset("BTC").n
    assert late.history_start == {"BTC": np.datetime64("2020-01-01")}


def calm_history(n: int = 400, seed: int = 7) -> PriceHistory:
    rng = np.random.Generator(np.random.PCG64(seed))
    r = 0.01 * rng.standard_normal((n, 2))
    closes = 100.0 * np.exp(np.vstack([np.zeros((1, 2)), np.cumsum(r, axis=0)]))
    dates = np.datetime64("2020-01-01", "D") + np.arange(n + 1)
    return PriceHistory(underlyings=("A", "B"), dates=dates, closes=closes)


def test_no_jump_day_gives_zero_intensity_and_a_warning() -> None:
    e = estimate_merton(calm_history(), options=MertonFitOptions(jump_threshold=50.0))
    for a in e.assets:
        assert (a.jump_days, a.jump_intensity, a.jump_mean, a.jump_vol) == (0, 0.0, 0.0, 0.0)
    assert any("A: no jump day" in w for w in e.warnings)
    assert any("B: no jump day" in w for w in e.warnings)
    assert e.common is None
    assert any("co-jump" in w for w in e.warnings)
    assert "warning: A: no jump day in 400 returns; lambda = 0, jumps skipped" in e.report()
    with pytest.raises(MarketDataError, match="common jumps were not estimated"):
        e.params(common_jumps=True)
    assert e.params().column("jump_intensity").tolist() == [0.0, 0.0]


def test_bad_inputs_are_rejected(bundled: PriceHistory) -> None:
    with pytest.raises(ValidationError, match="jump_threshold"):
        MertonFitOptions(jump_threshold=0.0)
    with pytest.raises(ValidationError, match="ewma_lambda"):
        MertonFitOptions(ewma_lambda=1.0)
    with pytest.raises(ValidationError, match="underlyings"):
        estimate_merton(bundled, underlyings="BTC")
    with pytest.raises(MarketDataError, match="SOL"):
        estimate_merton(bundled, underlyings=["SOL"])
    with pytest.raises(ValidationError, match=r"history_start\[ETH\]"):
        estimate_merton(bundled, underlyings=["BTC"], history_start={"ETH": "2017-01-01"})
    with pytest.raises(MarketDataError, match="between history_start and as_of"):
        estimate_merton(bundled, as_of="2018-01-01", history_start={"BTC": "2019-01-01"})
    with pytest.raises(ValidationError, match="options"):
        estimate_merton(bundled, options=4.0)  # type: ignore[arg-type]
