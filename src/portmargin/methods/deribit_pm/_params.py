"""Deribit portfolio-margin parameters: the venue's ``model_params`` plus the engine's assumptions.

Layout mirrors ``private/pme/simulate`` ``model_params`` (``specs/deribit-pm.md`` §2):
``general``, ``currency.<ccy>`` (lower-case settlement currency, ``usd`` for stablecoin-settled
books) and ``currency_pair.<base>_usd``. Every unpublished rule the engine needs is a named
field of :class:`Assumptions`; its values (the spec's defaults) are written in every pack.
Every key is required except ``general.timestamp`` (informational).
"""

from __future__ import annotations

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

__all__ = [
    "Assumptions",
    "CurrencyParams",
    "DampenerMode",
    "DeltaShockModel",
    "DeribitPMParams",
    "GeneralParams",
    "MarginInputs",
    "PairParams",
    "RollGrouping",
    "VolUpFloor",
]

VOL_SLOTS = ("up", "same", "down")
"""The three vol slots of a price bucket."""

SEGREGATED = "S:PM"
"""The only margin mode computed: one risk matrix per settlement currency."""


class VolUpFloor(StrEnum):
    """How ``min_volatility_for_shock_up`` floors the vol-up scenario (ASSUMPTION).

    ``LEVEL``: ``max(sigma (1 + vru f), min_vol)``; ``BASE``: ``max(sigma, min_vol) (1 + vru f)``.
    """

    LEVEL = "level"
    BASE = "base"


class DampenerMode(StrEnum):
    """Relief of negative extended-table entries (ASSUMPTION), ``D`` the dampener amount.

    ``FIXED_OFFSET``: ``min(0, x + D)``; ``MOVE_SCALED``: ``x + min((|M|/R - 1) D, |x|)``;
    ``NONE``: ``x``.
    """

    FIXED_OFFSET = "fixed_offset"
    MOVE_SCALED = "move_scaled"
    NONE = "none"


class RollGrouping(StrEnum):
    """Netting of deltas in the roll shock (ASSUMPTION): per expiry or per instrument."""

    EXPIRY = "expiry"
    INSTRUMENT = "instrument"


class DeltaShockModel(StrEnum):
    """Delta-shock model (ASSUMPTION): ``EXCESS_LINEAR`` (spec §9) or ``OFF``."""

    EXCESS_LINEAR = "excess_linear"
    OFF = "off"


