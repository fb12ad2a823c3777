"""The ``var`` method's diversification by underlying as an HTML table (report pages, demo)."""

from __future__ import annotations

import html

from portmargin.results import MarginBatch

__all__ = ["GROUP_PARTS", "var_groups_html"]

GROUP_PARTS = (
    ("alone", "core_margin/group_sum"),
    ("Euler share of the portfolio", "core_margin/portfolio"),
    ("benefit share", "core_margin/benefit"),
    ("offset granted", "core_margin/offset"),
    ("liquidity add-on", "liquidity_addon"),
)
"""Columns: heading and the component whose ``/UNDERLYING`` child fills it."""

_BENEFIT = "core_margin/benefit/"


def var_groups_html(batch: MarginBatch, i: int) -> str:
    """Table of row ``i`` of a ``var`` batch, one line per underlying held plus the total:
    the group's own measure, its Euler share of the portfolio measure (the Euler
    contributions of its positions in the portfolio's tail), its benefit share (alone minus
    Euler share), the offset granted on it (``offset_cap`` x benefit share) and its liquidity
    add-on, in the row's currency. Empty when the batch attributes no benefit to groups."""
    groups = [n[len(_BENEFIT) :] for n in batch.components if n.startswith(_BENEFIT)]
    if not groups:
        return ""
    c = batch.components
    head = "".join(
        f"<th>{html.escape(h)}</th>" for h in ("underlying", *(h for h, _ in GROUP_PARTS))
    )
    body = []
    for u in groups:
        amounts = [float(c[f"{name}/{u}"][i]) for _, name in GROUP_PARTS]
        if any(amounts):
            body.append(_row(u, amounts))
    body.append(_row("total", [float(c[name][i]) for _, name in GROUP_PARTS]))
    return (
        f"<table><tr>{head}</tr>{''.join(body)}</table>"
        f"<p class='note'>Amounts in {html.escape(str(batch.currency[i]))}. Euler allocation: "
        "the shares add up to the portfolio measure, the benefit shares to the benefit B "
        "(before the offset cap and add-ons); alone minus offset granted is what the group's "
        "positions are allocated of the core margin.</p>"
    )


def _row(label: str, amounts: list[float]) -> str:
    cells = "".join(f"<td>{a:,.2f}</td>" for a in amounts)
    return f"<tr><td>{html.escape(label)}</td>{cells}</tr>"
