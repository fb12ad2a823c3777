"""Venue quotes kept alongside a snapshot: option rows and futures/perpetual marks.

Quotes are what the venue reported, in venue units. They are not used for valuation by the
snapshot itself (forwards and smiles are); they let a caller reproduce a venue mark, show a
chain, or judge how wide a market is. A missing bid or ask is ``None``, never ``0``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from portmargin.core import (
    ValidationError,
    require_epoch_ms,
    require_finite,
    require_non_empty,
    require_non_negative,
    require_positive,
)
from portmargin.instruments import Future, Option, Perpetual

__all__ = ["FutureQuote", "Greeks", "OptionQuote"]


def _optional(field: str, value: float | None, *, allow_zero: bool) -> float | None:
    if value is None:
        return None
    return require_non_negative(field, value) if allow_zero else require_positive(field, value)


def _check_book(bid: float | None, ask: float | None) -> None:
    if bid is not None and ask is not None and bid > ask:
        raise ValidationError("best_bid", bid, f"<= best_ask {ask!r} (book is crossed)")


def _check_name(name: str, instrument: Option | Future | Perpetual) -> None:
    require_non_empty("instrument_name", name)
    if instrument.name != name:
        raise ValidationError("instrument_name", name, f"the name {instrument.name!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Greeks:
    """Greeks as the venue reports them (Deribit: forward Black, r = 0, USD per coin).

    Attributes
    ----------
    delta
        Forward delta, dimensionless (call in [0, 1], put in [-1, 0]).
    gamma
        Per USD of forward.
    vega
        USD per one vol point (sigma + 0.01).
    theta
        USD per day (negative for a long option).
    rho
        USD per 1 % of rate.
    """

    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float

    def __post_init__(self) -> None:
        for name in ("delta", "gamma", "vega", "theta", "rho"):
            object.__setattr__(self, name, require_finite(name, getattr(self, name)))


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionQuote:
    """One option row as reported by the venue.

    Attributes
    ----------
    instrument_name
        Venue name, e.g. ``BTC-26JUN20-9000-C``; must equal ``instrument.name``.
    instrument
        The parsed option.
    timestamp_ms
        Time of this row, Unix epoch milliseconds UTC.
    mark_price
        Venue mark, in venue units: coin per coin for inverse options (may exceed 1 for deep
        in-the-money puts), quote currency for linear ones; >= 0 (0 for deep out-of-the-money
        options near expiry).
    mark_iv
        Implied vol of the mark, a fraction (0.8505, not 85.05); > 0.
    underlying_price
        Forward of the expiry at this row's time (USD per coin); > 0.
    underlying_index
        What ``underlying_price`` refers to: a future (``BTC-26JUN20``), a synthetic forward
        (``SYN.BTC-22MAY20``) or ``index_price``.
    index_price
        Index (USD per coin) at this row's time; ``None`` when the payload has none.
    best_bid, best_ask
        Top of book in venue units (> 0); ``None`` when that side of the book is empty.
    bid_iv, ask_iv
        Implied vols of the best bid/ask as fractions (> 0); ``None`` when the side is empty,
        when no implied vol exists (a bid below intrinsic value) or when censored.
    ask_iv_censored
        True when the venue capped the ask implied vol (Deribit: 500 %); ``ask_iv`` is then
        ``None``: the true value is at least the cap.
    open_interest
        Contracts outstanding (coins for Deribit options), >= 0; ``None`` if not reported.
    volume
        Traded volume of the last 24 h in contracts, >= 0; ``None`` if untraded or not reported.
    last_price
        Last trade price in venue units, >= 0; ``None`` if never traded.
    greeks
        Greeks reported by the venue; ``None`` if not reported.
    """

    instrument_name: str
    instrument: Option
    timestamp_ms: int
    mark_price: float
    mark_iv: float
    underlying_price: float
    underlying_index: str
    index_price: float | None = None
    best_bid: float | None = None
    best_ask: float | None = None
    bid_iv: float | None = None
    ask_iv: float | None = None
    ask_iv_censored: bool = False
    open_interest: float | None = None
    volume: float | None = None
    last_price: float | None = None
    greeks: Greeks | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.instrument, Option):
            raise ValidationError("instrument", self.instrument, "an Option")
        _check_name(self.instrument_name, self.instrument)
        _set = object.__setattr__
        _set(self, "timestamp_ms", require_epoch_ms("timestamp_ms", self.timestamp_ms))
        _set(self, "mark_price", require_non_negative("mark_price", self.mark_price))
        _set(self, "mark_iv", require_positive("mark_iv", self.mark_iv))
        _set(self, "underlying_price", require_positive("underlying_price", self.underlying_price))
        require_non_empty("underlying_index", self.underlying_index)
        for name in ("index_price", "best_bid", "best_ask", "bid_iv", "ask_iv"):
            _set(self, name, _optional(name, getattr(self, name), allow_zero=False))
        for name in ("open_interest", "volume", "last_price"):
            _set(self, name, _optional(name, getattr(self, name), allow_zero=True))
        _check_book(self.best_bid, self.best_ask)
        if not isinstance(self.ask_iv_censored, bool):
            raise ValidationError("ask_iv_censored", self.ask_iv_censored, "a bool")
        if self.ask_iv_censored and self.ask_iv is not None:
            raise ValidationError("ask_iv", self.ask_iv, "None when ask_iv_censored is True")
        if self.greeks is not None and not isinstance(self.greeks, Greeks):
            raise ValidationError("greeks", self.greeks, "Greeks or None")

    def with_prices(
        self,
        *,
        mark_price: float,
        underlying_price: float,
        index_price: float | None,
        best_bid: float | None,
        best_ask: float | None,
    ) -> OptionQuote:
        """This quote with new prices (venue units, as the fields), every other field kept.

        Only the new prices are checked, so moving a whole chain (the liquidation price
        search moves it at every trial price) does not validate the unchanged fields again.

        Raises
        ------
        ValidationError
            A new price out of the field's range, or a crossed book.
        """
        new = object.__new__(OptionQuote)
        _set = object.__setattr__
        for name in _OPTION_QUOTE_FIELDS:
            _set(new, name, getattr(self, name))
        _set(new, "mark_price", require_non_negative("mark_price", mark_price))
        _set(new, "underlying_price", require_positive("underlying_price", underlying_price))
        _set(new, "index_price", _optional("index_price", index_price, allow_zero=False))
        _set(new, "best_bid", _optional("best_bid", best_bid, allow_zero=False))
        _set(new, "best_ask", _optional("best_ask", best_ask, allow_zero=False))
        _check_book(new.best_bid, new.best_ask)
        return new

    @property
    def mid(self) -> float | None:
        """Mid of best bid and ask in venue units; ``None`` unless both sides are quoted."""
        if self.best_bid is None or self.best_ask is None:
            return None
        return 0.5 * (self.best_bid + self.best_ask)


_OPTION_QUOTE_FIELDS = tuple(f.name for f in fields(OptionQuote))


@dataclass(frozen=True, slots=True, kw_only=True)
class FutureQuote:
    """A dated future or perpetual as reported by the venue.

    Attributes
    ----------
    instrument_name
        Venue name (``BTC-26JUN20``, ``BTC-PERPETUAL``); must equal ``instrument.name``.
    instrument
        The parsed future or perpetual.
    timestamp_ms
        Time of this row, Unix epoch milliseconds UTC.
    mark_price
        Venue mark, USD per coin (quote currency per coin for linear contracts); > 0.
    best_bid, best_ask
        Top of book, same unit as ``mark_price`` (> 0); ``None`` when that side is empty.
    open_interest
        Venue units (USD for Deribit inverse futures, coins for linear ones), >= 0; ``None``
        if not reported.
    volume
        Traded volume of the last 24 h in the venue's unit, >= 0; ``None`` if not reported.
    """

    instrument_name: str
    instrument: Future | Perpetual
    timestamp_ms: int
    mark_price: float
    best_bid: float | None = None
    best_ask: float | None = None
    open_interest: float | None = None
    volume: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.instrument, Future | Perpetual):
            raise ValidationError("instrument", self.instrument, "a Future or Perpetual")
        _check_name(self.instrument_name, self.instrument)
        _set = object.__setattr__
        _set(self, "timestamp_ms", require_epoch_ms("timestamp_ms", self.timestamp_ms))
        _set(self, "mark_price", require_positive("mark_price", self.mark_price))
        for name in ("best_bid", "best_ask"):
            _set(self, name, _optional(name, getattr(self, name), allow_zero=False))
        for name in ("open_interest", "volume"):
            _set(self, name, _optional(name, getattr(self, name), allow_zero=True))
        _check_book(self.best_bid, self.best_ask)
