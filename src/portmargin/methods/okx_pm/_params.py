"""OKX portfolio-margin parameters: published tier tables plus the engine's assumptions.

Every key is required (the engine's assumed values are written in each pack). A catch-all
tier is a tier with ``underlyings = []``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from portmargin.core import (
    ValidationError,
    require_finite,
    require_non_empty,
    require_non_negative,
    require_positive,
)

__all__ = ["GridTier", "MoveTier", "Mr4Form", "OkxParams", "RiskUnitGrouping"]


class RiskUnitGrouping(StrEnum):
    """What makes a risk unit (DOC).

    ``UNDERLYING``: one unit per coin, all margin currencies merged (since the December 2024
    merge). ``UNDERLYING_AND_MARGIN_CURRENCY``: one unit per coin and margin currency, as
    before it: coin-margined (``"BTC-USD"``), USDT- (``"BTC-USDT"``) and USDC-margined
    (``"BTC-USDC"``) products are separate units with no offset between them.
    """

    UNDERLYING = "underlying"
    UNDERLYING_AND_MARGIN_CURRENCY = "underlying_and_margin_currency"


class Mr4Form(StrEnum):
    """How MR4 reads ``mr4_tiers`` (``specs/okx-pm.md`` MR4).

    ``ANNUALISED_MOVE`` (since December 2024, DOC parameter): the tier ``move`` is an
    annualised move risk, bucket move ``m_g = max(mr4_min_move, move x T_g)``, net-delta
    credit at ``mr4_min_move``. ``MAX_FORWARD_MOVE`` (before it): the tier ``move`` is the
    maximum forward price move (BTC/ETH 0.6 %), the same for every bucket and for the credit:
    ``MR4 = S x move x (sum_g |D_g| - |sum_g D_g|)``; ``mr4_min_move`` is unused.
    """

    ANNUALISED_MOVE = "annualised_move"
    MAX_FORWARD_MOVE = "max_forward_move"


def _check_underlyings(underlyings: tuple[str, ...]) -> None:
    for i, u in enumerate(underlyings):
        require_non_empty(f"underlyings[{i}]", u)


@dataclass(frozen=True, slots=True, kw_only=True)
class GridTier:
    """MR1 price grid of a group of underlyings (DOC).

    Attributes
    ----------
    underlyings
        Coins of the tier; an empty tuple makes it the catch-all tier ("others").
    price_moves
        Positive move magnitudes (fractions, ``[0.04, 0.08, 0.12]``); the grid is ``0`` and
        ``+-`` each move.
    """

    underlyings: tuple[str, ...]
    price_moves: tuple[float, ...]

    def __post_init__(self) -> None:
        _check_underlyings(self.underlyings)
        if not self.price_moves:
            raise ValidationError("price_moves", self.price_moves, "at least one move")
        for i, m in enumerate(self.price_moves):
            if not 0 < require_finite(f"price_moves[{i}]", m) < 1:
                raise ValidationError(f"price_moves[{i}]", m, "a move in (0, 1)")


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveTier:
    """One move parameter of a group of underlyings (DOC MR4 annualised move, MR6 move).

    Attributes
    ----------
    underlyings
        Coins of the tier; an empty tuple makes it the catch-all tier ("others").
    move
        The move, fraction (MR4: per year; MR6: of the price, < 1).
    """

    underlyings: tuple[str, ...]
    move: float

    def __post_init__(self) -> None:
        _check_underlyings(self.underlyings)
        require_non_negative("move", self.move)


def _pick(tiers: Sequence[GridTier | MoveTier], name: str, underlying: str) -> int:
    """Index of the tier listing ``underlying``, else of the catch-all tier."""
    for i, t in enumerate(tiers):
        if underlying in t.underlyings:
            return i
    for i, t in enumerate(tiers):
        if not t.underlyings:
            return i
    raise ValidationError(name, underlying, "a coin listed in a tier, or a catch-all tier")


@dataclass(frozen=True, slots=True, kw_only=True)
class OkxParams:
    """An ``okx-pm`` parameter pack. Fractions unless stated.

    DOC values: ``tiers``, ``mr7_tier_bounds`` / ``mr7_tier_multipliers`` (BTC/ETH, before
    the 2025-01-15 update, applied to every unit), ``im_factor``. Every other field is a
    NOT PUBLISHED engine assumption with the default of ``specs/okx-pm.md`` section 6.

    Attributes
    ----------
    version
        Pack version recorded in results.
    mr1_tiers, mr4_tiers, mr6_tiers
        Tier tables of the MR1 grid, the MR4 annualised move risk and the MR6 extreme move;
        the first tier listing a coin wins, else the catch-all tier.
    mr1_iv_points, mr1_iv_power, mr1_iv_floor
        MR1 IV move ``mr1_iv_points * max(DTE, 1)**(-mr1_iv_power)`` vol points, applied
        down and up; shocked IV floored at ``mr1_iv_floor`` (fraction).
    mr2_horizon_days
        MR2 theta horizon, days.
    mr3_points, mr3_power, mr3_boundary_days
        MR3 shift ``mr3_points * (boundary / max(DTE, 1))**mr3_power`` vol points; expiries
        with ``DTE < boundary`` move opposite to the others.
    mr4_form
        What the ``mr4_tiers`` moves mean (:class:`Mr4Form`).
    mr4_min_move
        MR4 minimum move per bucket and net-delta credit rate (``annualised_move`` form).
    mr5_rate_shift
        MR5 rate shift (0.01 = 1 %).
    mr6_weight
        Weight of the MR6 loss.
    mr7_delta_one_rate, mr7_option_notional_rate, mr7_option_mark_rate
        MR7 raw charge rates on ``|q| x price`` of futures and perpetuals, on the option
        underlying notional ``|q| x index`` and on the option mark ``|q| x mark`` (USD).
    mr7_tier_bounds
        Upper bounds (USD) of every MR7 tier but the last, increasing, at least one.
    mr7_tier_multipliers
        Multiplier of each tier (>= 0), one more than ``mr7_tier_bounds``.
    mr9_rate
        MR9 depeg move on the cross-stablecoin hedged cash delta.
    include_mr9
        False gives the pre-2025 form without MR9.
    im_factor
        ``IMR = im_factor x MMR`` (DOC 1.3), >= 1 so that MMR never exceeds IMR.
    risk_unit_grouping
        Merged units (one per underlying, since December 2024) or the pre-merge units (one
        per underlying and margin currency).
    spot_margin_currency
        With pre-merge units, the margin currency of the unit that takes the coin's spot
        pairs and balances (spot-derivatives offset), for accounts without a choice of
        their own (``compute``'s ``spot_unit``): ``"USDT"``, ``"USDC"`` or ``"USD"``
        (coin-margined). Unused with merged units.
    """

    version: str
    mr1_tiers: tuple[GridTier, ...]
    mr4_tiers: tuple[MoveTier, ...]
    mr6_tiers: tuple[MoveTier, ...]
    mr1_iv_points: float
    mr1_iv_power: float
    mr1_iv_floor: float
    mr2_horizon_days: float
    mr3_points: float
    mr3_power: float
    mr3_boundary_days: float
    mr4_form: Mr4Form
    mr4_min_move: float
    mr5_rate_shift: float
    mr6_weight: float
    mr7_delta_one_rate: float
    mr7_option_notional_rate: float
    mr7_option_mark_rate: float
    mr7_tier_bounds: tuple[float, ...]
    mr7_tier_multipliers: tuple[float, ...]
    mr9_rate: float
    include_mr9: bool
    im_factor: float
    risk_unit_grouping: RiskUnitGrouping
    spot_margin_currency: str

    def __post_init__(self) -> None:
        require_non_empty("version", self.version)
        require_non_empty("spot_margin_currency", self.spot_margin_currency)
        for name in ("mr1_tiers", "mr4_tiers", "mr6_tiers"):
            if not getattr(self, name):
                raise ValidationError(name, getattr(self, name), "at least one tier")
        for i, t in enumerate(self.mr6_tiers):
            if not 0 < t.move < 1:
                raise ValidationError(f"mr6_tiers[{i}].move", t.move, "a move in (0, 1)")
        for name in (
            "mr1_iv_points",
            "mr1_iv_power",
            "mr1_iv_floor",
            "mr2_horizon_days",
            "mr3_points",
            "mr3_power",
            "mr4_min_move",
            "mr5_rate_shift",
            "mr6_weight",
            "mr7_delta_one_rate",
            "mr7_option_notional_rate",
            "mr7_option_mark_rate",
            "mr9_rate",
        ):
            require_non_negative(name, getattr(self, name))
        require_positive("mr3_boundary_days", self.mr3_boundary_days)
        if require_positive("im_factor", self.im_factor) < 1:
            raise ValidationError("im_factor", self.im_factor, ">= 1 (IMR must not be below MMR)")
        bounds = self.mr7_tier_bounds
        if not bounds:
            raise ValidationError("mr7_tier_bounds", list(bounds), "at least one tier bound")
        for i, (a, b) in enumerate(zip((0.0, *bounds), bounds, strict=False)):
            if not require_finite(f"mr7_tier_bounds[{i}]", b) > a:
                raise ValidationError(f"mr7_tier_bounds[{i}]", b, f"a bound > {a:g} (increasing)")
        for i, m in enumerate(self.mr7_tier_multipliers):
            require_non_negative(f"mr7_tier_multipliers[{i}]", m)
        if len(self.mr7_tier_multipliers) != len(bounds) + 1:
            raise ValidationError(
                "mr7_tier_multipliers",
                list(self.mr7_tier_multipliers),
                f"{len(bounds) + 1} values (one more than mr7_tier_bounds)",
            )

    def coverage(self) -> dict[str, tuple[str, ...]]:
        """Currencies the pack covers: ``underlyings`` every tier table resolves (listed
        coins, plus ``"*"`` when each table has a catch-all tier); ``settlement`` ``"*"``
        (USD-valued units over every margin currency)."""
        tables: tuple[tuple[GridTier | MoveTier, ...], ...] = (
            self.mr1_tiers,
            self.mr4_tiers,
            self.mr6_tiers,
        )
        listed = sorted({u for table in tables for t in table for u in t.underlyings})
        names = [
            u
            for u in listed
            if all(any(u in t.underlyings or not t.underlyings for t in tb) for tb in tables)
        ]
        if all(any(not t.underlyings for t in table) for table in tables):
            names.append("*")
        return {"underlyings": tuple(names), "settlement": ("*",)}

    def mr1_moves(self, underlying: str) -> tuple[float, ...]:
        """MR1 move magnitudes of ``underlying`` (raises ValidationError without a tier)."""
        return self.mr1_tiers[_pick(self.mr1_tiers, "mr1_tiers", underlying)].price_moves

    def mr4_annual_move(self, underlying: str) -> float:
        """MR4 tier move of ``underlying``: the annualised move risk, or the maximum forward
        price move with ``mr4_form = "max_forward_move"``."""
        return self.mr4_tiers[_pick(self.mr4_tiers, "mr4_tiers", underlying)].move

    def mr6_move(self, underlying: str) -> float:
        """MR6 extreme move of ``underlying``."""
        return self.mr6_tiers[_pick(self.mr6_tiers, "mr6_tiers", underlying)].move

    def check_underlying(self, underlying: str) -> None:
        """Raise :class:`ValidationError` unless every tier table covers ``underlying``."""
        self.mr1_moves(underlying)
        self.mr4_annual_move(underlying)
        self.mr6_move(underlying)
