"""Published (DOC) and hand-computed (DERIVED) paradex-pm cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.special import ndtri

from linear_market_support import book, market, option, perp
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods.paradex_pm import (
    ParadexParams,
    ParadexPM,
    VolUpFloor,
    min_delta_requirement,
    scan_pnl_usd,
    scenario_set,
)
from portmargin.pricing import black76
from portmargin.risk import build_risk_array, resolve_instruments

METHOD = ParadexPM()
SPOT = 70_000.0


@pytest.fixture(scope="module")
def params() -> ParadexParams:
    loaded = load_params(METHOD)
    assert isinstance(loaded, ParadexParams)
    return loaded


def test_doc_min_delta_kernel() -> None:
    """DOC: +1 perp, -5 calls of delta 0.3: Net -0.5, Gross 2.5, Hedged 1 -> 1,400 USD."""
    got = min_delta_requirement(np.array([-0.5]), np.array([2.5]), SPOT, 0.02, 0.01)
    assert got[0] == pytest.approx(1_400.0, abs=1e-9)


def _call_with_delta(delta: float, strike: float, days: float) -> MarketSnapshot:
    """A market where the ``strike`` call of ``days`` has Black delta ``delta`` (F = S)."""
    d1 = float(ndtri(delta))
    log_fk = math.log(SPOT / strike)
    s = d1 + math.sqrt(d1 * d1 - 2.0 * log_fk)
    return market(days=(days,), vol=s / math.sqrt(days / 365.0))


def test_doc_min_delta_end_to_end(params: ParadexParams) -> None:
    """The DOC book priced end to end: option delta 0.3 from the model, MinDelta 1,400."""
    mk = _call_with_delta(0.3, 80_000.0, 30.0)
    call = option(30.0, 80_000.0)
    table_delta = black76.greeks(
        SPOT, 80_000.0, 30.0 / 365.0, mk.vol("BTC", call.expiry_ms, 80_000.0), True
    )["delta"]
    assert float(table_delta) == pytest.approx(0.3, abs=1e-12)
    batch = METHOD.compute(book({"doc": [(perp(), 1.0), (call, -5.0)]}), mk, params)
    assert batch.components["min_delta"][0] == pytest.approx(1_400.0, rel=1e-9)
    assert batch.components["min_delta/BTC"][0] == pytest.approx(1_400.0, rel=1e-9)
    net = max(batch.components["scan_risk"][0], 1_400.0)
    assert batch.initial_margin[0] == pytest.approx(net)
    assert batch.maintenance_margin[0] == pytest.approx(0.5 * net)


def test_derived_min_delta_binds_when_scan_is_smaller() -> None:
    """DERIVED: SCAN 1,000 < MinDelta 1,400 gives Net IMR 1,400 and MMR 700."""
    net = max(
        1_000.0,
        float(min_delta_requirement(np.array([-0.5]), np.array([2.5]), SPOT, 0.02, 0.01)[0]),
    )
    assert net == pytest.approx(1_400.0)
    assert 0.5 * net == pytest.approx(700.0)


def test_derived_scan_long_perp(params: ParadexParams) -> None:
    """DERIVED: long 1 perp at 70,000: SCAN 11,200 (scenario 16), IMR 11,200, MMR 5,600."""
    batch = METHOD.compute(book({"a": [(perp(), 1.0)]}), market(), params)
    assert batch.components["scan_risk"][0] == pytest.approx(11_200.0)
    assert batch.components["min_delta"][0] == pytest.approx(1_400.0)
    assert batch.initial_margin[0] == pytest.approx(11_200.0)
    assert batch.maintenance_margin[0] == pytest.approx(5_600.0)
    assert batch.currency[0] == "USD"
    result = batch.result(0)
    assert result.worst_scenario == "BTC #16 spot -16% vol +40% w 100%"
    assert result.contributions[0].pnl == pytest.approx(-11_200.0)
    assert result.params_version == "2026-05"


def test_short_perp_scan_under_both_packs(params: ParadexParams) -> None:
    """Short 1 perp: with the May tails every up tail weighs about 0.12 x 70,000 = 8,400
    < 11,200 (+16 %); with the March tails (about 0.16 / move) they reach 11,200 too, so
    SCAN is 11,200 under both packs and equals the largest weighted loss by hand."""
    bk = book({"a": [(perp(), -1.0)]})
    march = load_params(METHOD, "paradex-pm/2026-03")
    assert isinstance(march, ParadexParams)
    for pack in (params, march):
        rows = pack.asset("BTC").scenarios
        by_hand = max(r.weight * max(0.0, r.spot_shock) * SPOT for r in rows)
        got = METHOD.compute(bk, market(), pack)
        assert got.components["scan_risk"][0] == pytest.approx(by_hand)
        assert got.components["scan_risk"][0] == pytest.approx(11_200.0)
        assert got.params_version == pack.version


def test_funding_provision_pay_only(params: ParadexParams) -> None:
    """Rate +0.01 % per 8 h over 8 h: long 2 pays 2 x 70,000 x 1e-4 = 14; a short receives."""
    with_rate = dataclasses.replace(params, funding_rates={"BTC": 1e-4})
    batch = METHOD.compute(
        book({"long": [(perp(), 2.0)], "short": [(perp(), -2.0)]}), market(), with_rate
    )
    assert batch.components["funding_provision"].tolist() == pytest.approx([14.0, 0.0])
    assert batch.initial_margin[0] == pytest.approx(2 * 11_200.0 + 14.0)
    assert batch.maintenance_margin[0] == pytest.approx(11_200.0 + 14.0)
    named = dataclasses.replace(params, funding_rates={"BTC_USDC-PERPETUAL": -1e-4})
    flipped = METHOD.compute(book({"short": [(perp(), -2.0)]}), market(), named)
    assert flipped.components["funding_provision"][0] == pytest.approx(14.0)


def test_fee_provision(params: ParadexParams) -> None:
    """Fee 0.03 % on |position value|: perp 1 x 70,000 and 3 options at index 70,000."""
    priced = dataclasses.replace(params, taker_fee=3e-4)
    bk = book({"a": [(perp(), 1.0), (option(30.0, 70_000.0), -3.0)]})
    batch = METHOD.compute(bk, market(), priced)
    assert batch.components["fee_provision"][0] == pytest.approx(3e-4 * 4 * SPOT)
    base = METHOD.compute(bk, market(), params)
    assert batch.initial_margin[0] - base.initial_margin[0] == pytest.approx(3e-4 * 4 * SPOT)


def _pnl_matrix(params: ParadexParams, days: float, vol: float) -> np.ndarray:
    """USD P&L per unit of a long ATM call under the BTC scenarios, shape ``(24,)``."""
    mk = market(days=(days,), vol=vol)
    asset = params.asset("BTC")
    scen = scenario_set(asset, params.vol_up_floor)
    table = resolve_instruments([option(days, SPOT)], mk)
    pnl, _ = scan_pnl_usd(table, scen)
    return pnl[0]


def _vega_pnl(days: float, vol: float, shocked: float) -> float:
    t = days / 365.0
    return float(
        black76.price(SPOT, SPOT, t, shocked, True) - black76.price(SPOT, SPOT, t, vol, True)
    )


@pytest.mark.parametrize(
    ("days", "factor"),
    [
        (0.5, 30.0**0.3),
        (10.0, 3.0**0.3),
        (29.9, (30 / 29.9) ** 0.3),
        (30.0, 1.0),
        (90.0, (1 / 3) ** 0.13),
    ],
)
def test_vol_law_term_structure(params: ParadexParams, days: float, factor: float) -> None:
    """Scenario #8 (spot 0, vol +40 %) and #9 (vol -22 %) on a long ATM call at 50 % IV:
    IV' = 0.5 (1 + v f), f = (30 / max(1, DTE))**p, p = 0.30 below 30 days, else 0.13."""
    pnl = _pnl_matrix(params, days, 0.5)
    assert pnl[7] == pytest.approx(_vega_pnl(days, 0.5, 0.5 * (1 + 0.4 * factor)), rel=1e-12)
    assert pnl[8] == pytest.approx(_vega_pnl(days, 0.5, 0.5 * (1 - 0.22 * factor)), rel=1e-12)