def _check_fields(obj: object, names: tuple[str, ...]) -> None:
    for name in names:
        object.__setattr__(obj, name, require_non_negative(name, getattr(obj, name)))


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneralParams:
    """``model_params.general``.

    Attributes
    ----------
    mm_factor
        MM = ``mm_factor`` x risk-matrix margin, in (0, 1] (0.8): IM is the risk-matrix margin
        plus non-negative venue inputs (``specs/deribit-pm.md`` §10), so ``mm_factor > 1``
        would make MM exceed IM.
    buckets_count
        Price steps ``B`` on each side of 0, >= 1 (4).
    vol_scenarios_count
        Vol slots per price bucket; must be 3.
    timestamp
        Valuation time of a replayed response, epoch ms UTC; informational (the market's
        ``valuation_ms`` is what prices use).
    """

    mm_factor: float
    buckets_count: int
    vol_scenarios_count: int
    timestamp: int | None = field(
        default=None, metadata=optional_key("informational: valuation time of a replayed response")
    )

    def __post_init__(self) -> None:
        if not 0 < require_positive("mm_factor", self.mm_factor) <= 1:
            raise ValidationError(
                "mm_factor", self.mm_factor, "a factor in (0, 1] (MM must not exceed IM)"
            )
        if self.buckets_count < 1:
            raise ValidationError("buckets_count", self.buckets_count, "an integer >= 1")
        if self.vol_scenarios_count != len(VOL_SLOTS):
            raise ValidationError("vol_scenarios_count", self.vol_scenarios_count, "3")


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrencyParams:
    """``model_params.currency.<ccy>`` (amounts in USD, rates as fractions per year).

    Attributes
    ----------
    min_annualised_move, annualised_move_risk
        Roll-shock rate ``max(min_annualised_move, annualised_move_risk T)``.
    pnl_offset
        Fraction of scenario gains credited, in [0, 1].
    max_offsetable_pnl
        Cap on each credited gain, USD (ASSUMPTION: converted to coin at the index).
    extended_dampener
        Relief on extended-table losses, USD (ASSUMPTION: converted to coin at the index).
    haircut, equity_side_impact, correlation_set
        Cross-margin collateral settings, carried but unused by S:PM.
    """

    min_annualised_move: float
    annualised_move_risk: float
    pnl_offset: float
    max_offsetable_pnl: float
    extended_dampener: float
    haircut: float
    equity_side_impact: str
    correlation_set: bool

    def __post_init__(self) -> None:
        _check_fields(
            self,
            (
                "min_annualised_move",
                "annualised_move_risk",
                "pnl_offset",
                "max_offsetable_pnl",
                "extended_dampener",
                "haircut",
            ),
        )
        if self.pnl_offset > 1:
            raise ValidationError("pnl_offset", self.pnl_offset, "a fraction in [0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class PairParams:
    """``model_params.currency_pair.<base>_usd`` (fractions unless stated).

    Attributes
    ----------
    price_range
        ``R``, largest standard move, in (0, 1).
    volatility_range_up, volatility_range_down
        Relative vol shocks at 30 days to expiry.
    min_volatility_for_shock_up
        Vol floor of the vol-up scenario.
    short_term_vega_power, long_term_vega_power
        Powers of the ``(30 / DTE) ** p`` term law below / from 30 days.
    extended_table_factor
        Fraction of extended-table losses kept.
    delta_total_liq_shock_threshold
        USD net delta below which there is no delta shock.
    max_delta_shock, m_inc
        Cap of the delta-shock rate and its slope per coin of excess delta.
    """

    price_range: float
    volatility_range_up: float
    volatility_range_down: float
    min_volatility_for_shock_up: float
    short_term_vega_power: float
    long_term_vega_power: float
    extended_table_factor: float
    delta_total_liq_shock_threshold: float
    max_delta_shock: float
    m_inc: float

    def __post_init__(self) -> None:
        _check_fields(
            self,
            (
                "volatility_range_up",
                "volatility_range_down",
                "min_volatility_for_shock_up",
                "short_term_vega_power",
                "long_term_vega_power",
                "extended_table_factor",
                "delta_total_liq_shock_threshold",
                "max_delta_shock",
                "m_inc",
            ),
        )
        if not 0 < require_finite("price_range", self.price_range) < 1:
            raise ValidationError("price_range", self.price_range, "a fraction in (0, 1)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Assumptions:
    """Rules Deribit does not publish (``specs/deribit-pm.md``, ASSUMPTION items).

    Attributes
    ----------
    vol_order
        Vol slots inside a price bucket of the standard vector (a permutation of
        ``up, same, down``; spec default ``up, same, down``).
    vol_up_floor
        Semantics of ``min_volatility_for_shock_up`` (:class:`VolUpFloor`).
    dte_floor_days
        Smallest days-to-expiry used in the vol-shock law (1).
    extended_moves
        Moves of the extended table, in order (DOC: -66 %, -33 %, +50 %, +100 % ... +500 %).
    clamp_options_in_extended
        Clamp the extended moves of options to ``±R`` too (spec default False: full move).
    extended_dampener_mode
        :class:`DampenerMode` (spec default ``fixed_offset``).
    roll_grouping
        :class:`RollGrouping` (spec default ``expiry``).
    delta_shock_model
        :class:`DeltaShockModel` (spec default ``excess_linear``).
    worst_case_decimals
        Decimals of ``worst_case`` inside ``risk_matrix_margin`` (9, half-even).
    im_decimals
        Decimals of the reported initial margin (9).
    open_orders_margin, mmp_margin, spot_margin
        Venue inputs of every row without its own, settlement currency, >= 0 (spec §10: 0).
    """

    vol_order: tuple[str, ...]
    vol_up_floor: VolUpFloor
    dte_floor_days: float
    extended_moves: tuple[float, ...]
    clamp_options_in_extended: bool
    extended_dampener_mode: DampenerMode
    roll_grouping: RollGrouping
    delta_shock_model: DeltaShockModel
    worst_case_decimals: int
    im_decimals: int
    open_orders_margin: float
    mmp_margin: float
    spot_margin: float

    def __post_init__(self) -> None:
        if sorted(self.vol_order) != sorted(VOL_SLOTS):
            raise ValidationError("vol_order", self.vol_order, f"a permutation of {VOL_SLOTS}")
        require_positive("dte_floor_days", self.dte_floor_days)
        moves = tuple(require_finite("extended_moves", m) for m in self.extended_moves)
        if not moves or any(m <= -1 for m in moves):
            raise ValidationError("extended_moves", moves, "a non-empty list of moves > -1")
        object.__setattr__(self, "extended_moves", moves)
        for name in ("worst_case_decimals", "im_decimals"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(name, value, "an integer >= 0")
        _check_fields(self, ("open_orders_margin", "mmp_margin", "spot_margin"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginInputs:
    """Venue-computed parts of the initial margin of one row, settlement currency, >= 0."""

    open_orders_margin: float = 0.0
    mmp_margin: float = 0.0
    spot_margin: float = 0.0

    def __post_init__(self) -> None:
        _check_fields(self, ("open_orders_margin", "mmp_margin", "spot_margin"))


def _frozen_map(name: str, value: Mapping[str, object], kind: type) -> Mapping[str, object]:
    """``value`` as a read-only copy, after checking it is non-empty and of ``kind`` values."""
    if not isinstance(value, Mapping) or not all(isinstance(v, kind) for v in value.values()):
        raise ValidationError(name, value, f"a mapping of {kind.__name__}")
    if not value:
        raise ValidationError(name, dict(value), "at least one entry")
    return MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeribitPMParams:
    """One dated Deribit portfolio-margin parameter pack.

    Attributes
    ----------
    version
        Pack version recorded in every result (``"2024-06-17"``).
    general
        ``model_params.general``.
    currency
        Lower-case settlement currency (``btc``, ``usd``) → :class:`CurrencyParams`.
    currency_pair
        ``<base>_usd`` lower case (``btc_usd``) → :class:`PairParams`.
    margin_mode
        ``"S:PM"`` (segregated: one matrix per settlement currency), the only mode accepted:
        the rules of cross portfolio margin (``"X:PM"``) are not published.
    assumptions
        Engine choices for unpublished rules.
    """

    version: str
    margin_mode: str
    general: GeneralParams
    currency: Mapping[str, CurrencyParams]
    currency_pair: Mapping[str, PairParams]
    assumptions: Assumptions

    def __post_init__(self) -> None:
        require_non_empty("version", self.version)
        if self.margin_mode != SEGREGATED:
            raise ValidationError(
                "margin_mode",
                self.margin_mode,
                f"{SEGREGATED!r}: cross portfolio margin (X:PM) is not supported because "
                "Deribit has not published its rules"
                if self.margin_mode == "X:PM"
                else f"{SEGREGATED!r} (segregated portfolio margin)",
            )
        object.__setattr__(self, "currency", _frozen_map("currency", self.currency, CurrencyParams))
        object.__setattr__(
            self, "currency_pair", _frozen_map("currency_pair", self.currency_pair, PairParams)
        )

    def coverage(self) -> dict[str, tuple[str, ...]]:
        """Currencies the pack covers: ``underlyings`` (the ``<base>_usd`` pairs) and
        ``settlement`` currencies (``currency`` keys; ``USD`` also serves stablecoins), upper
        case, sorted."""
        bases = sorted(k.upper().removesuffix("_USD") for k in self.currency_pair)
        return {
            "underlyings": tuple(bases),
            "settlement": tuple(sorted(map(str.upper, self.currency))),
        }

    def pair(self, base: str) -> PairParams | None:
        """Parameters of ``<base>_usd`` (``base`` any case), or None when the pack has none."""
        return self.currency_pair.get(f"{base.lower()}_usd")

    def currency_for(self, settlement: str, stable: bool) -> CurrencyParams | None:
        """Parameters of a settlement currency: its own entry, else ``usd`` for stablecoins."""
        own = self.currency.get(settlement.lower())
        if own is None and stable:
            return self.currency.get("usd")
        return own
