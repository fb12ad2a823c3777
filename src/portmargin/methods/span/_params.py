"""SPAN parameter file (``specs/span.md`` §10): defaults, combined commodities, tiers, spreads.

Keys with a default in §10 may be left out of a pack (``optional_key``); every other key is
required. Unknown keys are an error naming the key path (``cc[0].price_scan.valu``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from portmargin.core import (
    ValidationError,
    optional_key,
    require_finite,
    require_non_empty,
    require_non_negative,
    require_positive,
)
from portmargin.risk import STABLECOINS

__all__ = [
    "PERPETUAL_TIER",
    "Collateral",
    "CollateralScope",
    "CombinedCommodity",
    "ContractEntry",
    "InterLeg",
    "InterSpread",
    "IntraLeg",
    "IntraSpread",
    "PriceScan",
    "PriceScanMode",
    "Side",
    "Som",
    "SomMethod",
    "SpanDefaults",
    "SpanParams",
    "SpotMonth",
    "SpreadMethod",
    "Tier",
    "VolScan",
    "VolScanMode",
    "WprMethod",
    "settlement_key",
]

PERPETUAL_TIER = "P"
"""Id of the implicit tier of spot holdings and perpetuals (tier index 0) when a CC lists none."""

_DEFAULT = "specs/span.md §10 default"


def _ratio_default() -> Mapping[str, float]:
    return MappingProxyType({"default": 1.25})


_POINTS = (-1.0, -2.0 / 3.0, -1.0 / 3.0, 0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0)
_WEIGHTS = (1.0, 3.0, 6.0, 8.0, 6.0, 3.0, 1.0)


class CollateralScope(StrEnum):
    """Collateral scope of the accounts (``specs/span.md`` §9, ``lifecycle.md`` §1)."""

    MULTI = "multi"
    SEGREGATED = "segregated"


class PriceScanMode(StrEnum):
    """How the price scan range (PSR) moves a contract's price (§4 step 1)."""

    FRACTION = "fraction"
    PER_CONTRACT = "per_contract"
    POINTS = "points"


