"""Scenario sets of the ``var`` method: HS/FHS returns from daily history, keyed by underlying."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from portmargin.core import MarketDataError, ValidationError
from portmargin.market import PriceHistory, Proxy, ReturnWindow
from portmargin.methods.var._params import Generator, VarParams, VolModel
from portmargin.risk import InstrumentTable, build_risk_array
from portmargin.scenarios import (
    HistoricalScenarios,
    Scenario,
    ScenarioSet,
    VolShockLaw,
    VolShockMode,
    ewma_variance,
    fhs_scenarios,
    hs_scenarios,
)

__all__ = [
    "MC_UNAVAILABLE",
    "Revaluation",
    "current_sigma",
    "historical_scenarios",
    "revalue",
    "scenario_sets",
]

MC_UNAVAILABLE = (
    "'hs' or 'fhs' (Monte Carlo scenarios, method = 'mc', are not available in this build)"
)


def historical_scenarios(
    history: PriceHistory, underlyings: Sequence[str], as_of: date, params: VarParams
) -> tuple[HistoricalScenarios, ReturnWindow]:
    """Joint h-day scenarios over ``underlyings`` from ``history`` (sections 3.1-3.3).

    The window holds the last ``lookback_days`` dates up to ``as_of`` on which every
    underlying has a daily return (after its ``history_start``; proxies fill the dates before
    an underlying's own history).

    Raises
    ------
    ValidationError
        ``method = "mc"`` (not available in this build), FHS over proxied returns.
    MarketDataError
        No joint return, or too few returns for the EWMA seed or one h-day window.
    """
    if params.method is Generator.MC:
        raise ValidationError("method", params.method.value, MC_UNAVAILABLE)
    names = tuple(underlyings)
    window = history.joint_returns(
        names,
        as_of=as_of,
        lookback_days=params.lookback_days,
        history_start={u: d for u, d in params.history_start.items() if u in history.underlyings},
        proxies={
            u: Proxy(underlying=p.underlying, beta=p.beta)
            for u, p in params.proxies.items()
            if u in names
        },
    )
    if params.method is Generator.HS:
        hist = hs_scenarios(
            window,
            horizon_days=params.holding_period_days,
            overlapping=params.overlapping,
            sqrt_time_scaling=params.sqrt_time_scaling,
        )
        return hist, window
    hist = fhs_scenarios(
        history,
        window,
        horizon_days=params.holding_period_days,
        overlapping=params.overlapping,
        sqrt_time_scaling=params.sqrt_time_scaling,
        ewma_lambda=params.ewma_lambda,
        ewma_seed_returns=params.ewma_seed_returns,
    )
    return hist, window


def scenario_sets(
    hist: HistoricalScenarios, params: VarParams
) -> dict[str, tuple[ScenarioSet, ...]]:
    """Per underlying, the scenario sets its instruments are revalued under (section 4).

    Every set of underlying ``u`` has one scenario per row of ``hist``, labelled by its end
    date, moving every price of ``u`` to ``P exp(R_u)`` and ageing options by ``h`` days; the
    sets of different underlyings share their labels (the scenarios are joint).
    ``sticky_strike``: one set, vols unchanged. ``vol_beta``: one set, vols
    ``max(sigma + vol_beta R_u, min_vol)``. ``worst_of``: both, sticky strike first.
    """
    labels = [str(d) for d in hist.end_dates]
    moves = hist.shocks
    h = float(hist.horizon_days)
    out: dict[str, tuple[ScenarioSet, ...]] = {}
    for j, u in enumerate(hist.underlyings):
        name = f"var {hist.method} {hist.horizon_days}d {u}"
        sticky = ScenarioSet(
            name=f"{name} sticky strike",
            scenarios=tuple(
                Scenario(label=lab, spot_shock=float(m), time_shift_days=h)
                for lab, m in zip(labels, moves[:, j].tolist(), strict=True)
            ),
        )
        beta = ScenarioSet(
            name=f"{name} vol beta {params.vol_beta:g}",
            scenarios=tuple(
                Scenario(label=lab, spot_shock=float(m), vol_shock=v, time_shift_days=h)
                for lab, m, v in zip(
                    labels,
                    moves[:, j].tolist(),
                    (params.vol_beta * hist.log_returns[:, j]).tolist(),
                    strict=True,
                )
            ),
            vol_law=VolShockLaw(mode=VolShockMode.ABSOLUTE, min_vol=params.min_vol),
        )
        if params.vol_model is VolModel.STICKY_STRIKE:
            out[u] = (sticky,)
        elif params.vol_model is VolModel.VOL_BETA:
            out[u] = (beta,)
        else:
            out[u] = (sticky, beta)
    return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Revaluation:
    """Every instrument of a table fully revalued under the joint scenarios.

    Attributes
    ----------
    labels
        Scenario labels (end dates), shape ``(s,)``.
    units
        Loss per unit held in USD (> 0 a loss), shape ``(n, s)``: one array, or two for
        ``worst_of`` (sticky strike, then vol beta).
    delta
        Coin delta of one unit, shape ``(n,)`` (``RiskArray.delta``).
    coin_settled
        Rows settled in their own coin, shape ``(n,)``.
    """

    labels: tuple[str, ...]
    units: tuple[NDArray[np.float64], ...]
    delta: NDArray[np.float64]
    coin_settled: NDArray[np.bool_]


def revalue(table: InstrumentTable, hist: HistoricalScenarios, params: VarParams) -> Revaluation:
    """Risk arrays of ``table`` under ``hist`` (each underlying's rows under its own sets of
    :func:`scenario_sets`), as USD unit losses.

    Raises
    ------
    MarketDataError
        A row's underlying is not in ``hist``.
    """
    sets = scenario_sets(hist, params)
    n, s = len(table), hist.n_scenarios
    count = 2 if params.vol_model is VolModel.WORST_OF else 1
    units = tuple(np.empty((n, s)) for _ in range(count))
    delta = np.empty(n)
    coin = np.empty(n, dtype=bool)
    for u in sorted({str(x) for x in table.underlying}):
        if u not in sets:
            raise MarketDataError(f"no scenarios for {u!r}; scenarios cover {list(sets)}")
        rows = np.flatnonzero(table.underlying == u).astype(np.intp)
        part = table.take(rows)
        for k, scenario_set in enumerate(sets[u]):
            risk = build_risk_array(part, scenario_set)
            units[k][rows] = -risk.pnl_usd()
            delta[rows] = risk.delta
            coin[rows] = risk.coin_settled
    return Revaluation(
        labels=tuple(str(d) for d in hist.end_dates), units=units, delta=delta, coin_settled=coin
    )


def current_sigma(
    history: PriceHistory, underlyings: Sequence[str], as_of: date, params: VarParams
) -> NDArray[np.float64]:
    """Daily EWMA volatility forecast made at the last close up to ``as_of`` (``sigma_now`` of
    section 3.3), per underlying, shape ``(len(underlyings),)``: the EWMA runs over every
    daily return of the history (``history_start`` does not cut it)."""
    returns = history.log_returns()
    cut = np.datetime64(as_of, "D")
    out = np.empty(len(underlyings))
    for j, u in enumerate(underlyings):
        col = returns[:, history.column(u)]
        own = col[np.isfinite(col) & (history.dates <= cut)]
        var = ewma_variance(
            own, ewma_lambda=params.ewma_lambda, seed_returns=params.ewma_seed_returns
        )
        out[j] = float(np.sqrt(var[-1]))
    return out
