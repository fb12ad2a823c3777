"""Scenario sets of the ``var`` method: HS/FHS returns from daily history, keyed by underlying."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.market import PriceHistory, Proxy, ReturnWindow
from portmargin.methods.var._params import Generator, RevaluationName, VarParams, VolModel
from portmargin.risk import (
    BLACK76,
    Black76Model,
    InstrumentTable,
    MertonJumps,
    MertonModel,
    build_risk_array,
)
from portmargin.scenarios import (
    HistoricalScenarios,
    MertonEstimate,
    MertonFitOptions,
    MonteCarloScenarios,
    ScenarioSet,
    VolShockLaw,
    VolShockMode,
    estimate_merton,
    ewma_variance,
    fhs_scenarios,
    hs_scenarios,
    mc_scenarios,
)

__all__ = [
    "Revaluation",
    "Scenarios",
    "current_sigma",
    "historical_scenarios",
    "merton_estimate",
    "revaluation_model",
    "revalue",
    "scenario_sets",
]

Scenarios = HistoricalScenarios | MonteCarloScenarios
"""Joint h-day log-return scenarios of any generator."""


def _window(
    history: PriceHistory, names: tuple[str, ...], as_of: date, params: VarParams
) -> ReturnWindow:
    return history.joint_returns(
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


def merton_estimate(
    history: PriceHistory, underlyings: Sequence[str], as_of: date, params: VarParams
) -> MertonEstimate:
    """Merton parameters of ``underlyings`` estimated from ``history`` up to ``as_of``
    (section 3.4: jump days beyond ``mc.jump_threshold`` EWMA sigmas, estimation sample from
    each underlying's ``history_start``)."""
    return estimate_merton(
        history,
        underlyings=tuple(underlyings),
        as_of=as_of,
        history_start={u: d for u, d in params.history_start.items() if u in underlyings},
        options=MertonFitOptions(
            jump_threshold=params.mc.jump_threshold,
            ewma_lambda=params.ewma_lambda,
            ewma_seed_returns=params.ewma_seed_returns,
        ),
    )


def historical_scenarios(
    history: PriceHistory,
    underlyings: Sequence[str],
    as_of: date,
    params: VarParams,
    estimate: MertonEstimate | None = None,
) -> tuple[Scenarios, ReturnWindow]:
    """Joint h-day scenarios over ``underlyings`` (sections 3.1-3.4).

    The window holds the last ``lookback_days`` dates up to ``as_of`` on which every
    underlying has a daily return (after its ``history_start``; proxies fill the dates before
    an underlying's own history). ``hs`` and ``fhs`` build their scenarios from it; ``mc``
    draws ``mc.paths`` paths of the Merton model ``estimate`` (estimated here when ``None``)
    with a ``PCG64`` generator seeded with ``mc.seed``.

    Raises
    ------
    ValidationError
        FHS over proxied returns.
    MarketDataError
        No joint return, or too few returns for the EWMA seed or one h-day window.
    """
    names = tuple(underlyings)
    window = _window(history, names, as_of, params)
    h = params.holding_period_days
    if params.method is Generator.MC:
        fitted = estimate or merton_estimate(history, names, as_of, params)
        rng = np.random.Generator(np.random.PCG64(params.mc.seed))
        return mc_scenarios(fitted.params(), horizon_days=h, paths=params.mc.paths, rng=rng), window
    if params.method is Generator.HS:
        hist = hs_scenarios(
            window,
            horizon_days=h,
            overlapping=params.overlapping,
            sqrt_time_scaling=params.sqrt_time_scaling,
        )
        return hist, window
    hist = fhs_scenarios(
        history,
        window,
        horizon_days=h,
        overlapping=params.overlapping,
        sqrt_time_scaling=params.sqrt_time_scaling,
        ewma_lambda=params.ewma_lambda,
        ewma_seed_returns=params.ewma_seed_returns,
    )
    return hist, window


def scenario_sets(scenarios: Scenarios, params: VarParams) -> tuple[ScenarioSet, ...]:
    """The keyed scenario sets the instruments are revalued under (section 4).

    Each set has one scenario per row of ``scenarios`` (labelled by its end date or path
    number), moving every price of each underlying ``u`` jointly to ``P exp(R_u)`` and ageing
    options by ``h`` days. ``sticky_strike``: one set, vols unchanged. ``vol_beta``: one set,
    vols ``max(sigma + vol_beta R_u, min_vol)``. ``worst_of``: both, sticky strike first.
    """
    name = f"var {scenarios.method} {scenarios.horizon_days}d"
    sticky = scenarios.to_scenario_set(name=f"{name} sticky strike")
    beta = scenarios.to_scenario_set(
        name=f"{name} vol beta {params.vol_beta:g}",
        vol={
            u: params.vol_beta * scenarios.log_returns[:, j]
            for j, u in enumerate(scenarios.underlyings)
        },
        vol_law=VolShockLaw(mode=VolShockMode.ABSOLUTE, min_vol=params.min_vol),
    )
    if params.vol_model is VolModel.STICKY_STRIKE:
        return (sticky,)
    if params.vol_model is VolModel.VOL_BETA:
        return (beta,)
    return (sticky, beta)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Revaluation:
    """Every instrument of a table fully revalued under the joint scenarios.

    Attributes
    ----------
    labels
        Scenario labels (end dates or path numbers), shape ``(s,)``.
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


def revaluation_model(
    params: VarParams, estimate: MertonEstimate | None
) -> Black76Model | MertonModel:
    """Black-76, or Merton with the jumps of ``estimate`` (``revaluation_model = "merton"``)."""
    if params.revaluation_model is RevaluationName.BLACK76:
        return BLACK76
    if estimate is None:
        raise ValidationError("estimate", None, "a Merton estimate for Merton revaluation")
    return MertonModel(
        jumps={
            a.underlying: MertonJumps(
                intensity=a.marginal.jump_intensity,
                mean=a.marginal.jump_mean,
                vol=a.marginal.jump_vol,
            )
            for a in estimate.assets
        }
    )


def revalue(
    table: InstrumentTable,
    scenarios: Scenarios,
    params: VarParams,
    model: Black76Model | MertonModel = BLACK76,
) -> Revaluation:
    """Risk arrays of ``table`` under the joint keyed sets of :func:`scenario_sets` (one
    revaluation of every instrument per set, options with ``model``), as USD unit losses.

    Raises
    ------
    MarketDataError
        A row's underlying is not in ``scenarios``.
    """
    units = []
    risk = None
    for scenario_set in scenario_sets(scenarios, params):
        risk = build_risk_array(table, scenario_set, model)
        units.append(-risk.pnl_usd())
    assert risk is not None  # scenario_sets returns one or two sets
    return Revaluation(
        labels=risk.scenarios.labels,
        units=tuple(units),
        delta=risk.delta,
        coin_settled=risk.coin_settled,
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
