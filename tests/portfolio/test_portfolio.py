"""Portfolios: validation, summing duplicates, what-if trades."""

from __future__ import annotations

import math

import pytest

from portmargin.core import ValidationError
from portmargin.instruments import parse_instrument
from portmargin.portfolio import Portfolio, Position


def pos(name: str, qty: float) -> Position:
    return Position(instrument=parse_instrument(name), quantity=qty)


@pytest.mark.parametrize("bad", [math.nan, math.inf, "1", True])
def test_quantity_must_be_finite_number(bad: object) -> None:
    with pytest.raises(ValidationError, match="quantity of BTC-PERPETUAL"):
        Position(instrument=parse_instrument("BTC-PERPETUAL"), quantity=bad)  # type: ignore[arg-type]


def test_duplicates_rejected_unless_summed() -> None:
    a, b = pos("BTC-PERPETUAL", 1.0), pos("BTC-PERPETUAL", -0.25)
    with pytest.raises(ValidationError, match="at most once"):
        Portfolio(account="A", positions=(a, b))
    merged = Portfolio.from_positions("A", [a, b])
    assert merged.positions == (pos("BTC-PERPETUAL", 0.75),)


def test_with_trades_and_balances() -> None:
    base = Portfolio.from_positions("A", [pos("BTC", 2.0), pos("BTC-26JUN20-9000-C", -1.0)])
    after = base.with_trades([pos("BTC-26JUN20-9000-C", 1.0), pos("BTC-PERPETUAL", 0.5)])
    assert base.balances == {"BTC": 2.0}
    assert [p.quantity for p in after.positions] == [2.0, 0.0, 0.5]
    assert not after.is_empty
    assert Portfolio(account="B").is_empty


def test_account_required() -> None:
    with pytest.raises(ValidationError, match="account"):
        Portfolio(account=" ")
