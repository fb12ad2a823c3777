"""Methods compared on one cascade: the same shock and market model, a population built per
method (``lifecycle.md`` §9, *Comparing methodologies*)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.lifecycle._cascade import run_cascade
from portmargin.lifecycle._cascade_results import CascadeParams, CascadeResult
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._impact import CascadeMarket
from portmargin.lifecycle._liquidator import Liquidator
from portmargin.lifecycle._population import (
    Population,
    PopulationKind,
    fixed_equity_population,
    max_leverage_population,
)
from portmargin.lifecycle._requirements import Margining
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = ["CascadeComparison", "compare_cascades"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CascadeComparison:
    """One cascade per method, side by side.

    Attributes
    ----------
    population
        How the deposits were set.
    results
        Per method, in the order given.
    population_errors
        Per method: accounts left out of its population (e.g. the method cannot margin them).
    """

    population: PopulationKind
    results: tuple[CascadeResult, ...]
    population_errors: tuple[Mapping[str, str], ...]

    def table(self) -> list[tuple[str, list[Any]]]:
        """Rows ``(metric, [value per method])`` of the §9 metrics."""
        summaries = [r.summary() for r in self.results]
        keys = [k for k in summaries[0] if k != "margining"] if summaries else []
        return [(k, [s[k] for s in summaries]) for k in keys]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "population": self.population.value,
            "methods": [
                {**r.to_dict(), "population_errors": dict(e)}
                for r, e in zip(self.results, self.population_errors, strict=True)
            ],
        }


def compare_cascades(
    positions: Book,
    market: MarketSnapshot,
    methods: Sequence[Margining],
    params: CascadeParams,
    impact: CascadeMarket,
    *,
    population: PopulationKind = PopulationKind.MAX_LEVERAGE,
    cushion: float | NDArray[np.float64] = 1.5,
    deposits: float | NDArray[np.float64] | None = None,
    liquidator: Liquidator | None = None,
) -> CascadeComparison:
    """Run the same shock and market model for each method.

    Parameters
    ----------
    positions
        The population's positions (currency balances are kept only with ``as-is``).
    market
        ``S_0``.
    methods
        Requirement models to compare (each margins its own run).
    params, impact, liquidator
        As :func:`run_cascade`, the same for every method.
    population
        ``max-leverage``: deposit ``cushion × IM_method(S_0)`` per account (USDC);
        ``fixed-equity``: ``deposits`` for every method (default ``cushion × IM`` of the
        first method); ``as-is``: positions and balances as given, settled at ``S_0``.
    cushion
        One value or one per account.
    deposits
        USD per account for ``fixed-equity``.
    """
    if not methods:
        raise ValidationError("methods", [], "at least one margin method")
    populations: list[Population] = []
    if population is PopulationKind.MAX_LEVERAGE:
        populations = [max_leverage_population(positions, market, m, cushion) for m in methods]
    elif population is PopulationKind.FIXED_EQUITY:
        if deposits is None:
            first = max_leverage_population(positions, market, methods[0], cushion)
            kept = first.holdings.accounts
            mask = np.isin(np.array(positions.accounts, dtype=object), np.array(kept, dtype=object))
            common = fixed_equity_population(
                positions.select_accounts(mask), market, first.deposits
            )
            common = Population(
                holdings=common.holdings, deposits=common.deposits, errors=first.errors
            )
        else:
            common = fixed_equity_population(positions, market, deposits)
        populations = [common] * len(methods)
    else:
        as_is = Population(
            holdings=Holdings.settled(positions, market),
            deposits=np.zeros(len(positions.accounts)),
        )
        populations = [as_is] * len(methods)
    results = tuple(
        run_cascade(p.holdings, market, m, params, impact, liquidator)
        for p, m in zip(populations, methods, strict=True)
    )
    return CascadeComparison(
        population=population,
        results=results,
        population_errors=tuple(MappingProxyType(dict(p.errors)) for p in populations),
    )
