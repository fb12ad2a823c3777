"""Parameters of the standard (position-by-position) method, one dataclass tree per pack."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from portmargin.core import ValidationError, require_non_empty

__all__ = [
    "FuturesRates",
    "OptionFractions",
    "ParadexOptionRates",
    "ParadexOptionTable",
    "ParadexPerpRates",
    "Profile",
    "SizePrice",
    "SizeRate",
    "StandardParams",
    "UnderlyingPrice",
]


class Profile(StrEnum):
    """Venue rule set: Deribit segregated standard margin or Paradex cross margin."""

    DERIBIT_SM = "deribit-sm"
    PARADEX_CROSS = "paradex-cross"


class UnderlyingPrice(StrEnum):
    """Price ``U`` of a Deribit option's underlying: its expiry forward or the index."""

    FORWARD = "forward"
    INDEX = "index"


class SizePrice(StrEnum):
    """Price converting an inverse contract's USD notional into its size in coins."""

    INDEX = "index"
    MARK = "mark"


def _rate(name: str, value: float, upper: float = math.inf) -> float:
    if not (0.0 <= value <= upper):
        bound = "" if math.isinf(upper) else f" and <= {upper}"
        raise ValidationError(name, value, f"a finite fraction >= 0{bound}")
    return value


def _frozen_map(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionFractions:
    """Deribit option fractions (dimensionless, of ``U`` per coin of underlying).

    Short call IM ``max(im_max - OTM/U, im_min) + mark``, MM ``mm + mark``; short put MM
    ``max(mm, mm_put_mark * mark) + mark`` and IM ``max(call-style IM, MM)``; long options 0.
    """

    im_max_fraction: float = 0.15
    im_min_fraction: float = 0.10
    mm_fraction: float = 0.075
    mm_put_mark_fraction: float = 0.075

    def __post_init__(self) -> None:
        for name in ("im_max_fraction", "im_min_fraction", "mm_fraction", "mm_put_mark_fraction"):
            _rate(name, getattr(self, name), 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeRate:
    """Size-dependent futures rates: ``rate(n) = base + n * step`` of the notional.

    Attributes
    ----------
    im_base, mm_base
        Rates at zero size (fractions of notional, 0.02 = 2 %).
    im_step, mm_step
        Increase of the rate per coin of position size ``n`` (0.00005 = 0.005 % per coin).
    """

    im_base: float
    mm_base: float
    im_step: float
    mm_step: float

    def __post_init__(self) -> None:
        for name in ("im_base", "mm_base", "im_step", "mm_step"):
            _rate(name, getattr(self, name), 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class FuturesRates:
    """Where a future or perpetual finds its :class:`SizeRate` (first match wins).

    Attributes
    ----------
    instruments
        Venue name (``BTC_USDC-PERPETUAL``) → rates.
    inverse
        Underlying → rates of every inverse future and perpetual on it (``BTC``).
    default
        Rates of any other future or perpetual.
    """

    instruments: Mapping[str, SizeRate] = field(default_factory=lambda: MappingProxyType({}))
    inverse: Mapping[str, SizeRate] = field(default_factory=lambda: MappingProxyType({}))
    default: SizeRate

    def __post_init__(self) -> None:
        object.__setattr__(self, "instruments", _frozen_map(self.instruments))
        object.__setattr__(self, "inverse", _frozen_map(self.inverse))

    def lookup(self, name: str, underlying: str, inverse: bool) -> SizeRate:
        """Rates of one instrument: by name, then (inverse only) by underlying, else default."""
        if name in self.instruments:
            return self.instruments[name]
        if inverse and underlying in self.inverse:
            return self.inverse[underlying]
        return self.default


@dataclass(frozen=True, slots=True, kw_only=True)
class ParadexOptionRates:
    """One column (IMR or MMR) of a Paradex option table; fractions of spot, strike or mark.

    ``long = min(premium_multiplier * mark, long_itm * S)``; short call
    ``max(short_itm * S - OTM, short_otm * S)``; short put the same, capped at
    ``short_put_cap * K``.
    """

    premium_multiplier: float
    long_itm: float
    short_itm: float
    short_otm: float
    short_put_cap: float

    def __post_init__(self) -> None:
        for name in ("long_itm", "short_itm", "short_otm", "short_put_cap"):
            _rate(name, getattr(self, name), 1.0)
        _rate("premium_multiplier", self.premium_multiplier)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParadexOptionTable:
    """Paradex option rates shared by a group of underlyings (``BTC``, ``ETH``)."""

    underlyings: tuple[str, ...]
    imr: ParadexOptionRates
    mmr: ParadexOptionRates

    def __post_init__(self) -> None:
        if not self.underlyings:
            raise ValidationError("underlyings", self.underlyings, "at least one underlying")
        for u in self.underlyings:
            require_non_empty("underlyings", u)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParadexPerpRates:
    """Paradex perpetual (and future) rates.

    Attributes
    ----------
    imf
        Underlying → initial margin fraction ``1 / leverage`` (0.02 = 50x).
    default_imf
        IMF of an underlying not in ``imf``.
    mmf_factor
        MMR as a fraction of the IMR of the position without orders (0.5).
    """

    imf: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    default_imf: float
    mmf_factor: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "imf", _frozen_map(self.imf))
        for u, value in self.imf.items():
            _rate(f"imf.{u}", value, 1.0)
        _rate("default_imf", self.default_imf, 1.0)
        _rate("mmf_factor", self.mmf_factor, 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardParams:
    """Parameters of the ``standard`` method (a parsed pack).

    Attributes
    ----------
    version
        Pack version recorded in results (``"deribit-sm-2024"``).
    profile
        Which venue's rules apply.
    sm_underlying
        Deribit: ``U`` of an option is its forward (the quote's ``underlying_price`` when the
        market has the option's quote) or the index.
    sm_inverse_size_price
        Deribit: size in coins of an inverse future ``n = |N_usd| / P``, ``P`` the index or
        the contract's mark; a book holds coins ``q`` at the index, so ``N_usd = |q| * index``.
    sm_pair_short_straddle
        Deribit paired short call/put rule; only ``false`` is supported.
    include_open_orders
        Margin open orders; only ``false`` is supported (books hold positions only).
    taker_fee_rate
        Paradex fee provision, fraction of position value (perps: mark; options: spot
        notional), added to both IMR and MMR.
    option_fractions
        Deribit option fractions.
    futures_rates
        Deribit size-dependent futures rates (required by ``deribit-sm``).
    paradex_options
        Paradex option tables (an option on an underlying in none of them is an account error).
    paradex_perps
        Paradex perpetual rates (required by ``paradex-cross``).
    """

    version: str
    profile: Profile = Profile.DERIBIT_SM
    sm_underlying: UnderlyingPrice = UnderlyingPrice.FORWARD
    sm_inverse_size_price: SizePrice = SizePrice.INDEX
    sm_pair_short_straddle: bool = False
    include_open_orders: bool = False
    taker_fee_rate: float = 0.0
    option_fractions: OptionFractions = field(default_factory=OptionFractions)
    futures_rates: FuturesRates | None = None
    paradex_options: tuple[ParadexOptionTable, ...] = ()
    paradex_perps: ParadexPerpRates | None = None

    def __post_init__(self) -> None:
        require_non_empty("version", self.version)
        if self.sm_pair_short_straddle:
            raise ValidationError(
                "sm_pair_short_straddle", True, "false (the paired rule is not implemented)"
            )
        if self.include_open_orders:
            raise ValidationError("include_open_orders", True, "false (books hold no orders)")
        _rate("taker_fee_rate", self.taker_fee_rate, 1.0)
        if self.profile is Profile.DERIBIT_SM and self.futures_rates is None:
            raise ValidationError("futures_rates", None, "a table for profile 'deribit-sm'")
        if self.profile is Profile.PARADEX_CROSS and self.paradex_perps is None:
            raise ValidationError("paradex_perps", None, "a table for profile 'paradex-cross'")
        seen: set[str] = set()
        for i, table in enumerate(self.paradex_options):
            dup = seen.intersection(table.underlyings)
            if dup:
                raise ValidationError(
                    f"paradex_options[{i}].underlyings", sorted(dup), "underlyings in one table"
                )
            seen.update(table.underlyings)

    def paradex_option_table(self, underlying: str) -> ParadexOptionTable | None:
        """The Paradex option table listing ``underlying``, or None."""
        for table in self.paradex_options:
            if underlying in table.underlyings:
                return table
        return None
