"""Parameters of the standard (position-by-position) method, one dataclass tree per pack.

Every key of a pack is required, except the keys of the other profile: the Deribit settings
(``sm_*``, ``option_fractions``, ``futures_rates``) are optional in a ``paradex-cross`` pack
and the Paradex ones (``taker_fee_rate``, ``paradex_options``, ``paradex_perps``) in a
``deribit-sm`` pack; each is required by its own profile. MM never exceeds IM: every MM rate
is checked against its IM counterpart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from portmargin.core import ValidationError, optional_key, require_non_empty

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


_DERIBIT_ONLY = optional_key("used by profile deribit-sm only")
_PARADEX_ONLY = optional_key("used by profile paradex-cross only")
_DERIBIT_KEYS = (
    "futures_rates",
    "option_fractions",
    "sm_underlying",
    "sm_inverse_size_price",
    "sm_pair_short_straddle",
)
_PARADEX_KEYS = ("paradex_perps", "paradex_options", "taker_fee_rate")


def _rate(name: str, value: float, upper: float = math.inf) -> float:
    if not (0.0 <= value <= upper):
        bound = "" if math.isinf(upper) else f" and <= {upper}"
        raise ValidationError(name, value, f"a finite fraction >= 0{bound}")
    return value


def _frozen_map(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


def _mm_not_above_im(mm_name: str, mm: float, im_name: str, im: float) -> None:
    if mm > im:
        raise ValidationError(mm_name, mm, f"<= {im_name} ({im:g}): MM must not exceed IM")


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionFractions:
    """Deribit option fractions (dimensionless, of ``U`` per coin of underlying).

    Short call IM ``max(im_max - OTM/U, im_min) + mark``, MM ``mm + mark``; short put MM
    ``max(mm, mm_put_mark * mark) + mark`` and IM ``max(call-style IM, MM)``; long options 0.
    Each in [0, 1], with ``mm_fraction <= im_min_fraction <= im_max_fraction`` (so a short
    call's MM never exceeds its IM; a short put's IM includes its MM by construction).
    """

    im_max_fraction: float
    im_min_fraction: float
    mm_fraction: float
    mm_put_mark_fraction: float

    def __post_init__(self) -> None:
        for name in ("im_max_fraction", "im_min_fraction", "mm_fraction", "mm_put_mark_fraction"):
            _rate(name, getattr(self, name), 1.0)
        if self.im_min_fraction > self.im_max_fraction:
            limit = f"<= im_max_fraction ({self.im_max_fraction:g})"
            raise ValidationError("im_min_fraction", self.im_min_fraction, limit)
        _mm_not_above_im("mm_fraction", self.mm_fraction, "im_min_fraction", self.im_min_fraction)


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeRate:
    """Size-dependent futures rates: ``rate(n) = base + n * step`` of the notional.

    Attributes
    ----------
    im_base, mm_base
        Rates at zero size (fractions of notional, 0.02 = 2 %).
    im_step, mm_step
        Increase of the rate per coin of position size ``n`` (0.00005 = 0.005 % per coin).

    Each in [0, 1]; ``mm_base <= im_base`` and ``mm_step <= im_step`` (MM never exceeds IM).
    """

    im_base: float
    mm_base: float
    im_step: float
    mm_step: float

    def __post_init__(self) -> None:
        for name in ("im_base", "mm_base", "im_step", "mm_step"):
            _rate(name, getattr(self, name), 1.0)
        _mm_not_above_im("mm_base", self.mm_base, "im_base", self.im_base)
        _mm_not_above_im("mm_step", self.mm_step, "im_step", self.im_step)


@dataclass(frozen=True, slots=True, kw_only=True)
class FuturesRates:
    """Where a future or perpetual finds its :class:`SizeRate` (first match wins).

    Attributes
    ----------
    instruments
        Venue name (``BTC_USDC-PERPETUAL``) → rates (a pack writes ``{}`` for none).
    inverse
        Underlying → rates of every inverse future and perpetual on it (``BTC``; ``{}`` for
        none).
    default
        Rates of any other future or perpetual.
    """

    instruments: Mapping[str, SizeRate]
    inverse: Mapping[str, SizeRate]
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
    ``short_put_cap * K``. Fractions in [0, 1], ``premium_multiplier >= 0``.
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
    """Paradex option rates shared by a group of underlyings (``BTC``, ``ETH``).

    Every rate of ``mmr`` is at most the same rate of ``imr`` (MM never exceeds IM).
    """

    underlyings: tuple[str, ...]
    imr: ParadexOptionRates
    mmr: ParadexOptionRates

    def __post_init__(self) -> None:
        if not self.underlyings:
            raise ValidationError("underlyings", self.underlyings, "at least one underlying")
        for u in self.underlyings:
            require_non_empty("underlyings", u)
        for name in ("premium_multiplier", "long_itm", "short_itm", "short_otm", "short_put_cap"):
            mm, im = getattr(self.mmr, name), getattr(self.imr, name)
            _mm_not_above_im(f"mmr.{name}", mm, f"imr.{name}", im)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParadexPerpRates:
    """Paradex perpetual (and future) rates.

    Attributes
    ----------
    imf
        Underlying → initial margin fraction ``1 / leverage`` (0.02 = 50x); ``{}`` for none.
    default_imf
        IMF of an underlying not in ``imf``.
    mmf_factor
        MMR as a fraction of the IMR of the position without orders, in [0, 1] (DOC 0.5).
    """

    imf: Mapping[str, float]
    default_imf: float
    mmf_factor: float

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
        Deribit size-dependent futures rates.
    paradex_options
        Paradex option tables (an option on an underlying in none of them is an account error).
    paradex_perps
        Paradex perpetual rates.

    The ``sm_*``, ``option_fractions`` and ``futures_rates`` keys are required by profile
    ``deribit-sm`` and optional (None, unused) otherwise; ``taker_fee_rate``,
    ``paradex_options`` and ``paradex_perps`` likewise for ``paradex-cross``.
    """

    version: str
    profile: Profile
    include_open_orders: bool
    sm_underlying: UnderlyingPrice | None = field(default=None, metadata=_DERIBIT_ONLY)
    sm_inverse_size_price: SizePrice | None = field(default=None, metadata=_DERIBIT_ONLY)
    sm_pair_short_straddle: bool | None = field(default=None, metadata=_DERIBIT_ONLY)
    option_fractions: OptionFractions | None = field(default=None, metadata=_DERIBIT_ONLY)
    futures_rates: FuturesRates | None = field(default=None, metadata=_DERIBIT_ONLY)
    taker_fee_rate: float | None = field(default=None, metadata=_PARADEX_ONLY)
    paradex_options: tuple[ParadexOptionTable, ...] | None = field(
        default=None, metadata=_PARADEX_ONLY
    )
    paradex_perps: ParadexPerpRates | None = field(default=None, metadata=_PARADEX_ONLY)

    def __post_init__(self) -> None:
        require_non_empty("version", self.version)
        if not isinstance(self.profile, Profile):
            raise ValidationError("profile", self.profile, f"one of {[p.value for p in Profile]}")
        own = _DERIBIT_KEYS if self.profile is Profile.DERIBIT_SM else _PARADEX_KEYS
        for name in own:
            if getattr(self, name) is None:
                raise ValidationError(
                    name, None, f"a value for profile {self.profile.value!r} (required key missing)"
                )
        if self.sm_pair_short_straddle:
            raise ValidationError(
                "sm_pair_short_straddle", True, "false (the paired rule is not implemented)"
            )
        if self.include_open_orders:
            raise ValidationError("include_open_orders", True, "false (books hold no orders)")
        if self.taker_fee_rate is not None:
            _rate("taker_fee_rate", self.taker_fee_rate, 1.0)
        seen: set[str] = set()
        for i, table in enumerate(self.paradex_options or ()):
            dup = seen.intersection(table.underlyings)
            if dup:
                raise ValidationError(
                    f"paradex_options[{i}].underlyings", sorted(dup), "underlyings in one table"
                )
            seen.update(table.underlyings)

    def paradex_option_table(self, underlying: str) -> ParadexOptionTable | None:
        """The Paradex option table listing ``underlying``, or None."""
        for table in self.paradex_options or ():
            if underlying in table.underlyings:
                return table
        return None

    def coverage(self) -> dict[str, tuple[str, ...]]:
        """Currencies the pack names: ``underlyings`` with their own rates or tables (futures
        by name or inverse underlying, Paradex option tables and perp IMFs), ``"*"`` when any
        other underlying's futures and perpetuals take default rates; ``settlement`` is
        ``"*"`` (rates apply to every settlement currency of the profile)."""
        names: set[str] = set()
        if self.futures_rates is not None:
            names.update(n.split("_")[0].split("-")[0] for n in self.futures_rates.instruments)
            names.update(self.futures_rates.inverse)
        for table in self.paradex_options or ():
            names.update(table.underlyings)
        if self.paradex_perps is not None:
            names.update(self.paradex_perps.imf)
        return {"underlyings": (*sorted(names), "*"), "settlement": ("*",)}
