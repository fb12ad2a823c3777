"""What a hedge search looks for: objective, measure, target, budget, legs and grid."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from portmargin.analysis._hedge_candidates import CandidateFilter, CostModel
from portmargin.core import ValidationError, require_non_negative, require_positive

__all__ = ["SIZE_FRACTIONS", "HedgeOptions", "Measure", "Objective"]

SIZE_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5)
"""Default grid of trade sizes, as fractions of the account's gross notional (both signs)."""


class Objective(StrEnum):
    """``MIN_MARGIN``: the trade that most reduces margin within the budget. ``TARGET``: the
    cheapest trade that brings margin to or under ``target_usd``."""

    MIN_MARGIN = "min_margin"
    TARGET = "target"


class Measure(StrEnum):
    """Which requirement the search works on: initial (``IM``) or maintenance (``MM``)."""

    IM = "im"
    MM = "mm"


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeOptions:
    """What the hedge search looks for and how finely.

    Attributes
    ----------
    objective
        :class:`Objective`.
    measure
        :class:`Measure` reduced (or brought under the target).
    target_usd
        Margin to reach (USD, >= 0); required with ``Objective.TARGET``, refused otherwise.
    budget_usd
        Largest cost of the trade (all its legs), USD (>= 0); ``None``: no limit.
    max_quantity
        Largest ``|quantity|`` of each leg of the trade, coins (> 0); ``None``: no limit.
    legs
        1: one instrument; 2: the best one-instrument trade, then the best second leg in
        another instrument on top of it (greedy; with ``TARGET``, an account that one leg
        does not bring under the target takes the leg that reduces the measure most and
        the cheapest second leg that does).
    size_fractions
        Grid of trade sizes: each fraction (> 0) of the account's gross notional (USD at the
        index, counted in coins of the candidate's underlying) is tried bought and sold.
    refine_rounds
        Rounds of finer grids around the best sizes (>= 0).
    refine_points
        New sizes tried per refined trade and round (>= 1).
    refine_top
        Candidates refined per account: its best ones on the grid (>= 1).
    candidates
        Filter of the automatic candidates (when none are given).
    costs
        Spreads and fees (:class:`CostModel`).
    max_rows
        Largest number of trade rows margined in one engine run (>= 1).
    """

    objective: Objective = Objective.MIN_MARGIN
    measure: Measure = Measure.IM
    target_usd: float | None = None
    budget_usd: float | None = None
    max_quantity: float | None = None
    legs: int = 1
    size_fractions: tuple[float, ...] = SIZE_FRACTIONS
    refine_rounds: int = 4
    refine_points: int = 6
    refine_top: int = 3
    candidates: CandidateFilter = field(default_factory=CandidateFilter)
    costs: CostModel = field(default_factory=CostModel)
    max_rows: int = 100_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "objective", Objective(self.objective))
        object.__setattr__(self, "measure", Measure(self.measure))
        if (self.target_usd is None) == (self.objective is Objective.TARGET):
            expected = "a number with objective 'target'" if self.target_usd is None else "None"
            raise ValidationError("target_usd", self.target_usd, expected)
        if self.target_usd is not None:
            require_non_negative("target_usd", self.target_usd)
        if self.budget_usd is not None:
            require_non_negative("budget_usd", self.budget_usd)
        if self.max_quantity is not None:
            require_positive("max_quantity", self.max_quantity)
        fractions = tuple(float(f) for f in self.size_fractions)
        if not fractions or not all(math.isfinite(f) and f > 0 for f in fractions):
            raise ValidationError("size_fractions", self.size_fractions, "numbers > 0")
        object.__setattr__(self, "size_fractions", tuple(sorted(set(fractions))))
        if self.legs not in (1, 2) or isinstance(self.legs, bool):
            raise ValidationError("legs", self.legs, "1 or 2")
        for name, least in (("refine_rounds", 0), ("refine_points", 1), ("refine_top", 1)):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= least):
                raise ValidationError(name, value, f"an integer >= {least}")
        if not (isinstance(self.max_rows, int) and self.max_rows >= 1):
            raise ValidationError("max_rows", self.max_rows, "an integer >= 1")
