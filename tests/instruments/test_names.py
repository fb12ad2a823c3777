"""Venue instrument names: parse, format back, reject malformed names with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portmargin.core import InstrumentNameError, ValidationError
from portmargin.instruments import (
    Currency,
    Future,
    Option,
    OptionType,
    Perpetual,
    Settlement,
    Spot,
    parse_instrument,
)

EXPIRY_26JUN20 = 1593158400000  # 2020-06-26T08:00:00Z


def test_inverse_option() -> None:
    inst = parse_instrument("BTC-26JUN20-9000-C")
    assert isinstance(inst, Option)
    assert inst.underlying == "BTC"
    assert inst.strike == 9000.0
    assert inst.option_type is OptionType.CALL
    assert inst.expiry_ms == EXPIRY_26JUN20
    assert inst.settlement is Settlement.INVERSE
    assert inst.settlement_currency == "BTC"
    assert inst.quote == "USD"


def test_eth_put_single_digit_day() -> None:
    inst = parse_instrument("ETH-29MAY20-250-P")
    assert isinstance(inst, Option)
    assert not inst.is_call
    assert inst.expiry_ms == 1590739200000
    assert parse_instrument("BTC-5JUN20-6750-P").name == "BTC-5JUN20-6750-P"


def test_linear_option_fractional_strike() -> None:
    inst = parse_instrument("XRP_USDC-27DEC24-0d625-C")
    assert isinstance(inst, Option)
    assert inst.strike == 0.625
    assert inst.settlement is Settlement.LINEAR
    assert inst.settlement_currency == "USDC"
    assert inst.name == "XRP_USDC-27DEC24-0d625-C"


def test_futures_and_perpetuals() -> None:
    fut = parse_instrument("BTC-26JUN20")
    assert isinstance(fut, Future)
    assert fut.expiry_ms == EXPIRY_26JUN20
    assert fut.contract_size == 10.0  # USD per contract
    perp = parse_instrument("BTC-PERPETUAL")
    assert isinstance(perp, Perpetual)
    assert perp.settlement is Settlement.INVERSE
    lin = parse_instrument("BTC_USDC-PERPETUAL")
    assert isinstance(lin, Perpetual)
    assert lin.settlement is Settlement.LINEAR
    assert lin.settlement_currency == "USDC"


def test_spot_and_currency() -> None:
    assert parse_instrument("BTC_USDC") == Spot(base="BTC", quote="USDC")
    assert parse_instrument("BTC") == Currency(code="BTC")
    assert parse_instrument("USDC").name == "USDC"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "btc-26JUN20",
        "BTC-32JUN20",
        "BTC-30FEB20",
        "BTC-26XXX20",
        "BTC-26JUN20-9000-X",
        "BTC-26JUN20-abc-C",
        "BTC-26JUN20-0-C",
        "BTC--P",
        "BTC-26JUN20-9000",
        "BTC-26JUN20-9000-C-1",
        "BTC USDC",
    ],
)
def test_malformed_names_are_rejected_with_the_name_quoted(name: str) -> None:
    with pytest.raises(InstrumentNameError) as err:
        parse_instrument(name)
    assert repr(name) in str(err.value)
    assert "expected" in str(err.value)


def test_non_string_name() -> None:
    with pytest.raises(InstrumentNameError):
        parse_instrument(42)  # type: ignore[arg-type]


def test_contract_terms_are_validated() -> None:
    with pytest.raises(ValidationError, match="strike"):
        Option(underlying="BTC", option_type=OptionType.CALL, strike=-1.0, expiry_ms=1)
    with pytest.raises(ValidationError, match="expiry_ms"):
        Future(underlying="BTC", expiry_ms=0)
    with pytest.raises(ValidationError, match="underlying"):
        Perpetual(underlying="btc")


_day_strategy = st.datetimes(
    min_value=__import__("datetime").datetime(2001, 1, 1),
    max_value=__import__("datetime").datetime(2098, 12, 31),
).map(lambda d: d.strftime("%-d%b%y").upper())


@given(
    base=st.sampled_from(["BTC", "ETH", "SOL", "XRP"]),
    linear=st.booleans(),
    day=_day_strategy,
    strike=st.one_of(
        st.integers(min_value=1, max_value=10**7).map(float),
        st.integers(min_value=1, max_value=9999).map(lambda n: n / 1000),
    ),
    call=st.booleans(),
)
def test_option_names_round_trip(
    base: str, linear: bool, day: str, strike: float, call: bool
) -> None:
    prefix = f"{base}_USDC" if linear else base
    strike_txt = str(int(strike)) if strike.is_integer() else repr(strike).replace(".", "d")
    name = f"{prefix}-{day}-{strike_txt}-{'C' if call else 'P'}"
    inst = parse_instrument(name)
    assert inst.name == name
    assert parse_instrument(inst.name) == inst


def test_numpy_integer_expiry_is_stored_as_int() -> None:
    expiry = parse_instrument("BTC-26JUN20").expiry_ms  # type: ignore[union-attr]
    future = Future(underlying="BTC", expiry_ms=np.int64(expiry))  # type: ignore[arg-type]
    assert type(future.expiry_ms) is int
    assert future.name == "BTC-26JUN20"
    with pytest.raises(ValidationError, match="expiry_ms"):
        Future(underlying="BTC", expiry_ms=True)
