"""pnl_offset with cap, extended dampener, delta shock, roll grouping, parameter validation."""

from __future__ import annotations

import dataclasses

import pytest
from deribit_pm_support import book, futures_market, pack

from portmargin.core import ValidationError
from portmargin.io.params import read_pack
from portmargin.market import MarketSnapshot
from portmargin.methods import AccountInputs
from portmargin.methods.deribit_pm import (
    DERIBIT_PM,
    DampenerMode,
    DeribitPMParams,
    RollGrouping,
    simulate_pme,
)
from portmargin.pricing import black76

ETH_T = 1767225600000  # 2026-01-01
ETH = futures_market(ETH_T, {"ETH": 2000.0}, {"ETH-PERPETUAL": 2001.0})
BTC_T = 1718619740501
BTC = futures_market(BTC_T, {"BTC": 65666.19}, {"BTC-PERPETUAL": 65910.57})


def _g(m: float) -> float:
    return 1 - 1 / (1 + m)


@pytest.mark.parametrize("q", [10.0, 1_000_000.0])
def test_pnl_offset_with_cap(q: float) -> None:
    params = pack("2026-02")
    sim = simulate_pme({"ETH-PERPETUAL": q}, ETH, params)
    pre = sim.pre_aggregated_risk_vectors["eth_eth"].standard
    agg = sim.aggregated_risk_vectors["eth_eth"].standard
    cap = 20_000_000 / 2000.0
    for x, y in zip(pre, agg, strict=True):
        assert y == (min(0.6 * x, cap) if x > 0 else x)
    assert pre[-1] == pytest.approx(q * _g(0.18), rel=1e-12)
    assert (agg[-1] == cap) is (q > 1000)
    ext = sim.aggregated_risk_vectors["eth_eth"].extended
    assert ext[0] == pytest.approx(min(0.0, q * _g(-0.18) + 200_000 / 2000.0), rel=1e-12)


def test_dampener_modes() -> None:
    base = pack()
    q, D = 20.0, 100_000 / 65666.19
    x = q * _g(-0.16)
    got = {}
    for mode in DampenerMode:
        params = dataclasses.replace(
            base, assumptions=dataclasses.replace(base.assumptions, extended_dampener_mode=mode)
        )
        got[mode] = simulate_pme({"BTC-PERPETUAL": q}, BTC, params).aggregated_risk_vectors
    ext = {m: v["btc_btc"].extended for m, v in got.items()}
    assert ext[DampenerMode.FIXED_OFFSET][0] == pytest.approx(x + D, rel=1e-12)
    assert ext[DampenerMode.NONE][:2] == pytest.approx((x, x), rel=1e-12)
    scaled = [x + min((m / 0.16 - 1) * D, -x) for m in (0.66, 0.33)]
    assert ext[DampenerMode.MOVE_SCALED][:2] == pytest.approx(scaled, rel=1e-12)


def test_delta_shock_on_a_large_book() -> None:
    S, q = 65666.19, 1000.0
    sim = simulate_pme({"BTC-PERPETUAL": q}, BTC, pack())
    excess = (q * S - 20_000_000) / S
    expected = min(0.1, 0.00005 * excess) * excess
    m = sim.margins["btc"]
    assert m.delta_shock == pytest.approx(expected, rel=1e-12)
    assert m.delta_shock > 20
    assert m.risk_matrix_margin == pytest.approx(
        round(m.worst_case, 9) + m.roll_shock + expected, rel=1e-15
    )
    small = simulate_pme({"BTC-PERPETUAL": 300.0}, BTC, pack()).margins["btc"]
    assert small.delta_shock == 0.0


def test_roll_grouping(demo_snapshot: MarketSnapshot) -> None:
    params = pack()
    future, call = "BTC-26JUN20", "BTC-26JUN20-9000-C"
    positions = {future: 1.0, call: 1.0, "BTC-PERPETUAL": -0.5}
    by_expiry = simulate_pme(positions, demo_snapshot, params).margins["btc"].roll_shock
    per_instrument = dataclasses.replace(
        params,
        assumptions=dataclasses.replace(params.assumptions, roll_grouping=RollGrouping.INSTRUMENT),
    )
    by_instr = simulate_pme(positions, demo_snapshot, per_instrument).margins["btc"].roll_shock
    expiry = 1593158400000
    T = demo_snapshot.year_fraction(expiry)
    F = demo_snapshot.forward("BTC", expiry)
    sigma = float(demo_snapshot.vol("BTC", expiry, 9000.0))
    delta = float(black76.inverse_delta(F, 9000.0, T, sigma, True))
    rate = max(0.01, 0.075 * T)
    assert by_expiry == pytest.approx(abs(1 + delta) * rate + 0.5 * 0.01, rel=1e-12)
    assert by_instr == pytest.approx((1 + abs(delta)) * rate + 0.5 * 0.01, rel=1e-12)


