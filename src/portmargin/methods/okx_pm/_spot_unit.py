"""Per-account spot unit of the pre-merge risk units (spot-derivatives risk offset mode).

Before the December 2024 merge an account in spot-derivatives offset mode chose the risk unit
its spot joins: USDT-margined, USDC-margined or crypto-margined (``"USD"``). OKX, "Multi-currency
margin mode vs Portfolio margin mode" (``okx.com/help/11951498951821``): "BTC spot assets in an
account can be included in a BTC-USD or BTC-USDT risk unit"; "OKX will update margin
calculation rules for the portfolio margin mode" (2024-11-25) lists the "Spot-derivatives risk
offset (USDT)" and "(USDC)" modes of the units before the merge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.methods.okx_pm._params import OkxParams, RiskUnitGrouping
from portmargin.risk import STABLECOINS, InstrumentTable, Kind

__all__ = ["SPOT_UNITS", "SpotSplit", "check_spot_unit", "split_spot"]

SPOT_UNITS = ("USDT", "USDC", "USD")
"""Margin currencies a coin's spot may join before the merge (``"USD"``: coin-margined)."""


def check_spot_unit(
    accounts: Sequence[str], spot_unit: Mapping[str, str] | None, params: OkxParams
) -> None:
    """Validate a per-account spot-unit choice against the book and the pack.

    Raises
    ------
    ValidationError
        If the pack's ``spot_margin_currency`` or a chosen unit is not one of
        :data:`SPOT_UNITS` (the field names the account: ``spot_unit['a']``), if an account
        is not in ``accounts``, or if choices are given with merged risk units (spot then
        joins the one unit of its coin).
    """
    expected = f"one of {', '.join(map(repr, SPOT_UNITS))} ('USD': coin-margined)"
    if params.spot_margin_currency not in SPOT_UNITS:
        raise ValidationError("spot_margin_currency", params.spot_margin_currency, expected)
    if not spot_unit:
        return
    if params.risk_unit_grouping is not RiskUnitGrouping.UNDERLYING_AND_MARGIN_CURRENCY:
        raise ValidationError(
            "spot_unit",
            dict(spot_unit),
            "no choice with merged risk units (risk_unit_grouping = 'underlying'): spot joins "
            "the one unit of its coin; a spot unit applies to the pre-merge units "
            "('underlying_and_margin_currency', pack okx-pm/2024)",
        )
    for account, unit in spot_unit.items():
        if unit not in SPOT_UNITS:
            raise ValidationError(f"spot_unit[{account!r}]", unit, expected)
    known = set(accounts)
    unknown = [a for a in spot_unit if a not in known]
    if unknown:
        raise ValidationError(f"spot_unit[{unknown[0]!r}]", unknown[0], "an account of the book")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SpotSplit:
    """Book columns with each account's spot rows in the unit that account chose.

    Attributes
    ----------
    quantities
        CSR ``(n_accounts, m)``: the book's columns, then one copy of the spot columns per
        unit chosen away from the pack's default; an account's spot quantities sit in the
        copy of its unit only.
    source
        Column of the resolved table behind each of the ``m`` columns, shape ``(m,)``.
    spot_currency
        Unit a spot pair or coin balance in that column joins, shape ``(m,)``.
    """

    quantities: sp.csr_array
    source: NDArray[np.intp]
    spot_currency: NDArray[np.object_]


def split_spot(
    quantities: sp.csr_array, table: InstrumentTable, choice: NDArray[np.object_], default: str
) -> SpotSplit:
    """Place every account's spot pairs and coin balances in the unit it chose.

    Parameters
    ----------
    quantities
        CSR ``(n_accounts, n)`` positions, columns aligned with ``table``.
    table
        Resolved instruments, ``n`` rows.
    choice
        Spot unit of each account (one of :data:`SPOT_UNITS`), shape ``(n_accounts,)``.
    default
        The pack's ``spot_margin_currency``: the unit of the original spot columns.

    Returns
    -------
    SpotSplit
        With no account away from ``default``, the book's own columns.
    """
    n = len(table)
    stable_balance = (table.kind == Kind.CURRENCY) & np.isin(table.underlying, sorted(STABLECOINS))
    spot_like = ~np.isin(table.kind, (Kind.FUTURE, Kind.PERPETUAL, Kind.OPTION)) & ~stable_balance
    moved = choice != default
    units = sorted(set(choice[moved].tolist()))
    if not units or not spot_like.any():
        return SpotSplit(
            quantities=quantities,
            source=np.arange(n, dtype=np.intp),
            spot_currency=np.full(n, default, dtype=object),
        )
    spot = np.flatnonzero(spot_like)
    rows_moved = sp.diags_array(moved.astype(np.float64))
    kept = quantities - rows_moved @ quantities @ sp.diags_array(spot_like.astype(np.float64))
    copies = [sp.diags_array((choice == u).astype(np.float64)) @ quantities[:, spot] for u in units]
    out = sp.csr_array(sp.hstack([kept, *copies], format="csr"))
    out.eliminate_zeros()
    return SpotSplit(
        quantities=out,
        source=np.concatenate([np.arange(n), np.tile(spot, len(units))]).astype(np.intp),
        spot_currency=np.concatenate(
            [np.full(n, default, dtype=object), np.repeat(np.array(units, dtype=object), spot.size)]
        ),
    )
