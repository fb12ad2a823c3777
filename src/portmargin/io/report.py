"""HTML reports with interactive plotly charts; plotly.js is embedded, nothing loads from a CDN."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from portmargin.analysis import ChainSummary, RiskMatrix
from portmargin.core import PortmarginError
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
from portmargin.io.figures import figure_div_html, smile_figure
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
    """Interactive chart of the implied-vol smile of every expiry of ``underlying``
    (:func:`~portmargin.io.figures.smile_figure`) as an HTML ``<div>`` with its drawing call
    (plotly.js is not included; see :func:`write_report`)."""
    div_id = "smile-" + "".join(c if c.isalnum() else "_" for c in underlying)
    return figure_div_html(smile_figure(snapshot, underlying), div_id)


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
