"""Revaluation of one risk unit's instruments: scenario P&L in USD and base greeks per unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.methods.okx_pm._params import OkxParams
from portmargin.pricing import black76
from portmargin.risk import InstrumentTable, Kind, build_risk_array
from portmargin.scenarios import Scenario, ScenarioSet, VolShockLaw, VolShockMode

__all__ = ["UnitGrid", "UnitRisk", "mr1_vol_law", "unit_grid", "unit_risk"]

DAYS_PER_YEAR = 365.0
FloatArray = NDArray[np.float64]

CASH_CURRENCIES = ("USDT", "USDC", "USD")
"""MR9 cash-delta currencies, in pair order."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class UnitGrid:
    """Scenario columns of a unit: the MR1 grid, then MR6 down / up, then MR2.

    Attributes
    ----------
    mr1
        The MR1 states, IV moved by ``s x mr1_iv_points(DTE)`` vol points (``s`` in -1, 0,
        +1; absolute law ``sigma + vol_shock (1 / max(DTE, 1)) ** mr1_iv_power`` with
        ``vol_shock = s x mr1_iv_points / 100``) and floored at ``mr1_iv_floor``.
    other
        MR6 down / up and the MR2 column (options aged ``mr2_horizon_days``), IV unchanged
        and not floored.
    """

    mr1: ScenarioSet
    other: ScenarioSet

    @property
    def labels(self) -> tuple[str, ...]:
        """Column labels (``"BTC MR1 -12% IV down"``), MR1 first."""
        return self.mr1.labels + self.other.labels

    @property
    def n_mr1(self) -> int:
        """Number of MR1 columns (the first ones)."""
        return len(self.mr1)


def mr1_vol_law(params: OkxParams) -> VolShockLaw:
    """The MR1 IV law: ``sigma + vol_shock (1 / max(DTE, 1)) ** mr1_iv_power``, floored at
    ``mr1_iv_floor``; with ``vol_shock = +-mr1_iv_points / 100`` the move is
    ``mr1_iv_points x max(DTE, 1) ** -mr1_iv_power`` vol points."""
    return VolShockLaw(
        short_term_power=params.mr1_iv_power,
        long_term_power=params.mr1_iv_power,
        boundary_days=1.0,
        dte_floor_days=1.0,
        min_vol=params.mr1_iv_floor,
        mode=VolShockMode.ABSOLUTE,
    )


def unit_grid(underlying: str, params: OkxParams, unit: str | None = None) -> UnitGrid:
    """The scenario columns of a unit of ``underlying``: ``7 x 3`` MR1 states (BTC/ETH),
    MR6 -/+, MR2; moves from ``underlying``'s tiers, labels and set names start with
    ``unit`` (default ``underlying``)."""
    grid_moves = params.mr1_moves(underlying)
    extreme = params.mr6_move(underlying)
    unit = underlying if unit is None else unit
    moves = sorted({0.0, *grid_moves, *(-m for m in grid_moves)})
    names = {-1.0: "IV down", 0.0: "IV same", 1.0: "IV up"}
    points = params.mr1_iv_points / 100.0
    mr1 = ScenarioSet(
        name=f"okx-pm {unit} MR1",
        scenarios=tuple(
            Scenario(
                label=f"{unit} MR1 {m * 100:+g}% {names[s]}", spot_shock=m, vol_shock=s * points
            )
            for m in moves
            for s in (-1.0, 0.0, 1.0)
        ),
        vol_law=mr1_vol_law(params),
    )
    other = ScenarioSet(
        name=f"okx-pm {unit} MR6 MR2",
        scenarios=(
            Scenario(label=f"{unit} MR6 {-extreme * 100:+g}%", spot_shock=-extreme),
            Scenario(label=f"{unit} MR6 {extreme * 100:+g}%", spot_shock=extreme),
            Scenario(
                label=f"{unit} MR2 {params.mr2_horizon_days:g}d theta",
                time_shift_days=params.mr2_horizon_days,
            ),
        ),
    )
    return UnitGrid(mr1=mr1, other=other)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class UnitRisk:
    """Per-unit-held quantities of ``n`` instruments of one risk unit (USD unless stated).

    Attributes
    ----------
    pnl
        Scenario P&L, shape ``(n, s)``; coin-settled rows converted at the scenario price.
    delta
        Coin delta, shape ``(n,)``: 1 for delta-one rows, spot pairs and coin balances,
        ``D N(d1)`` (put ``D (N(d1) - 1)``) for linear options, that minus the coin value
        ``V / F`` for coin-settled ones (net transaction delta), 0 for the rest.
    vega
        Black-76 vega of the USD value on the forward, USD per vol point (options; 0
        elsewhere).
    rho
        Black-76 rho, USD per 1 % of rate (options; 0 elsewhere).
    mark
        Option value now, USD (0 elsewhere).
    price
        Price of futures and perpetuals (mark), USD per coin (0 elsewhere).
    cash_currency
        Index into :data:`CASH_CURRENCIES` of the row's cash delta, -1 for none.
    """

    pnl: FloatArray
    delta: FloatArray
    vega: FloatArray
    rho: FloatArray
    mark: FloatArray
    price: FloatArray
    cash_currency: NDArray[np.intp]


def _cash_currency(table: InstrumentTable) -> NDArray[np.intp]:
    """MR9 currency of derivative rows: the settlement currency of linear ones, ``USD`` for
    coin-margined ones; -1 for spot pairs and balances."""
    code = {c: i for i, c in enumerate(CASH_CURRENCIES)}
    derivative = np.isin(table.kind, (Kind.FUTURE, Kind.PERPETUAL, Kind.OPTION))
    settle = np.where(table.inverse, "USD", table.settlement_currency.astype(str))
    found = np.array([code.get(str(c), -1) for c in settle], dtype=np.intp)
    result: NDArray[np.intp] = np.where(derivative, found, -1)
    return result


def unit_risk(table: InstrumentTable, grid: UnitGrid) -> UnitRisk:
    """Scenario P&L in USD and greeks per unit of every row of one risk unit.

    The P&L is the engine's risk array in USD (:meth:`~portmargin.risk.RiskArray.pnl_usd`,
    pricing-conventions.md sections 4-5): delta-one rows move with the column's spot shock
    ``m`` (linear ``P m``, coin-settled ``S m`` at the scenario price, USDT and USDC taken at
    1 USD), spot pairs and coin balances ``S m``, stablecoin balances 0; options are Black-76
    on ``F (1 + m)`` with the column's IV and time (discount factor aged with the time shift),
    coin-settled values ``V / F`` converted at ``S (1 + m)``.
    """
    mr1 = build_risk_array(table, grid.mr1)
    other = build_risk_array(table, grid.other)
    n = len(table)
    vega, rho, mark = np.zeros(n), np.zeros(n), np.zeros(n)
    opt = np.flatnonzero(table.is_option)
    if opt.size:
        o = table.take(opt)
        g = black76.greeks(o.forward, o.strike, o.tau, o.sigma, o.is_call, o.df)
        vega[opt], rho[opt] = g["vega"], g["rho"]
        value = mr1.value[opt]
        mark[opt] = np.where(o.inverse, value * o.index, value)
    d1 = np.isin(table.kind, (Kind.FUTURE, Kind.PERPETUAL))
    return UnitRisk(
        pnl=np.hstack([mr1.pnl_usd(), other.pnl_usd()]),
        delta=mr1.delta,
        vega=vega,
        rho=rho,
        mark=mark,
        price=np.where(d1, table.forward, 0.0),
        cash_currency=_cash_currency(table),
    )
