"""Revaluation of one risk unit's instruments: scenario P&L in USD and base greeks per unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.methods.okx_pm._params import OkxParams
from portmargin.pricing import black76
from portmargin.risk import STABLECOINS, InstrumentTable, Kind

__all__ = ["UnitGrid", "UnitRisk", "unit_grid", "unit_risk"]

DAYS_PER_YEAR = 365.0
FloatArray = NDArray[np.float64]

CASH_CURRENCIES = ("USDT", "USDC", "USD")
"""MR9 cash-delta currencies, in pair order."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class UnitGrid:
    """Scenario columns of a unit: the MR1 grid, then MR6 down / up, then MR2.

    Attributes
    ----------
    labels
        Column labels (``"BTC MR1 -12% IV down"``).
    spot_shock
        Relative move of spot, forwards and delta-one prices, shape ``(s,)``.
    iv_state
        -1, 0 or +1: IV moved down / kept / moved up by the MR1 points, shape ``(s,)``.
    iv_floored
        True on MR1 columns, whose shocked IV is floored at ``mr1_iv_floor``.
    time_shift_days
        Days the options are aged (MR2 column), shape ``(s,)``.
    n_mr1
        Number of MR1 columns (the first ones).
    """

    labels: tuple[str, ...]
    spot_shock: FloatArray
    iv_state: FloatArray
    iv_floored: NDArray[np.bool_]
    time_shift_days: FloatArray
    n_mr1: int


def unit_grid(unit: str, params: OkxParams) -> UnitGrid:
    """The scenario columns of ``unit``: ``7 x 3`` MR1 states (BTC/ETH), MR6 -/+, MR2."""
    grid_moves = params.mr1_moves(unit)
    extreme = params.mr6_move(unit)
    moves = sorted({0.0, *grid_moves, *(-m for m in grid_moves)})
    states = (-1.0, 0.0, 1.0)
    names = {-1.0: "IV down", 0.0: "IV same", 1.0: "IV up"}
    mr1 = [(m, s) for m in moves for s in states]
    labels = [f"{unit} MR1 {m * 100:+g}% {names[s]}" for m, s in mr1]
    labels += [f"{unit} MR6 {-extreme * 100:+g}%", f"{unit} MR6 {extreme * 100:+g}%"]
    labels.append(f"{unit} MR2 {params.mr2_horizon_days:g}d theta")
    n1 = len(mr1)
    return UnitGrid(
        labels=tuple(labels),
        spot_shock=np.array([m for m, _ in mr1] + [-extreme, extreme, 0.0]),
        iv_state=np.array([s for _, s in mr1] + [0.0, 0.0, 0.0]),
        iv_floored=np.arange(n1 + 3) < n1,
        time_shift_days=np.array([0.0] * (n1 + 2) + [params.mr2_horizon_days]),
        n_mr1=n1,
    )


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


def _option_pnl(table: InstrumentTable, grid: UnitGrid, params: OkxParams) -> FloatArray:
    F, K, T, sig = table.forward, table.strike, table.tau, table.sigma
    call, D, S = table.is_call, table.df, table.index
    m = grid.spot_shock[None, :]
    points = params.mr1_iv_points * np.maximum(T * DAYS_PER_YEAR, 1.0) ** -params.mr1_iv_power
    sig_s = sig[:, None] + grid.iv_state[None, :] * points[:, None] / 100.0
    sig_s = np.where(grid.iv_floored[None, :], np.maximum(sig_s, params.mr1_iv_floor), sig_s)
    T_s = np.maximum(T[:, None] - grid.time_shift_days[None, :] / DAYS_PER_YEAR, 0.0)
    D_s = D[:, None] ** (T_s / T[:, None])
    F_s = F[:, None] * (1.0 + m)
    base = black76.price(F, K, T, sig, call, D)
    shocked = black76.price(F_s, K[:, None], T_s, np.maximum(sig_s, 0.0), call[:, None], D_s)
    coin = (shocked / F_s - (base / F)[:, None]) * (S[:, None] * (1.0 + m))
    result: FloatArray = np.where(table.inverse[:, None], coin, shocked - base[:, None])
    return result


def _cash_currency(table: InstrumentTable) -> NDArray[np.intp]:
    """MR9 currency of derivative rows: the settlement currency of linear ones, ``USD`` for
    coin-margined ones; -1 for spot pairs and balances."""
    code = {c: i for i, c in enumerate(CASH_CURRENCIES)}
    derivative = np.isin(table.kind, (Kind.FUTURE, Kind.PERPETUAL, Kind.OPTION))
    settle = np.where(table.inverse, "USD", table.settlement_currency.astype(str))
    found = np.array([code.get(str(c), -1) for c in settle], dtype=np.intp)
    result: NDArray[np.intp] = np.where(derivative, found, -1)
    return result


def unit_risk(table: InstrumentTable, grid: UnitGrid, params: OkxParams) -> UnitRisk:
    """Scenario P&L and greeks per unit of every row of one risk unit.

    Delta-one P&L per coin for a move ``m`` (pricing-conventions.md section 5): linear
    futures / perpetuals ``P m`` (USDT, USDC taken at 1 USD), coin-settled ones ``S m``
    (coin P&L ``1 - 1/(1+m)`` at the scenario price ``S (1+m)``), spot pairs and coin
    balances ``S m``. Options: Black-76 on ``F (1+m)`` with the column's IV and time,
    discounting at the row's rate; coin-settled values ``V / F`` converted at ``S (1+m)``.
    Stablecoin balances have no P&L.
    """
    n = len(table)
    kind, S = table.kind, table.index
    m = grid.spot_shock[None, :]
    stable = np.isin(table.underlying, sorted(STABLECOINS))
    coin = (kind == Kind.CURRENCY) & ~stable
    d1 = np.isin(kind, (Kind.FUTURE, Kind.PERPETUAL))
    moves_with_index = coin | (kind == Kind.SPOT) | (d1 & table.inverse)
    pnl = np.zeros((n, grid.spot_shock.size))
    pnl[moves_with_index] = S[moves_with_index, None] * m
    linear = d1 & ~table.inverse
    pnl[linear] = table.forward[linear, None] * m
    delta = np.where(d1 | coin | (kind == Kind.SPOT), 1.0, 0.0)
    vega, rho, mark = np.zeros(n), np.zeros(n), np.zeros(n)
    opt = np.flatnonzero(table.is_option)
    if opt.size:
        o = table.take(opt)
        pnl[opt] = _option_pnl(o, grid, params)
        g = black76.greeks(o.forward, o.strike, o.tau, o.sigma, o.is_call, o.df)
        value = black76.price(o.forward, o.strike, o.tau, o.sigma, o.is_call, o.df)
        delta[opt] = np.where(o.inverse, g["delta"] - value / o.forward, g["delta"])
        vega[opt], rho[opt] = g["vega"], g["rho"]
        mark[opt] = np.where(o.inverse, value / o.forward * o.index, value)
    return UnitRisk(
        pnl=pnl,
        delta=delta,
        vega=vega,
        rho=rho,
        mark=mark,
        price=np.where(d1, table.forward, 0.0),
        cash_currency=_cash_currency(table),
    )
