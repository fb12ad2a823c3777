"""Cascade charts: price and liquidated notional per round, one trace per method, as a
self-contained HTML page (plotly.js embedded, works offline)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from portmargin.io.figures import Figure, figure_div_html
from portmargin.io.report import ReportSection, table_html, write_report
from portmargin.lifecycle import CascadeResult

__all__ = ["cascade_figure", "metric_text", "write_cascade_html"]

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#8c564b")
_DASHES = ("solid", "dot", "dash", "dashdot")


def _label(result: CascadeResult, k: int) -> str:
    return f"{chr(ord('A') + k) if k < 26 else k}: {result.margining}"


def cascade_figure(results: Sequence[CascadeResult]) -> Figure:
    """Price path (top, % move from ``S_0`` per underlying) and liquidated notional per round
    (bottom, USD) of each run, as plain plotly data.

    The x axis is the round: 0 is ``S_0``, 1 the shocked price ``S_1`` and the first round's
    liquidations, ``r + 1`` the price after round ``r``.
    """
    data: list[dict[str, object]] = []
    for k, result in enumerate(results):
        color = _PALETTE[k % len(_PALETTE)]
        name = _label(result, k)
        for j, (u, s0) in enumerate(sorted(result.initial_price.items())):
            prices = [s0, result.shocked_price[u], *(r.next_price[u] for r in result.rounds)]
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{name} {u}",
                    "legendgroup": name,
                    "x": list(range(len(prices))),
                    "y": [100.0 * (p / s0 - 1.0) for p in prices],
                    "customdata": prices,
                    "hovertemplate": (
                        f"{u} %{{customdata:,.2f}} (%{{y:.2f}} %)<extra>{name}</extra>"
                    ),
                    "line": {"color": color, "dash": _DASHES[j % len(_DASHES)]},
                    "yaxis": "y",
                }
            )
        data.append(
            {
                "type": "bar",
                "name": f"{name} liquidated",
                "legendgroup": name,
                "showlegend": False,
                "x": [r.number for r in result.rounds],
                "y": [r.liquidated_notional for r in result.rounds],
                "marker": {"color": color},
                "hovertemplate": f"round %{{x}}: %{{y:,.0f}} USD<extra>{name}</extra>",
                "yaxis": "y2",
            }
        )
    return {
        "data": data,
        "layout": {
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "font": {"color": "#2a3f5f"},
            "margin": {"t": 50},
            "title": {"text": "Liquidation cascade: price and liquidated notional per round"},
            "barmode": "group",
            "height": 640,
            "xaxis": {"title": {"text": "round"}, "dtick": 1, "anchor": "y2"},
            "yaxis": {
                "title": {"text": "move from S0 (%)"},
                "domain": [0.45, 1.0],
                "gridcolor": "#e5ecf6",
            },
            "yaxis2": {
                "title": {"text": "liquidated notional (USD)"},
                "domain": [0.0, 0.38],
                "gridcolor": "#e5ecf6",
            },
            "legend": {"orientation": "h", "y": -0.12},
        },
    }


def write_cascade_html(path: str | Path, results: Sequence[CascadeResult], title: str) -> Path:
    """Write the chart and a side-by-side table of the §9 metrics to ``path`` (HTML, plotly.js
    embedded once).

    Raises
    ------
    PortmarginError
        If plotly is not installed.
    """
    summaries = [r.summary() for r in results]
    keys = [k for k in summaries[0] if k != "margining"] if summaries else []
    header = ["metric", *(_label(r, k) for k, r in enumerate(results))]
    rows = [[key, *(metric_text(s[key], key == "final_move") for s in summaries)] for key in keys]
    sections = [
        ReportSection(
            title="Price and liquidations",
            body_html=figure_div_html(cascade_figure(results), "cascade"),
        ),
        ReportSection(title="Metrics", body_html=table_html(header, rows)),
    ]
    return write_report(path, title, sections)


def metric_text(value: object, percent: bool = False) -> str:
    """A metric as text: amounts with 2 decimals, moves in percent."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{100.0 * value:+.2f} %" if percent else f"{value:,.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {metric_text(v, percent)}" for k, v in value.items())
    return str(value)
