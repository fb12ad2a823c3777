"""Plotly figures as plain data (``{"data": [...], "layout": {...}}``), for reports and pages.

Every builder returns a JSON-ready dict that ``Plotly.newPlot(div, fig.data, fig.layout)``
draws; :func:`figure_json` serialises one for a ``<script>`` block and :func:`figure_div_html`
wraps one in a ``<div>`` with its drawing call. Figures are built as plain data, not plotly
figure objects: validating those costs about 50 ms each, which dominates a page of many
charts. Nothing here loads plotly.js; the page does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.analysis import Comparison
from portmargin.core import ValidationError, ms_to_datetime
from portmargin.instruments import format_expiry
from portmargin.io._account_grids import ScenarioGrid, grids
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio
from portmargin.results import MarginBatch, MarginResult

__all__ = [
    "Figure",
    "MarginHistory",
    "account_grid_figures",
    "components_figure",
    "figure_div_html",
    "figure_json",
    "history_figure",
    "method_margins_figure",
    "row_name",
    "scenario_grid_figure",
    "smile_figure",
]

Figure = dict[str, Any]
"""A plotly figure as plain data: ``{"data": [trace, ...], "layout": {...}}``."""

RD_YL_GN = (
    "#a50026",
    "#d73027",
    "#f46d43",
    "#fdae61",
    "#fee08b",
    "#ffffbf",
    "#d9ef8b",
    "#a6d96a",
    "#66bd63",
    "#1a9850",
    "#006837",
)
"""ColorBrewer RdYlGn (losses red, gains green), as plotly's ``RdYlGn``; plotly.js has no
such named scale, so the stops are given."""

_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)

_BASE_LAYOUT: dict[str, Any] = {
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "font": {"color": "#2a3f5f"},
    "margin": {"t": 50},
}


def _layout(title: str, **fields: Any) -> dict[str, Any]:
    return {**_BASE_LAYOUT, "title": {"text": title}, **fields}


def _finite(values: Sequence[float] | NDArray[np.float64]) -> list[float | None]:
    """Values as JSON numbers, ``None`` (a gap) where not finite."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


