"""Declared scenarios: spot, vol and time shocks applied to a market, as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from portmargin.core import (
    ValidationError,
    require_finite,
    require_non_empty,
    require_non_negative,
    require_positive,
)

__all__ = ["Scenario", "ScenarioSet", "UpFloor", "VolShockLaw", "VolShockMode"]


class VolShockMode(StrEnum):
    """How a scenario's ``vol_shock`` moves implied vol.

    ``RELATIVE``: ``sigma' = sigma * (1 + vol_shock * term_factor)``.
    ``ABSOLUTE``: ``sigma' = sigma + vol_shock * term_factor`` (vol points as fractions).
    """

    RELATIVE = "relative"
    ABSOLUTE = "absolute"


class UpFloor(StrEnum):
    """Where ``min_vol_up`` applies in scenarios with ``vol_shock > 0`` (relative mode).

    ``LEVEL``: on the shocked vol, ``max(sigma (1 + v f), min_vol_up)`` (Deribit, Derive).
    ``SHOCK``: on the shock term, ``sigma (1 + max(v f, min_vol_up))`` (a Paradex reading).
    ``BASE``: on the vol before the shock, ``max(sigma, min_vol_up) (1 + v f)``.
    """

    LEVEL = "level"
    SHOCK = "shock"
    BASE = "base"


@dataclass(frozen=True, slots=True, kw_only=True)
class VolShockLaw:
    """Term-structure law that scales a vol shock by time to expiry.

    ``term_factor = (boundary_days / max(DTE, dte_floor_days)) ** p`` with
    ``p = short_term_power`` when ``DTE < boundary_days`` (``<=`` if ``short_inclusive``) and
    ``long_term_power`` otherwise; ``DTE`` is fractional days to expiry.
    In up-shock scenarios ``min_vol_up`` floors the vol as ``up_floor`` says; afterwards every
    shocked vol is floored at ``min_vol`` (a level, fraction; 0 by default).

    Attributes
    ----------
    short_term_power, long_term_power
        Powers of the law (e.g. 0.30 and 0.13). Both 0 gives a flat shock.
    boundary_days
        Reference tenor, days (30).
    dte_floor_days
        Smallest DTE used in the law, days (1).
    short_inclusive
        Whether ``DTE == boundary_days`` uses the short-term power.
    min_vol_up
        Floor used in scenarios with ``vol_shock > 0`` (fraction); 0 disables it.
    up_floor
        What ``min_vol_up`` floors (see :class:`UpFloor`); only ``LEVEL`` with absolute shocks.
    min_vol
        Floor of every shocked vol, including unchanged and down states (fraction, >= 0).
    mode
        Relative or absolute shocks.
    """

    short_term_power: float = 0.0
    long_term_power: float = 0.0
    boundary_days: float = 30.0
    dte_floor_days: float = 1.0
    short_inclusive: bool = False
    min_vol_up: float = 0.0
    up_floor: UpFloor = UpFloor.LEVEL
    min_vol: float = 0.0
    mode: VolShockMode = VolShockMode.RELATIVE

    def __post_init__(self) -> None:
        for name in ("short_term_power", "long_term_power", "min_vol_up", "min_vol"):
            require_non_negative(name, getattr(self, name))
        require_positive("boundary_days", self.boundary_days)
        require_positive("dte_floor_days", self.dte_floor_days)
        if not isinstance(self.mode, VolShockMode):
            raise ValidationError("mode", self.mode, "a VolShockMode")
        if not isinstance(self.up_floor, UpFloor):
            raise ValidationError("up_floor", self.up_floor, "an UpFloor")
        if self.mode is VolShockMode.ABSOLUTE and self.up_floor is not UpFloor.LEVEL:
            raise ValidationError("up_floor", self.up_floor, "'level' with absolute shocks")

    def term_factor(self, dte_days: NDArray[np.float64]) -> NDArray[np.float64]:
        """Scale of the shock per instrument, shape of ``dte_days`` (dimensionless)."""
        dte = np.maximum(dte_days, self.dte_floor_days)
        short = dte <= self.boundary_days if self.short_inclusive else dte < self.boundary_days
        power = np.where(short, self.short_term_power, self.long_term_power)
        result: NDArray[np.float64] = (self.boundary_days / dte) ** power
        return result

    def shocked_vols(
        self,
        sigma: NDArray[np.float64],
        dte_days: NDArray[np.float64],
        vol_shocks: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """Shocked vols, shape ``(n_instruments, n_scenarios)``.

        Parameters
        ----------
        sigma
            Base implied vols, fractions, shape ``(n,)``.
        dte_days
            Days to expiry, shape ``(n,)``.
        vol_shocks
            Signed shock of each scenario, shape ``(s,)``.
        """
        f = self.term_factor(dte_days)[:, None]
        v = vol_shocks[None, :]
        base = sigma[:, None]
        up = v > 0
        floor = self.min_vol_up
        if self.mode is VolShockMode.ABSOLUTE:
            shocked = base + v * f
        elif floor > 0 and self.up_floor is UpFloor.SHOCK:
            shocked = base * (1.0 + np.where(up, np.maximum(v * f, floor), v * f))
        elif floor > 0 and self.up_floor is UpFloor.BASE:
            shocked = np.where(up, np.maximum(base, floor), base) * (1.0 + v * f)
        else:
            shocked = base * (1.0 + v * f)
        if floor > 0 and self.up_floor is UpFloor.LEVEL:
            shocked = np.where(up, np.maximum(shocked, floor), shocked)
        result: NDArray[np.float64] = np.maximum(shocked, self.min_vol)
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One declared market move.

    Attributes
    ----------
    label
        Unique name shown in results (e.g. ``"-16% vol up"``).
    spot_shock
        Relative move of every index and forward of the underlying, > -1 (``-0.16``).
    vol_shock
        Signed vol shock, interpreted by the set's :class:`VolShockLaw` (``+0.5``).
    delta_one_shock
        Relative move applied to futures, perpetuals and spot; defaults to ``spot_shock``.
        Lets a method clamp delta-one moves (Deribit's extended table) while options see the
        full move.
    weight
        Multiplier of the scenario's loss (tail scenarios are weighted < 1), >= 0.
    time_shift_days
        Days the market is aged (options lose time value), >= 0.
    """

    label: str
    spot_shock: float = 0.0
    vol_shock: float = 0.0
    delta_one_shock: float | None = None
    weight: float = 1.0
    time_shift_days: float = 0.0

    def __post_init__(self) -> None:
        require_non_empty("label", self.label)
        for name in ("spot_shock", "vol_shock", "weight", "time_shift_days"):
            require_finite(f"{name} of scenario {self.label!r}", getattr(self, name))
        if self.spot_shock <= -1:
            raise ValidationError(f"spot_shock of {self.label!r}", self.spot_shock, "> -1")
        if self.delta_one_shock is not None:
            d1 = require_finite(f"delta_one_shock of {self.label!r}", self.delta_one_shock)
            if d1 <= -1:
                raise ValidationError(f"delta_one_shock of {self.label!r}", d1, "> -1")
        if self.weight < 0 or self.time_shift_days < 0:
            raise ValidationError(
                f"weight/time_shift_days of {self.label!r}",
                (self.weight, self.time_shift_days),
                "values >= 0",
            )

    @property
    def effective_delta_one_shock(self) -> float:
        """The move applied to delta-one instruments."""
        return self.spot_shock if self.delta_one_shock is None else self.delta_one_shock


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSet:
    """An ordered, named set of scenarios with the vol-shock law they share.

    Attributes
    ----------
    name
        Name of the set (e.g. ``"deribit-pm BTC standard"``).
    scenarios
        The scenarios, in result order; labels are unique.
    vol_law
        How vol shocks scale with time to expiry.
    """

    name: str
    scenarios: tuple[Scenario, ...]
    vol_law: VolShockLaw = VolShockLaw()

    def __post_init__(self) -> None:
        require_non_empty("name", self.name)
        scenarios = tuple(self.scenarios)
        if not scenarios or not all(isinstance(s, Scenario) for s in scenarios):
            raise ValidationError("scenarios", self.scenarios, "a non-empty tuple of Scenario")
        labels = [s.label for s in scenarios]
        if len(set(labels)) != len(labels):
            raise ValidationError("scenarios", labels, "unique scenario labels")
        object.__setattr__(self, "scenarios", scenarios)

    def __len__(self) -> int:
        return len(self.scenarios)

    @property
    def labels(self) -> tuple[str, ...]:
        """Scenario labels in order."""
        return tuple(s.label for s in self.scenarios)

    def column(self, name: str) -> NDArray[np.float64]:
        """One scenario attribute as an array of shape ``(n_scenarios,)``.

        ``name`` is ``spot_shock``, ``vol_shock``, ``weight``, ``time_shift_days`` or
        ``delta_one_shock`` (the effective value).
        """
        if name == "delta_one_shock":
            return np.array([s.effective_delta_one_shock for s in self.scenarios])
        if name not in ("spot_shock", "vol_shock", "weight", "time_shift_days"):
            raise ValidationError("column", name, "a Scenario attribute")
        return np.array([getattr(s, name) for s in self.scenarios], dtype=np.float64)

    @classmethod
    def concat(cls, name: str, parts: Sequence[ScenarioSet]) -> ScenarioSet:
        """Join sets that share one vol law, keeping their order."""
        if not parts:
            raise ValidationError("parts", parts, "at least one ScenarioSet")
        law = parts[0].vol_law
        if any(p.vol_law != law for p in parts):
            raise ValidationError("parts", [p.name for p in parts], "sets with one vol law")
        return cls(name=name, scenarios=tuple(s for p in parts for s in p.scenarios), vol_law=law)
