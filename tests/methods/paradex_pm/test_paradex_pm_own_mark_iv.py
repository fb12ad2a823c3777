"""Each option is revalued from its own venue mark IV (spec §2), the smile only without a quote.

Hand-built market: the smile is flat at 50 %, while the venue quotes of the in-the-money
options carry their own mark IVs (62 % and 58 %), as a venue chain does where call and put IVs
of one strike differ and the smile keeps the out-of-the-money side's.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from linear_market_support import VALUATION_MS, book, market, option, perp
from portmargin.instruments import Instrument, Option
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot, OptionQuote
from portmargin.methods.paradex_pm import ParadexParams, ParadexPM

METHOD = ParadexPM()
SPOT = 70_000.0
SMILE_VOL = 0.5
SHORT = option(30.0, 60_000.0)
LONG = option(90.0, 60_000.0)
OWN_IV = {SHORT.name: 0.62, LONG.name: 0.58}


@pytest.fixture(scope="module")
def params() -> ParadexParams:
    loaded = load_params(METHOD)
    assert isinstance(loaded, ParadexParams)
    return loaded


def _n(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _d1(f: float, k: float, t: float, sigma: float) -> float:
    s = sigma * math.sqrt(t)
    return (math.log(f / k) + 0.5 * s * s) / s


def _call(f: float, k: float, t: float, sigma: float) -> float:
    """Black-76 call, D = 1 (no rate in the snapshot), USD."""
    d1 = _d1(f, k, t, sigma)
    return f * _n(d1) - k * _n(d1 - sigma * math.sqrt(t))


def _quoted(*options: Option) -> MarketSnapshot:
    """Flat 50 % smile for 30 and 90 days; a venue quote at its own mark IV per option."""
    base = market(days=(30.0, 90.0), vol=SMILE_VOL)
    quotes = {
        o.name: OptionQuote(
            instrument_name=o.name,
            instrument=o,
            timestamp_ms=VALUATION_MS,
            mark_price=_call(SPOT, o.strike, _days(o) / 365.0, OWN_IV[o.name]),
            mark_iv=OWN_IV[o.name],
            underlying_price=SPOT,
            underlying_index="index_price",
        )
        for o in options
    }
    return dataclasses.replace(base, quotes=quotes)


def _days(o: Option) -> float:
    return (o.expiry_ms - VALUATION_MS) / 86_400_000


def _hand(
    params: ParadexParams, legs: list[tuple[Option, float]], vols: dict[str, float]
) -> tuple[float, float]:
    """SCAN Risk and minimum delta requirement of ``legs`` by hand (spec §2, §3), USD."""
    asset = params.asset("BTC")
    law = asset.vol_shock_params
    scan = 0.0
    for row in asset.scenarios:
        pnl = 0.0
        for o, q in legs:
            dte = _days(o)
            power = law.vega_power_short_dte if dte < 30.0 else law.vega_power_long_dte
            factor = (30.0 / max(law.dte_floor_days, dte)) ** power
            sigma = vols[o.name]
            shocked = sigma * (1.0 + row.vol_shock * factor)
            if row.vol_shock > 0:
                shocked = max(shocked, law.min_vol_shock_up)
            t = dte / 365.0
            pnl += q * (
                _call(SPOT * (1 + row.spot_shock), o.strike, t, shocked)
                - _call(SPOT, o.strike, t, sigma)
            )
        scan = max(scan, -row.weight * pnl)
    deltas = [q * _n(_d1(SPOT, o.strike, _days(o) / 365.0, vols[o.name])) for o, q in legs]
    net = abs(sum(deltas))
    hedged = (sum(abs(d) for d in deltas) - net) / 2.0
    min_delta = (asset.unhedged_margin_factor * net + asset.hedged_margin_factor * hedged) * SPOT
    return scan, min_delta


LEG_SETS = {
    "itm_call": [(SHORT, -1.0)],
    "itm_calendar": [(SHORT, -1.0), (LONG, 1.0)],
}


@pytest.mark.parametrize("case", sorted(LEG_SETS))
def test_revalued_from_own_mark_iv(params: ParadexParams, case: str) -> None:
    """SCAN and minimum delta equal the hand Black-76 figures at each option's own mark IV,
    and differ from the figures at the smile's vol."""
    legs = LEG_SETS[case]
    batch = METHOD.compute(book({"a": legs}), _quoted(SHORT, LONG), params)
    assert batch.errors == {}
    scan, min_delta = _hand(params, legs, OWN_IV)
    assert batch.components["scan_risk"][0] == pytest.approx(scan, rel=1e-9)
    assert batch.components["min_delta"][0] == pytest.approx(min_delta, rel=1e-9)
    assert batch.initial_margin[0] == pytest.approx(max(scan, min_delta), rel=1e-9)
    smile_scan, _ = _hand(params, legs, dict.fromkeys(OWN_IV, SMILE_VOL))
    assert abs(scan / smile_scan - 1.0) > 1e-3
    assert "paradex-pm: every option revalued from its own venue mark IV" in batch.notes


def test_itm_calendar_figures(params: ParadexParams) -> None:
    """DERIVED: the calendar's SCAN is 1,353.25 USD at its own mark IVs (62 %, 58 %) and
    1,380.59 USD at the 50 % smile (what an unquoted book still gets)."""
    legs = LEG_SETS["itm_calendar"]
    batch = METHOD.compute(book({"a": legs}), _quoted(SHORT, LONG), params)
    assert float(batch.components["scan_risk"][0]) == pytest.approx(1_353.25, abs=5e-3)
    unquoted = METHOD.compute(book({"a": legs}), market(days=(30.0, 90.0)), params)
    assert float(unquoted.components["scan_risk"][0]) == pytest.approx(1_380.59, abs=5e-3)


def test_unquoted_option_falls_back_to_smile(params: ParadexParams) -> None:
    """An option without a venue quote takes the smile's vol, and the notes name it."""
    legs: list[tuple[Instrument, float]] = [(SHORT, -1.0), (LONG, 1.0)]
    batch = METHOD.compute(book({"a": legs}), _quoted(SHORT), params)
    scan, _ = _hand(params, LEG_SETS["itm_calendar"], {**OWN_IV, LONG.name: SMILE_VOL})
    assert batch.components["scan_risk"][0] == pytest.approx(scan, rel=1e-9)
    note = next(n for n in batch.notes if "no venue quote" in n)
    assert LONG.name in note
    assert SHORT.name not in note
    assert "smile" in note


def test_no_vol_note_without_options(params: ParadexParams) -> None:
    """A book without options says nothing about option vols."""
    batch = METHOD.compute(book({"a": [(perp(), 1.0)]}), market(), params)
    assert not any("own venue mark IV" in n or "no venue quote" in n for n in batch.notes)


def test_quoted_vols_match_table_rows(params: ParadexParams) -> None:
    """The vol override touches option rows only and keeps their order."""
    from portmargin.methods.paradex_pm._vol import own_mark_iv
    from portmargin.risk import resolve_instruments

    mk = _quoted(SHORT)
    table = resolve_instruments([perp(), LONG, SHORT], mk)
    got, unquoted = own_mark_iv(table, mk)
    np.testing.assert_array_equal(got.sigma[[1, 2]], [SMILE_VOL, OWN_IV[SHORT.name]])
    assert np.isnan(got.sigma[0])
    assert unquoted == (LONG.name,)
    np.testing.assert_array_equal(table.sigma[[1, 2]], [SMILE_VOL, SMILE_VOL])
