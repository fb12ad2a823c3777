"""``DerivePM2``: Derive PMRM_2 behind the :class:`~portmargin.methods.MarginMethod` protocol."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np

from portmargin.market import MarketSnapshot
from portmargin.methods._inputs import InputSpec
from portmargin.methods.derive_pm2._batch import BaseRun, DeriveBatchRun, run_batch
from portmargin.methods.derive_pm2._explain import contributions
from portmargin.methods.derive_pm2._pack import CASH_ASSET, DerivePM2Params
from portmargin.methods.derive_pm2._result import COMPONENT_SOURCES, METHOD_NAME, group_rows
from portmargin.methods.derive_pm2._support import SUPPORTED
from portmargin.results import GroupRows, MarginBatch
from portmargin.risk import Book

__all__ = ["NOTES", "DerivePM2", "to_batch"]

NOTES = (
    "derive-pm2: one row per (account, base asset), row group = the base asset (one Derive"
    f" manager); amounts in {CASH_ASSET}; an account without base-asset holdings has one row"
    " of zeros",
    f"{SUPPORTED}; an account holding anything else (coin-settled instruments, dated futures,"
    " spot pairs, other balances) is set aside in errors",
    "derive-pm2: initial/maintenance margin are the requirements Req_IM/Req_MM (>= 0); the"
    " venue's net margins are equity - requirement",
    "derive-pm2: spot = index price of the base; perp price = the perpetual's futures-quote"
    " mark, else the index",
    f"derive-pm2: stable price 1 USD per {CASH_ASSET}; collateral priced at the index of its"
    " currency code",
    "derive-pm2: the snapshot carries no feed confidences: every confidence is 1, so"
    " confidence charges are 0",
    "derive-pm2: per expiry the forward is the snapshot's, split fixed/variable below 1800 s"
    f" (venue harness rule); rate = snapshot {CASH_ASSET} rate floored at 0; vol per strike"
    " from the snapshot's smile",
    "derive-pm2: perpValue (unrealised perp P&L + funding) = 0: the book holds quantities only",
    f"derive-pm2: cash = the {CASH_ASSET} balance, in the equity of the account's first row"
    " (base assets sorted); it does not enter the requirements",
    "derive-pm2: the venue's maximum number of expiries per account is not enforced",
)
"""Assumptions recorded in every batch."""


def _rows(run: DeriveBatchRun, g: BaseRun) -> GroupRows:
    """The batch rows of one base asset."""
    account = np.array(run.book.accounts, dtype=object)[g.accounts]
    labels = run.columns.scenarios.labels
    return group_rows(account, g.base, g, labels, partial(contributions, run, g))


def _idle_rows(run: DeriveBatchRun) -> GroupRows:
    """One row of zeros per account without base-asset holdings."""
    n = run.idle.shape[0]
    return GroupRows(
        account=np.array(run.book.accounts, dtype=object)[run.idle],
        currency=CASH_ASSET,
        group=None,
        initial_margin=np.zeros(n),
        maintenance_margin=np.zeros(n),
        components={},
        worst_scenario=np.full(n, None, dtype=object),
    )


def to_batch(run: DeriveBatchRun) -> MarginBatch:
    """Columnar result of a :class:`DeriveBatchRun`: the base rows in base order, then one
    row of zeros per account without base-asset holdings."""
    return MarginBatch.from_groups(
        [*(_rows(run, g) for g in run.groups), _idle_rows(run)],
        method=METHOD_NAME,
        params_version=run.params.version,
        sources=COMPONENT_SOURCES,
        errors=run.errors,
        notes=NOTES,
    )


class DerivePM2:
    """Derive PMRM_2 portfolio margin over a book (``specs/derive-pm2.md``).

    Every amount is in USDC. Each account gets one row per base asset it holds (USDC-settled
    options, the USDC perpetual, enabled collateral); see :data:`NOTES` for how the market
    snapshot is mapped onto the venue's feeds.
    """

    name = METHOD_NAME
    description = "Derive PMRM_2: spot x vol scenario grid, skew, basis and naked-short charges"
    default_pack = "derive-pm2/mainnet"
    account_inputs: tuple[InputSpec, ...] = ()

    def params_from_mapping(self, data: Mapping[str, Any]) -> DerivePM2Params:
        """Parameters from a parsed pack; unknown keys raise ``ValidationError`` naming them."""
        return DerivePM2Params.from_mapping(data)

    def compute(self, book: Book, market: MarketSnapshot, params: DerivePM2Params) -> MarginBatch:
        """Requirements of every account of ``book``.

        Parameters
        ----------
        book
            Positions: options and perpetuals in coins of the base (> 0 long), balances in
            currency units.
        market
            Index prices, forwards, smiles, rates and perpetual marks.
        params
            Parameter pack.

        Returns
        -------
        MarginBatch
            Req_IM and Req_MM (USDC, >= 0) per (account, base asset) row with the components of
            :data:`COMPONENT_SOURCES`, worst-scenario labels and per-position explanations;
            accounts with unsupported instruments or missing market data are in ``errors``.
        """
        return to_batch(run_batch(book, market, params))
