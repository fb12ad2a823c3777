"""Paradex portfolio-margin parameters, mirroring ``PortfolioMarginParamsResp`` one to one.

Every key is required; the engine's assumptions (``vol_up_floor``, ``taker_fee``,
``funding_rates``) are written in each pack (``funding_rates = {}`` when there are none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from portmargin.core import (
    ValidationError,
    require_finite,
    require_non_empty,
    require_non_negative,
    require_positive,
)

__all__ = [
    "ParadexAssetParams",
    "ParadexParams",
    "ParadexScenarioRow",
    "VolShockParams",
    "VolUpFloor",
]


class VolUpFloor(StrEnum):
    """Meaning of ``min_vol_shock_up`` (not published; engine assumption).

    ``LEVEL``: in up-vol scenarios ``shocked IV = max(shocked IV, min_vol_shock_up)``.
    ``SHOCK``: the relative up-shock ``vol_shock * (30 / max(dte_floor, DTE))**p`` is floored
    at ``min_vol_shock_up`` before it is applied.
    """

    LEVEL = "level"
    SHOCK = "shock"


@dataclass(frozen=True, slots=True, kw_only=True)
class ParadexScenarioRow:
    """One SCAN scenario as the venue publishes it (fractions).

    Attributes
    ----------
    spot_shock
        Relative move of spot and every forward, > -1 (``-0.16``).
    vol_shock
        Signed relative IV shock before the term-structure factor (``0.40``, ``-0.22``).
    weight
        Multiplier of the scenario's loss, >= 0 (``1.0``; tails < 1).
    """

    spot_shock: float
    vol_shock: float
    weight: float

    def __post_init__(self) -> None:
        if require_finite("spot_shock", self.spot_shock) <= -1:
            raise ValidationError("spot_shock", self.spot_shock, "> -1")
        require_finite("vol_shock", self.vol_shock)
        require_non_negative("weight", self.weight)


@dataclass(frozen=True, slots=True, kw_only=True)
class VolShockParams:
    """Term-structure law of the IV shock (venue field ``vol_shock_params``).

    Attributes
    ----------
    dte_floor_days
        Smallest DTE used in ``(30 / DTE)**power``, days, > 0.
    min_vol_shock_up
        Floor of the upside vol shock (fraction), read as :class:`VolUpFloor` says.
    vega_power_short_dte, vega_power_long_dte
        Powers for ``DTE < 30`` days and ``DTE >= 30`` days.
    """

    dte_floor_days: float
    min_vol_shock_up: float
    vega_power_long_dte: float
    vega_power_short_dte: float

    def __post_init__(self) -> None:
        require_positive("dte_floor_days", self.dte_floor_days)
        for name in ("min_vol_shock_up", "vega_power_long_dte", "vega_power_short_dte"):
            require_non_negative(name, getattr(self, name))


@dataclass(frozen=True, slots=True, kw_only=True)
class ParadexAssetParams:
    """Risk parameters of one base asset (one ``results[]`` entry of the venue's config).

    Attributes
    ----------
    base_asset
        Underlying code (``BTC``).
    funding_provision_hour
        Funding-provision horizon, hours, >= 0 (0 disables the provision).
    unhedged_margin_factor, hedged_margin_factor
        Minimum-delta factors on ``|Net Delta|`` and on ``Hedged Delta`` (fractions).
    mmf_factor
        Share of the net portfolio IMR that is maintenance margin, in [0, 1] (MM <= IM).
    scenarios
        The SCAN scenarios, in venue order.
    vol_shock_params
        Term-structure law of the IV shock.
    """

    base_asset: str
    funding_provision_hour: float
    unhedged_margin_factor: float
    hedged_margin_factor: float
    mmf_factor: float
    scenarios: tuple[ParadexScenarioRow, ...]
    vol_shock_params: VolShockParams

    def __post_init__(self) -> None:
        require_non_empty("base_asset", self.base_asset)
        for name in ("funding_provision_hour", "unhedged_margin_factor", "hedged_margin_factor"):
            require_non_negative(name, getattr(self, name))
        if not 0.0 <= require_finite("mmf_factor", self.mmf_factor) <= 1.0:
            raise ValidationError("mmf_factor", self.mmf_factor, "a fraction in [0, 1]")
        if not self.scenarios:
            raise ValidationError("scenarios", self.scenarios, "at least one scenario")


@dataclass(frozen=True, slots=True, kw_only=True)
class ParadexParams:
    """A ``paradex-pm`` parameter pack.

    Attributes
    ----------
    version
        Pack version recorded in results (``"2026-05"``).
    assets
        Per-base-asset parameters (venue ``results[]``); base assets are unique.
    vol_up_floor
        Semantics of ``min_vol_shock_up`` (engine assumption; the packs use ``"level"``).
    taker_fee
        Fee-provision rate on ``sum |position value|`` (engine assumption; the packs use 0).
    funding_rates
        Predicted 8-hour funding rate (fraction, > 0: longs pay) keyed by perpetual name or
        base asset (the perpetual name wins); a perpetual without a rate has no provision
        (``{}``: none).
    """

    version: str
    assets: tuple[ParadexAssetParams, ...]
    vol_up_floor: VolUpFloor
    taker_fee: float
    funding_rates: Mapping[str, float]

    def __post_init__(self) -> None:
        require_non_empty("version", self.version)
        names = [a.base_asset for a in self.assets]
        if not names or len(set(names)) != len(names):
            raise ValidationError("assets", names, "at least one asset, unique base_asset")
        if not isinstance(self.vol_up_floor, VolUpFloor):
            raise ValidationError("vol_up_floor", self.vol_up_floor, "'level' or 'shock'")
        require_non_negative("taker_fee", self.taker_fee)
        rates = {
            str(k): require_finite(f"funding_rates.{k}", v)
            for k, v in dict(self.funding_rates).items()
        }
        object.__setattr__(self, "funding_rates", MappingProxyType(rates))

    def coverage(self) -> dict[str, tuple[str, ...]]:
        """Currencies the pack covers: ``underlyings`` (its base assets, sorted) and
        ``settlement`` ``USDC`` (every Paradex product settles in USDC)."""
        return {
            "underlyings": tuple(sorted(a.base_asset for a in self.assets)),
            "settlement": ("USDC",),
        }

    def asset(self, base_asset: str) -> ParadexAssetParams:
        """Parameters of ``base_asset``.

        Raises
        ------
        ValidationError
            If the pack has no entry for it.
        """
        for a in self.assets:
            if a.base_asset == base_asset:
                return a
        have = [a.base_asset for a in self.assets]
        raise ValidationError("base_asset", base_asset, f"one of {have}")
