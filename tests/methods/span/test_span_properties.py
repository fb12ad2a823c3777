"""Invariants of the span method: scan risk, ties, spread and credit rules, non-negativity."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from span_support import (
    DAY_MS,
    DEC,
    MAR,
    VALUATION_MS,
    A,
    B,
    C,
    D,
    E,
    G,
    book,
    example_market,
    future,
    option,
    pack,
    params,
    run,
)

from portmargin.instruments import Instrument, Option, OptionType, Perpetual, Settlement
from portmargin.methods import get_method
from portmargin.methods.span import match_spreads
from portmargin.pricing import black76

LINEAR_PERP = Perpetual(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR)
STRIKES = (35_000.0, 45_000.0, 50_000.0, 60_000.0)
UNIVERSE: tuple[Instrument, ...] = (
    A,
    B,
    C,
    D,
    E,
    G,
    LINEAR_PERP,
    *(option("BTC", e, k, c) for e in (DEC, MAR) for k in STRIKES for c in (True, False)),
)
PSR = {"BTC": 0.12, "ETH": 0.18}
VSR = {"BTC": 0.10, "ETH": 0.12}
PRICE = np.array([0, 0, 1, 1, -1, -1, 2, 2, -2, -2, 3, 3, -3, -3, 9, -9]) / 3.0
VOL = np.array([1, -1] * 7 + [0, 0], dtype=float)
WEIGHT = np.r_[np.ones(14), np.full(2, 0.33)]


def _reference_loss(positions: list[tuple[Instrument, float]]) -> dict[str, np.ndarray]:
    """Loss per scenario per underlying, each position repriced on its own (§4), with the
    example's smile vols."""
    market = example_market()
    out: dict[str, np.ndarray] = {}
    for inst, q in positions:
        u = inst.underlying
        expiry = getattr(inst, "expiry_ms", 0)
        F = market.forward(u, expiry) if expiry else market.index(u)
        F_s = np.maximum(F * (1 + PRICE * PSR[u]), 0.01 * F)
        if hasattr(inst, "strike"):
            T = (expiry - VALUATION_MS) / DAY_MS / 365.0
            sigma = float(market.vol(u, expiry, np.array([inst.strike]))[0])
            sig_s = np.where(np.arange(16) < 14, np.maximum(sigma + VOL * VSR[u], 0.05), sigma)
            v0 = black76.price(F, inst.strike, T, sigma, inst.is_call)
            v_s = black76.price(F_s, inst.strike, max(T - 1 / 365, 0), sig_s, inst.is_call)
            loss = WEIGHT * (v0 - v_s)
        else:
            loss = -WEIGHT * (F_s - F)
        out[u] = out.get(u, np.zeros(16)) + q * loss
    return out


positions_strategy = st.lists(
    st.tuples(
        st.sampled_from(range(len(UNIVERSE))),
        st.floats(-20, 20, allow_nan=False).map(lambda x: round(x, 3)),
    ),
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=positions_strategy)
def test_scan_risk_is_the_worst_of_the_16_weighted_scenarios(
    picks: list[tuple[int, float]],
) -> None:
    positions = [(UNIVERSE[i], q) for i, q in picks]
    r = run({"x": positions})
    reference = _reference_loss(positions)
    for s in r.statements:
        expected = reference[s.arrays.cc.underlying]
        np.testing.assert_allclose(s.loss[0], expected, rtol=1e-9, atol=1e-6)
        worst = float(expected.max())
        assert s.scan_risk[0] == pytest.approx(max(worst, 0.0), rel=1e-9, abs=1e-6)
        assert s.loss[0, s.active[0]] == s.loss[0].max()
        assert s.active[0] == int(np.argmax(s.loss[0]))
        assert s.time_risk[0] + s.price_risk[0] + s.vol_risk[0] == pytest.approx(
            s.scan_risk[0], abs=1e-6
        )
    assert r.span_risk_mm[0] >= 0
    assert r.span_risk_im[0] == pytest.approx(1.25 * r.span_risk_mm[0])
    assert r.req_mm[0] >= 0
    assert r.req_im[0] >= r.req_mm[0]
    for k, s in enumerate(r.statements):
        assert r.cc_risk[0, k] >= s.som[0]
        assert 0 <= r.inter_credit[0, k] <= s.scan_risk[0] + 1e-12


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=positions_strategy, account_count=st.integers(1, 4))
def test_margin_is_finite_non_negative_and_per_account(
    picks: list[tuple[int, float]], account_count: int
) -> None:
    accounts = {
        f"a{j}": [(UNIVERSE[i], q) for i, q in picks[j::account_count]]
        for j in range(account_count)
    }
    method = get_method("span")
    batch = method.compute(book(accounts), example_market(), params())
    assert np.all(batch.maintenance_margin >= 0)
    assert np.all(np.isfinite(batch.initial_margin))
    for j, (name, positions) in enumerate(accounts.items()):
        alone = method.compute(book({name: positions}), example_market(), params())
        assert float(alone.initial_margin[0]) == pytest.approx(
            float(batch.initial_margin[j]), rel=1e-12, abs=1e-9
        )