class VolScanMode(StrEnum):
    """How the volatility scan range (VSR) moves implied vol (§4 step 2)."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class WprMethod(StrEnum):
    """Weighted price risk of a CC for inter-commodity credits (§8)."""

    NORMAL = "normal"
    SCANRANGE = "scanrange"
    SCANRANGE_CAP = "scanrange_cap"


class SomMethod(StrEnum):
    """Short option minimum: on all short options, or on the larger of calls and puts (§9)."""

    GROSS = "gross"
    MAX = "max"


class SpreadMethod(StrEnum):
    """Rate of an intra-commodity spread: one rate, or a rate growing with tier distance."""

    FLAT = "flat"
    PER_TIER_DISTANCE = "per_tier_distance"


class Side(StrEnum):
    """Side of a spread leg: A legs on one sign of delta, B legs on the other."""

    A = "A"
    B = "B"


def _one_rate(rate: float | None, rate_fraction: float | None, *, required: bool) -> None:
    """Exactly one of ``rate`` / ``rate_fraction`` (at most one when the rate defaults to 0)."""
    if rate is not None and rate_fraction is not None:
        raise ValidationError("rate", rate, "exactly one of rate and rate_fraction, not both")
    if required and rate is None and rate_fraction is None:
        raise ValidationError(
            "rate_fraction", None, "a value (required key missing): rate_fraction or rate"
        )
    for name, value in (("rate", rate), ("rate_fraction", rate_fraction)):
        if value is not None:
            require_non_negative(name, value)


def _pair(prefix: str, rate: float | None, fraction: float | None) -> None:
    if rate is not None and fraction is not None:
        raise ValidationError(prefix, rate, f"exactly one of {prefix} and {prefix}_fraction")
    for name, value in ((prefix, rate), (f"{prefix}_fraction", fraction)):
        if value is not None:
            require_non_negative(name, value)


def _money(rate: float | None, fraction: float | None, unit_ref: float) -> float:
    """A rate in the CC's money: ``rate``, else ``fraction x unit_ref``, else 0."""
    if rate is not None:
        return rate
    if fraction is not None:
        return fraction * unit_ref
    return 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SpanDefaults:
    """Method-wide settings (``[defaults]``).

    Attributes
    ----------
    lookahead_days
        Days the market is aged in every scenario (options lose time value), >= 0.
    price_floor_fraction
        Scenario price floor as a fraction of the contract's price, in [0, 1).
    min_vol
        Floor of every shocked vol of scenarios 1-14 (decimal), >= 0.
    extreme_multiplier
        ``X``: extreme move in multiples of the PSR (scenarios 15/16), >= 1.
    extreme_cover_fraction
        ``c``: weight of the extreme scenarios, in [0, 1].
    delta_points, delta_weights
        The 7 (or any number of) price points, in multiples of the PSR, and their weights
        (normalised by their sum) of the composite delta (§6).
    ratio_by_account_class
        Account class → ratio of initial to maintenance risk, >= 1; must hold ``default``.
    """

    lookahead_days: float = field(default=1.0, metadata=optional_key(_DEFAULT))
    price_floor_fraction: float = field(default=0.01, metadata=optional_key(_DEFAULT))
    min_vol: float = field(default=0.05, metadata=optional_key(_DEFAULT))
    extreme_multiplier: float = field(default=3.0, metadata=optional_key(_DEFAULT))
    extreme_cover_fraction: float = field(default=0.33, metadata=optional_key(_DEFAULT))
    delta_points: tuple[float, ...] = field(default=_POINTS, metadata=optional_key(_DEFAULT))
    delta_weights: tuple[float, ...] = field(default=_WEIGHTS, metadata=optional_key(_DEFAULT))
    ratio_by_account_class: Mapping[str, float] = field(
        default_factory=_ratio_default, metadata=optional_key(_DEFAULT)
    )

    def __post_init__(self) -> None:
        require_non_negative("lookahead_days", self.lookahead_days)
        floor = require_finite("price_floor_fraction", self.price_floor_fraction)
        if not 0.0 <= floor < 1.0:
            raise ValidationError("price_floor_fraction", floor, "a fraction in [0, 1)")
        require_non_negative("min_vol", self.min_vol)
        _check_extremes(self.extreme_multiplier, self.extreme_cover_fraction)
        points, weights = tuple(self.delta_points), tuple(self.delta_weights)
        for i, p in enumerate(points):
            require_finite(f"delta_points[{i}]", p)
        for i, w in enumerate(weights):
            require_non_negative(f"delta_weights[{i}]", w)
        if not points or len(points) != len(weights):
            raise ValidationError(
                "delta_weights", list(weights), f"{len(points)} weights, one per delta point"
            )
        if sum(weights) <= 0:
            raise ValidationError("delta_weights", list(weights), "weights with a positive sum")
        ratios = dict(self.ratio_by_account_class)
        if "default" not in ratios:
            raise ValidationError(
                "ratio_by_account_class.default", None, "a value (required key missing)"
            )
        for name, ratio in ratios.items():
            if require_finite(f"ratio_by_account_class.{name}", ratio) < 1.0:
                raise ValidationError(f"ratio_by_account_class.{name}", ratio, "a ratio >= 1")
        object.__setattr__(self, "delta_points", points)
        object.__setattr__(self, "delta_weights", weights)
        object.__setattr__(self, "ratio_by_account_class", MappingProxyType(ratios))


