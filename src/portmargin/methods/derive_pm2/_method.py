"""``DerivePM2``: Derive PMRM_2 behind the :class:`~portmargin.methods.MarginMethod` protocol."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np

from portmargin.market import MarketSnapshot
from portmargin.methods.derive_pm2._batch import BaseRun, DeriveBatchRun, run_batch
from portmargin.methods.derive_pm2._explain import contributions
from portmargin.methods.derive_pm2._pack import CASH_ASSET, DerivePM2Params
from portmargin.methods.derive_pm2._result import BASIS_LABEL
from portmargin.methods.derive_pm2._support import SUPPORTED
from portmargin.results import GroupRows, MarginBatch
from portmargin.risk import Book

__all__ = ["COMPONENT_SOURCES", "DerivePM2", "to_batch"]

_PARTS = {
    "scenario_loss": "-min(basis contingency, worst scenario P&L) x loss factor",
    "perp_mm": "|perp| x spot x mm_perp_percent",
    "option_mm": "naked shorts (sum over strikes of max(0, -(calls + puts))) x spot"
    " x mm_option_percent",
    "collateral_mm": "collateral value x MM haircut",
    "perp_im": "|perp| x spot x im_perp_percent (on top of perp_mm)",
    "option_im": "naked shorts x spot x im_option_percent (on top of option_mm)",
    "collateral_im": "collateral value x IM haircut (on top of collateral_mm)",
    "confidence": "(1 - c) x conf_margin x notional where c < conf_threshold; 0 (confidences 1)",
}
_IM_PARTS = (
    "scenario_loss",
    "perp_mm",
    "option_mm",
    "collateral_mm",
    "perp_im",
    "option_im",
    "collateral_im",
    "confidence",
)
_MM_PARTS = ("scenario_loss", "perp_mm", "option_mm", "collateral_mm")

COMPONENT_SOURCES: Mapping[str, str] = {
    "im": "Req_IM = -min_span x f_IM + MM contingencies + IM contingencies (sum of children)",
    **{f"im/{name}": _PARTS[name] for name in _IM_PARTS},
    "mm": "Req_MM = -min_span x f_MM + MM contingencies (sum of children)",
    **{f"mm/{name}": _PARTS[name] for name in _MM_PARTS},
}
"""Component name → the rule that produces it (``im/…`` and ``mm/…`` mirror ``DeriveResult``)."""

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
    components = {"im": g.im_requirement}
    components |= {f"im/{n}": g.im_components[n] for n in _IM_PARTS}
    components["mm"] = g.mm_requirement
    components |= {f"mm/{n}": g.mm_components[n] for n in _MM_PARTS}
    names = run.columns.scenarios.labels
    return GroupRows(
        account=np.array(run.book.accounts, dtype=object)[g.accounts],
        currency=CASH_ASSET,
        group=g.base,
        initial_margin=g.im_requirement,
        maintenance_margin=g.mm_requirement,
        components=components,
        worst_scenario=g.worst_case.labels(names, baseline=BASIS_LABEL, blank_without_loss=False),
        explain=partial(contributions, run, g),
    )


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
        method=DerivePM2.name,
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

    name = "derive-pm2"
    description = "Derive PMRM_2: spot x vol scenario grid, skew, basis and naked-short charges"
    default_pack = "derive-pm2/mainnet"

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
