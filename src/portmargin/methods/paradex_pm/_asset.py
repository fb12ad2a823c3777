"""Requirement pieces of one base asset for every account of a book (vectorised)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.methods.paradex_pm._params import ParadexAssetParams, ParadexParams
from portmargin.methods.paradex_pm._scenarios import scan_pnl_usd, scenario_set
from portmargin.risk import Book, InstrumentTable, Kind, WorstLoss, worst_loss

__all__ = ["AssetMargin", "asset_margin", "min_delta_requirement"]

FUNDING_PERIOD_HOURS = 8.0
"""The predicted funding rate is quoted per 8 hours."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AssetMargin:
    """Paradex PM pieces of one base asset; amounts in USD, shape ``(n_accounts,)``, >= 0.

    Attributes
    ----------
    asset
        Base-asset parameters.
    columns
        Book columns of the base asset's instruments, shape ``(c,)``.
    labels
        Scenario labels, in venue order.
    pnl_usd
        USD P&L per unit, shape ``(c, n_scenarios)`` (> 0 gain).
    worst
        SCAN Risk ``max(0, max_s weight_s * loss_s)`` (``worst.loss``) and the scenario that
        sets it (first on ties).
    min_delta
        Minimum delta requirement.
    funding, fee
        Funding and fee provisions.
    """

    asset: ParadexAssetParams
    columns: NDArray[np.intp]
    labels: tuple[str, ...]
    pnl_usd: NDArray[np.float64]
    worst: WorstLoss
    min_delta: NDArray[np.float64]
    funding: NDArray[np.float64]
    fee: NDArray[np.float64]

    @property
    def scan(self) -> NDArray[np.float64]:
        """SCAN Risk, USD, >= 0."""
        return self.worst.loss

    @property
    def net_imr(self) -> NDArray[np.float64]:
        """Net portfolio IMR ``max(SCAN Risk, Minimum Delta Requirement)``, USD."""
        result: NDArray[np.float64] = np.maximum(self.scan, self.min_delta)
        return result


def min_delta_requirement(
    net_delta: NDArray[np.float64],
    gross_delta: NDArray[np.float64],
    spot: float,
    unhedged_margin_factor: float,
    hedged_margin_factor: float,
) -> NDArray[np.float64]:
    """Minimum delta requirement, USD (DOC).

    ``(unhedged_mf * |Net| + hedged_mf * (Gross - |Net|) / 2) * spot``.

    Parameters
    ----------
    net_delta
        Sum of signed position deltas, coins of underlying, shape ``(n,)``.
    gross_delta
        Sum of absolute position deltas, coins, shape ``(n,)``, >= ``|net_delta|``.
    spot
        Spot (index) price of the base asset, USD per coin.
    unhedged_margin_factor, hedged_margin_factor
        Factors on the net and the hedged delta (fractions).
    """
    net = np.abs(net_delta)
    hedged = np.maximum(gross_delta - net, 0.0) / 2.0
    result: NDArray[np.float64] = (
        unhedged_margin_factor * net + hedged_margin_factor * hedged
    ) * spot
    return result


def _funding_per_unit(
    table: InstrumentTable, asset: ParadexAssetParams, params: ParadexParams
) -> NDArray[np.float64]:
    rates = params.funding_rates
    default = rates.get(asset.base_asset, 0.0)
    rate = np.array([rates.get(name, default) for name in table.names], dtype=np.float64)
    horizon = asset.funding_provision_hour / FUNDING_PERIOD_HOURS
    perp = table.kind == Kind.PERPETUAL
    result: NDArray[np.float64] = np.where(perp, table.forward * rate * horizon, 0.0)
    return result


def asset_margin(
    book: Book,
    table: InstrumentTable,
    columns: NDArray[np.intp],
    asset: ParadexAssetParams,
    params: ParadexParams,
) -> AssetMargin:
    """Paradex PM pieces of one base asset for every account of ``book``.

    Parameters
    ----------
    book
        Accounts × instruments (coins of underlying, > 0 long).
    table
        Resolved instruments aligned with ``book.instruments``.
    columns
        Columns of the base asset's derivatives (futures, perpetuals, options), non-empty.
    asset
        Parameters of the base asset.
    params
        The whole pack (vol-floor semantics, taker fee, funding rates).

    Notes
    -----
    SCAN P&L is in USD: linear (USDC-settled) rows as priced, coin-settled rows converted at
    the scenario price. Option deltas are spot deltas: ``D N(d1) F / S`` (put
    ``D (N(d1) - 1) F / S``) for linear options, the net transaction delta
    ``N(d1) - V_coin`` for coin-settled ones (the delta of their USD P&L per relative move,
    in coins); futures and perpetuals have delta 1 per unit.
    """
    sub = table.take(columns)
    scenarios = scenario_set(asset, params.vol_up_floor)
    pnl, unit_delta = scan_pnl_usd(sub, scenarios)
    q = book.quantities[:, columns]
    worst = worst_loss(np.asarray(q @ pnl), weights=scenarios.column("weight"))

    linear_option = sub.is_option & ~sub.inverse
    unit_delta = np.where(linear_option, unit_delta * sub.forward / sub.index, unit_delta)
    net = np.asarray(q @ unit_delta, dtype=np.float64)
    gross = np.asarray(abs(q) @ np.abs(unit_delta), dtype=np.float64)
    min_delta = min_delta_requirement(
        net, gross, float(sub.index[0]), asset.unhedged_margin_factor, asset.hedged_margin_factor
    )
    funding = np.maximum(np.asarray(q @ _funding_per_unit(sub, asset, params)), 0.0)
    position_value = np.where(sub.is_option, sub.index, sub.forward)
    fee = params.taker_fee * np.asarray(abs(q) @ position_value, dtype=np.float64)
    return AssetMargin(
        asset=asset,
        columns=columns,
        labels=scenarios.labels,
        pnl_usd=pnl,
        worst=WorstLoss(loss=worst.loss + 0.0, column=worst.column),
        min_delta=min_delta,
        funding=funding + 0.0,
        fee=fee,
    )
