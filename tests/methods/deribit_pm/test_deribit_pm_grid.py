"""Scenario grid, vol-shock law, tie rules, option repricing against a direct Black-76."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from deribit_pm_support import names_of, pack

from portmargin.instruments import parse_instrument
from portmargin.market import MarketSnapshot, VolSmile
from portmargin.methods.deribit_pm import VolUpFloor, simulate_pme
from portmargin.methods.deribit_pm._aggregate import worst_case
from portmargin.methods.deribit_pm._grid import build_grid, vol_law
from portmargin.pricing import black76
from portmargin.risk import build_risk_array, resolve_instruments
from portmargin.scenarios import UpFloor


def test_vol_shock_law_at_15_days() -> None:
    params = pack()
    pair = params.currency_pair["btc_usd"]
    law = vol_law(pair, params.assumptions)
    f = law.term_factor(np.array([15.0]))[0]
    assert f == pytest.approx(2**0.3, rel=1e-12)
    assert 1 + pair.volatility_range_up * f == pytest.approx(1.6156, abs=5e-5)
    assert 1 - pair.volatility_range_down * f == pytest.approx(0.6922, abs=5e-5)
    assert law.term_factor(np.array([30.0]))[0] == 1.0
    shocked = law.shocked_vols(np.array([0.2, 0.8]), np.array([15.0, 15.0]), np.array([0.5]))
    assert shocked[:, 0] == pytest.approx([0.5, 0.8 * (1 + 0.5 * f)])


def test_grid_layout() -> None:
    params = pack()
    pair = params.currency_pair["btc_usd"]
    grid = build_grid("btc_btc", params.general, pair, params.assumptions)
    assert grid.n_std == 27
    assert len(grid.labels) == 35
    assert grid.labels[:4] == ("-16% vol up", "-16% vol same", "-16% vol down", "-12% vol up")
    assert grid.labels[13] == "0% vol same"
    assert grid.labels[27] == "extended -66% vol up"
    assert grid.labels[34] == "extended +500% vol up"
    d1 = grid.scenarios.column("delta_one_shock")
    assert d1[27:] == pytest.approx([-0.16, -0.16] + [0.16] * 6)
    assert grid.scenarios.column("spot_shock")[27:] == pytest.approx(
        [-0.66, -0.33, 0.5, 1, 2, 3, 4, 5]
    )
    assert grid.side[12:15] == ("center",) * 3
    assert tuple(grid.priority[:3]) == (1, 0, 2)


def test_ties_prefer_standard_lower_bucket_same_slot() -> None:
    params = pack()
    pair = params.currency_pair["btc_usd"]
    grid = build_grid("btc_btc", params.general, pair, params.assumptions)
    agg = np.zeros((3, 35))
    agg[0, [0, 1, 2, 3]] = -1.0
    agg[1, [5, 27]] = -1.0
    agg[2, [3, 5]] = -1.0
    loss, col = worst_case(agg, grid.priority)
    assert loss.tolist() == [1.0, 1.0, 1.0]
    assert col.tolist() == [1, 5, 3]


def _b76_coin(F: float, K: float, T: float, s: float, call: bool) -> float:
    sd = s * math.sqrt(T)
    d1 = (math.log(F / K) + sd * sd / 2) / sd
    N = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    usd = F * N(d1) - K * N(d1 - sd) if call else K * N(sd - d1) - F * N(-d1)
    return usd / F


def test_option_pnl_matches_direct_black76(demo_snapshot: MarketSnapshot) -> None:
    params = pack()
    pair = params.currency_pair["btc_usd"]
    names = list(names_of(demo_snapshot, 2, 3)) + list(names_of(demo_snapshot, 5, 3))
    sim = simulate_pme({n: 1.0 for n in names}, demo_snapshot, params)
    moves = [-0.16 + 0.04 * i for i in range(9)]
    shocks = {"up": 0.5, "same": 0.0, "down": -0.25}
    for name in names:
        quote = demo_snapshot.quotes[name]
        inst = quote.instrument
        F = demo_snapshot.forward("BTC", inst.expiry_ms)
        sigma = float(demo_snapshot.vol("BTC", inst.expiry_ms, inst.strike))
        T = demo_snapshot.year_fraction(inst.expiry_ms)
        dte = max(T * 365, 1.0)
        f = (30 / dte) ** (0.3 if dte < 30 else 0.13)
        base = _b76_coin(F, inst.strike, T, sigma, inst.is_call)

        def vol(slot: str, sigma: float = sigma, f: float = f) -> float:
            v = sigma * (1 + shocks[slot] * f)
            return max(v, pair.min_volatility_for_shock_up) if slot == "up" else max(v, 0.0)

        expected = [
            _b76_coin(F * (1 + m), inst.strike, T, vol(slot), inst.is_call) - base
            for m in moves
            for slot in ("up", "same", "down")
        ]
        expected += [
            _b76_coin(F * (1 + m), inst.strike, T, vol("up"), inst.is_call) - base
            for m in (-0.66, -0.33, 0.5, 1, 2, 3, 4, 5)
        ]
        vec = sim.initial_risk_vectors[name]
        got = list(vec.standard) + list(vec.extended)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert vec.standard[13] == 0.0


def test_vol_up_floor_base_changes_only_up_columns() -> None:
    params = pack()
    alt = dataclasses.replace(
        params,
        assumptions=dataclasses.replace(params.assumptions, vol_up_floor=VolUpFloor.BASE),
    )
    name = "BTC-26JUN20-10000-C"
    expiry = 1593158400000
    market = MarketSnapshot(
        valuation_ms=expiry - 20 * 86_400_000,
        index_prices={"BTC": 10000.0},
        forwards={("BTC", expiry): 10000.0},
        smiles={
            ("BTC", expiry): VolSmile(
                expiry_ms=expiry,
                forward=10000.0,
                strikes=np.array([9000.0, 11000.0]),
                vols=np.array([0.3, 0.3]),
            )
        },
        allow_unlisted=True,
    )
    level = simulate_pme({name: 1.0}, market, params).initial_risk_vectors[name]
    base = simulate_pme({name: 1.0}, market, alt).initial_risk_vectors[name]
    assert base.standard[1::3] == level.standard[1::3]
    assert base.standard[2::3] == level.standard[2::3]
    assert all(b > lv for b, lv in zip(base.standard[0::3], level.standard[0::3], strict=True))


def test_vol_up_floor_base_is_the_engine_base_floor() -> None:
    """``base``: the law floors the vol before the shock, ``max(sigma, min_vol)(1 + vru f)``,
    in the vol-up columns only; the risk array reprices them in the same pass."""
    params = pack()
    pair = params.currency_pair["btc_usd"]
    a = dataclasses.replace(params.assumptions, vol_up_floor=VolUpFloor.BASE)
    law = vol_law(pair, a)
    assert (law.up_floor, law.min_vol_up) == (UpFloor.BASE, pair.min_volatility_for_shock_up)
    assert vol_law(pair, params.assumptions).up_floor is UpFloor.LEVEL
    f = (30 / 20) ** 0.3
    shocked = law.shocked_vols(np.array([0.3]), np.array([20.0]), np.array([0.5, 0.0, -0.25]))
    assert shocked[0] == pytest.approx([0.5 * (1 + 0.5 * f), 0.3, 0.3 * (1 - 0.25 * f)])

    expiry = 1593158400000
    market = MarketSnapshot(
        valuation_ms=expiry - 20 * 86_400_000,
        index_prices={"BTC": 10000.0},
        forwards={("BTC", expiry): 10000.0},
        smiles={
            ("BTC", expiry): VolSmile(
                expiry_ms=expiry,
                forward=10000.0,
                strikes=np.array([9000.0, 11000.0]),
                vols=np.array([0.3, 0.3]),
            )
        },
        allow_unlisted=True,
    )
    table = resolve_instruments([parse_instrument("BTC-26JUN20-10000-C")], market)
    grid = build_grid("btc_btc", params.general, pair, a)
    pnl = build_risk_array(table, grid.scenarios).pnl[0]
    t = 20 / 365
    base = float(black76.price(10000.0, 10000.0, t, 0.3, True)) / 10000.0
    for j in range(0, grid.n_std, 3):  # vol-up columns
        fwd = 10000.0 * (1 + grid.moves[j])
        up = float(black76.price(fwd, 10000.0, t, 0.5 * (1 + 0.5 * f), True)) / fwd
        assert pnl[j] == pytest.approx(up - base, rel=1e-12)
