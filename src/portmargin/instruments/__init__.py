"""Instruments: contract terms of spot, futures, perpetuals and European options, and venue names.

>>> from portmargin.instruments import parse_instrument
>>> parse_instrument("BTC-26JUN20-9000-C").strike
9000.0
"""

from portmargin.instruments._format import format_expiry, format_strike
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
from portmargin.instruments._names import parse_expiry, parse_instrument

__all__ = [
    "Currency",
    "Future",
    "Instrument",
    "Option",
    "OptionType",
    "Perpetual",
    "Settlement",
    "Spot",
    "format_expiry",
    "format_strike",
    "parse_expiry",
    "parse_instrument",
]
