"""Margin results: JSON round trip, component trees, Rich and HTML renderings."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from portmargin.core import ValidationError
from portmargin.instruments import parse_instrument
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.results import MarginResult
from portmargin.risk import Book


@pytest.fixture(scope="module")
def result(demo_snapshot: MarketSnapshot) -> MarginResult:
    method = get_method("deribit-pm")
    book = Book.from_portfolios(
        [
            Portfolio.from_positions(
                "alice",
                [
                    Position(instrument=parse_instrument("BTC-26JUN20-10000-C"), quantity=-3.0),
                    Position(instrument=parse_instrument("BTC-PERPETUAL"), quantity=1.0),
                ],
            )
        ]
    )
    return method.compute(book, demo_snapshot, load_params(method)).result(0)


def test_json_round_trip(result: MarginResult) -> None:
    text = json.dumps(result.to_dict())
    again = MarginResult.from_dict(json.loads(text))
    assert again == result


def test_result_explains_itself(result: MarginResult) -> None:
    assert result.currency == "BTC" or result.currency.upper() == "BTC"
    assert result.worst_scenario
    names = [c.name for _, c in result.component_rows()]
    assert "worst_case" in names
    assert result.params_version
    assert result.group == "btc_btc"
    assert {c.instrument for c in result.contributions} == {
        "BTC-26JUN20-10000-C",
        "BTC-PERPETUAL",
    }


def test_renderings(result: MarginResult) -> None:
    console = Console(record=True, width=160)
    console.print(result)
    text = console.export_text()
    assert "alice" in text
    assert "worst_case" in text
    html = result._repr_html_()
    assert "<table>" in html
    assert "alice" in html


def test_requirements_are_validated() -> None:
    with pytest.raises(ValidationError, match="initial_margin"):
        MarginResult(
            account="a", method="m", currency="BTC", initial_margin=-1.0, maintenance_margin=0.0
        )
    with pytest.raises(ValidationError, match="maintenance_margin"):
        MarginResult(
            account="a",
            method="m",
            currency="BTC",
            initial_margin=1.0,
            maintenance_margin=float("nan"),
        )


def test_expired_option_is_an_account_error(demo_snapshot: MarketSnapshot) -> None:
    method = get_method("deribit-pm")
    expired = parse_instrument("BTC-21MAY20-9000-C")
    book = Book.from_portfolios(
        [
            Portfolio.from_positions("old", [Position(instrument=expired, quantity=-1.0)]),
            Portfolio.from_positions(
                "ok", [Position(instrument=parse_instrument("BTC-PERPETUAL"), quantity=1.0)]
            ),
        ]
    )
    batch = method.compute(book, demo_snapshot, load_params(method))
    assert "expired" in batch.errors["old"]
    assert batch.rows_of("ok")