def test_empty_book_and_flat_book_need_nothing() -> None:
    r = run({"empty": [], "flat": [(C, 3.0), (C, -3.0)]})
    assert r.span_risk_mm.tolist() == [0.0, 0.0]
    assert r.req_im.tolist() == [0.0, 0.0]
    assert r.nov.tolist() == [0.0, 0.0]


def test_ties_go_to_the_lowest_scenario_number() -> None:
    # A long future loses the same in scenarios 13 and 14 (-1 PSR, vol up and down).
    s = run({"x": [(A, 1.0)]}).statements[0]
    assert s.loss[0, 12] == s.loss[0, 13] == s.loss[0].max()
    assert s.active[0] == 12
    # A short future: 11 and 12 tie.
    s = run({"x": [(A, -1.0)]}).statements[0]
    assert s.active[0] == 10


def test_long_options_never_lose_more_than_their_value() -> None:
    longs = [(option("BTC", DEC, k, c), 1.0) for k in STRIKES for c in (True, False)]
    r = run({"x": longs})
    assert r.statements[0].scan_risk[0] <= r.nov[0]
    assert r.req_mm[0] == 0.0


# --- intra-commodity spreads -------------------------------------------------------------


def _legs(*legs: tuple[int, bool, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array([b for b, _, _ in legs], dtype=np.intp),
        np.array([a for _, a, _ in legs], dtype=bool),
        np.array([r for _, _, r in legs]),
    )


def test_spreads_need_opposite_signs_and_follow_ratios() -> None:
    deltas = np.array([[0.0, 4.0, -3.0], [0.0, 4.0, 3.0], [0.0, -4.0, 3.0], [0.0, 0.0, -3.0]])
    counts, rem, consumed = match_spreads(deltas, [_legs((1, True, 2.0), (2, False, 1.0))])
    # 2:1: min(4/2, 3/1) = 2 spreads; same signs or a missing leg form none
    assert counts[:, 0].tolist() == [2.0, 0.0, 2.0, 0.0]
    assert rem[0].tolist() == [0.0, 0.0, -1.0]
    assert rem[2].tolist() == [0.0, 0.0, 1.0]
    assert consumed[0].tolist() == [0.0, 4.0, 2.0]
    np.testing.assert_array_equal(rem[[1, 3]], deltas[[1, 3]])


def test_spreads_are_matched_in_priority_order() -> None:
    deltas = np.array([[-2.0, 3.0, -2.0]])
    first = _legs((0, True, 1.0), (1, False, 1.0))
    second = _legs((1, True, 1.0), (2, False, 1.0))
    counts, rem, _ = match_spreads(deltas, [first, second])
    assert counts[0].tolist() == [2.0, 1.0]
    assert rem[0].tolist() == [0.0, 0.0, -1.0]
    counts, rem, _ = match_spreads(deltas, [second, first])
    assert counts[0].tolist() == [2.0, 1.0]
    assert rem[0].tolist() == [-1.0, 0.0, 0.0]


def _three_tiers(spreads: list[dict[str, Any]]) -> dict[str, Any]:
    data = pack()
    cc = data["cc"][0]
    cc["tiers"] = [
        {"id": "1", "min_dte": 0, "max_dte": 60},
        {"id": "2", "min_dte": 61, "max_dte": 100},
        {"id": "3", "min_dte": 101},
    ]
    cc["intra_spread"] = spreads
    return data


def test_per_tier_distance_rates_and_file_order_is_not_priority() -> None:
    distance = {
        "priority": 2,
        "method": "per_tier_distance",
        "rate": 100.0,
        "rate_per_step": 40.0,
        "legs": [
            {"tier": "1", "side": "A", "ratio": 1.0},
            {"tier": "3", "side": "B", "ratio": 1.0},
        ],
    }
    perp = {
        "priority": 1,
        "method": "flat",
        "rate": 10.0,
        "legs": [
            {"tier": "P", "side": "A", "ratio": 1.0},
            {"tier": "3", "side": "B", "ratio": 1.0},
        ],
    }
    data = _three_tiers([distance, perp])
    s = run({"x": [(A, 2.0), (B, -3.0), (LINEAR_PERP, 0.5)]}, data).statements[0]
    # tiers P, 1 (A, 30 d), 2 (empty), 3 (B, 120 d); P-3 first (priority 1): 0.5 x 10, then
    # 1-3 at 100 + 40 x (3 - 1 - 1) = 140: min(2, 2.5) = 2 spreads
    assert s.tier_delta[0].tolist() == [0.5, 2.0, 0.0, -3.0]
    assert s.intra_charge[0] == pytest.approx(0.5 * 10.0 + 2 * 140.0)
    assert s.tier_remaining[0].tolist() == [0.0, 0.0, 0.0, -0.5]
    assert s.net_delta[0] == pytest.approx(-0.5)


def test_generated_spreads_pair_adjacent_tiers_first() -> None:
    data = _three_tiers([])
    data["cc"][0].pop("intra_spread")
    data["cc"][0]["intra_default_rate"] = 7.0
    spreads = params(data).cc[0].spreads()
    pairs = [tuple(leg.tier for leg in sd.legs) for sd in spreads]
    assert pairs == [("P", "1"), ("1", "2"), ("2", "3"), ("P", "2"), ("1", "3"), ("P", "3")]
    assert {sd.rate for sd in spreads} == {7.0}
    s = run({"x": [(A, 2.0), (B, -3.0)]}, data).statements[0]
    assert s.intra_charge[0] == pytest.approx(2 * 7.0)


def test_spot_month_outright_is_removed_from_inter_spreads_unless_allowed() -> None:
    data = pack()
    data["cc"][0]["spot"] = {"window_days": 30.0, "rate_consumed": 100.0, "rate_outright": 300.0}
    positions = [(A, -2.0), (E, 24.0)]  # A's 2 short deltas are outright in the spot month
    r = run({"x": positions}, data)
    btc = r.statements[0]
    assert btc.spot_charge[0] == pytest.approx(300.0 * 2.0)
    assert btc.inter_delta[0] == 0.0
    assert r.inter_credit[0].tolist() == [0.0, 0.0]
    data["cc"][0]["spot"]["allow_inter"] = True
    r = run({"x": positions}, data)
    assert r.statements[0].inter_delta[0] == -2.0
    assert r.inter_spreads[0, 0] == pytest.approx(2.0)
    assert r.inter_credit[0, 0] > 0


def test_inter_spreads_by_priority() -> None:
    data = pack()
    first = copy.deepcopy(data["inter_spread"][0])
    first["priority"] = 0
    first["credit_rate"] = 1.0
    first["legs"][1]["ratio"] = 24.0
    data["inter_spread"].append(first)  # listed last, processed first
    r = run({"x": [(A, -1.0), (E, 12.0)]}, data)
    # the 1:24 spread takes all the ETH delta: min(1/1, 12/24) = 0.5; 1:12 finds ETH at 0
    assert r.inter_spreads[0].tolist() == [0.5, 0.0]
    btc, eth = r.statements
    assert btc.wpr[0] == pytest.approx(6000.0)
    assert eth.wpr[0] == pytest.approx(720.0)
    assert r.inter_credit[0, 0] == pytest.approx(1.0 * 0.5 * 1.0 * 6000.0)
    assert r.inter_credit[0, 1] == pytest.approx(1.0 * 0.5 * 24.0 * 720.0)


def test_inter_credit_is_capped_at_the_scan_risk() -> None:
    data = pack()
    data["cc"][0]["wpr_method"] = "normal"
    data["inter_spread"][0]["credit_rate"] = 1.0
    data["inter_spread"][0]["legs"][1]["ratio"] = 10.0
    r = run({"x": [(A, 2.0), (B, -3.0), (C, -4.0), (D, -2.0), (E, 20.0), (G, 10.0)]}, data)
    btc = r.statements[0]
    # n = min(2.188804 / 1, 24.019703 / 10) = 2.188804; uncapped credit = n x WPR = the
    # price risk 21,175.44, above the scan risk 20,828.20
    assert r.inter_spreads[0, 0] == pytest.approx(2.188804, abs=1e-6)
    assert r.inter_spreads[0, 0] * btc.wpr[0] == pytest.approx(21175.44, abs=0.005)
    assert r.inter_credit[0, 0] == btc.scan_risk[0]
    assert r.cc_risk[0, 0] == pytest.approx(max(405.597941, 1500.0), abs=1e-5)


def test_wpr_methods() -> None:
    positions = [(A, 2.0), (B, -3.0), (C, -4.0), (D, -2.0), (E, 20.0), (G, 10.0)]
    by_method = {}
    for method in ("normal", "scanrange", "scanrange_cap"):
        data = pack()
        data["cc"][0]["wpr_method"] = method
        by_method[method] = run({"x": positions}, data).statements[0].wpr[0]
    assert by_method["normal"] == pytest.approx(9674.43, abs=0.005)
    assert by_method["scanrange"] == pytest.approx(6000.0)
    assert by_method["scanrange_cap"] == pytest.approx(6000.0)


def test_som_max_method_takes_the_larger_side() -> None:
    data = pack()
    data["cc"][0]["som"] = {"method": "max", "rate": 250.0}
    s = run({"x": [(C, -4.0), (D, -2.0)]}, data).statements[0]
    assert s.som[0] == pytest.approx(1000.0)


def test_later_expiries_interpolate_and_floor_prices() -> None:
    data = pack()
    data["defaults"]["extreme_multiplier"] = 9.0  # 9 x 12 % = 108 %: floored at 1 % of F
    fut = future("BTC", VALUATION_MS + 200 * DAY_MS)
    s = run({"x": [(fut, 1.0)]}, data).statements[0]
    f = s.arrays.risk[0]
    forward = example_market().forward("BTC", VALUATION_MS + 200 * DAY_MS)
    assert f[15] == pytest.approx(0.33 * forward * 0.99)


def test_inverse_options_in_a_coin_cc_use_coin_values_and_coin_deltas() -> None:
    data = pack()
    data["cc"].append(dict(copy.deepcopy(data["cc"][0]), id="BTC-BTC", settlement_currency="BTC"))
    call = Option(
        underlying="BTC",
        settlement=Settlement.INVERSE,
        option_type=OptionType.CALL,
        strike=55_000.0,
        expiry_ms=DEC,
    )
    (s,) = run({"x": [(call, -1.0)]}, data).statements
    assert s.arrays.coin
    F, K, T, sigma = 50_000.0, 55_000.0, 30 / 365, 0.80
    T_s = T - 1 / 365
    v0 = black76.price(F, K, T, sigma, True) / F
    F_s = F * (1 + PRICE * 0.12)
    sig_s = np.where(np.arange(16) < 14, np.maximum(sigma + VOL * 0.10, 0.05), sigma)
    expected = WEIGHT * (v0 - black76.price(F_s, K, T_s, sig_s, True) / F_s)
    np.testing.assert_allclose(s.arrays.risk[0], expected, rtol=1e-12, atol=1e-15)
    u = np.array([-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1])
    F_j = F * (1 + u * 0.12)
    coin_delta = black76.greeks(F_j, K, T_s, sigma, True)["delta"]
    coin_delta -= black76.price(F_j, K, T_s, sigma, True) / F_j
    omega = np.array([1, 3, 6, 8, 6, 3, 1]) / 28
    assert s.arrays.delta[0] == pytest.approx(float(coin_delta @ omega), rel=1e-12)
    assert s.net_delta[0] == pytest.approx(-float(coin_delta @ omega), rel=1e-12)
    assert s.nov[0] == pytest.approx(-v0, rel=1e-12)


def test_relative_vol_scan_with_a_term_power() -> None:
    data = pack()
    data["cc"][0]["vol_scan"] = {"mode": "relative", "value": 0.25, "term_power": 0.5}
    mar_call = option("BTC", MAR, 51_000.0, True)
    s = run({"x": [(mar_call, 1.0)]}, data).statements[0]
    F, K, T, sigma = 51_000.0, 51_000.0, 120 / 365, 0.80
    g = (30 / 120) ** 0.5
    v0 = black76.price(F, K, T, sigma, True)
    for j, direction in ((0, 1.0), (1, -1.0)):
        v = black76.price(F, K, T - 1 / 365, sigma * (1 + direction * 0.25 * g), True)
        assert s.arrays.risk[0, j] == pytest.approx(v0 - v, rel=1e-12)
