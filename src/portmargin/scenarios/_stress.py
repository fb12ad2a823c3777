"""Stress scenarios: named joint moves of spot, basis, implied vol and collateral over a
horizon (``stress-and-dynamics.md`` Part A), and versioned libraries of them as data."""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from portmargin.core import ValidationError, config_from_mapping, optional_key, require_non_empty

__all__ = [
    "VOL_MULT_FLOOR",
    "VOL_TERM_DAYS",
    "ScenarioKind",
    "StressLibrary",
    "StressScenario",
    "term_vol_multiplier",
]

VOL_MULT_FLOOR = 0.2
"""Lower bound of the vol multiplier of any expiry (``stress-and-dynamics.md`` A.1)."""

VOL_TERM_DAYS = 30.0
"""Days to expiry at which the term law gives the base multiplier ``M`` itself."""


class ScenarioKind(StrEnum):
    """Where a scenario's numbers come from.

    ``historical``: measured on price history (the scenario's ``source`` says how).
    ``hypothetical``: a judgement parameter set; reports must say so.
    """

    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"


def _no_shocks() -> Mapping[str, float]:
    return MappingProxyType({})


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(name, value, "a finite number")
    return float(value)


def _shocks(name: str, value: object, *, factor: bool = False) -> Mapping[str, float]:
    """Code → number table: relative moves > -1, or factors >= 0 when ``factor``."""
    if not isinstance(value, Mapping):
        raise ValidationError(name, value, "a table code → number")
    out: dict[str, float] = {}
    for key, x in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(name, key, "non-empty codes (BTC, USDT, ...)")
        number = _number(f"{name}.{key}", x)
        if not (number >= 0.0 if factor else number > -1.0):
            raise ValidationError(f"{name}.{key}", x, "a factor >= 0" if factor else "a move > -1")
        out[key] = number
    return MappingProxyType(out)


def _day(name: str, value: str | None) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(name, value, "a date YYYY-MM-DD") from None


def term_vol_multiplier(
    base: float, dte_days: npt.ArrayLike, power: float, cap: float
) -> NDArray[np.float64]:
    """Vol multiplier of each expiry from the base multiplier ``base`` (A.1 term law).

    ``M(DTE) = max(min(1 + (M - 1) (30 / max(DTE, 1))^p, cap), 0.2)``: ``M`` itself at 30
    days, larger moves (up or down) for shorter expiries when ``p > 0``, flat when ``p = 0``.

    Parameters
    ----------
    base
        ``M``, factor >= 0 (1: no change).
    dte_days
        Current days to expiry, any shape.
    power
        ``p`` >= 0.
    cap
        Upper bound of the multiplier, >= 0.2.

    Returns
    -------
    numpy.ndarray of float64
        Multipliers, same shape as ``dte_days``.
    """
    dte = np.maximum(np.asarray(dte_days, dtype=np.float64), 1.0)
    raw = 1.0 + (base - 1.0) * (VOL_TERM_DAYS / dte) ** power
    result: NDArray[np.float64] = np.maximum(np.minimum(raw, cap), VOL_MULT_FLOOR)
    return result


