"""stressed_market: spot, basis, term-shaped vol multiplier and horizon (stress-and-dynamics.md
A.1), checked against closed forms and Black-76 prices computed here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from linear_market_support import VALUATION_MS, expiry_ms, linear_future, market, option, perp
from portmargin.core import MS_PER_DAY, year_fraction
from portmargin.data import demo_chain_path
from portmargin.instruments import Currency, Settlement
from portmargin.io.deribit import load_deribit_chain_csv
from portmargin.pricing import black76
from portmargin.risk import (
    moved_market,
    resolve_instruments,
    stressed_market,
    unit_values,
    with_expired_at_intrinsic,
)
from portmargin.scenarios import StressScenario

CHAIN = load_deribit_chain_csv(demo_chain_path()).snapshot
DAYS = (1.0, 7.0, 30.0, 90.0)
LINEAR = market({"BTC": 50_000.0, "ETH": 4_000.0}, days=DAYS, vol=0.6)


def _scenario(**changes: Any) -> StressScenario:
    fields: dict[str, Any] = {
        "id": "T",
        "label": "t",
        "kind": "hypothetical",
        "horizon_days": 0,
        "spot_shock": {},
        "source": "test",
    }
    return StressScenario(**{**fields, **changes})


def test_nothing_moved_is_the_same_snapshot() -> None:
    assert stressed_market(LINEAR, _scenario(spot_shock={"BTC": 0.0})) is LINEAR
    assert stressed_market(LINEAR, _scenario(spot_shock={"SOL": -0.5})) is LINEAR


def test_spot_shock_alone_is_moved_market() -> None:
    scen = _scenario(spot_shock={"BTC": -0.3, "ETH": 0.2})  # the chain has no ETH: ignored
    got = stressed_market(CHAIN, scen)
    ref = moved_market(CHAIN, {"BTC": -0.3})
    assert got.index_prices == ref.index_prices
    assert got.forwards == ref.forwards
    assert got.quotes == ref.quotes
    assert got.valuation_ms == CHAIN.valuation_ms
    assert got.metadata["stress"] == "T"


def test_basis_moves_futures_perps_and_forwards_not_the_index() -> None:
    s, b = -0.10, -0.03
    p = perp("BTC")
    scen = _scenario(spot_shock={"BTC": s}, basis_shock={"BTC": b})
    got = stressed_market(CHAIN, scen, (p, Currency(code="BTC")))
    assert got.index("BTC") == pytest.approx(CHAIN.index("BTC") * (1 + s), rel=1e-15)
    for key, f in CHAIN.forwards.items():
        assert got.forwards[key] == pytest.approx(f * (1 + s) * (1 + b), rel=1e-14)
    for name, q in CHAIN.futures.items():
        assert got.futures[name].mark_price == pytest.approx(q.mark_price * (1 + s) * (1 + b))
    # the linear perpetual has no venue quote: it gets one at index x (1 + basis)
    assert got.futures[p.name].mark_price == pytest.approx(got.index("BTC") * (1 + b))
    for name, q in list(CHAIN.quotes.items())[:20]:
        assert q.index_price is not None
        assert got.quotes[name].index_price == pytest.approx(q.index_price * (1 + s))
    table = resolve_instruments([p, Currency(code="BTC")], got)
    np.testing.assert_allclose(
        table.forward, [got.index("BTC") * (1 + b), got.index("BTC")], rtol=1e-15
    )


def test_vol_multiplier_follows_the_term_law() -> None:
    m, p, cap = 2.0, 0.3, 3.0
    scen = _scenario(vol_multiplier={"BTC": m}, vol_term_power=p, vol_mult_cap=cap)
    got = stressed_market(LINEAR, scen)
    for d in DAYS:
        expected = 0.6 * min(1 + (m - 1) * (30 / max(d, 1)) ** p, cap)
        np.testing.assert_allclose(got.smiles["BTC", expiry_ms(d)].vols, expected, rtol=1e-14)
        np.testing.assert_allclose(got.smiles["ETH", expiry_ms(d)].vols, 0.6)
    assert got.smiles["BTC", expiry_ms(1)].vols[0] == pytest.approx(0.6 * 3.0)  # capped


def test_vol_crush_floor() -> None:
    got = stressed_market(LINEAR, _scenario(vol_multiplier={"BTC": 0.6}))
    # 1 + (0.6 - 1)(30/1)^0.3 = -0.107 -> floor 0.2
    np.testing.assert_allclose(got.smiles["BTC", expiry_ms(1)].vols, 0.6 * 0.2)
    np.testing.assert_allclose(got.smiles["BTC", expiry_ms(30)].vols, 0.6 * 0.6, rtol=1e-14)


def test_horizon_reprices_options_at_shorter_time() -> None:
    h, s, m = 5.0, -0.25, 1.5
    scen = _scenario(
        horizon_days=h, spot_shock={"BTC": s}, vol_multiplier={"BTC": m}, vol_term_power=0.0
    )
    got = stressed_market(LINEAR, scen)
    assert got.valuation_ms == VALUATION_MS + 5 * MS_PER_DAY
    assert sorted(e for u, e in got.forwards if u == "BTC") == [expiry_ms(d) for d in DAYS[1:]]
    opts = [option(30, 45_000, call=False), option(7, 40_000), option(90, 60_000)]
    table = resolve_instruments(opts, got)
    assert not table.missing
    f = 50_000 * (1 + s)
    for k, (d, strike, call) in enumerate(
        [(30, 45_000, False), (7, 40_000, True), (90, 60_000, True)]
    ):
        tau = (d - h) / 365
        expected = black76.price(f, strike, tau, 0.6 * m, call)
        assert unit_values(table)[k] == pytest.approx(float(expected), rel=1e-12)


def test_expiries_within_the_horizon_are_dropped_and_settle_at_intrinsic() -> None:
    scen = _scenario(horizon_days=2, spot_shock={"BTC": -0.2})
    got = stressed_market(LINEAR, scen)
    assert ("BTC", expiry_ms(1)) not in got.forwards
    assert ("BTC", expiry_ms(1)) not in got.smiles
    put, fut = option(1, 45_000, call=False), linear_future(1)
    table = resolve_instruments([put, fut], got)
    assert set(table.missing) == {put.name, fut.name}  # expired at the stressed time
    revived = with_expired_at_intrinsic(table)
    assert list(revived.missing) == [fut.name]
    assert unit_values(revived)[0] == pytest.approx(45_000 - 40_000)


def test_option_quotes_stay_consistent() -> None:
    h = 3.0
    scen = _scenario(
        horizon_days=h, spot_shock={"BTC": 0.1}, vol_multiplier={"BTC": 1.4}, vol_term_power=0.3
    )
    got = stressed_market(CHAIN, scen)
    then = CHAIN.valuation_ms + 3 * MS_PER_DAY
    kept = [n for n, q in CHAIN.quotes.items() if q.instrument.expiry_ms > then]
    assert sorted(got.quotes) == sorted(kept)
    checked = 0
    for name in kept[::7]:
        old, new = CHAIN.quotes[name], got.quotes[name]
        inst = old.instrument
        dte = (inst.expiry_ms - CHAIN.valuation_ms) / MS_PER_DAY
        mult = float(scen.vol_multipliers("BTC", dte))
        assert new.mark_iv == pytest.approx(old.mark_iv * mult, rel=1e-14)
        assert new.underlying_price == pytest.approx(old.underlying_price * 1.1, rel=1e-14)
        if new.mark_price == 0.0:
            continue
        # the mark keeps its distance to the Black-76 value at the quote's own inputs
        u0, u1 = old.underlying_price, new.underlying_price
        t0 = float(year_fraction(CHAIN.valuation_ms, inst.expiry_ms))
        t1 = float(year_fraction(then, inst.expiry_ms))
        model0 = float(black76.price(u0, inst.strike, t0, old.mark_iv, inst.is_call))
        model1 = float(black76.price(u1, inst.strike, t1, new.mark_iv, inst.is_call))
        assert inst.settlement is Settlement.INVERSE
        assert new.mark_price * u1 - model1 == pytest.approx(
            old.mark_price * u0 - model0, abs=1e-6 * u1
        )
        checked += 1
    assert checked > 10


def test_collateral_shock_is_not_a_market_price() -> None:
    scen = _scenario(spot_shock={"BTC": -0.1}, collateral_shock={"USDT": -0.08})
    got = stressed_market(LINEAR, scen)
    table = resolve_instruments([Currency(code="USDT")], got)
    assert table.forward[0] == 1.0