def test_vol_up_floor_level_and_shock(params: ParadexParams) -> None:
    """IV 20 %, DTE 90 (f = (1/3)**0.13): the up shock 0.4 f = 0.347 gives IV 0.269.
    ``level`` floors the IV at 0.40; ``shock`` floors the shock at 0.40 (IV 0.28);
    down shocks are never floored."""
    f = (1 / 3) ** 0.13
    level = _pnl_matrix(params, 90.0, 0.2)
    assert level[7] == pytest.approx(_vega_pnl(90.0, 0.2, 0.4), rel=1e-12)
    shock = _pnl_matrix(dataclasses.replace(params, vol_up_floor=VolUpFloor.SHOCK), 90.0, 0.2)
    assert shock[7] == pytest.approx(_vega_pnl(90.0, 0.2, 0.2 * 1.4), rel=1e-12)
    for got in (level, shock):
        assert got[8] == pytest.approx(_vega_pnl(90.0, 0.2, 0.2 * (1 - 0.22 * f)), rel=1e-12)
    short = _pnl_matrix(dataclasses.replace(params, vol_up_floor=VolUpFloor.SHOCK), 10.0, 0.2)
    assert short[7] == pytest.approx(_vega_pnl(10.0, 0.2, 0.2 * (1 + 0.4 * 3**0.3)), rel=1e-12)


