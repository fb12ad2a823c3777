"""HTML reports with interactive plotly charts; plotly.js is embedded, nothing loads from a CDN."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from portmargin.analysis import ChainSummary, RiskMatrix
from portmargin.core import PortmarginError
from portmargin.instruments import format_expiry
from portmargin.io._account_grids import ScenarioGrid
from portmargin.io._account_report import (
    DEFAULT_PAGES,
    AccountReport,
    safe_page_names,
    scenario_grid_html,
    write_account_report,
)
from portmargin.io._distribution import TailMarks, pnl_distribution_figure, pnl_distribution_html
from portmargin.io._span_statement import span_active_scenarios, span_statement_html
from portmargin.io._var_groups import GROUP_PARTS as VAR_GROUP_PARTS
from portmargin.io._var_groups import var_groups_html
from portmargin.market import MarketSnapshot

__all__ = [
    "DEFAULT_PAGES",
    "VAR_GROUP_PARTS",
    "AccountReport",
    "ReportSection",
    "ScenarioGrid",
    "TailMarks",
    "margin_bars_html",
    "pnl_distribution_figure",
    "pnl_distribution_html",
    "risk_matrix_html",
    "safe_page_names",
    "scenario_grid_html",
    "smile_figure_html",
    "span_active_scenarios",
    "span_statement_html",
    "summary_table_html",
    "table_html",
    "var_groups_html",
    "write_account_report",
    "write_report",
]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dde}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.25rem .6rem;text-align:right;
border-bottom:1px solid #eef}th:first-child,td:first-child{text-align:left}
.note{color:#556;font-size:.85rem}
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportSection:
    """A titled block of an HTML report.

    Attributes
    ----------
    title
        Section heading (plain text, escaped).
    body_html
        Trusted HTML produced by this module's helpers (figures, tables).
    """

    title: str
    body_html: str


def _plotly() -> object:
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise PortmarginError("HTML reports need plotly: pip install 'portmargin[plots]'") from None
    return go


def smile_figure_html(snapshot: MarketSnapshot, underlying: str) -> str:
    """Interactive chart of the implied-vol smile of every expiry of ``underlying``.

    Markers are the venue's mark IVs per strike (percent), lines the interpolated smile
    (total variance linear in log-moneyness, flat wings) over the quoted strike range and a
    margin beyond it. Returns an HTML ``<div>`` (plotly.js is not included; see
    :func:`write_report`).
    """
    go = _plotly()
    fig = go.Figure()  # type: ignore[attr-defined]
    palette = (
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
    for n, expiry_ms in enumerate(snapshot.expiries(underlying)):
        color = palette[n % len(palette)]
        smile = snapshot.smiles.get((underlying, expiry_ms))
        if smile is None:
            continue
        label = format_expiry(expiry_ms)
        lo, hi = float(smile.strikes[0]), float(smile.strikes[-1])
        grid = np.linspace(lo * 0.9, hi * 1.1, 200)
        fig.add_trace(
            go.Scatter(  # type: ignore[attr-defined]
                x=grid,
                y=100 * smile.vol(grid),
                mode="lines",
                line={"color": color},
                name=f"{label} smile",
                legendgroup=label,
            )
        )
        fig.add_trace(
            go.Scatter(  # type: ignore[attr-defined]
                x=smile.strikes,
                y=100 * smile.vols,
                mode="markers",
                marker={"color": color, "size": 6},
                name=f"{label} mark IV",
                legendgroup=label,
                showlegend=False,
                hovertemplate="K=%{x:,.0f}<br>IV=%{y:.2f}%<extra>" + label + "</extra>",
            )
        )
    fig.update_layout(
        title=f"{underlying} implied volatility by expiry (mark IV, %)",
        xaxis_title="strike (USD)",
        yaxis_title="implied vol (%)",
        template="plotly_white",
        height=520,
    )
    return str(fig.to_html(full_html=False, include_plotlyjs=False))


def summary_table_html(summary: ChainSummary) -> str:
    """HTML table of a chain repricing summary (errors in the venue's price unit)."""
    rows = [
        ("options repriced", f"{summary.options}"),
        ("median |model - mark|", f"{summary.median_abs_error:.2e}"),
        ("95th percentile |model - mark|", f"{summary.p95_abs_error:.2e}"),
        ("max |model - mark|", f"{summary.max_abs_error:.2e}"),
        ("median |delta - venue delta|", f"{summary.median_delta_error:.2e}"),
    ]
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def write_report(path: str | Path, title: str, sections: Sequence[ReportSection]) -> Path:
    """Write a self-contained HTML report (plotly.js embedded once, works offline).

    Parameters
    ----------
    path
        Output file; parent folders are created.
    title
        Page title.
    sections
        Blocks in display order.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    _plotly()
    from plotly.offline import get_plotlyjs

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>{section.body_html}")
    parts.append("</body></html>")
    out.write_text("".join(parts), encoding="utf-8")
    return out


def risk_matrix_html(matrix: RiskMatrix, title: str) -> str:
    """Heatmap of a portfolio's P&L on a spot × vol grid (losses red), one per currency."""
    go = _plotly()
    parts = []
    for ccy, pnl in matrix.pnl.items():
        fig = go.Figure(  # type: ignore[attr-defined]
            go.Heatmap(  # type: ignore[attr-defined]
                z=pnl,
                x=[f"{m:+.0%}" for m in matrix.spot_shocks],
                y=[f"{v:+.0%}" for v in matrix.vol_shocks],
                colorscale="RdYlGn",
                zmid=0.0,
                colorbar={"title": f"P&L {ccy}"},
                hovertemplate="spot %{x}, vol %{y}<br>P&L %{z:.6f} " + ccy + "<extra></extra>",
            )
        )
        fig.update_layout(
            title=f"{title} ({ccy})",
            xaxis_title="spot / forward shock",
            yaxis_title="relative vol shock",
            template="plotly_white",
            height=320,
            margin={"t": 50, "b": 40},
        )
        parts.append(str(fig.to_html(full_html=False, include_plotlyjs=False)))
    return "".join(parts)


def margin_bars_html(
    accounts: Sequence[str], methods: Mapping[str, Sequence[float | None]], title: str
) -> str:
    """Grouped bar chart of initial margin (USD) per account and method."""
    go = _plotly()
    fig = go.Figure()  # type: ignore[attr-defined]
    for method, values in methods.items():
        fig.add_trace(go.Bar(name=method, x=list(accounts), y=list(values)))  # type: ignore[attr-defined]
    fig.update_layout(
        title=title,
        barmode="group",
        yaxis_title="initial margin (USD)",
        yaxis_type="log",
        template="plotly_white",
        height=460,
    )
    return str(fig.to_html(full_html=False, include_plotlyjs=False))


def table_html(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain HTML table (cells escaped)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"
