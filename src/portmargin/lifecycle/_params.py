"""Lifecycle parameters: state thresholds, margin calls, liquidation and collateral haircuts.

A pack is data (``params/lifecycle/<version>.toml``) read with
:meth:`LifecycleParams.from_mapping`; every key is required unless declared optional.
Defaults and their sources are those of ``lifecycle.md`` (marked there as portmargin
judgement where no venue publishes them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from portmargin.core import ValidationError, config_from_mapping, require_non_empty
from portmargin.lifecycle._collateral import CollateralPolicy

__all__ = [
    "CallParams",
    "CallRelease",
    "LifecycleParams",
    "LiquidationParams",
    "LossMutualisation",
    "OnCallExpiry",
    "StateParams",
]


def _number(name: str, value: object, low: float, high: float, expected: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValidationError(name, value, expected)
    if not low <= float(value) <= high:
        raise ValidationError(name, value, expected)
    return float(value)


class CallRelease(StrEnum):
    """When an open margin call is met (``lifecycle.md`` §5)."""

    EQUITY = "equity"
    """As soon as equity is back at or above IM (crypto venues)."""
    DEPOSIT = "deposit"
    """When deposits since the call reach its amount, whatever prices do (CCPs)."""


class OnCallExpiry(StrEnum):
    """What an expired call does to an account still below IM."""

    LIQUIDATE = "liquidate"
    RESTRICT = "restrict"


class LossMutualisation(StrEnum):
    """Who bears a bankrupt account's deficit beyond the insurance fund (§7)."""

    ADL = "adl"
    SOCIALISED = "socialised"


@dataclass(frozen=True, slots=True, kw_only=True)
class StateParams:
    """Account-state thresholds (§4).

    Attributes
    ----------
    call_level
        A margin call is issued while ``MM <= E < call_level MM``; >= 1 (default 1.10).
    liq_target
        A liquidation run stops once ``E >= liq_target MM``; >= 1 (default 1.05).
    """

    call_level: float
    liq_target: float

    def __post_init__(self) -> None:
        for name in ("call_level", "liq_target"):
            value = _number(name, getattr(self, name), 1.0, 10.0, "a factor in [1, 10]")
            object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallParams:
    """Margin-call rules (§5).

    Attributes
    ----------
    deadline_seconds
        Time from issue to deadline, seconds, > 0 (default 3,600).
    rounding_usd
        Call amounts are rounded up to a multiple of this, USD, > 0 (default 1).
    min_call_usd
        Smallest call amount, USD, >= 0 (default 100).
    release
        :class:`CallRelease`.
    on_expiry
        :class:`OnCallExpiry`.
    """

    deadline_seconds: float
    rounding_usd: float
    min_call_usd: float
    release: CallRelease
    on_expiry: OnCallExpiry

    def __post_init__(self) -> None:
        checks = (
            ("deadline_seconds", 1e-9, math.inf, "a number of seconds > 0"),
            ("rounding_usd", 1e-12, math.inf, "a USD amount > 0"),
            ("min_call_usd", 0.0, math.inf, "a USD amount >= 0"),
        )
        for name, low, high, expected in checks:
            value = _number(name, getattr(self, name), low, high, expected)
            if not math.isfinite(value):
                raise ValidationError(name, value, expected)
            object.__setattr__(self, name, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationParams:
    """Liquidation engine and default waterfall (§6, §7).

    Attributes
    ----------
    slice_notional_usd
        Notional of one liquidation slice, USD, > 0 (default 20,000).
    penalty
        Liquidation penalty as a fraction of the slice notional (delta-one) or of the
        forward (options, per unit), in [0, 1) (default 0.005).
    option_penalty_cap
        Options: the penalty per unit is at most this fraction of the option's mark, in
        [0, 1] (default 0.125).
    fund_share
        Share of collected penalties paid to the insurance fund (the rest to the
        liquidator), in [0, 1] (default 1).
    loss_mutualisation
        :class:`LossMutualisation` (default ``adl``).
    """

    slice_notional_usd: float
    penalty: float
    option_penalty_cap: float
    fund_share: float
    loss_mutualisation: LossMutualisation

    def __post_init__(self) -> None:
        checks = (
            ("slice_notional_usd", 1e-9, 1e15, "a finite USD amount > 0"),
            ("penalty", 0.0, 0.999999, "a fraction in [0, 1)"),
            ("option_penalty_cap", 0.0, 1.0, "a fraction in [0, 1]"),
            ("fund_share", 0.0, 1.0, "a fraction in [0, 1]"),
        )
        for name, low, high, expected in checks:
            object.__setattr__(self, name, _number(name, getattr(self, name), low, high, expected))


@dataclass(frozen=True, slots=True, kw_only=True)
class LifecycleParams:
    """Everything the lifecycle reads from a pack.

    Attributes
    ----------
    version
        Pack version, recorded with every result (e.g. ``"2021-11"``).
    states, calls, liquidation
        See :class:`StateParams`, :class:`CallParams`, :class:`LiquidationParams`.
    collateral
        Collateral scope and haircut schedules (:class:`CollateralPolicy`).
    """

    version: str
    states: StateParams
    calls: CallParams
    liquidation: LiquidationParams
    collateral: CollateralPolicy

    def __post_init__(self) -> None:
        require_non_empty("version", self.version)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LifecycleParams:
        """Build from a parsed pack; errors name the full key path."""
        return config_from_mapping(cls, data)