def test_unknown_param_key_is_named() -> None:
    data = read_pack("deribit-pm/2024-06-17")
    data["currency_pair"]["btc_usd"]["price_rnage"] = 0.1
    with pytest.raises(ValidationError, match=r"currency_pair\.btc_usd\.price_rnage"):
        DERIBIT_PM.params_from_mapping(data)
    data = read_pack("deribit-pm/2024-06-17")
    data["assumptions"]["vol_order"] = ["up", "up", "down"]
    with pytest.raises(ValidationError, match="vol_order"):
        DERIBIT_PM.params_from_mapping(data)


def test_both_packs_load() -> None:
    for version in ("2024-06-17", "2026-02"):
        params = pack(version)
        assert isinstance(params, DeribitPMParams)
        assert params.version == version
        assert "usd" in params.currency


def test_missing_parameters_and_market_data_are_reported(demo_snapshot: MarketSnapshot) -> None:
    batch = DERIBIT_PM.compute(
        book({"ok": {"BTC-PERPETUAL": 1.0}, "eth": {"ETH-PERPETUAL": 1.0}}),
        demo_snapshot,
        pack(),
    )
    assert list(batch.account) == ["ok"]
    assert "ETH" in batch.errors["eth"]
    eth = DERIBIT_PM.compute(book({"e": {"ETH-PERPETUAL": 1.0}}), ETH, pack())
    assert "currency_pair.eth_usd" in eth.errors["e"]


def test_venue_inputs_apply_to_their_account_and_key_only() -> None:
    given = {"open_orders_margin": 0.001, "mmp_margin": 0.06, "spot_margin": 0.002}
    keys = (("a", "btc_btc"), ("b", "usdc_btc"), ("nobody", "btc_btc"))
    inputs = AccountInputs.of(
        DERIBIT_PM.account_inputs, **{n: dict.fromkeys(keys, v) for n, v in given.items()}
    )
    batch = DERIBIT_PM.compute(
        book({"a": {"BTC-PERPETUAL": 1.0}, "b": {"BTC-PERPETUAL": 1.0}}),
        BTC,
        pack(),
        inputs=inputs,
    )
    a, b = batch.rows_of("a")[0], batch.rows_of("b")[0]
    for name, value in (
        ("open_orders_margin", 0.001),
        ("mmp_margin", 0.06),
        ("spot_margin", 0.002),
    ):
        assert batch.components[name][a] == value
        assert batch.components[name][b] == 0.0
    assert batch.maintenance_margin[a] == batch.maintenance_margin[b]
    assert batch.initial_margin[a] == pytest.approx(batch.initial_margin[b] + 0.063, abs=1e-9)
    assert not batch.errors


def test_venue_input_not_given_takes_the_pack_default() -> None:
    """One part given: the other two are the pack's assumptions, not zero."""
    params = pack()
    params = dataclasses.replace(
        params, assumptions=dataclasses.replace(params.assumptions, mmp_margin=0.5)
    )
    inputs = AccountInputs.of(
        DERIBIT_PM.account_inputs, open_orders_margin={("a", "btc_btc"): 0.25}
    )
    batch = DERIBIT_PM.compute(book({"a": {"BTC-PERPETUAL": 1.0}}), BTC, params, inputs=inputs)
    assert batch.components["open_orders_margin"][0] == 0.25
    assert batch.components["mmp_margin"][0] == 0.5


@pytest.mark.parametrize("group", ["btc", "eur_btc", "btc_doge", "BTC_BTC"])
def test_venue_input_group_must_be_a_pack_key(group: str) -> None:
    inputs = AccountInputs.of(DERIBIT_PM.account_inputs, mmp_margin={("a", group): 0.1})
    with pytest.raises(ValidationError, match=r"inputs\['a', '[^']+'\].*<settlement>_<base>"):
        DERIBIT_PM.compute(book({"a": {"BTC-PERPETUAL": 1.0}}), BTC, pack(), inputs=inputs)


def test_venue_input_needs_a_group() -> None:
    with pytest.raises(ValidationError, match=r"mmp_margin\['a'\].*a group as well"):
        AccountInputs.of(DERIBIT_PM.account_inputs, mmp_margin={"a": 0.1})
