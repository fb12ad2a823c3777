"""specs/span.md section 12: options at or past expiry are valued at intrinsic, with a warning.

Index 50,000, PSR 0.12 (fraction), X = 3, c = 0.33 (the worked-example pack): the scenario
prices are 50,000 (1, 2), 52,000 (3, 4), 48,000 (5, 6), 54,000 (7, 8), 46,000 (9, 10),
56,000 (11, 12), 44,000 (13, 14), 68,000 (15) and 32,000 (16). The arrays below are the
intrinsic value now minus the intrinsic value at those prices, worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from span_support import (
    DAY_MS,
    VALUATION_MS,
    A,
    book,
    example_market,
    option,
    pack,
    params,
    run,
)

from portmargin.instruments import Option, OptionType, Settlement
from portmargin.io.params import load_params
from portmargin.methods import get_method, run_method
from portmargin.methods.span import SpanRun, run_span

YESTERDAY = VALUATION_MS - DAY_MS
ITM_CALL = option("BTC", YESTERDAY, 45_000.0, True)
OTM_CALL = option("BTC", YESTERDAY, 55_000.0, True)
ITM_PUT = option("BTC", YESTERDAY, 55_000.0, False)
OTM_PUT = option("BTC", YESTERDAY, 45_000.0, False)

# loss of one long contract (USD, loss > 0), rows 15/16 already x 0.33
HAND = {
    # intrinsic 5,000 now; at the 16 prices 5000 5000 7000 7000 3000 3000 9000 9000 1000 1000
    # 11000 11000 0 0 23000 0
    ITM_CALL: [0, 0, -2000, -2000, 2000, 2000, -4000, -4000, 4000, 4000,
               -6000, -6000, 5000, 5000, 0.33 * -18000, 0.33 * 5000],
    # intrinsic 0 now; 1,000 at 56,000 and 13,000 at 68,000
    OTM_CALL: [0] * 10 + [-1000, -1000, 0, 0, 0.33 * -13000, 0],
    # intrinsic 5,000 now; 5000 5000 3000 3000 7000 7000 1000 1000 9000 9000 0 0 11000 11000
    # 0 23000
    ITM_PUT: [0, 0, 2000, 2000, -2000, -2000, 4000, 4000, -4000, -4000,
              5000, 5000, -6000, -6000, 0.33 * 5000, 0.33 * -18000],
    # intrinsic 0 now; 1,000 at 44,000 and 13,000 at 32,000
    OTM_PUT: [0] * 12 + [-1000, -1000, 0, 0.33 * -13000],
}  # fmt: skip
# composite delta: the intrinsic step at 44,000 ... 56,000 with weights (1,3,6,8,6,3,1)/28
HAND_DELTA = {ITM_CALL: 27 / 28, OTM_CALL: 1 / 28, ITM_PUT: -27 / 28, OTM_PUT: -1 / 28}
HAND_VALUE = {ITM_CALL: 5000.0, OTM_CALL: 0.0, ITM_PUT: 5000.0, OTM_PUT: 0.0}


def _arrays(r: SpanRun, inst: Option) -> tuple[np.ndarray, float, float]:
    (s,) = r.statements
    k = [r.table.names[c] for c in s.arrays.columns].index(inst.name)
    return s.arrays.risk[k], float(s.arrays.delta[k]), float(s.arrays.value[k])


@pytest.mark.parametrize("inst", list(HAND), ids=lambda i: i.name)
@pytest.mark.parametrize("qty", [1.0, -1.0], ids=["long", "short"])
def test_risk_array_is_the_intrinsic_value_under_each_price_move(inst: Option, qty: float) -> None:
    r = run({"x": [(inst, qty)]})
    assert r.errors == {}
    risk, delta, value = _arrays(r, inst)
    np.testing.assert_allclose(risk, HAND[inst], rtol=1e-12, atol=1e-9)
    assert delta == pytest.approx(HAND_DELTA[inst], rel=1e-12)
    assert value == HAND_VALUE[inst]
    (s,) = r.statements
    np.testing.assert_allclose(s.loss[0], qty * np.array(HAND[inst]), atol=1e-9)
    assert s.past_expiry_value[0] == qty * HAND_VALUE[inst]
    assert r.nov[0] == r.past_expiry_value[0] == qty * HAND_VALUE[inst]
    # no vol sensitivity: both scenarios of every pair lose the same
    np.testing.assert_array_equal(risk[0:14:2], risk[1:14:2])


def test_short_itm_call_statement_by_hand() -> None:
    r = run({"x": [(ITM_CALL, -1.0)]})
    (s,) = r.statements
    # loss = -RA: largest 6,000 at scenario 11 (price +1), its pair 12 loses the same
    assert s.active[0] + 1 == 11
    assert s.scan_risk[0] == pytest.approx(6000.0)
    assert s.time_risk[0] == 0.0
    assert s.price_risk[0] == pytest.approx(6000.0)
    assert s.vol_risk[0] == pytest.approx(0.0, abs=1e-9)
    assert s.som[0] == pytest.approx(250.0)  # 0.005 x 50,000 per short option, below the scan
    assert r.span_risk_mm[0] == pytest.approx(6000.0)
    assert r.span_risk_im[0] == pytest.approx(7500.0)
    assert r.nov[0] == pytest.approx(-5000.0)
    assert r.req_mm[0] == pytest.approx(11000.0)  # max(6,000 + 5,000, 0)
    assert r.req_im[0] == pytest.approx(12500.0)


def test_long_otm_option_needs_nothing_and_short_pays_the_minimum() -> None:
    r = run({"long": [(OTM_CALL, 1.0)], "short": [(OTM_PUT, -2.0)]})
    (s,) = r.statements
    assert s.scan_risk.tolist() == [0.0, pytest.approx(0.33 * 13000 * 2)]
    assert r.span_risk_mm[0] == 0.0
    # short 2 OTM puts: scan 2 x 4,290 = 8,580 (scenario 16) above SOM 2 x 250
    assert s.active[1] + 1 == 16
    assert r.span_risk_mm[1] == pytest.approx(8580.0)


def test_at_expiry_counts_as_past_expiry() -> None:
    now = option("BTC", VALUATION_MS, 45_000.0, True)
    r = run({"x": [(now, 1.0)]})
    assert r.errors == {}
    risk, delta, value = _arrays(r, now)
    np.testing.assert_allclose(risk, HAND[ITM_CALL], atol=1e-9)
    assert value == 5000.0
    assert delta == pytest.approx(27 / 28)


def test_warning_names_the_instruments_and_their_holders() -> None:
    r = run(
        {
            "alice": [(ITM_CALL, -1.0), (A, 1.0)],
            "bob": [(OTM_PUT, 2.0)],
            "carol": [(A, 1.0)],
        }
    )
    (note,) = [n for n in r.notes if "past expiry" in n]
    assert note == (
        "span: warning: 2 option(s) past expiry, which should already have been settled, "
        "valued at intrinsic value on the index (no time value, no vol sensitivity; each risk "
        "array scenario is the intrinsic value at its price move; short ones still count in "
        "the short option minimum): BTC_USDC-23NOV21-45000-C, BTC_USDC-23NOV21-45000-P; held "
        "by 2 account(s): alice, bob"
    )
    assert not any("past expiry" in n for n in run({"carol": [(A, 1.0)]}).notes)


def test_past_expiry_without_an_index_stays_an_error() -> None:
    sol = option("SOL", YESTERDAY, 200.0, True)
    r = run({"sol": [(sol, 1.0)], "ok": [(ITM_CALL, 1.0)]})
    assert list(r.book.accounts) == ["ok"]
    assert "SOL" in r.errors["sol"]


def test_batch_component_equity_and_notes() -> None:
    method = get_method("span")
    data = pack()
    batch = run_method(
        method,
        book({"x": [(ITM_CALL, -1.0), (ITM_PUT, 2.0)]}),
        example_market(),
        method.params_from_mapping(data),
    )
    assert batch.errors == {}
    # NOV = -5,000 + 2 x 5,000; all of it past expiry
    assert batch.components["nov"][0] == pytest.approx(5000.0)
    assert batch.components["nov/past_expiry"][0] == pytest.approx(5000.0)
    # the equity counts the options at intrinsic too (no balance: equity = NOV)
    assert batch.equity is not None
    assert batch.equity[0] == pytest.approx(5000.0)
    assert any("past expiry" in n for n in batch.notes)


def test_other_methods_still_reject_options_past_expiry() -> None:
    method = get_method("standard")
    batch = run_method(
        method,
        book({"x": [(ITM_CALL, -1.0)]}),
        example_market(),
        load_params(method),
    )
    assert "expired" in batch.errors["x"]


@settings(max_examples=40, deadline=None)
@given(
    strike=st.floats(20_000.0, 80_000.0),
    call=st.booleans(),
    inverse=st.booleans(),
    days=st.integers(0, 30),
)
def test_any_option_past_expiry_moves_by_intrinsic_only(
    strike: float, call: bool, inverse: bool, days: int
) -> None:
    inst = Option(
        underlying="BTC",
        quote="USD" if inverse else "USDC",
        settlement=Settlement.INVERSE if inverse else Settlement.LINEAR,
        option_type=OptionType.CALL if call else OptionType.PUT,
        strike=strike,
        expiry_ms=VALUATION_MS - days * DAY_MS,
    )
    data = pack()
    if inverse:
        data["cc"] = [dict(data["cc"][0], id="BTC-BTC", settlement_currency="BTC")]
        data["inter_spread"] = []
    r = run_span(book({"x": [(inst, 1.0)]}), example_market(), params(data))
    assert r.errors == {}
    risk, delta, value = _arrays(r, inst)
    prices = 50_000.0 * (1.0 + 0.12 * np.r_[np.repeat([0, 1, -1, 2, -2, 3, -3], 2) / 3, 3, -3])
    weight = np.r_[np.ones(14), 0.33, 0.33]
    sign = 1.0 if call else -1.0
    pay = np.maximum(sign * (prices - strike), 0.0)
    now = max(sign * (50_000.0 - strike), 0.0)
    if inverse:
        pay, now = pay / prices, now / 50_000.0
    np.testing.assert_allclose(risk, weight * (now - pay), rtol=1e-12, atol=1e-12)
    assert value == pytest.approx(now, rel=1e-15, abs=0.0)
    points = 50_000.0 * (1.0 + 0.12 * np.array([-3, -2, -1, 0, 1, 2, 3]) / 3)
    step = (points > strike) if call else -(points < strike).astype(float)
    coin = np.maximum(sign * (points - strike), 0.0) / points if inverse else 0.0
    weights = np.array([1, 3, 6, 8, 6, 3, 1]) / 28
    assert delta == pytest.approx(float(weights @ (step - coin)), rel=1e-12, abs=1e-15)