def _check_extremes(multiplier: float | None, cover: float | None) -> None:
    if multiplier is not None and require_finite("extreme_multiplier", multiplier) < 1.0:
        raise ValidationError("extreme_multiplier", multiplier, "X >= 1")
    if cover is not None and not 0.0 <= require_finite("extreme_cover_fraction", cover) <= 1.0:
        raise ValidationError("extreme_cover_fraction", cover, "a fraction in [0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceScan:
    """Price scan range of a CC.

    Attributes
    ----------
    mode
        ``fraction`` (of each contract's price), ``per_contract`` (money of the CC per
        contract for a full scan) or ``points`` (USD per underlying unit).
    value
        The PSR in that unit, > 0.
    ref_multiplier
        ``per_contract`` only: underlying units of the reference contract (``m_ref`` of §8),
        > 0; 1 when omitted.
    """

    mode: PriceScanMode
    value: float
    ref_multiplier: float | None = field(default=None, metadata=optional_key(_DEFAULT))

    def __post_init__(self) -> None:
        require_positive("value", self.value)
        if self.ref_multiplier is not None:
            if self.mode is not PriceScanMode.PER_CONTRACT:
                raise ValidationError(
                    "ref_multiplier", self.ref_multiplier, "no ref_multiplier unless per_contract"
                )
            require_positive("ref_multiplier", self.ref_multiplier)


@dataclass(frozen=True, slots=True, kw_only=True)
class VolScan:
    """Volatility scan range of a CC: ``value x (30 / max(DTE, 1)) ** term_power``, absolute
    (vol points as decimals) or relative (fraction of the vol)."""

    mode: VolScanMode = field(default=VolScanMode.ABSOLUTE, metadata=optional_key(_DEFAULT))
    value: float
    term_power: float = field(default=0.0, metadata=optional_key(_DEFAULT))

    def __post_init__(self) -> None:
        require_non_negative("value", self.value)
        require_non_negative("term_power", self.term_power)


@dataclass(frozen=True, slots=True, kw_only=True)
class Som:
    """Short option minimum: ``rate`` money per underlying unit short, or ``rate_fraction``
    of ``F_ref`` (at most one; 0 when both are omitted)."""

    method: SomMethod = field(default=SomMethod.GROSS, metadata=optional_key(_DEFAULT))
    rate: float | None = field(default=None, metadata=optional_key(_DEFAULT))
    rate_fraction: float | None = field(default=None, metadata=optional_key(_DEFAULT))

    def __post_init__(self) -> None:
        _one_rate(self.rate, self.rate_fraction, required=False)

    def money(self, unit_ref: float) -> float:
        """Rate per underlying unit in the CC's money (``unit_ref``: ``F_ref`` converted)."""
        return _money(self.rate, self.rate_fraction, unit_ref)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpotMonth:
    """Spot-month charge (§7): contracts with ``0 < DTE <= window_days`` pay
    ``rate_consumed`` per delta unit consumed by spreads and ``rate_outright`` per delta unit
    left outright; each rate is money per delta unit or a fraction of ``F_ref`` (0 when
    omitted). ``allow_inter``: spot-month deltas may form inter-commodity spreads."""

    window_days: float = field(default=7.0, metadata=optional_key(_DEFAULT))
    rate_consumed: float | None = field(default=None, metadata=optional_key(_DEFAULT))
    rate_consumed_fraction: float | None = field(default=None, metadata=optional_key(_DEFAULT))
    rate_outright: float | None = field(default=None, metadata=optional_key(_DEFAULT))
    rate_outright_fraction: float | None = field(default=None, metadata=optional_key(_DEFAULT))
    allow_inter: bool = field(default=False, metadata=optional_key(_DEFAULT))

    def __post_init__(self) -> None:
        require_non_negative("window_days", self.window_days)
        _pair("rate_consumed", self.rate_consumed, self.rate_consumed_fraction)
        _pair("rate_outright", self.rate_outright, self.rate_outright_fraction)

    def rates(self, unit_ref: float) -> tuple[float, float]:
        """``(rate_consumed, rate_outright)`` in the CC's money per delta unit."""
        return (
            _money(self.rate_consumed, self.rate_consumed_fraction, unit_ref),
            _money(self.rate_outright, self.rate_outright_fraction, unit_ref),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    """A DTE range ``min_dte <= floor(max(DTE, 0)) <= max_dte`` (days, inclusive; no
    ``max_dte``: unbounded), or the perpetual tier (spot and perpetuals, ``perpetual = true``,
    no DTE bounds)."""

    id: str
    min_dte: int | None = field(default=None, metadata=optional_key("perpetual tier only"))
    max_dte: int | None = field(default=None, metadata=optional_key("unbounded last tier"))
    perpetual: bool = field(default=False, metadata=optional_key("dated tiers"))

    def __post_init__(self) -> None:
        require_non_empty("id", self.id)
        if self.perpetual:
            if self.min_dte is not None or self.max_dte is not None:
                raise ValidationError("min_dte", self.min_dte, "no DTE bounds on a perpetual tier")
            return
        if self.min_dte is None:
            raise ValidationError("min_dte", None, "a value (required key missing)")
        if self.min_dte < 0:
            raise ValidationError("min_dte", self.min_dte, "days >= 0")
        if self.max_dte is not None and self.max_dte < self.min_dte:
            raise ValidationError("max_dte", self.max_dte, f">= min_dte {self.min_dte}")


_DEFAULT_TIERS = (Tier(id="1", min_dte=0),)


def _min_dte(tier: Tier) -> int:
    return tier.min_dte or 0


@dataclass(frozen=True, slots=True, kw_only=True)
class IntraLeg:
    """One leg of an intra-commodity spread: tier id, side, delta units per spread (> 0)."""

    tier: str
    side: Side
    ratio: float

    def __post_init__(self) -> None:
        require_non_empty("tier", self.tier)
        require_positive("ratio", self.ratio)


def _check_legs(legs: tuple[IntraLeg, ...] | tuple[InterLeg, ...], key: str) -> None:
    sides = {leg.side for leg in legs}
    if sides != {Side.A, Side.B}:
        raise ValidationError("legs", [leg.side.value for leg in legs], "A and B legs")
    names = [getattr(leg, key) for leg in legs]
    if len(set(names)) != len(names):
        raise ValidationError("legs", names, f"distinct {key}s")


@dataclass(frozen=True, slots=True, kw_only=True)
class IntraSpread:
    """An intra-commodity (calendar) spread definition (§7).

    Attributes
    ----------
    priority
        Processing order (ascending; ties keep file order).
    method
        ``flat``: ``rate`` per spread; ``per_tier_distance``:
        ``rate + rate_per_step x (tier distance - 1)``, distance = largest minus smallest
        tier index of the legs.
    rate, rate_fraction
        Money per spread, or a fraction of ``F_ref``; exactly one.
    rate_per_step
        Money per spread and extra tier step (``per_tier_distance`` only), >= 0.
    legs
        A legs and B legs on distinct tiers.
    """

    priority: int
    method: SpreadMethod
    rate: float | None = field(default=None, metadata=optional_key("rate_fraction given"))
    rate_fraction: float | None = field(default=None, metadata=optional_key("rate given"))
    rate_per_step: float = field(default=0.0, metadata=optional_key(_DEFAULT))
    legs: tuple[IntraLeg, ...]

    def __post_init__(self) -> None:
        _one_rate(self.rate, self.rate_fraction, required=True)
        require_non_negative("rate_per_step", self.rate_per_step)
        if self.rate_per_step and self.method is not SpreadMethod.PER_TIER_DISTANCE:
            raise ValidationError("rate_per_step", self.rate_per_step, "0 for a flat spread")
        _check_legs(self.legs, "tier")


@dataclass(frozen=True, slots=True, kw_only=True)
class InterLeg:
    """One leg of an inter-commodity spread: CC id, side, underlying units per spread."""

    cc: str
    side: Side
    ratio: float

    def __post_init__(self) -> None:
        require_non_empty("cc", self.cc)
        require_positive("ratio", self.ratio)


@dataclass(frozen=True, slots=True, kw_only=True)
class InterSpread:
    """An inter-commodity spread (§8): ``credit_rate`` (fraction) of each leg's weighted price
    risk per spread formed."""

    priority: int
    credit_rate: float
    legs: tuple[InterLeg, ...]

    def __post_init__(self) -> None:
        if not 0.0 <= require_finite("credit_rate", self.credit_rate) <= 1.0:
            raise ValidationError("credit_rate", self.credit_rate, "a fraction in [0, 1]")
        _check_legs(self.legs, "cc")


@dataclass(frozen=True, slots=True, kw_only=True)
class CombinedCommodity:
    """All contracts on one underlying and one settlement currency (``[[cc]]``).

    Attributes
    ----------
    id
        CC id (``BTC-USD``, ``BTC-BTC``).
    underlying
        Coin (``BTC``).
    settlement_currency
        ``USD`` (or any stablecoin: every stablecoin-settled contract of the underlying joins
        it) or the coin itself (inverse, coin-settled contracts).
    reference_price
        ``F_ref``, USD per coin, > 0; omitted: the mark of the nearest non-spot-month future
        of the underlying in the market, else its index.
    price_scan, vol_scan
        Scan ranges.
    wpr_method
        Weighted price risk method.
    delta_scaling_factor
        Multiplier of every position delta, > 0.
    som
        Short option minimum.
    tiers
        DTE tiers (the perpetual tier ``P``, index 0, is implicit when not listed); tier ids
        unique, DTE ranges disjoint.
    spot
        Spot-month charge.
    intra_spread
        Spread table; empty with more than one tier: generated (§7) at the default rate.
    intra_default_rate, intra_default_rate_fraction
        Rate of generated spreads (money per spread or fraction of ``F_ref``; 0 when omitted).
    extreme_multiplier, extreme_cover_fraction
        Overrides of the defaults for this CC.
    """

    id: str
    underlying: str
    settlement_currency: str
    reference_price: float | None = field(default=None, metadata=optional_key(_DEFAULT))
    price_scan: PriceScan
    vol_scan: VolScan
    wpr_method: WprMethod = field(default=WprMethod.SCANRANGE_CAP, metadata=optional_key(_DEFAULT))
    delta_scaling_factor: float = field(default=1.0, metadata=optional_key(_DEFAULT))
    som: Som = field(default=Som(), metadata=optional_key(_DEFAULT))
    tiers: tuple[Tier, ...] = field(default=_DEFAULT_TIERS, metadata=optional_key(_DEFAULT))
    spot: SpotMonth = field(default=SpotMonth(), metadata=optional_key(_DEFAULT))
    intra_spread: tuple[IntraSpread, ...] = field(default=(), metadata=optional_key(_DEFAULT))
    intra_default_rate: float | None = field(default=None, metadata=optional_key(_DEFAULT))
    intra_default_rate_fraction: float | None = field(default=None, metadata=optional_key(_DEFAULT))
    extreme_multiplier: float | None = field(default=None, metadata=optional_key(_DEFAULT))
    extreme_cover_fraction: float | None = field(default=None, metadata=optional_key(_DEFAULT))

    def __post_init__(self) -> None:
        if not self.id or "/" in self.id:
            raise ValidationError("id", self.id, "a non-empty CC id without '/'")
        require_non_empty("underlying", self.underlying)
        require_non_empty("settlement_currency", self.settlement_currency)
        if self.reference_price is not None:
            require_positive("reference_price", self.reference_price)
        require_positive("delta_scaling_factor", self.delta_scaling_factor)
        _pair("intra_default_rate", self.intra_default_rate, self.intra_default_rate_fraction)
        _check_extremes(self.extreme_multiplier, self.extreme_cover_fraction)
        ids = [t.id for t in self.tiers]
        if len(set(ids)) != len(ids):
            raise ValidationError("tiers", ids, "unique tier ids")
        perpetual = [i for i, t in enumerate(self.tiers) if t.perpetual]
        if len(perpetual) > 1:
            raise ValidationError(f"tiers[{perpetual[1]}].perpetual", True, "one perpetual tier")
        if not perpetual and PERPETUAL_TIER in ids:
            raise ValidationError(
                f"tiers[{ids.index(PERPETUAL_TIER)}].perpetual",
                False,
                f"true: tier id {PERPETUAL_TIER!r} is reserved for the perpetual tier",
            )
        dated = sorted(
            (t.min_dte or 0, t.max_dte, i) for i, t in enumerate(self.tiers) if not t.perpetual
        )
        for (_, hi, i), (lo, _, j) in itertools.pairwise(dated):
            if hi is None:
                raise ValidationError(
                    f"tiers[{i}].max_dte",
                    None,
                    "a value (required key missing): only the last dated tier is unbounded",
                )
            if lo <= hi:
                raise ValidationError(f"tiers[{j}].min_dte", lo, "DTE ranges that do not overlap")
        known = set(self.tier_ids)
        for k, sd in enumerate(self.intra_spread):
            for j, leg in enumerate(sd.legs):
                if leg.tier not in known:
                    raise ValidationError(
                        f"intra_spread[{k}].legs[{j}].tier", leg.tier, f"one of {sorted(known)}"
                    )

    @property
    def tier_ids(self) -> tuple[str, ...]:
        """Tier ids by tier index: the perpetual tier (0), then dated tiers by ``min_dte``."""
        perpetual = [t.id for t in self.tiers if t.perpetual] or [PERPETUAL_TIER]
        return (perpetual[0], *(t.id for t in self.dated_tiers))

    @property
    def dated_tiers(self) -> tuple[Tier, ...]:
        """Dated tiers in tier-index order (index ``k + 1`` for element ``k``)."""
        return tuple(sorted((t for t in self.tiers if not t.perpetual), key=_min_dte))

    def spreads(self) -> tuple[IntraSpread, ...]:
        """Spread definitions in processing order: the table sorted by priority (stable), or
        the generated table when the CC lists more than one tier and no table: pairs of tier
        indices one apart (P-1, 1-2, ...), then two apart, ..., all 1:1 and flat at the
        default rate."""
        if self.intra_spread:
            return tuple(sorted(self.intra_spread, key=lambda s: s.priority))
        ids = self.tier_ids
        rate, fraction = self.intra_default_rate, self.intra_default_rate_fraction
        if rate is None and fraction is None:
            rate = 0.0
        out: list[IntraSpread] = []
        for gap in range(1, len(ids)):
            for lo in range(len(ids) - gap):
                out.append(
                    IntraSpread(
                        priority=len(out) + 1,
                        method=SpreadMethod.FLAT,
                        rate=rate,
                        rate_fraction=fraction,
                        legs=(
                            IntraLeg(tier=ids[lo], side=Side.A, ratio=1.0),
                            IntraLeg(tier=ids[lo + gap], side=Side.B, ratio=1.0),
                        ),
                    )
                )
        return tuple(out)

    def multiplier(self, defaults: SpanDefaults) -> float:
        """Extreme move multiplier ``X`` of this CC."""
        x = self.extreme_multiplier
        return defaults.extreme_multiplier if x is None else x

    def cover(self, defaults: SpanDefaults) -> float:
        """Extreme cover fraction ``c`` of this CC."""
        c = self.extreme_cover_fraction
        return defaults.extreme_cover_fraction if c is None else c


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractEntry:
    """A ``[[contract]]`` entry: puts the instrument named ``id`` in CC ``cc``.

    Optional: instruments come from their names and the market snapshot, and their CC from
    underlying and settlement currency. When given, ``kind`` and ``style`` must match the
    instrument held; the other terms are informational (positions are held in coins of
    underlying, so the multiplier of every position is 1 coin).
    """

    id: str
    cc: str
    kind: str | None = field(default=None, metadata=optional_key("informational"))
    style: str | None = field(default=None, metadata=optional_key("informational"))
    multiplier: float | None = field(default=None, metadata=optional_key("informational"))
    face_value_usd: float | None = field(default=None, metadata=optional_key("informational"))
    expiry: str | None = field(default=None, metadata=optional_key("informational"))
    right: str | None = field(default=None, metadata=optional_key("informational"))
    strike: float | None = field(default=None, metadata=optional_key("informational"))
    underlying_contract: str | None = field(default=None, metadata=optional_key("informational"))

    def __post_init__(self) -> None:
        require_non_empty("id", self.id)
        require_non_empty("cc", self.cc)
        if self.kind is not None and self.kind not in ("spot", "future", "perpetual", "option"):
            raise ValidationError("kind", self.kind, "spot, future, perpetual or option")
        if self.style is not None and self.style not in ("linear", "inverse"):
            raise ValidationError("style", self.style, "linear or inverse")
        for name in ("multiplier", "face_value_usd", "strike"):
            value = getattr(self, name)
            if value is not None:
                require_positive(name, value)
        if self.right is not None and self.right not in ("C", "P"):
            raise ValidationError("right", self.right, "C or P")


_CROSS_CREDIT_ASSUMPTION = (
    "assumption (specs/span.md is silent): segregated sub-accounts take no inter-commodity "
    "credit from another settlement currency"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Collateral:
    """How requirements meet collateral (``[collateral]``; ``specs/span.md`` §9).

    Attributes
    ----------
    scope
        ``multi`` (default, §9): one pool; the CC risks are summed in ``account_currency``
        (coin CCs converted at the current index) into one row per account. ``segregated``
        (``lifecycle.md`` §1): each settlement currency is a separate sub-account; nothing
        is converted: the CC risks, NOV and requirements are summed per settlement currency
        (every stablecoin counts as one, USD) into one row per account and sub-account, in
        that currency, compared with that currency's equity.
    credit_across_currencies
        ``segregated`` only: whether inter-commodity spreads between CCs of different
        settlement currencies form (each leg's credit stays in its own CC, §8). The spec is
        silent; omitted it is ``false`` (a sub-account's requirement does not rest on a
        hedge held against another currency's collateral). Not allowed in ``multi`` scope,
        where every spread of §8 forms.
    """

    scope: CollateralScope = field(
        default=CollateralScope.MULTI, metadata=optional_key("specs/span.md §9 default: multi")
    )
    credit_across_currencies: bool | None = field(
        default=None, metadata=optional_key(_CROSS_CREDIT_ASSUMPTION)
    )

    def __post_init__(self) -> None:
        if self.scope is CollateralScope.MULTI and self.credit_across_currencies is not None:
            raise ValidationError(
                "credit_across_currencies",
                self.credit_across_currencies,
                "no value in multi scope (one collateral pool: every inter spread of "
                "specs/span.md §8 forms); it applies to scope = 'segregated' only",
            )

    @property
    def segregated(self) -> bool:
        """True in ``segregated`` scope."""
        return self.scope is CollateralScope.SEGREGATED

    @property
    def cross_currency_credit(self) -> bool:
        """Whether inter spreads form across settlement currencies."""
        return not self.segregated or bool(self.credit_across_currencies)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpanParams:
    """A ``span`` parameter pack (``specs/span.md`` §10).

    Attributes
    ----------
    version
        Pack version recorded in results.
    schema_version
        Parameter-file schema (``"1.0"``).
    business_date
        Date the parameters are for (informational, ``YYYY-MM-DD``).
    account_currency
        Currency of the account totals (``USD`` or a coin); coin CCs are converted at the
        current index. Not used for the rows of ``segregated`` scope (each in its own
        settlement currency).
    collateral
        Collateral scope: one pool (``multi``, default) or one sub-account per settlement
        currency (``segregated``).
    defaults
        Method-wide settings.
    cc
        Combined commodities, ids unique, one per (underlying, settlement currency).
    inter_spread
        Inter-commodity spreads; legs name listed CCs.
    contract
        Optional instrument → CC assignments.
    """

    version: str
    schema_version: str = field(default="1.0", metadata=optional_key(_DEFAULT))
    business_date: str = field(default="", metadata=optional_key("informational"))
    account_currency: str = field(default="USD", metadata=optional_key(_DEFAULT))
    collateral: Collateral = field(
        default=Collateral(), metadata=optional_key("specs/span.md §9 default: multi")
    )
    defaults: SpanDefaults = field(default=SpanDefaults(), metadata=optional_key(_DEFAULT))
    cc: tuple[CombinedCommodity, ...]
    inter_spread: tuple[InterSpread, ...] = field(default=(), metadata=optional_key("no credits"))
    contract: tuple[ContractEntry, ...] = field(default=(), metadata=optional_key("by name"))

    def __post_init__(self) -> None:
        require_non_empty("version", self.version)
        if self.schema_version.split(".")[0] != "1":
            raise ValidationError("schema_version", self.schema_version, "a 1.x schema")
        require_non_empty("account_currency", self.account_currency)
        if not self.cc:
            raise ValidationError("cc", self.cc, "at least one combined commodity")
        ids = [c.id for c in self.cc]
        keys = [self.cc_key(c) for c in self.cc]
        for i in range(len(ids)):
            if ids[i] in ids[:i]:
                raise ValidationError(f"cc[{i}].id", ids[i], "a CC id not used yet")
            if keys[i] in keys[:i]:
                raise ValidationError(
                    f"cc[{i}].settlement_currency",
                    self.cc[i].settlement_currency,
                    f"one CC per underlying and settlement currency ({ids[keys.index(keys[i])]}"
                    " has it)",
                )
        for k, sd in enumerate(self.inter_spread):
            for j, leg in enumerate(sd.legs):
                if leg.cc not in ids:
                    raise ValidationError(
                        f"inter_spread[{k}].legs[{j}].cc", leg.cc, f"one of {ids}"
                    )
        for k, entry in enumerate(self.contract):
            if entry.cc not in ids:
                raise ValidationError(f"contract[{k}].cc", entry.cc, f"one of {ids}")

    @staticmethod
    def sub_account(cc: CombinedCommodity) -> str:
        """Settlement sub-account of ``cc`` in segregated scope: ``USD`` for every
        stablecoin, else the settlement coin."""
        return settlement_key(cc.settlement_currency)

    @staticmethod
    def cc_key(cc: CombinedCommodity) -> tuple[str, str]:
        """``(underlying, settlement)`` with every stablecoin settlement read as ``USD``."""
        return cc.underlying.upper(), settlement_key(cc.settlement_currency)

    def coverage(self) -> dict[str, tuple[str, ...]]:
        """Underlyings and settlement currencies of the pack's CCs, sorted."""
        return {
            "underlyings": tuple(sorted({c.underlying for c in self.cc})),
            "settlement": tuple(sorted({c.settlement_currency for c in self.cc})),
        }

    def ratio(self, account_class: str = "default") -> float:
        """IM / MM ratio of ``account_class`` (the ``default`` entry when it has none)."""
        ratios = self.defaults.ratio_by_account_class
        return ratios.get(account_class, ratios["default"])


def settlement_key(currency: str) -> str:
    """Settlement currency as matched to CCs: ``USD`` for every stablecoin, else the code."""
    code = currency.upper()
    return "USD" if code in STABLECOINS else code
