"""Scenario sets: tables of spot, vol and time shocks keyed by risk factor, as data.

A set is either declared (a tuple of :class:`Scenario`, each moving every underlying alike:
venue grids, SPAN) or built from arrays keyed by underlying (:meth:`ScenarioSet.from_shocks`:
historical, filtered historical and Monte Carlo scenarios, joint across underlyings). Both
forms are held as one :class:`ShockTable`. A table may also mark scenarios whose vols are
tilted by log-moneyness (a :class:`~portmargin.scenarios.SkewShockLaw`) rather than shocked
by the set's :class:`VolShockLaw`, the up-shock states of the vol law, and admit a move of
-100 % for a method that prices a zero forward (Derive PMRM_2's grid,
``portmargin.methods.derive_pm2.pmrm2_scenarios``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from portmargin.core import (
    MarketDataError,
    ValidationError,
    require_finite,
    require_non_empty,
    require_non_negative,
    require_positive,
)
from portmargin.scenarios._skew import SkewShockLaw

__all__ = [
    "EVERY_UNDERLYING",
    "Scenario",
    "ScenarioSet",
    "ShockTable",
    "UpFloor",
    "VolShockLaw",
    "VolShockMode",
]

Names = NDArray[np.object_] | NDArray[np.str_]
"""Underlying names, one per instrument row, shape ``(n,)``."""

EVERY_UNDERLYING = "*"
"""Key of a shock that applies to every underlying without a shock of its own."""


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
    ``long_term_power`` otherwise; ``DTE`` is fractional days to expiry, floored at
    ``dte_floor_days`` before the power is chosen unless ``power_on_floored`` is False.
    :meth:`term_factor_seconds` is the same law on time to expiry in seconds.
    In up-shock scenarios ``min_vol_up`` floors the vol as ``up_floor`` says; afterwards every
    shocked vol is floored at ``min_vol`` (a level, fraction; 0 by default).

    Attributes
    ----------
    short_term_power, long_term_power
        Powers of the law (e.g. 0.30 and 0.13), any sign (a negative power grows the shock
        with the tenor). Both 0 gives a flat shock.
    boundary_days
        Reference tenor, days (30).
    dte_floor_days
        Smallest DTE used in the law, days (1), >= 0; with 0, an instrument at expiry has no
        term factor (:meth:`term_factor` raises).
    short_inclusive
        Whether ``DTE == boundary_days`` uses the short-term power.
    power_on_floored
        Whether the power is chosen on the floored DTE (True) or on the DTE itself (False,
        Derive PMRM_2: with a floor above ``boundary_days`` a short expiry keeps the short-term
        power).
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
    power_on_floored: bool = True
    min_vol_up: float = 0.0
    up_floor: UpFloor = UpFloor.LEVEL
    min_vol: float = 0.0
    mode: VolShockMode = VolShockMode.RELATIVE

    def __post_init__(self) -> None:
        for name in ("short_term_power", "long_term_power"):
            require_finite(name, getattr(self, name))
        for name in ("min_vol_up", "min_vol", "dte_floor_days"):
            require_non_negative(name, getattr(self, name))
        require_positive("boundary_days", self.boundary_days)
        if not isinstance(self.mode, VolShockMode):
            raise ValidationError("mode", self.mode, "a VolShockMode")
        if not isinstance(self.up_floor, UpFloor):
            raise ValidationError("up_floor", self.up_floor, "an UpFloor")
        if self.mode is VolShockMode.ABSOLUTE and self.up_floor is not UpFloor.LEVEL:
            raise ValidationError("up_floor", self.up_floor, "'level' with absolute shocks")

    def term_factor(self, dte_days: NDArray[np.float64]) -> NDArray[np.float64]:
        """Scale of the shock per instrument, shape of ``dte_days`` (dimensionless).

        Raises
        ------
        ValidationError
            If a floored DTE is 0 (``dte_floor_days = 0`` and an instrument at expiry).
        """
        return self._factor(dte_days, self.boundary_days, self.dte_floor_days)

    def term_factor_seconds(self, seconds: NDArray[np.float64]) -> NDArray[np.float64]:
        """:meth:`term_factor` on time to expiry in seconds, shape of ``seconds``.

        ``(boundary_days·86400 / max(t, dte_floor_days·86400)) ** p``: the law as a venue
        contract that counts seconds evaluates it (Derive PMRM_2). Equal in value to
        :meth:`term_factor` of ``t / 86400`` days but rounded once, not twice, so the last
        bits agree with the contract's.
        """
        return self._factor(seconds, self.boundary_days * 86_400.0, self.dte_floor_days * 86_400.0)

    def _factor(self, t: NDArray[np.float64], boundary: float, floor: float) -> NDArray[np.float64]:
        dte = np.maximum(t, floor)
        if np.any(dte <= 0.0):
            raise ValidationError(
                "dte_floor_days", self.dte_floor_days, "> 0 for a book with an expired expiry"
            )
        chosen = dte if self.power_on_floored else t
        short = chosen <= boundary if self.short_inclusive else chosen < boundary
        power = np.where(short, self.short_term_power, self.long_term_power)
        result: NDArray[np.float64] = (boundary / dte) ** power
        return result

    def shocked_vols(
        self,
        sigma: NDArray[np.float64],
        dte_days: NDArray[np.float64],
        vol_shocks: NDArray[np.float64],
        up: NDArray[np.bool_] | None = None,
    ) -> NDArray[np.float64]:
        """Shocked vols, shape ``(n_instruments, n_scenarios)``.

        Parameters
        ----------
        sigma
            Base implied vols, fractions, shape ``(n,)``.
        dte_days
            Days to expiry, shape ``(n,)``.
        vol_shocks
            Signed shock of each scenario, shape ``(s,)`` (every instrument alike) or
            ``(n, s)`` (one row per instrument, e.g. keyed by underlying).
        up
            Scenarios in an up-shock state (where ``min_vol_up`` applies), shape ``(s,)``;
            None: where the shock is > 0 (see :attr:`ShockTable.up_state`).
        """
        return self.shock(sigma, self.term_factor(dte_days), vol_shocks, up)

    def shock(
        self,
        sigma: NDArray[np.float64],
        factor: NDArray[np.float64],
        vol_shocks: NDArray[np.float64],
        up: NDArray[np.bool_] | None = None,
    ) -> NDArray[np.float64]:
        """:meth:`shocked_vols` given each instrument's term factor ``(n,)`` (from
        :meth:`term_factor` or :meth:`term_factor_seconds`)."""
        f = factor[:, None]
        v = vol_shocks if vol_shocks.ndim == 2 else vol_shocks[None, :]
        base = sigma[:, None]
        up = v > 0 if up is None else np.broadcast_to(up, v.shape)
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


def _readonly(values: npt.ArrayLike, field_name: str, size: int) -> NDArray[np.float64]:
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(field_name, values, f"{size} numbers") from None
    if array.ndim == 0:
        array = np.full(size, float(array))
    if array.shape != (size,):
        raise ValidationError(field_name, f"shape {array.shape}", f"shape ({size},)")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValidationError(f"{field_name}[{bad}]", float(array[bad]), "a finite number")
    array.flags.writeable = False
    return array


def _keyed(
    field_name: str, shocks: Mapping[str, npt.ArrayLike], size: int
) -> Mapping[str, NDArray[np.float64]]:
    if not isinstance(shocks, Mapping):
        raise ValidationError(field_name, shocks, "a mapping underlying -> shocks")
    table: dict[str, NDArray[np.float64]] = {}
    for key in sorted(shocks):
        require_non_empty(f"{field_name} key", key)
        table[key] = _readonly(shocks[key], f"{field_name}[{key!r}]", size)
    return MappingProxyType(table)


def _empty_keyed() -> Mapping[str, NDArray[np.float64]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ShockTable:
    """Shocks of ``s`` scenarios keyed by risk factor.

    Attributes
    ----------
    labels
        Unique scenario labels, ``(s,)`` strings (a grid name, a date, a path number).
    spot
        Underlying (``"BTC"``) or :data:`EVERY_UNDERLYING` → relative move of the index and
        every forward, perpetual and spot price of that underlying, shape ``(s,)``, > -1:
        ``P' = P (1 + m)``.
    vol
        Underlying or :data:`EVERY_UNDERLYING` → signed vol shock, shape ``(s,)``, read by the
        set's :class:`VolShockLaw`; an underlying without a key has no vol shock.
    delta_one
        Underlying or :data:`EVERY_UNDERLYING` → relative move applied to futures,
        perpetuals and spot instead of ``spot`` (a clamped delta-one move, e.g. Deribit's
        extended table); an underlying without a key uses its ``spot`` move.
    weight
        Multiplier of each scenario's P&L before the worst loss is taken (tail scenarios are
        weighted < 1; :func:`portmargin.risk.worst_loss` scales gains and losses alike),
        ``(s,)``, >= 0.
    time_shift_days
        Days each scenario ages the market, ``(s,)``, >= 0.
    up_state
        Scenarios in an up-shock vol state, where the vol law's ``min_vol_up`` applies,
        ``(s,)`` booleans; None: where the vol shock is > 0. Given when an up state floors
        vols even with a zero shock (Derive PMRM_2 with ``vol_range_up = 0``).
    skew
        Index into the set's ``skew_laws`` of each scenario whose vols are tilted by
        log-moneyness instead of shocked by the vol law, ``(s,)``, -1 for none; None: no skew
        scenario.
    zero_price
        Whether a move of -1 (prices to 0) is admitted: only for a method whose pricing
        defines a zero forward (Derive PMRM_2's spot multiplier ``s = 0``: a call is worth 0
        and a put ``K·D``); otherwise moves are > -1.
    """

    labels: tuple[str, ...]
    spot: Mapping[str, NDArray[np.float64]]
    vol: Mapping[str, NDArray[np.float64]] = field(default_factory=_empty_keyed)
    delta_one: Mapping[str, NDArray[np.float64]] = field(default_factory=_empty_keyed)
    weight: NDArray[np.float64] | None = None
    time_shift_days: NDArray[np.float64] | float = 0.0
    up_state: NDArray[np.bool_] | None = None
    skew: NDArray[np.intp] | None = None
    zero_price: bool = False

    def __post_init__(self) -> None:
        labels = tuple(self.labels)
        if not labels or not all(isinstance(x, str) and x for x in labels):
            raise ValidationError("labels", self.labels, "a non-empty sequence of labels")
        if len(set(labels)) != len(labels):
            unique, counts = np.unique(np.array(labels, dtype=object), return_counts=True)
            raise ValidationError("labels", unique[counts > 1][0], "unique scenario labels")
        size = len(labels)
        object.__setattr__(self, "labels", labels)
        for name in ("spot", "vol", "delta_one"):
            object.__setattr__(self, name, _keyed(name, getattr(self, name), size))
        if not self.spot:
            raise ValidationError("spot", {}, "a shock for at least one underlying")
        if not isinstance(self.zero_price, bool):
            raise ValidationError("zero_price", self.zero_price, "True or False")
        for name in ("spot", "delta_one"):
            for key, moves in getattr(self, name).items():
                low = moves < -1 if self.zero_price else moves <= -1
                if low.any():
                    bad = int(np.flatnonzero(low)[0])
                    raise ValidationError(
                        f"{name}[{key!r}] of scenario {labels[bad]!r}",
                        float(moves[bad]),
                        ">= -1" if self.zero_price else "> -1",
                    )
        if self.up_state is not None:
            up = np.array(self.up_state, dtype=np.bool_)
            if up.shape != (size,):
                raise ValidationError("up_state", f"shape {up.shape}", f"shape ({size},)")
            up.flags.writeable = False
            object.__setattr__(self, "up_state", up)
        if self.skew is not None:
            skew = np.array(self.skew)
            if skew.shape != (size,) or skew.dtype.kind not in "iu" or (skew < -1).any():
                raise ValidationError("skew", self.skew, f"{size} indices >= -1")
            skew = skew.astype(np.intp)
            skew.flags.writeable = False
            object.__setattr__(self, "skew", skew)
        weight = 1.0 if self.weight is None else self.weight
        for name, values in (("weight", weight), ("time_shift_days", self.time_shift_days)):
            array = _readonly(values, name, size)
            if (array < 0).any():
                bad = int(np.flatnonzero(array < 0)[0])
                raise ValidationError(f"{name} of scenario {labels[bad]!r}", array[bad], ">= 0")
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return len(self.labels)


def _rows(
    shocks: Mapping[str, NDArray[np.float64]],
    underlyings: Names,
    size: int,
    missing: str,
) -> NDArray[np.float64]:
    """``(n, s)`` shocks of each row's underlying; ``missing``: raise, zero or spot."""
    keys, inverse = np.unique(np.asarray(underlyings, dtype=object), return_inverse=True)
    per_key = np.zeros((keys.size, size))
    for k, key in enumerate(keys.tolist()):
        moves = shocks.get(key, shocks.get(EVERY_UNDERLYING))
        if moves is not None:
            per_key[k] = moves
        elif missing == "raise":
            raise MarketDataError(f"the scenario set has no spot shock for underlying {key}")
    return per_key[inverse.reshape(-1)]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScenarioSet:
    """A named scenario set: a :class:`ShockTable` and the vol-shock law it shares.

    Declared form: ``ScenarioSet(name=..., scenarios=(Scenario(...), ...), vol_law=...)``;
    every shock then applies to every underlying (key :data:`EVERY_UNDERLYING`). Keyed form:
    :meth:`from_shocks` (or ``shocks=ShockTable(...)``), joint across underlyings.

    Attributes
    ----------
    name
        Name of the set (e.g. ``"deribit-pm BTC standard"``).
    scenarios
        The declared scenarios, in result order (empty for a keyed set).
    vol_law
        How vol shocks scale with time to expiry and are floored.
    shocks
        The shock table (built from ``scenarios`` for a declared set).
    skew_laws
        The skew laws the table's ``skew`` indices refer to (empty: no skew scenario).
    """

    name: str
    scenarios: tuple[Scenario, ...] = ()
    vol_law: VolShockLaw = VolShockLaw()
    shocks: ShockTable | None = None
    skew_laws: tuple[SkewShockLaw, ...] = ()

    def __post_init__(self) -> None:
        require_non_empty("name", self.name)
        scenarios = tuple(self.scenarios)
        if not all(isinstance(s, Scenario) for s in scenarios):
            raise ValidationError("scenarios", self.scenarios, "a tuple of Scenario")
        if bool(scenarios) == (self.shocks is not None):
            raise ValidationError(
                "scenarios",
                self.scenarios,
                "a non-empty tuple of Scenario, or a shock table instead (not both)",
            )
        if not isinstance(self.vol_law, VolShockLaw):
            raise ValidationError("vol_law", self.vol_law, "a VolShockLaw")
        object.__setattr__(self, "scenarios", scenarios)
        if self.shocks is None:
            every = EVERY_UNDERLYING
            clamped = any(s.delta_one_shock is not None for s in scenarios)
            table = ShockTable(
                labels=tuple(s.label for s in scenarios),
                spot={every: np.array([s.spot_shock for s in scenarios])},
                vol={every: np.array([s.vol_shock for s in scenarios])},
                delta_one=(
                    {every: np.array([s.effective_delta_one_shock for s in scenarios])}
                    if clamped
                    else {}
                ),
                weight=np.array([s.weight for s in scenarios]),
                time_shift_days=np.array([s.time_shift_days for s in scenarios]),
            )
            object.__setattr__(self, "shocks", table)
        elif not isinstance(self.shocks, ShockTable):
            raise ValidationError("shocks", self.shocks, "a ShockTable")
        laws = tuple(self.skew_laws)
        if not all(isinstance(law, SkewShockLaw) for law in laws):
            raise ValidationError("skew_laws", self.skew_laws, "a tuple of SkewShockLaw")
        object.__setattr__(self, "skew_laws", laws)
        skew = self.table.skew
        if skew is not None and (skew >= len(laws)).any():
            bad = int(np.flatnonzero(skew >= len(laws))[0])
            raise ValidationError(
                f"skew of scenario {self.table.labels[bad]!r}",
                int(skew[bad]),
                f"-1 or an index of the {len(laws)} skew laws",
            )

    @classmethod
    def from_shocks(
        cls,
        *,
        name: str,
        labels: Sequence[str],
        spot: Mapping[str, npt.ArrayLike],
        vol: Mapping[str, npt.ArrayLike] | None = None,
        weight: npt.ArrayLike | None = None,
        time_shift_days: npt.ArrayLike = 0.0,
        vol_law: VolShockLaw = VolShockLaw(),
    ) -> ScenarioSet:
        """A keyed set from arrays of shape ``(s,)`` (see :class:`ShockTable` for units)."""
        for field_name, shocks in (("spot", spot), ("vol", vol or {})):
            if not isinstance(shocks, Mapping):
                raise ValidationError(field_name, shocks, "a mapping underlying -> shocks")
        size = len(labels)
        table = ShockTable(
            labels=tuple(labels),
            spot={k: _readonly(v, f"spot[{k!r}]", size) for k, v in spot.items()},
            vol={k: _readonly(v, f"vol[{k!r}]", size) for k, v in (vol or {}).items()},
            weight=None if weight is None else np.asarray(weight, dtype=np.float64),
            time_shift_days=np.asarray(time_shift_days, dtype=np.float64),
        )
        return cls(name=name, vol_law=vol_law, shocks=table)

    @property
    def table(self) -> ShockTable:
        """The shock table (never ``None`` after construction)."""
        assert self.shocks is not None  # set in __post_init__
        return self.shocks

    def __len__(self) -> int:
        return len(self.table)

    @property
    def labels(self) -> tuple[str, ...]:
        """Scenario labels in order."""
        return self.table.labels

    @property
    def underlyings(self) -> tuple[str, ...]:
        """Keys of the spot shocks, sorted (``("*",)`` for a declared set)."""
        return tuple(self.table.spot)

    def column(self, name: str) -> NDArray[np.float64]:
        """One scenario attribute as an array of shape ``(n_scenarios,)``.

        ``weight`` and ``time_shift_days`` of any set; ``spot_shock``, ``vol_shock`` and
        ``delta_one_shock`` (the effective value) only of a set whose shocks apply to every
        underlying alike (use :meth:`spot_shocks` for a keyed set).
        """
        table = self.table
        if name in ("weight", "time_shift_days"):
            value: NDArray[np.float64] = getattr(table, name)
            return value
        if name not in ("spot_shock", "vol_shock", "delta_one_shock"):
            raise ValidationError("column", name, "a Scenario attribute")
        if self.underlyings != (EVERY_UNDERLYING,):
            raise ValidationError(
                "column", name, f"a set with one shock for every underlying, not {self.name!r}"
            )
        every = np.array([EVERY_UNDERLYING], dtype=object)
        rows = {
            "spot_shock": self.spot_shocks,
            "vol_shock": self.vol_shocks,
            "delta_one_shock": self.delta_one_shocks,
        }[name](every)
        result: NDArray[np.float64] = rows[0]
        return result

    def spot_shocks(self, underlyings: Names) -> NDArray[np.float64]:
        """Relative move of each row's underlying, shape ``(n, s)`` for ``(n,)`` names.

        Raises
        ------
        MarketDataError
            If an underlying has no shock and the set has no :data:`EVERY_UNDERLYING` key.
        """
        return _rows(self.table.spot, underlyings, len(self), "raise")

    def vol_shocks(self, underlyings: Names) -> NDArray[np.float64]:
        """Vol shock of each row's underlying, shape ``(n, s)`` (0 where none is given)."""
        return _rows(self.table.vol, underlyings, len(self), "zero")

    def delta_one_shocks(self, underlyings: Names) -> NDArray[np.float64]:
        """Move of delta-one rows of each underlying, shape ``(n, s)`` (the spot move where
        no clamped move is given)."""
        spot = self.spot_shocks(underlyings)
        if not self.table.delta_one:
            return spot
        keys = np.asarray(underlyings, dtype=object)
        every = self.table.delta_one.get(EVERY_UNDERLYING)
        given = np.array([k in self.table.delta_one or every is not None for k in keys.tolist()])
        clamped = _rows(self.table.delta_one, keys, len(self), "zero")
        result: NDArray[np.float64] = np.where(given[:, None], clamped, spot)
        return result

    @classmethod
    def concat(cls, name: str, parts: Sequence[ScenarioSet]) -> ScenarioSet:
        """Join declared sets that share one vol law, keeping their order."""
        if not parts:
            raise ValidationError("parts", parts, "at least one ScenarioSet")
        law = parts[0].vol_law
        if any(p.vol_law != law for p in parts):
            raise ValidationError("parts", [p.name for p in parts], "sets with one vol law")
        if any(not p.scenarios for p in parts):
            raise ValidationError("parts", [p.name for p in parts], "declared scenario sets")
        return cls(name=name, scenarios=tuple(s for p in parts for s in p.scenarios), vol_law=law)