def figure_json(figure: Any) -> str:
    """JSON of ``figure`` (or a part of one) for a ``<script>`` block: no NaN, and ``<``,
    ``>`` and ``&`` written as ``\\u003c``, ``\\u003e`` and ``\\u0026`` (the same strings to
    JSON and JavaScript) so no text in the figure can close the block or open a comment."""
    text = json.dumps(figure, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def figure_div_html(figure: Figure, div_id: str) -> str:
    """``<div id=div_id>`` and the script drawing ``figure`` into it (the page loads plotly.js).

    ``div_id`` must be a plain identifier (letters, digits, ``-`` and ``_``).
    """
    if not div_id.replace("-", "").replace("_", "").isalnum():
        raise ValidationError("div_id", div_id, "letters, digits, '-' and '_' only")
    return (
        f"<div id='{div_id}' class='plot'></div><script>Plotly.newPlot('{div_id}', "
        f"{figure_json(figure['data'])}, {figure_json(figure['layout'])}, "
        "{responsive: true, displaylogo: false});</script>"
    )


def scenario_grid_figure(grid: ScenarioGrid) -> Figure:
    """Heatmap of one :class:`ScenarioGrid` (losses red, first row on top), the worst scenario
    outlined in black (a layout shape named ``"worst scenario"``; the title names it).

    Cells hold the account's P&L in ``grid.currency`` (> 0 gain); empty cells are ``None``.
    """
    ccy = grid.currency
    heatmap = {
        "type": "heatmap",
        "z": [_finite(row) for row in grid.pnl],
        "x": list(grid.x),
        "y": list(grid.y),
        "customdata": grid.labels.tolist(),
        "colorscale": [[k / 10, c] for k, c in enumerate(RD_YL_GN)],
        "zmid": 0.0,
        "texttemplate": "%{z:.4~g}",
        "hoverongaps": False,
        "colorbar": {"title": {"text": f"P&L {ccy}"}},
        "hovertemplate": "%{customdata}<br>P&L %{z:,.6g} " + ccy + "<extra></extra>",
    }
    title = grid.title
    shapes = []
    if grid.worst is not None:
        row, col = grid.worst
        shapes.append(
            {
                "type": "rect",
                "name": "worst scenario",
                "x0": col - 0.5,
                "x1": col + 0.5,
                "y0": row - 0.5,
                "y1": row + 0.5,
                "line": {"color": "black", "width": 4},
            }
        )
        title += f" - worst: {grid.labels[row, col]}"
    layout = _layout(
        title,
        xaxis={"title": {"text": grid.x_title}, "type": "category", "automargin": True},
        yaxis={
            "title": {"text": grid.y_title},
            "type": "category",
            "autorange": "reversed",
            "automargin": True,
        },
        shapes=shapes,
        height=200 + 45 * len(grid.y),
    )
    return {"data": [heatmap], "layout": layout}


def account_grid_figures(
    batch: MarginBatch, portfolio: Portfolio, market: MarketSnapshot, params: Any
) -> list[Figure] | None:
    """Heatmaps of one account's P&L on its method's own scenario grids, worst cell marked.

    Parameters
    ----------
    batch
        The method's result for (at least) this account.
    portfolio
        The account's positions.
    market, params
        What ``batch`` was computed with.

    Returns
    -------
    list of Figure or None
        One heatmap per grid (empty: no position on a grid, or the account could not be
        computed); None when the method exposes no grid.
    """
    found = grids(batch, [portfolio], market, params)
    if found is None:
        return None
    return [scenario_grid_figure(g) for g in found.get(portfolio.account, [])]


def row_name(result: MarginResult) -> str:
    """How a result row is named on a page: its currency, with its group when it has one
    (``"USDC (usdc_eth)"``)."""
    return f"{result.currency} ({result.group})" if result.group else result.currency


def components_figure(results: Sequence[MarginResult]) -> Figure:
    """Horizontal bars of every component of an account's result rows (one trace per row).

    Each bar is labelled with its path in the component tree (``parent › child``), in tree
    order from the top; its length is the component's amount in the row's currency
    (requirements >= 0, diagnostic P&L may be signed).
    """
    data = []
    for n, r in enumerate(results):
        path: list[str] = []
        names, amounts, sources = [], [], []
        for depth, c in r.component_rows():
            path = [*path[:depth], c.name]
            names.append(" › ".join(path))
            amounts.append(c.amount)
            sources.append(c.source)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": f"{row_name(r)} ({r.currency})",
                "x": amounts,
                "y": names,
                "customdata": sources,
                "marker": {"color": _PALETTE[n % len(_PALETTE)]},
                "hovertemplate": "%{y}<br>%{x:,.6g} " + r.currency + "<br>%{customdata}"
                "<extra></extra>",
            }
        )
    rows = max((len(d["y"]) for d in data), default=1)
    layout = _layout(
        "Margin by component",
        barmode="group",
        xaxis={"title": {"text": "amount (row currency)"}, "zeroline": True},
        yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        height=160 + 28 * rows * max(len(data), 1),
    )
    return {"data": data, "layout": layout}


