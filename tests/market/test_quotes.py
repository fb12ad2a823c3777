"""OptionQuote, FutureQuote and Greeks: validation of venue rows."""

from __future__ import annotations

import math

import pytest

from portmargin.core import ValidationError
from portmargin.instruments import Future, Option, parse_instrument
from portmargin.market import FutureQuote, Greeks, OptionQuote

NAME = "BTC-22MAY20-9250-P"


def option() -> Option:
    instrument = parse_instrument(NAME)
    assert isinstance(instrument, Option)
    return instrument


def quote(**overrides: object) -> OptionQuote:
    fields: dict[str, object] = {
        "instrument_name": NAME,
        "instrument": option(),
        "timestamp_ms": 1590103193775,
        "mark_price": 0.02124908,
        "mark_iv": 0.8505,
        "underlying_price": 9096.11,
        "underlying_index": "SYN.BTC-22MAY20",
        "index_price": 9095.83,
        "best_bid": 0.02,
        "best_ask": 0.023,
        "bid_iv": 0.724,
        "ask_iv": 1.0117,
    }
    fields.update(overrides)
    return OptionQuote(**fields)  # type: ignore[arg-type]


def test_valid_quote_and_mid() -> None:
    row = quote(greeks=Greeks(delta=-0.73032, gamma=0.00136, vega=0.94545, theta=-40.2, rho=-0.07))
    assert row.mid == pytest.approx(0.0215)
    assert quote(best_bid=None, bid_iv=None).mid is None
    assert quote(mark_price=0).mark_price == 0.0


def test_censored_ask_iv() -> None:
    assert quote(ask_iv=None, ask_iv_censored=True).ask_iv_censored
    with pytest.raises(ValidationError) as caught:
        quote(ask_iv=5.0, ask_iv_censored=True)
    assert caught.value.field == "ask_iv"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"best_bid": 0.03}, "best_bid"),
        ({"best_bid": 0.0}, "best_bid"),
        ({"bid_iv": 0.0}, "bid_iv"),
        ({"mark_iv": 0.0}, "mark_iv"),
        ({"mark_iv": math.nan}, "mark_iv"),
        ({"mark_price": -1e-8}, "mark_price"),
        ({"underlying_price": 0.0}, "underlying_price"),
        ({"underlying_index": " "}, "underlying_index"),
        ({"timestamp_ms": 1.5}, "timestamp_ms"),
        ({"open_interest": -1.0}, "open_interest"),
        ({"instrument_name": "BTC-22MAY20-9250-C"}, "instrument_name"),
        ({"instrument": parse_instrument("BTC-26JUN20")}, "instrument"),
        ({"greeks": {"delta": 0.5}}, "greeks"),
        ({"ask_iv_censored": 1}, "ask_iv_censored"),
    ],
)
def test_invalid_option_quote_names_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        quote(**overrides)
    assert caught.value.field == field


def test_future_quote() -> None:
    future = parse_instrument("BTC-26JUN20")
    assert isinstance(future, Future)
    fields: dict[str, object] = {
        "instrument_name": "BTC-26JUN20",
        "instrument": future,
        "timestamp_ms": 1590103355120,
        "mark_price": 9091.43,
    }
    row = FutureQuote(**fields, best_bid=9091.0, best_ask=9091.5)  # type: ignore[arg-type]
    assert row.best_ask == 9091.5
    with pytest.raises(ValidationError, match="best_bid"):
        FutureQuote(**fields, best_bid=9092.0, best_ask=9091.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="mark_price"):
        FutureQuote(**{**fields, "mark_price": 0.0})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="instrument"):
        FutureQuote(**{**fields, "instrument": option()})  # type: ignore[arg-type]


def test_greeks_must_be_finite() -> None:
    with pytest.raises(ValidationError) as caught:
        Greeks(delta=0.5, gamma=math.inf, vega=1.0, theta=-1.0, rho=0.1)
    assert caught.value.field == "gamma"
