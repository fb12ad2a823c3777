"""A SPAN result laid out as a clearing statement (``specs/span.md`` sections 5-9).

Amounts are read from the components of a ``span`` :class:`~portmargin.results.MarginBatch`
(``span_risk_mm/<CC>/scan_risk`` etc., every amount in the row's currency); the active
scenario of each combined commodity comes from :func:`span_active_scenarios`, which re-runs
the method's scan on the accounts shown.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np

from portmargin.core import ValidationError
from portmargin.market import MarketSnapshot
from portmargin.methods.span import SCENARIO_LABELS, SEGREGATED_TOTAL, SpanParams, run_span
from portmargin.portfolio import Portfolio
from portmargin.results import MarginBatch
from portmargin.risk import Book

__all__ = ["span_active_scenarios", "span_statement_html"]

_CC_LINES = (
    ("scan_risk", "Scan risk"),
    ("scan_risk/time_risk", "time risk"),
    ("scan_risk/price_risk", "price risk"),
    ("scan_risk/vol_risk", "vol risk"),
    ("intra_charge", "Intra-commodity spread charge"),
    ("spot_charge", "Spot-month charge"),
    ("inter_credit", "Inter-commodity spread credit"),
    ("som", "Short option minimum"),
    ("", "CC risk = max(scan + intra + spot - credit, SOM)"),
)
"""Statement lines per CC: component suffix under ``span_risk_mm/<CC>`` and caption."""

_TOTALS = (
    ("span_risk_mm", "SPANRisk MM (sum of CC risks)"),
    ("span_risk_im", "SPANRisk IM (= initial margin)"),
    ("nov", "Net option value NOV (long > 0)"),
    ("nov/past_expiry", "of which options past expiry, at intrinsic"),
    ("req_mm", "Cash-only Req_MM = max(SPANRisk MM - NOV, 0)"),
    ("req_im", "Cash-only Req_IM = max(SPANRisk IM - NOV, 0)"),
)

_INDENT = " style='padding-left:2rem'"


def _key(cc: str, suffix: str) -> str:
    return f"span_risk_mm/{cc}/{suffix}" if suffix else f"span_risk_mm/{cc}"


def _money(x: float) -> str:
    if abs(x) < 5e-9:
        return "0.00"
    return f"{x:,.2f}"


def span_active_scenarios(
    portfolios: Sequence[Portfolio], market: MarketSnapshot, params: SpanParams
) -> dict[str, dict[str, dict[str, str]]]:
    """Account → row currency → combined commodity held in that row → its active scenario
    (``"15 (extreme up, ...)"``).

    One row currency per account in multi scope (the pack's account currency); one per
    settlement sub-account held in segregated scope. Runs
    :func:`portmargin.methods.span.run_span` on ``portfolios`` (accounts it cannot margin
    are left out).
    """
    run = run_span(Book.from_portfolios(portfolios), market, params)
    accounts = np.array(run.book.accounts, dtype=object)[run.row_account]
    labels = np.array(SCENARIO_LABELS, dtype=object)
    out: dict[str, dict[str, dict[str, str]]] = {}
    for k, s in enumerate(run.statements):
        acc = run.row_account
        rows = np.flatnonzero((run.row_pool == run.pool_of[k]) & s.held[acc])
        for account, currency, label in zip(
            accounts[rows].tolist(),
            run.currency[rows].tolist(),
            labels[s.active[acc[rows]]].tolist(),
            strict=True,
        ):
            out.setdefault(str(account), {}).setdefault(str(currency), {})[s.arrays.cc.id] = str(
                label
            )
    return out


def _ccs(batch: MarginBatch, row: int, active: Mapping[str, str] | None) -> list[str]:
    """CCs of the statement: those with an active scenario, else those with any amount."""
    names = [
        k.split("/")[1]
        for k in batch.components
        if k.startswith("span_risk_mm/") and k.count("/") == 1
    ]
    if active is not None:
        return [c for c in names if c in active]
    return [
        c
        for c in names
        if any(abs(float(batch.components[_key(c, s)][row])) > 0 for s, _ in _CC_LINES)
    ]


def span_statement_html(
    batch: MarginBatch, row: int, active: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """Clearing statement of row ``row`` of a ``span`` batch as HTML tables.

    Parameters
    ----------
    batch
        Result of the ``span`` method.
    row
        Row of the account (one per account in the pack's account currency; in segregated
        scope one per settlement sub-account, in its currency).
    active
        The account's entry of :func:`span_active_scenarios`: row currency → combined
        commodity → active scenario label; the row shows the CCs of its currency. When None,
        CCs with any non-zero amount in the row are listed and the active scenario is not
        named.

    Returns
    -------
    str
        One table with a column per combined commodity (scan risk and its time / price / vol
        split, intra-commodity charge, spot-month charge, inter-commodity credit, short option
        minimum, CC risk) and one of the account totals (SPANRisk MM and IM, NOV, cash-only
        Req_MM and Req_IM). Amounts in the row's currency.

    Raises
    ------
    ValidationError
        If ``batch`` is not a ``span`` result or ``row`` is out of range.
    """
    if batch.method != "span" or "span_risk_mm" not in batch.components:
        raise ValidationError("batch", batch.method, "a result of the 'span' method")
    if not 0 <= row < len(batch):
        raise ValidationError("row", row, f"a row of the batch (0..{len(batch) - 1})")
    ccy = html.escape(str(batch.currency[row]))
    labels = None if active is None else active.get(str(batch.currency[row]), {})
    ccs = _ccs(batch, row, labels)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ccs)
    body = []
    if labels is not None:
        cells = "".join(f"<td class='l'>{html.escape(labels[c])}</td>" for c in ccs)
        body.append(f"<tr><td class='l'>Active scenario</td>{cells}</tr>")
    for suffix, caption in _CC_LINES:
        cells = "".join(
            f"<td>{_money(float(batch.components[_key(c, suffix)][row]))}</td>" for c in ccs
        )
        indent = _INDENT if suffix.startswith("scan_risk/") else ""
        strong = ("<b>", "</b>") if not suffix else ("", "")
        body.append(
            f"<tr><td class='l'{indent}>{strong[0]}{html.escape(caption)}{strong[1]}</td>"
            f"{cells}</tr>"
        )
    per_cc = (
        f"<table class='statement'><tr><th class='l'>Combined commodity ({ccy})</th>{head}</tr>"
        + "".join(body)
        + "</table>"
    )
    totals = "".join(
        f"<tr><td class='l'{_INDENT if '/' in name else ''}>{html.escape(caption)}</td>"
        f"<td>{_money(float(batch.components[name][row]))}</td></tr>"
        for name, caption in _TOTALS
    )
    if batch.sources.get("span_risk_mm") == SEGREGATED_TOTAL:
        title = "Sub-account totals (segregated)"
        note = (
            f"Segregated collateral: this row margins the {ccy}-settled CCs only, against the "
            f"{ccy} equity; nothing is converted"
        )
    else:
        title = "Account totals"
        note = "Coin-settled CCs are converted at the current index"
    return (
        per_cc
        + f"<table class='statement'><tr><th class='l'>{title}</th><th>{ccy}</th></tr>"
        + totals
        + f"</table><p class='note'>{note}; "
        "the inter-commodity credit is capped at the CC's scan risk.</p>"
    )