def test_inverse_chain_book_in_usd(params: ParadexParams, demo_snapshot: MarketSnapshot) -> None:
    """A coin-settled Deribit option's SCAN P&L is its coin P&L at the scenario price.

    The option is revalued from its own quote's mark IV (spec §2), not the smile's vol at its
    strike: BTC-22MAY20-9250-P is in the money, its mark IV 0.8505 and the smile's 0.8519.
    """
    name = next(iter(demo_snapshot.quotes))
    inst = demo_snapshot.quotes[name].instrument
    batch = METHOD.compute(book({"a": [(inst, -10.0)]}), demo_snapshot, params)
    assert batch.errors == {}
    assert batch.initial_margin[0] > 0.0
    assert any("coin-settled" in n for n in batch.notes)
    asset = params.asset("BTC")
    scen = scenario_set(asset, params.vol_up_floor)
    table = resolve_instruments([inst], demo_snapshot)
    table = dataclasses.replace(table, sigma=np.array([demo_snapshot.quotes[name].mark_iv]))
    ra = build_risk_array(table, scen)
    pnl, _ = scan_pnl_usd(table, scen)
    s = scen.column("spot_shock")
    np.testing.assert_allclose(pnl[0], ra.pnl[0] * table.index[0] * (1 + s), rtol=1e-12)
    weighted = -10.0 * pnl[0] * scen.column("weight")
    assert batch.components["scan_risk"][0] == pytest.approx(max(0.0, float(-weighted.min())))


def test_errors_for_unknown_base_and_spot(params: ParadexParams) -> None:
    """Accounts holding SOL (no parameters) or a spot pair are reported, the rest computed."""
    from portmargin.instruments import Spot

    mk = market(spots={"BTC": SPOT, "SOL": 150.0})
    bk = book(
        {
            "ok": [(perp(), 1.0)],
            "sol": [(perp("SOL"), 1.0)],
            "spot": [(Spot(base="BTC", quote="USDC"), 1.0)],
            "missing": [(perp("ETH"), 1.0)],
        }
    )
    batch = METHOD.compute(bk, mk, params)
    assert batch.account.tolist() == ["ok"]
    assert set(batch.errors) == {"sol", "spot", "missing"}
    assert "SOL" in batch.errors["sol"]
    assert "spot" in batch.errors["spot"]