def method_margins_figure(comparison: Comparison) -> Figure:
    """Grouped bars of one account's IM and MM (USD at the index) under every method.

    Methods that could not compute the account have no bar; they are named in a note
    under the chart (layout annotation).
    """
    methods = [r.method for r in comparison.runs]
    im = [r.initial_margin_usd for r in comparison.runs]
    mm = [r.maintenance_margin_usd for r in comparison.runs]
    failed = [r.method for r in comparison.runs if r.error is not None]
    data = [
        {
            "type": "bar",
            "name": name,
            "x": methods,
            "y": values,
            "marker": {"color": color},
            "hovertemplate": "%{x}<br>" + name + " %{y:,.2f} USD<extra></extra>",
        }
        for name, values, color in (("IM", im, _PALETTE[0]), ("MM", mm, _PALETTE[3]))
    ]
    annotations = []
    if failed:
        annotations.append(
            {
                "text": "not computed: " + ", ".join(failed),
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": -0.25,
                "showarrow": False,
                "xanchor": "left",
            }
        )
    layout = _layout(
        f"{comparison.account}: margin by method (USD at index)",
        barmode="group",
        yaxis={"title": {"text": "USD"}, "rangemode": "tozero"},
        xaxis={"type": "category"},
        annotations=annotations,
        height=380,
    )
    return {"data": data, "layout": layout}


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MarginHistory:
    """One account's margin over time under one method, in one currency.

    Attributes
    ----------
    currency
        Currency of every amount.
    times_ms
        Computation times, epoch milliseconds UTC, shape ``(n,)`` (any order; drawn sorted).
    initial_margin, maintenance_margin
        Requirements at each time, shape ``(n,)``, >= 0.
    equity
        Equity at each time, shape ``(n,)``; NaN where not valued.
    """

    currency: str
    times_ms: NDArray[np.int64]
    initial_margin: NDArray[np.float64]
    maintenance_margin: NDArray[np.float64]
    equity: NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.times_ms)
        for name in ("initial_margin", "maintenance_margin", "equity"):
            if len(getattr(self, name)) != n:
                raise ValidationError(name, len(getattr(self, name)), f"{n} values (times_ms)")


def history_figure(history: MarginHistory, title: str) -> Figure:
    """Lines of IM, MM and equity over time (UTC date axis, amounts in the currency)."""
    order = np.argsort(history.times_ms, kind="stable")
    times = [
        ms_to_datetime(int(t)).strftime("%Y-%m-%d %H:%M:%S")
        for t in np.asarray(history.times_ms)[order]
    ]
    series = (
        ("IM", history.initial_margin, _PALETTE[0], "solid"),
        ("MM", history.maintenance_margin, _PALETTE[3], "dash"),
        ("equity", history.equity, _PALETTE[2], "solid"),
    )
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": times,
            "y": _finite(np.asarray(values, dtype=np.float64)[order]),
            "line": {"color": color, "dash": dash},
            "hovertemplate": "%{x} UTC<br>"
            + name
            + " %{y:,.6g} "
            + history.currency
            + "<extra></extra>",
        }
        for name, values, color, dash in series
    ]
    layout = _layout(
        title,
        xaxis={"type": "date", "title": {"text": "computed at (UTC)"}},
        yaxis={"title": {"text": history.currency}, "rangemode": "tozero"},
        height=380,
    )
    return {"data": data, "layout": layout}


def smile_figure(snapshot: MarketSnapshot, underlying: str) -> Figure:
    """The implied-vol smile of every expiry of ``underlying`` (percent against strike, USD).

    Markers are the venue's mark IVs per strike, lines the interpolated smile (total variance
    linear in log-moneyness, flat wings) over the quoted strike range and 10 % beyond it;
    marker and line of one expiry share a colour and a legend group (the expiry's name).
    """
    data: list[dict[str, Any]] = []
    for n, expiry_ms in enumerate(snapshot.expiries(underlying)):
        smile = snapshot.smiles.get((underlying, expiry_ms))
        if smile is None:
            continue
        color = _PALETTE[n % len(_PALETTE)]
        label = format_expiry(expiry_ms)
        grid = np.linspace(float(smile.strikes[0]) * 0.9, float(smile.strikes[-1]) * 1.1, 200)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{label} smile",
                "legendgroup": label,
                "x": grid.tolist(),
                "y": _finite(100 * smile.vol(grid)),
                "line": {"color": color},
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"{label} mark IV",
                "legendgroup": label,
                "showlegend": False,
                "x": np.asarray(smile.strikes, dtype=np.float64).tolist(),
                "y": _finite(100 * np.asarray(smile.vols)),
                "marker": {"color": color, "size": 6},
                "hovertemplate": "K=%{x:,.0f}<br>IV=%{y:.2f}%<extra>" + label + "</extra>",
            }
        )
    layout = _layout(
        f"{underlying} implied volatility by expiry (mark IV, %)",
        xaxis={"title": {"text": "strike (USD)"}},
        yaxis={"title": {"text": "implied vol (%)"}},
        height=520,
    )
    return {"data": data, "layout": layout}
