"""Parse Deribit-style venue instrument names into instrument objects."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from portmargin.core import InstrumentNameError, datetime_to_ms
from portmargin.instruments._format import MONTHS
from portmargin.instruments._model import (
    Currency,
    Future,
    Instrument,
    Option,
    OptionType,
    Perpetual,
    Settlement,
    Spot,
)

__all__ = ["EXPECTED_FORMS", "parse_expiry", "parse_instrument"]

EXPECTED_FORMS = (
    "one of: option 'BTC-26JUN20-9000-C' / 'BTC_USDC-26JUN20-9000-P', "
    "future 'BTC-26JUN20' / 'BTC_USDC-26JUN20', perpetual 'BTC-PERPETUAL' / "
    "'BTC_USDC-PERPETUAL', spot 'BTC_USDC', or a currency code 'BTC'"
)

EXPIRY_HOUR_UTC = 8
"""Deribit expiries settle at 08:00 UTC of the named date."""

_CODE = r"[A-Z][A-Z0-9]{1,9}"
_PREFIX = re.compile(rf"^(?P<base>{_CODE})(?:_(?P<quote>{_CODE}))?$")
_EXPIRY = re.compile(r"^(?P<day>\d{1,2})(?P<month>[A-Z]{3})(?P<year>\d{2})$")
_STRIKE = re.compile(r"^(?P<int>\d+)(?:d(?P<frac>\d+))?$")

INVERSE_QUOTE = "USD"
INVERSE_FUTURE_CONTRACT_USD = {"BTC": 10.0}
"""USD per contract of Deribit inverse futures; 1 USD for other coins."""


def parse_expiry(text: str, name: str | None = None) -> int:
    """Parse ``26JUN20`` into Unix epoch milliseconds at 08:00 UTC.

    Parameters
    ----------
    text
        Expiry part of a venue name.
    name
        Whole instrument name, quoted in the error message.

    Raises
    ------
    InstrumentNameError
        If the text is not a valid ``DMMMYY`` date.
    """
    quoted = text if name is None else name
    match = _EXPIRY.match(text)
    if match is None or match["month"] not in MONTHS:
        raise InstrumentNameError(quoted, "an expiry like '26JUN20' (day, month, 2-digit year)")
    month = MONTHS.index(match["month"]) + 1
    try:
        moment = datetime(
            2000 + int(match["year"]), month, int(match["day"]), EXPIRY_HOUR_UTC, tzinfo=UTC
        )
    except ValueError:
        raise InstrumentNameError(quoted, f"a real calendar date, not {text!r}") from None
    return datetime_to_ms(moment)


def _parse_strike(text: str, name: str) -> float:
    match = _STRIKE.match(text)
    if match is None:
        raise InstrumentNameError(name, "a strike like '9000' or '0d625'")
    value = float(f"{match['int']}.{match['frac'] or '0'}")
    if value <= 0:
        raise InstrumentNameError(name, "a strike > 0")
    return value


def parse_instrument(name: str) -> Instrument:
    """Parse a venue instrument name.

    Parameters
    ----------
    name
        ``BTC-26JUN20-9000-C`` (inverse option), ``BTC_USDC-26JUN20-9000-P`` (linear option),
        ``BTC-26JUN20`` (inverse future), ``BTC-PERPETUAL`` / ``BTC_USDC-PERPETUAL``,
        ``BTC_USDC`` (spot pair) or a plain currency code ``BTC`` (collateral balance).

    Returns
    -------
    Instrument
        A frozen instrument whose ``name`` formats back to the canonical form of ``name``.

    Raises
    ------
    InstrumentNameError
        If ``name`` has none of the accepted forms; the message quotes it.
    """
    if not isinstance(name, str):
        raise InstrumentNameError(repr(name), EXPECTED_FORMS)
    text = name.strip()
    parts = text.split("-")
    prefix = _PREFIX.match(parts[0])
    if not text or prefix is None:
        raise InstrumentNameError(name, EXPECTED_FORMS)
    base, quote = prefix["base"], prefix["quote"]
    if len(parts) == 1:
        if quote is None:
            return Currency(code=base)
        return Spot(base=base, quote=quote)
    settlement = Settlement.INVERSE if quote is None else Settlement.LINEAR
    quote_ccy = INVERSE_QUOTE if quote is None else quote
    if len(parts) == 2 and parts[1] == "PERPETUAL":
        return Perpetual(
            underlying=base,
            quote=quote_ccy,
            settlement=settlement,
            contract_size=_future_contract_size(base, settlement),
        )
    if len(parts) == 2:
        return Future(
            underlying=base,
            quote=quote_ccy,
            settlement=settlement,
            expiry_ms=parse_expiry(parts[1], name),
            contract_size=_future_contract_size(base, settlement),
        )
    if len(parts) == 4 and parts[3] in ("C", "P"):
        return Option(
            underlying=base,
            quote=quote_ccy,
            settlement=settlement,
            option_type=OptionType.CALL if parts[3] == "C" else OptionType.PUT,
            strike=_parse_strike(parts[2], name),
            expiry_ms=parse_expiry(parts[1], name),
        )
    raise InstrumentNameError(name, EXPECTED_FORMS)


def _future_contract_size(base: str, settlement: Settlement) -> float:
    if settlement is Settlement.LINEAR:
        return 1.0
    return INVERSE_FUTURE_CONTRACT_USD.get(base, 1.0)
