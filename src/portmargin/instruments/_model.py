"""Contract terms of the tradable instruments: spot pairs, futures, perpetuals, options.

Instruments hold contract terms only. Venue risk settings live in methodology parameters and
prices and vols live in the market snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from portmargin.core import ValidationError, require_epoch_ms, require_non_empty, require_positive
from portmargin.instruments._format import format_expiry, format_strike

__all__ = [
    "Currency",
    "Future",
    "Instrument",
    "Option",
    "OptionType",
    "Perpetual",
    "Settlement",
    "Spot",
]


class Settlement(StrEnum):
    """How a derivative's P&L is settled.

    ``INVERSE``: quoted in USD, margined and settled in the underlying coin (Deribit ``BTC-...``).
    ``LINEAR``: quoted, margined and settled in the quote currency (``BTC_USDC-...``).
    """

    INVERSE = "inverse"
    LINEAR = "linear"


class OptionType(StrEnum):
    """European option right."""

    CALL = "call"
    PUT = "put"


def _check_code(field_name: str, value: str) -> str:
    require_non_empty(field_name, value)
    if not value.isalnum() or value != value.upper():
        raise ValidationError(field_name, value, "an upper-case alphanumeric currency code")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Currency:
    """A currency balance used as collateral (``BTC``, ``USDC``).

    Attributes
    ----------
    code
        Currency code, upper case.
    """

    code: str

    def __post_init__(self) -> None:
        _check_code("code", self.code)

    @property
    def name(self) -> str:
        """Venue name: the currency code itself."""
        return self.code


@dataclass(frozen=True, slots=True, kw_only=True)
class Spot:
    """A spot pair ``BASE_QUOTE`` (e.g. ``BTC_USDC``); one unit is one coin of ``base``."""

    base: str
    quote: str

    def __post_init__(self) -> None:
        _check_code("base", self.base)
        _check_code("quote", self.quote)

    @property
    def name(self) -> str:
        """Venue name, e.g. ``BTC_USDC``."""
        return f"{self.base}_{self.quote}"

    @property
    def underlying(self) -> str:
        """The coin whose price moves the position."""
        return self.base


@dataclass(frozen=True, slots=True, kw_only=True)
class _Derivative:
    underlying: str
    quote: str = "USD"
    settlement: Settlement = Settlement.INVERSE
    contract_size: float = 1.0

    def __post_init__(self) -> None:
        _check_code("underlying", self.underlying)
        _check_code("quote", self.quote)
        if not isinstance(self.settlement, Settlement):
            raise ValidationError("settlement", self.settlement, "a Settlement")
        require_positive("contract_size", self.contract_size)

    @property
    def settlement_currency(self) -> str:
        """Currency in which P&L is paid: the coin for inverse, the quote for linear."""
        return self.underlying if self.settlement is Settlement.INVERSE else self.quote

    @property
    def _prefix(self) -> str:
        if self.settlement is Settlement.INVERSE:
            return self.underlying
        return f"{self.underlying}_{self.quote}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Future(_Derivative):
    """A dated future.

    Attributes
    ----------
    underlying
        Coin, e.g. ``BTC``.
    quote
        Quote currency (``USD`` for inverse, ``USDC`` for linear).
    settlement
        Inverse (coin-settled) or linear.
    expiry_ms
        Expiry, Unix epoch milliseconds UTC (Deribit: 08:00 UTC of the named date).
    contract_size
        Venue contract size: USD per contract for inverse futures, coins for linear.
        Positions are always held in coins; this is informational.
    name
        Venue name, e.g. ``BTC-26JUN20`` or ``BTC_USDC-26JUN20`` (derived from the terms when
        the future is made).
    """

    expiry_ms: int
    name: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _Derivative.__post_init__(self)
        object.__setattr__(self, "expiry_ms", require_epoch_ms("expiry_ms", self.expiry_ms))
        object.__setattr__(self, "name", f"{self._prefix}-{format_expiry(self.expiry_ms)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Perpetual(_Derivative):
    """A perpetual swap (``BTC-PERPETUAL`` inverse, ``BTC_USDC-PERPETUAL`` linear)."""

    @property
    def name(self) -> str:
        """Venue name, e.g. ``BTC-PERPETUAL``."""
        return f"{self._prefix}-PERPETUAL"


@dataclass(frozen=True, slots=True, kw_only=True)
class Option(_Derivative):
    """A European option on the forward of its expiry.

    Attributes
    ----------
    option_type
        Call or put.
    strike
        Strike, in ``quote`` currency per coin (USD).
    expiry_ms
        Expiry, Unix epoch milliseconds UTC.
    settlement
        Inverse options pay ``max(S-K,0)/S`` coin per coin; linear ones ``max(S-K,0)`` quote.
    contract_size
        Coins of underlying per contract (positions are held in coins).
    name
        Venue name, e.g. ``BTC-26JUN20-9000-C`` (derived from the terms when the option is
        made).
    """

    option_type: OptionType
    strike: float
    expiry_ms: int
    name: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _Derivative.__post_init__(self)
        if not isinstance(self.option_type, OptionType):
            raise ValidationError("option_type", self.option_type, "OptionType.CALL or PUT")
        object.__setattr__(self, "strike", require_positive("strike", self.strike))
        object.__setattr__(self, "expiry_ms", require_epoch_ms("expiry_ms", self.expiry_ms))
        letter = "C" if self.is_call else "P"
        expiry = format_expiry(self.expiry_ms)
        name = f"{self._prefix}-{expiry}-{format_strike(self.strike)}-{letter}"
        object.__setattr__(self, "name", name)

    @property
    def is_call(self) -> bool:
        """True for a call."""
        return self.option_type is OptionType.CALL


Instrument = Currency | Spot | Future | Perpetual | Option
"""Any instrument a position can refer to."""
