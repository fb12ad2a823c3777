"""Collateral haircut schedules: brackets on USD value, applied like tax brackets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError, optional_key

__all__ = ["CollateralPolicy", "CollateralScope", "HaircutBracket", "HaircutSchedule"]


class CollateralScope(StrEnum):
    """How balances in several currencies make one equity (``lifecycle.md`` §1).

    ``multi``: every currency valued in USD with haircuts, one equity per account.
    ``segregated``: each settlement currency is its own sub-account, no haircuts.
    """

    MULTI = "multi"
    SEGREGATED = "segregated"


@dataclass(frozen=True, slots=True, kw_only=True)
class HaircutBracket:
    """One bracket of a haircut schedule.

    Attributes
    ----------
    from_usd
        Lower bound on the currency's USD value, finite, >= 0.
    to_usd
        Upper bound, USD, ``> from_usd``; ``None`` (key left out) for the open last bracket.
    haircut
        Fraction of the value in the bracket that does not count, ``0 <= haircut < 1``.
    """

    from_usd: float
    haircut: float
    to_usd: float | None = field(default=None, metadata=optional_key("the open last bracket"))

    def __post_init__(self) -> None:
        for name in ("from_usd", "to_usd", "haircut"):
            value = getattr(self, name)
            if value is None and name == "to_usd":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise ValidationError(name, value, "a number")
            object.__setattr__(self, name, float(value))
        if not (math.isfinite(self.from_usd) and self.from_usd >= 0):
            raise ValidationError("from_usd", self.from_usd, "a finite USD amount >= 0")
        if self.to_usd is not None and not (
            math.isfinite(self.to_usd) and self.to_usd > self.from_usd
        ):
            raise ValidationError(
                "to_usd", self.to_usd, f"a finite amount above from_usd {self.from_usd:g}"
            )
        if not 0.0 <= self.haircut < 1.0:
            raise ValidationError("haircut", self.haircut, "a fraction in [0, 1)")

    @property
    def upper(self) -> float:
        """``to_usd``, ``inf`` for the open last bracket."""
        return math.inf if self.to_usd is None else self.to_usd


@dataclass(frozen=True, slots=True, kw_only=True)
class HaircutSchedule:
    """Haircuts of one collateral currency (``lifecycle.md`` §2).

    Attributes
    ----------
    brackets
        Contiguous brackets from 0 USD: the first starts at 0, each starts where the
        previous ends and only the last is open (no ``to_usd``); a gap, an overlap or a
        bounded last bracket is an error.
    borrow_addon
        Add-on on a negative (borrowed) balance, ``adj(v) = v (1 + borrow_addon)`` for
        ``v < 0``; >= 0, default 0.
    borrowing_allowed
        Whether the balance may be negative (borrowed); default true. An account with a
        negative balance of a currency that may not be borrowed cannot be valued.
    pm_haircut
        Haircut replacing the schedule when a portfolio method carries the coin as a
        delta-one position (``collateral_in_risk``), so its price risk is not charged
        twice; in ``[0, 1)``, default 0.
    """

    brackets: tuple[HaircutBracket, ...]
    borrow_addon: float = field(default=0.0, metadata=optional_key("no add-on on borrowing"))
    borrowing_allowed: bool = field(
        default=True, metadata=optional_key("the currency may be borrowed")
    )
    pm_haircut: float = field(
        default=0.0, metadata=optional_key("coin collateral outside the risk model")
    )

    def __post_init__(self) -> None:
        if not self.brackets:
            raise ValidationError("brackets", self.brackets, "at least one bracket from 0 USD")
        edge = 0.0
        for k, bracket in enumerate(self.brackets):
            if not isinstance(bracket, HaircutBracket):
                raise ValidationError(f"brackets[{k}]", bracket, "a HaircutBracket")
            if bracket.from_usd != edge:
                gap = "a gap" if bracket.from_usd > edge else "an overlap"
                raise ValidationError(
                    f"brackets[{k}].from_usd",
                    bracket.from_usd,
                    f"{edge:g}, where the previous bracket ends ({gap} otherwise)",
                )
            last = k == len(self.brackets) - 1
            if (bracket.to_usd is None) != last:
                expected = "left out (the last bracket is open)" if last else "an upper bound"
                raise ValidationError(f"brackets[{k}].to_usd", bracket.to_usd, expected)
            edge = bracket.upper
        if not isinstance(self.borrowing_allowed, bool):
            raise ValidationError("borrowing_allowed", self.borrowing_allowed, "true or false")
        for name in ("borrow_addon", "pm_haircut"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(name, value, "a number")
            object.__setattr__(self, name, float(value))
        if not (math.isfinite(self.borrow_addon) and self.borrow_addon >= 0):
            raise ValidationError("borrow_addon", self.borrow_addon, "a finite fraction >= 0")
        if not 0.0 <= self.pm_haircut < 1.0:
            raise ValidationError("pm_haircut", self.pm_haircut, "a fraction in [0, 1)")

    @classmethod
    def flat(cls, haircut: float) -> HaircutSchedule:
        """One open bracket from 0 USD with ``haircut``."""
        return cls(brackets=(HaircutBracket(from_usd=0.0, haircut=haircut),))

    def adjusted(self, value_usd: NDArray[np.float64]) -> NDArray[np.float64]:
        """Collateral value after haircuts, USD, same shape as ``value_usd`` (USD values).

        Positive values are cut bracket by bracket,
        ``adj(v) = sum_k (1 - h_k) clip(v - from_k, 0, to_k - from_k)``; negative values
        (borrowing) are not cut but carry the add-on, ``adj(v) = v (1 + borrow_addon)``.
        """
        v = np.asarray(value_usd, dtype=np.float64)
        positive = np.maximum(v, 0.0)
        adj = np.zeros_like(v)
        for b in self.brackets:
            width = b.upper - b.from_usd
            adj += (1.0 - b.haircut) * np.clip(positive - b.from_usd, 0.0, width)
        result: NDArray[np.float64] = np.where(v < 0, v * (1.0 + self.borrow_addon), adj)
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class CollateralPolicy:
    """Which currencies count as collateral and with which haircuts.

    Attributes
    ----------
    scope
        :class:`CollateralScope` (``multi`` by default).
    haircuts
        Currency code → :class:`HaircutSchedule`. A balance (or settlement P&L) in a currency
        without a schedule is an error: the currency is not accepted as collateral.
    """

    scope: CollateralScope
    haircuts: Mapping[str, HaircutSchedule]

    def __post_init__(self) -> None:
        if not isinstance(self.scope, CollateralScope):
            try:
                object.__setattr__(self, "scope", CollateralScope(self.scope))
            except ValueError:
                allowed = [s.value for s in CollateralScope]
                raise ValidationError("scope", self.scope, f"one of {allowed}") from None
        if not isinstance(self.haircuts, Mapping) or not self.haircuts:
            raise ValidationError("haircuts", self.haircuts, "a table currency → schedule")
        for code, schedule in self.haircuts.items():
            if not isinstance(schedule, HaircutSchedule):
                raise ValidationError(f"haircuts.{code}", schedule, "a HaircutSchedule")
        object.__setattr__(self, "haircuts", MappingProxyType(dict(self.haircuts)))

    def schedule(self, currency: str) -> HaircutSchedule:
        """The schedule of ``currency``.

        Raises
        ------
        ValidationError
            If ``currency`` is not accepted as collateral.
        """
        try:
            return self.haircuts[currency]
        except KeyError:
            raise ValidationError(
                "collateral currency",
                currency,
                f"a currency with a haircut schedule {sorted(self.haircuts)}",
            ) from None
