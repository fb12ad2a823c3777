"""Haircut schedules (lifecycle.md §2): tax-bracket haircuts, borrow add-on, schedule checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from example_support import MARKET as EXAMPLE_MARKET
from example_support import holdings_of
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    CollateralPolicy,
    CollateralScope,
    HaircutBracket,
    HaircutSchedule,
    account_values,
)
from portmargin.market import MarketSnapshot

PARAMS = load_lifecycle_params()
BTC = PARAMS.collateral.schedule("BTC")


def test_spec_example_30_btc() -> None:
    # 30 BTC at 50,000 = 1.5M USD -> 0.95 * 1,000,000 + 0.925 * 500,000
    assert BTC.adjusted(np.array([1_500_000.0]))[0] == pytest.approx(1_412_500.0, abs=1e-9)


def test_default_pack_brackets() -> None:
    rows = {
        c: [b.haircut for b in PARAMS.collateral.schedule(c).brackets]
        for c in ("USD", "USDC", "USDT", "BTC", "ETH")
    }
    assert rows == {
        "USD": [0.0],
        "USDC": [0.0],
        "USDT": [0.01, 0.01, 0.02],
        "BTC": [0.05, 0.075, 0.10],
        "ETH": [0.07, 0.10, 0.15],
    }


def test_negative_balances_carry_the_borrow_addon_not_a_haircut() -> None:
    schedule = HaircutSchedule(brackets=BTC.brackets, borrow_addon=0.02)
    assert schedule.adjusted(np.array([-1_000.0]))[0] == pytest.approx(-1_020.0)
    assert BTC.adjusted(np.array([-1_000.0]))[0] == -1_000.0


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e9, 1e9), st.floats(0.0, 1e8))
def test_adjusted_value_is_monotone_and_below_value(value: float, step: float) -> None:
    a, b = BTC.adjusted(np.array([value, value + step]))
    assert b >= a - 1e-6 * max(1.0, abs(a))
    if value > 0:
        assert 0.9 * value - 1e-6 <= a <= value


@pytest.mark.parametrize(
    ("brackets", "field", "expected"),
    [
        (
            [(0.0, 1e6, 0.05), (2e6, None, 0.1)],
            "brackets[1].from_usd",
            "a gap otherwise",
        ),
        (
            [(0.0, 1e6, 0.05), (5e5, None, 0.1)],
            "brackets[1].from_usd",
            "an overlap otherwise",
        ),
        ([(0.0, 1e6, 0.05)], "brackets[0].to_usd", "the last bracket is open"),
        ([(1.0, None, 0.05)], "brackets[0].from_usd", "where the previous bracket ends"),
    ],
)
def test_schedule_gaps_are_errors(
    brackets: list[tuple[float, float | None, float]], field: str, expected: str
) -> None:
    with pytest.raises(ValidationError) as info:
        HaircutSchedule(
            brackets=tuple(HaircutBracket(from_usd=f, to_usd=t, haircut=h) for f, t, h in brackets)
        )
    assert info.value.field == field
    assert expected in str(info.value)


def test_haircut_must_be_a_fraction() -> None:
    with pytest.raises(ValidationError, match="haircut"):
        HaircutBracket(from_usd=0.0, haircut=1.0)


def test_pack_errors_name_the_key_path() -> None:
    with pytest.raises(ValidationError) as info:
        load_lifecycle_params(overrides=["collateral.haircuts.ETH.brackets[2].haircut=1.5"])
    assert info.value.field == "lifecycle/2021-11: collateral.haircuts.ETH.brackets[2].haircut"


def test_unknown_collateral_currency_is_an_account_error() -> None:
    market = MarketSnapshot(
        valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0, "SOL": 200.0}
    )
    holdings = holdings_of({"A": [("USDC", 10.0), ("SOL", 5.0)], "B": [("USDC", 7.0)]}, market)
    values = account_values(holdings, market, PARAMS.collateral)
    assert list(values.errors) == ["A"]
    assert "5 SOL, not accepted as collateral" in values.errors["A"]
    assert values.equity[1] == 7.0


def test_negative_balance_where_borrowing_is_not_allowed() -> None:
    params = load_lifecycle_params(overrides=["collateral.haircuts.USDT.borrowing_allowed=false"])
    holdings = holdings_of({"A": [("USDT", -100.0), ("USDC", 500.0)], "B": [("USDC", -50.0)]})
    values = account_values(holdings, EXAMPLE_MARKET, params.collateral)
    assert values.errors == {
        "A": "negative USDT balance -100 where borrowing USDT is not allowed (its haircut "
        "schedule has borrowing_allowed = false)"
    }
    assert values.equity[1] == -50.0  # USDC may be borrowed
    with pytest.raises(ValidationError, match="borrowing_allowed"):
        load_lifecycle_params(overrides=["collateral.haircuts.USDT.borrowing_allowed=1"])


def test_segregated_scope_sums_without_haircuts() -> None:
    market = MarketSnapshot(valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0})
    holdings = holdings_of({"A": [("USDC", 10.0), ("BTC", 2.0)]}, market)
    policy = CollateralPolicy(scope=CollateralScope.SEGREGATED, haircuts=PARAMS.collateral.haircuts)
    values = account_values(holdings, market, policy)
    assert values.equity[0] == 100_010.0
    assert values.balances.tolist() == [[2.0, 10.0]]
    multi = account_values(holdings, market, PARAMS.collateral)
    assert multi.equity[0] == 10.0 + 0.95 * 100_000.0
    assert math.isclose(multi.gross_usd[0], 100_010.0)