@dataclass(frozen=True, slots=True, kw_only=True)
class StressScenario:
    """One stress scenario (``stress-and-dynamics.md`` A.1).

    Attributes
    ----------
    id
        Identifier, e.g. ``HIST-2020-03-12-1D``.
    label
        Short description for reports.
    kind
        :class:`ScenarioKind`.
    horizon_days
        Days the market moves forward, >= 0: options are repriced at
        ``max(T - horizon / 365, 0)``.
    spot_shock
        Underlying → relative move of every price of it (index, spot, perpetual, every
        forward and future), fraction > -1. An underlying not listed does not move.
    vol_multiplier
        Underlying → base multiplier ``M`` >= 0 of its implied vols (1 where not listed),
        shaped by expiry with :func:`term_vol_multiplier`.
    vol_term_power
        ``p`` of the term law, >= 0 (default 0.3; 0 gives a flat multiplier).
    vol_mult_cap
        Upper bound of any expiry's multiplier, >= 0.2 (default 3.0).
    basis_shock
        Underlying → extra relative move of its futures and perpetuals against the index,
        fraction > -1 (default none).
    collateral_shock
        Currency → relative move of the USD value of balances in it, fraction > -1
        (a stablecoin de-peg; default none).
    source
        How the numbers were obtained: dates, files and definitions for a historical
        scenario, the rationale of a hypothetical one.
    start, end
        Historical scenarios: the window, start close → end close (``YYYY-MM-DD``,
        ``start < end``); hypothetical ones have none.
    """

    id: str
    label: str
    kind: ScenarioKind
    horizon_days: float
    spot_shock: Mapping[str, float]
    vol_multiplier: Mapping[str, float] = field(
        default_factory=_no_shocks, metadata=optional_key("no vol move")
    )
    vol_term_power: float = field(default=0.3, metadata=optional_key("default term law"))
    vol_mult_cap: float = field(default=3.0, metadata=optional_key("default cap"))
    basis_shock: Mapping[str, float] = field(
        default_factory=_no_shocks, metadata=optional_key("no basis move")
    )
    collateral_shock: Mapping[str, float] = field(
        default_factory=_no_shocks, metadata=optional_key("no collateral move")
    )
    source: str
    start: str | None = field(default=None, metadata=optional_key("hypothetical scenarios"))
    end: str | None = field(default=None, metadata=optional_key("hypothetical scenarios"))

    def __post_init__(self) -> None:
        _set = object.__setattr__
        for name in ("id", "label", "source"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValidationError(name, value, "a non-empty string")
            require_non_empty(name, value)
        if not isinstance(self.kind, ScenarioKind):
            try:
                _set(self, "kind", ScenarioKind(self.kind))
            except ValueError:
                allowed = [k.value for k in ScenarioKind]
                raise ValidationError("kind", self.kind, f"one of {allowed}") from None
        horizon = _number("horizon_days", self.horizon_days)
        if horizon < 0:
            raise ValidationError("horizon_days", self.horizon_days, "a number of days >= 0")
        _set(self, "horizon_days", horizon)
        for name in ("spot_shock", "basis_shock", "collateral_shock"):
            _set(self, name, _shocks(name, getattr(self, name)))
        _set(self, "vol_multiplier", _shocks("vol_multiplier", self.vol_multiplier, factor=True))
        power = _number("vol_term_power", self.vol_term_power)
        if power < 0:
            raise ValidationError("vol_term_power", self.vol_term_power, "a number >= 0")
        _set(self, "vol_term_power", power)
        cap = _number("vol_mult_cap", self.vol_mult_cap)
        if cap < VOL_MULT_FLOOR:
            raise ValidationError("vol_mult_cap", self.vol_mult_cap, f">= {VOL_MULT_FLOOR}")
        _set(self, "vol_mult_cap", cap)
        start, end = _day("start", self.start), _day("end", self.end)
        if self.kind is ScenarioKind.HISTORICAL:
            if start is None or end is None:
                missing = "start" if start is None else "end"
                raise ValidationError(missing, None, "the window date of a historical scenario")
            if not start < end:
                raise ValidationError("end", self.end, f"a date after start {self.start}")
        elif start is not None or end is not None:
            raise ValidationError(
                "start" if start is not None else "end",
                self.start if start is not None else self.end,
                "no window for a hypothetical scenario",
            )

    @property
    def underlyings(self) -> tuple[str, ...]:
        """Underlyings the scenario moves in spot, basis or vol, sorted."""
        keys = {*self.spot_shock, *self.basis_shock, *self.vol_multiplier}
        return tuple(sorted(keys))

    def vol_multipliers(self, underlying: str, dte_days: npt.ArrayLike) -> NDArray[np.float64]:
        """Multiplier of the implied vols of ``underlying`` at each days-to-expiry.

        :func:`term_vol_multiplier` of ``vol_multiplier[underlying]`` (1 if not listed:
        then every multiplier is 1) with this scenario's power and cap; same shape as
        ``dte_days``.
        """
        base = self.vol_multiplier.get(underlying, 1.0)
        return term_vol_multiplier(base, dte_days, self.vol_term_power, self.vol_mult_cap)


@dataclass(frozen=True, slots=True, kw_only=True)
class StressLibrary:
    """A versioned set of stress scenarios (a pack ``params/stress/<version>.toml``).

    Attributes
    ----------
    version
        Pack version, e.g. ``"2021-11"``.
    scenarios
        The scenarios, at least one, unique ids, in pack order.
    """

    version: str
    scenarios: tuple[StressScenario, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.version, str):
            raise ValidationError("version", self.version, "a non-empty string")
        require_non_empty("version", self.version)
        scenarios = tuple(self.scenarios)
        if not scenarios:
            raise ValidationError("scenarios", scenarios, "at least one scenario")
        seen: set[str] = set()
        for k, s in enumerate(scenarios):
            if not isinstance(s, StressScenario):
                raise ValidationError(f"scenarios[{k}]", s, "a StressScenario")
            if s.id in seen:
                raise ValidationError(f"scenarios[{k}].id", s.id, "an id not used before")
            seen.add(s.id)
        object.__setattr__(self, "scenarios", scenarios)

    @property
    def ids(self) -> tuple[str, ...]:
        """Scenario ids in pack order."""
        return tuple(s.id for s in self.scenarios)

    def get(self, scenario_id: str) -> StressScenario:
        """The scenario ``scenario_id``.

        Raises
        ------
        ValidationError
            If the library has no such scenario.
        """
        for s in self.scenarios:
            if s.id == scenario_id:
                return s
        raise ValidationError("scenario", scenario_id, f"one of {list(self.ids)}")

    def select(self, ids: Sequence[str]) -> StressLibrary:
        """The library restricted to ``ids`` (in the order given; all if empty).

        Raises
        ------
        ValidationError
            If an id is unknown or repeated.
        """
        if not ids:
            return self
        return StressLibrary(version=self.version, scenarios=tuple(self.get(i) for i in ids))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> StressLibrary:
        """Build from a parsed pack; errors name the full key path
        (``scenarios[3].spot_shock.BTC``)."""
        return config_from_mapping(cls, data)
