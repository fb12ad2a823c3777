"""Standard deviation of daily moves from the daily closes a market carries (EWMA, λ = 0.94)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.core import PortmarginError
from portmargin.lifecycle._impact import ewma_daily_vol
from portmargin.market import MarketSnapshot
from portmargin.scenarios import EWMA_LAMBDA

__all__ = ["DailyVolatility", "daily_volatility"]

_MS_PER_DAY = 86_400_000


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DailyVolatility:
    """Daily volatility of each underlying, with where it came from.

    Attributes
    ----------
    underlyings
        Underlyings, shape ``(k,)``.
    sigma
        Standard deviation of daily log returns (fraction per day, e.g. 0.03 = 3 %), the
        EWMA forecast after the last return up to ``as_of``, shape ``(k,)``; NaN where it
        could not be estimated (``source`` says why).
    as_of
        Last return end date used (``YYYY-MM-DD``): the valuation day of the market, or the
        last day of its history if that ends earlier; ``""`` without history.
    source
        One line naming the data and the estimator, or why there is no estimate.
    """

    underlyings: tuple[str, ...]
    sigma: NDArray[np.float64]
    as_of: str
    source: str


def daily_volatility(market: MarketSnapshot, underlyings: Sequence[str]) -> DailyVolatility:
    """EWMA daily volatility of ``underlyings`` from ``market.history`` (``var-margin.md`` §3.3).

    ``s_1 = mean(r_1^2, ..., r_30^2)``, ``s_{t+1} = 0.94 s_t + 0.06 r_t^2`` over the daily log
    returns of each underlying from the first of its history up to the market's valuation
    day (UTC; a return ending on that day is used), or the history's last day if earlier;
    ``sigma = sqrt(s)`` after the last of them. An underlying without history or with fewer
    than 30 returns gets NaN.
    """
    names = tuple(underlyings)
    history = market.history
    if history is None:
        return DailyVolatility(
            underlyings=names,
            sigma=np.full(len(names), np.nan),
            as_of="",
            source="no daily history with the market: no distance in standard deviations",
        )
    day = np.datetime64(market.valuation_ms // _MS_PER_DAY, "D")
    as_of = min(day, history.dates[-1]) if history.dates.size else day
    sigma = np.full(len(names), np.nan)
    notes: list[str] = []
    for j, u in enumerate(names):
        if u not in history.underlyings:
            notes.append(f"{u}: no history")
            continue
        try:
            sigma[j] = ewma_daily_vol(history, u, as_of)
        except PortmarginError as exc:
            notes.append(f"{u}: {exc}")
    text = (
        f"EWMA (lambda {EWMA_LAMBDA}) of daily log returns of the market's daily closes "
        f"up to {as_of}"
    )
    if notes:
        text += "; " + "; ".join(notes)
    return DailyVolatility(underlyings=names, sigma=sigma, as_of=str(as_of), source=text)
