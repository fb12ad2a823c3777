"""Unit losses of the margined instruments and the tail of each margined portfolio."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.methods.var._params import Measure
from portmargin.risk import TailRisk, TailSize

__all__ = ["PortfolioTail", "UnitLosses", "tail_values"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class UnitLosses:
    """Unit losses (USD per unit held, > 0 a loss) of the margined columns, shape
    ``(c, s)``: one array, or two for ``worst_of`` (sticky strike, vol beta)."""

    units: tuple[NDArray[np.float64], ...]

    def of(
        self, q: sp.csr_matrix, cols: NDArray[np.intp]
    ) -> tuple[list[NDArray[np.float64]], NDArray[np.float64], NDArray[np.bool_] | None]:
        """Per-array losses ``q @ units[cols]``, the loss used (the larger per scenario) and,
        with two arrays, where the first is used."""
        parts = [np.asarray(q @ u[cols]) for u in self.units]
        if len(parts) == 1:
            return parts, parts[0], None
        first = parts[0] >= parts[1]
        return parts, np.where(first, parts[0], parts[1]), first

    def at(
        self,
        cols: NDArray[np.intp],
        scen: NDArray[np.intp],
        first: NDArray[np.bool_] | None,
    ) -> NDArray[np.float64]:
        """Unit loss of column ``cols`` in scenario ``scen`` (broadcast), from the array the
        portfolio uses there (``first`` picks the first array)."""
        a = self.units[0][cols, scen]
        if first is None:
            return a
        result: NDArray[np.float64] = np.where(first, a, self.units[1][cols, scen])
        return result


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PortfolioTail:
    """A tail and the measure value of one margined portfolio (whole book or one group)."""

    risk: TailRisk
    first: NDArray[np.bool_] | None

    def measure(self, measure: Measure) -> NDArray[np.float64]:
        return self.risk.es if measure is Measure.ES else self.risk.var


def tail_values(
    losses: NDArray[np.float64], size: TailSize
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Equal-weight VaR and ES of each row with the tail of ``size`` (section 5), by
    partition; the rows may hold a subset of the scenarios that contains the tail."""
    top = -np.partition(-losses, size.k, axis=1)[:, : size.k + 1]
    var = top[:, size.k].copy()
    if size.k == 0:
        return var, var.copy()
    return var, (top[:, : size.k].sum(axis=1) + size.f * var) / size.a
