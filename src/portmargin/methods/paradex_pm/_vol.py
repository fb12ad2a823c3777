"""Implied vol of each option: its own venue mark IV (DOC), the smile only without a quote."""

from __future__ import annotations

import dataclasses

import numpy as np

from portmargin.market import MarketSnapshot
from portmargin.risk import InstrumentTable

__all__ = ["own_mark_iv"]


def own_mark_iv(
    table: InstrumentTable, market: MarketSnapshot
) -> tuple[InstrumentTable, tuple[str, ...]]:
    """``table`` with every quoted option's ``sigma`` set to that option's own mark IV.

    Paradex revalues each option from its own mark IV (Paradex, "Portfolio Margin",
    https://docs.paradex.trade/risk/portfolio-margin: ``Shocked IV = Mark IV x (1 + Vol Shock
    x (30 / max(DTE Floor, DTE))**Vega Power)``; ``specs/paradex-pm.md`` §2). The resolved
    table holds the snapshot smile's vol at the option's strike, which takes one side's IV
    where call and put of a strike differ; an in-the-money option then carries the
    out-of-the-money side's IV instead of its own.

    Parameters
    ----------
    table
        Resolved instruments, ``n`` rows; ``sigma`` (fraction) from the snapshot's smiles.
    market
        Snapshot whose ``quotes`` (option name → venue row) give each option's ``mark_iv``
        (fraction).

    Returns
    -------
    tuple
        The table with ``sigma`` replaced on quoted option rows (other columns unchanged),
        and the names of the options without a quote, in table order, which keep the
        smile's vol.
    """
    rows = np.flatnonzero(table.is_option)
    quotes = [market.quotes.get(table.names[r]) for r in rows.tolist()]
    quoted = np.array([q is not None for q in quotes], dtype=bool)
    sigma = table.sigma.copy()
    sigma[rows[quoted]] = [q.mark_iv for q in quotes if q is not None]
    unquoted = tuple(table.names[r] for r in rows[~quoted].tolist())
    return dataclasses.replace(table, sigma=sigma), unquoted
