"""The P&L distribution of a book over scenarios, with its VaR and ES marked."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from portmargin.core import PortmarginError, ValidationError

__all__ = ["TailMarks", "pnl_distribution_figure", "pnl_distribution_html"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TailMarks:
    """The risk figures marked on a distribution.

    Attributes
    ----------
    confidence
        Confidence level of both figures, in (0, 1) (0.99 = 99 %).
    var
        Value at risk: a loss, USD (> 0 is a loss); drawn at P&L ``-var``.
    es
        Expected shortfall at the same confidence: a loss, USD, drawn at P&L ``-es``.
    """

    confidence: float
    var: float
    es: float

    def __post_init__(self) -> None:
        if not (isinstance(self.confidence, float | int) and 0.0 < self.confidence < 1.0):
            raise ValidationError("confidence", self.confidence, "a number in (0, 1)")
        for name in ("var", "es"):
            value = getattr(self, name)
            if not (isinstance(value, float | int) and math.isfinite(value)):
                raise ValidationError(name, value, "a finite loss in USD")


def _plotly_go() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise PortmarginError("HTML reports need plotly: pip install 'portmargin[plots]'") from None
    return go


def pnl_distribution_figure(
    pnl_usd: ArrayLike,
    marks: TailMarks,
    *,
    weights: ArrayLike | None = None,
    title: str = "Scenario P&L",
) -> Any:
    """A plotly histogram of scenario P&L with vertical lines at ``-VaR`` and ``-ES``.

    Parameters
    ----------
    pnl_usd
        P&L per scenario, USD, shape ``(s,)``; > 0 is a gain (pass ``-loss`` for losses).
    marks
        Confidence, VaR and ES (losses, USD) to mark.
    weights
        Optional probability of each scenario, shape ``(s,)``, >= 0 with a positive sum; the
        bars show probability (equal weights by default).
    title
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Bars of probability per P&L bin; the VaR line dashed red, the ES line solid dark red,
        each labelled with its confidence and amount (shape names ``"VaR"`` and ``"ES"``).

    Raises
    ------
    ValidationError
        If ``pnl_usd`` is empty, not one-dimensional or not finite, or ``weights`` does not
        match it.
    """
    pnl = np.asarray(pnl_usd, dtype=np.float64)
    if pnl.ndim != 1 or pnl.size == 0 or not np.all(np.isfinite(pnl)):
        raise ValidationError("pnl_usd", pnl.shape, "a non-empty finite vector (s,)")
    if weights is None:
        w = np.full(pnl.size, 1.0 / pnl.size)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != pnl.shape or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValidationError("weights", w.shape, f"{pnl.shape} non-negative, positive sum")
        w = w / w.sum()
    go = _plotly_go()
    fig = go.Figure(
        go.Histogram(
            x=pnl,
            y=w,
            histfunc="sum",
            nbinsx=min(80, max(10, pnl.size // 10)),
            marker={"color": "#4c78a8"},
            name="scenarios",
            hovertemplate="P&L %{x}<br>probability %{y:.4f}<extra></extra>",
        )
    )
    pct = f"{marks.confidence * 100:.4g}%"
    lines = (
        ("VaR", -marks.var, "#d62728", "dash", f"VaR {pct}: {marks.var:,.0f} USD"),
        ("ES", -marks.es, "#7f0000", "solid", f"ES {pct}: {marks.es:,.0f} USD"),
    )
    for n, (name, x, color, dash, text) in enumerate(lines):
        fig.add_shape(
            type="line",
            name=name,
            x0=x,
            x1=x,
            y0=0,
            y1=1,
            yref="paper",
            line={"color": color, "dash": dash, "width": 2},
        )
        fig.add_annotation(
            x=x,
            y=1.0 - 0.08 * n,
            yref="paper",
            text=text,
            showarrow=False,
            xanchor="right",
            font={"color": color},
            bgcolor="rgba(255,255,255,0.8)",
        )
    fig.update_layout(
        title=title,
        xaxis_title="P&L over the horizon (USD; loss < 0)",
        yaxis_title="probability",
        template="plotly_white",
        height=420,
        showlegend=False,
        bargap=0.02,
    )
    return fig


def pnl_distribution_html(
    pnl_usd: ArrayLike,
    marks: TailMarks,
    *,
    weights: ArrayLike | None = None,
    title: str = "Scenario P&L",
) -> str:
    """:func:`pnl_distribution_figure` as an HTML ``<div>`` (the page must load plotly.js)."""
    fig = pnl_distribution_figure(pnl_usd, marks, weights=weights, title=title)
    return str(fig.to_html(full_html=False, include_plotlyjs=False))
