"""The bundled BTC/ETH pack against its documented calibration (specs/span.md section 10)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from portmargin.data import demo_daily_paths
from portmargin.io import load_history
from portmargin.io.params import load_params
from portmargin.methods import get_method
from portmargin.methods.span import PriceScanMode, SpanParams, VolScanMode

PACK = "span/btc-eth-2021-11"
FIRST, LAST = np.datetime64("2017-01-01"), np.datetime64("2021-11-24")


@pytest.fixture(scope="module")
def pack() -> SpanParams:
    params = load_params(get_method("span"), PACK)
    assert isinstance(params, SpanParams)
    return params


def quantiles() -> dict[str, tuple[int, float, float]]:
    """Per underlying: number of daily simple returns dated FIRST..LAST (consecutive days)
    and their 1 % and 99 % quantiles (numpy's default linear interpolation)."""
    history = load_history(demo_daily_paths()).history
    dated = (history.dates >= FIRST) & (history.dates <= LAST)
    simple = np.expm1(history.log_returns()[dated])
    out = {}
    for j, underlying in enumerate(history.underlyings):
        r = simple[:, j][np.isfinite(simple[:, j])]
        out[underlying] = (r.size, float(np.quantile(r, 0.01)), float(np.quantile(r, 0.99)))
    return out


def test_quantiles_are_the_spec_figures() -> None:
    q = quantiles()
    assert q["BTC"][0] == q["ETH"][0] == 1782
    assert round(-q["BTC"][1], 4) == 0.1099
    assert round(q["BTC"][2], 4) == 0.1196
    assert round(-q["ETH"][1], 4) == 0.1456
    assert round(q["ETH"][2], 4) == 0.1795


def test_price_scan_ranges_are_the_rounded_up_quantiles(pack: SpanParams) -> None:
    psr = {u: math.ceil(max(-lo, hi) * 100 - 1e-9) / 100 for u, (_, lo, hi) in quantiles().items()}
    assert psr == {"BTC": 0.12, "ETH": 0.18}
    for cc in pack.cc:
        assert cc.price_scan.mode is PriceScanMode.FRACTION
        assert cc.price_scan.value == psr[cc.underlying], cc.id


def test_vol_scan_ranges_and_combined_commodities(pack: SpanParams) -> None:
    vsr = {"BTC": 0.10, "ETH": 0.12}
    ids = {cc.id: cc for cc in pack.cc}
    assert set(ids) == {"BTC-USD", "BTC-BTC", "ETH-USD", "ETH-ETH"}
    for cc in pack.cc:
        assert cc.vol_scan.mode is VolScanMode.ABSOLUTE
        assert cc.vol_scan.value == vsr[cc.underlying]
        assert cc.tier_ids == ("P", "1", "2")
        assert cc.spreads()
    assert ids["BTC-BTC"].settlement_currency == "BTC"
    assert ids["ETH-USD"].settlement_currency == "USD"
    assert pack.defaults.extreme_multiplier == 3.0
    assert pack.defaults.extreme_cover_fraction == 0.33
    assert pack.ratio() == 1.25


def test_inter_spreads_are_btc_eth_one_to_twelve_at_half(pack: SpanParams) -> None:
    assert pack.inter_spread
    for sd in pack.inter_spread:
        assert sd.credit_rate == 0.50
        ratio = {leg.cc.split("-")[0]: leg.ratio for leg in sd.legs}
        assert ratio == {"BTC": 1.0, "ETH": 12.0}
    assert [sd.priority for sd in pack.inter_spread] == sorted(
        sd.priority for sd in pack.inter_spread
    )
