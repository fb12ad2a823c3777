"""OKX risk units: which instrument columns are margined together."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.methods.okx_pm._params import OkxParams, RiskUnitGrouping
from portmargin.risk import STABLECOINS, InstrumentTable, Kind, group_columns

__all__ = ["COIN_MARGINED", "RiskUnit", "margin_currency", "risk_units"]

COIN_MARGINED = "USD"
"""Margin-currency label of coin-margined (inverse) products, as in OKX's ``BTC-USD``."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RiskUnit:
    """One risk unit of a resolved book.

    Attributes
    ----------
    name
        Unit name used in component keys: the underlying (``"BTC"``) with merged units,
        ``"<underlying>-<margin currency>"`` (``"BTC-USDT"``) with pre-merge units.
    underlying
        The coin; selects the tier of the MR1, MR4 and MR6 tables.
    columns
        Instrument columns of the unit, shape ``(c,)``.
    """

    name: str
    underlying: str
    columns: NDArray[np.intp]


def margin_currency(
    table: InstrumentTable, spot_currency: str | NDArray[np.object_]
) -> NDArray[np.object_]:
    """Margin currency of every row, shape ``(n,)``: :data:`COIN_MARGINED` for coin-margined
    futures, perpetuals and options, the settlement currency of linear ones, and
    ``spot_currency`` (one for all rows, or one per row, shape ``(n,)``) for spot pairs and
    coin balances (a linear product settled in USD therefore shares the coin-margined
    unit)."""
    derivative = np.isin(table.kind, (Kind.FUTURE, Kind.PERPETUAL, Kind.OPTION))
    settle = np.where(table.inverse, COIN_MARGINED, table.settlement_currency)
    result: NDArray[np.object_] = np.where(derivative, settle, spot_currency).astype(object)
    return result


def risk_units(
    table: InstrumentTable, params: OkxParams, spot_currency: NDArray[np.object_]
) -> list[RiskUnit]:
    """The risk units of ``table``'s rows, sorted by name; stablecoin balances are in none.

    With ``params.risk_unit_grouping`` ``UNDERLYING`` a unit is every row of one underlying
    (spot-derivatives offset on); with ``UNDERLYING_AND_MARGIN_CURRENCY`` it is every row of
    one underlying and margin currency (:func:`margin_currency`), a spot pair or coin balance
    joining the unit of its row's ``spot_currency`` (shape ``(n,)``; read for those rows
    only).
    """
    stable = np.isin(table.underlying, sorted(STABLECOINS))
    cols = np.flatnonzero(~((table.kind == Kind.CURRENCY) & stable))
    underlying = table.underlying[cols]
    keys = underlying
    if params.risk_unit_grouping is RiskUnitGrouping.UNDERLYING_AND_MARGIN_CURRENCY:
        keys = underlying + "-" + margin_currency(table, spot_currency)[cols]
    return [
        RiskUnit(name=str(k), underlying=str(underlying[c[0]]), columns=cols[c])
        for k, c in group_columns(keys).items()
    ]
