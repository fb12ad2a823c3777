"""The VaR/ES part of ``portmargin demo``: the ``var`` method on two sample books over its
filtered historical (FHS) 1-day scenarios of the bundled daily history. The cross-asset book
shows its diversification benefit by underlying; the short-tail book its margin with Black-76
and with Merton jump-diffusion revaluation. Every figure and histogram comes from the method
(its ``risk_measures``, components and :func:`~portmargin.methods.var.scenario_pnl`)."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.analysis import compute_margin
from portmargin.core import MarketDataError
from portmargin.instruments import OptionType
from portmargin.io.params import load_params
from portmargin.io.report import (
    ReportSection,
    TailMarks,
    pnl_distribution_html,
    table_html,
    var_groups_html,
)
from portmargin.market import MarketSnapshot
from portmargin.methods.var import VarMargin, VarParams, scenario_pnl
from portmargin.portfolio import Portfolio, Position
from portmargin.results import MarginBatch
from portmargin.risk import Book

__all__ = ["risk_sections", "short_put_portfolio"]

METHOD = VarMargin()


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _VarRun:
    """The ``var`` margin of one book and the P&L it measured (USD, gain > 0, ``(s,)``)."""

    batch: MarginBatch
    row: int
    pnl: NDArray[np.float64]
    labels: tuple[str, ...]

    def figure(self, name: str) -> float:
        return float(self.batch.figures[f"risk_measures.{name}"][self.row])

    def component(self, name: str) -> float:
        return float(self.batch.components[name][self.row])

    @property
    def maintenance_margin(self) -> float:
        return float(self.batch.maintenance_margin[self.row])

    @property
    def marks(self) -> TailMarks:
        return TailMarks(
            confidence=self.figure("confidence"), var=self.figure("var"), es=self.figure("es")
        )


def _pack(*overrides: str) -> VarParams:
    """The bundled default ``var`` pack with ``KEY=VALUE`` overrides."""
    pack = load_params(METHOD, None, list(overrides))
    if not isinstance(pack, VarParams):  # load_params builds the method's own type
        raise TypeError(f"var pack of type {type(pack).__name__}")
    return pack


def _run(book: Portfolio, snap: MarketSnapshot, pack: VarParams) -> _VarRun:
    """Margin ``book`` with ``pack`` and take the scenario P&L the method measured.

    Raises
    ------
    MarketDataError
        The method cannot margin the book (its reason).
    """
    batch = compute_margin(METHOD, [book], snap, pack)
    if book.account in batch.errors:
        raise MarketDataError(f"var cannot margin {book.account}: {batch.errors[book.account]}")
    pnl = scenario_pnl(Book.from_portfolios([book]), snap, pack)
    return _VarRun(
        batch=batch, row=batch.rows_of(book.account)[0], pnl=pnl.of(book.account), labels=pnl.labels
    )


def _usd(x: float) -> str:
    return f"{x:,.0f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def short_put_portfolio(market: MarketSnapshot, underlying: str = "BTC") -> Portfolio:
    """``short-otm-puts``: short 10 listed puts of ``underlying`` struck nearest 65 % of the
    forward, expiry nearest 30 days (a short tail: a small premium against a crash).

    Raises
    ------
    MarketDataError
        No listed put of ``underlying``.
    """
    puts = [
        q.instrument
        for q in market.quotes.values()
        if q.instrument.underlying == underlying and q.instrument.option_type is OptionType.PUT
    ]
    if not puts:
        raise MarketDataError(f"{underlying}: no listed put for the short-tail sample")
    days = {e: market.year_fraction(e) * 365 for e in {p.expiry_ms for p in puts}}
    month = min(days, key=lambda e: (abs(days[e] - 30), e))
    target = 0.65 * market.forward(underlying, month)
    put = min(
        (p for p in puts if p.expiry_ms == month), key=lambda p: (abs(p.strike - target), p.strike)
    )
    return Portfolio.from_positions("short-otm-puts", [Position(instrument=put, quantity=-10.0)])


def _diversification(run: _VarRun) -> str:
    """Standalone VaR/ES per underlying against the whole book's, the benefit shared by
    underlying and the capped margin, all from the ``var`` result."""
    c = run.component
    underlyings = [
        n.rpartition("/")[2] for n in run.batch.components if n.startswith("standalone_es/")
    ]
    rows = [
        [f"{u} positions alone", _usd(c(f"standalone_var/{u}")), _usd(c(f"standalone_es/{u}"))]
        for u in underlyings
    ]
    rows.append(["sum of standalone ES", "", _usd(c("standalone_es"))])
    rows.append(["whole book", _usd(run.figure("var")), _usd(run.figure("es"))])
    rows.append(["diversification benefit", "", _usd(c("core_margin/benefit"))])
    body = [
        [name, _usd(c(key))]
        for name, key in (
            ("sum of standalone ES per underlying", "core_margin/group_sum"),
            ("portfolio ES", "core_margin/portfolio"),
            ("diversification benefit B", "core_margin/benefit"),
            ("offset granted (cap x B)", "core_margin/offset"),
            ("capped core margin", "core_margin"),
            ("liquidity add-on", "liquidity_addon"),
        )
    ]
    body.append(["maintenance margin", _usd(run.maintenance_margin)])
    return (
        table_html(["FHS 1-day, 99 %", "VaR (USD)", "ES (USD)"], rows)
        + "<h3>Diversification benefit by underlying</h3>"
        + var_groups_html(run.batch, run.row)
        + "<h3>var method margin</h3>"
        + table_html(["", "USD"], body)
    )


def _tail_section(snap: MarketSnapshot) -> ReportSection:
    """Short far-OTM puts: the ``var`` method's VaR, ES and margin with Black-76 against
    Merton revaluation of the same scenarios."""
    book = short_put_portfolio(snap)
    put = book.positions[0].instrument
    black, merton = (
        _run(book, snap, _pack(f"revaluation_model={model}")) for model in ("black76", "merton")
    )
    rows = [
        [label, _usd(r.figure("var")), _usd(r.figure("es")), _usd(r.maintenance_margin)]
        for label, r in (
            ("Black-76", black),
            ("Merton jump diffusion (jumps fitted up to the market date)", merton),
        )
    ]
    rows.append(
        [
            "Merton / Black-76",
            _ratio(merton.figure("var"), black.figure("var")),
            _ratio(merton.figure("es"), black.figure("es")),
            _ratio(merton.maintenance_margin, black.maintenance_margin),
        ]
    )
    fit = "\n".join(
        html.escape(n.removeprefix("var: merton "))
        for n in merton.batch.notes
        if n.startswith("var: merton")
    )
    return ReportSection(
        title=f"Short tail: {book.account} (short 10 {put.name})",
        body_html=table_html(
            ["revaluation", "VaR 99 % (USD)", "ES 99 % (USD)", "var MM (USD, with add-on)"], rows
        )
        + pnl_distribution_html(
            merton.pnl,
            merton.marks,
            title=f"{book.account}: FHS 1-day P&L, Merton revaluation",
        )
        + "<p class='note'>The var method's default pack with revaluation_model black76 and "
        "merton: the same FHS 1-day scenarios, the put repriced with Black-76 on the mark "
        "vols or with Merton jumps on the same vols as diffusion vols. VaR and ES are the "
        "method's risk_measures (before the liquidity add-on, which the margin includes); "
        "the histogram is its Merton scenario P&L. The jumps are fitted to the daily closes "
        "up to the market's date (no look-ahead):</p>"
        f"<pre class='note'>{fit}</pre>",
    )


def risk_sections(snap: MarketSnapshot, cross: Portfolio) -> list[ReportSection]:
    """The ``var`` sections of the demo: the cross-asset book ``cross`` with its
    diversification and the short-tail book, both with the default pack's FHS 1-day
    scenarios of the market's daily history up to its date.

    Raises
    ------
    MarketDataError
        ``snap`` carries no daily history, or the method cannot margin a book.
    """
    if snap.history is None:
        raise MarketDataError("the demo's scenario P&L needs the market's daily history")
    run = _run(cross, snap, _pack())
    first, last = run.labels[0], run.labels[-1]
    return [
        ReportSection(
            title=f"Scenario P&L: {cross.account} (FHS 1 day)",
            body_html=pnl_distribution_html(
                run.pnl, run.marks, title=f"{cross.account}: FHS 1-day P&L (Black-76)"
            )
            + _diversification(run)
            + f"<p class='note'>The var method's default pack (parameters "
            f"{html.escape(run.batch.params_version)}): {len(run.labels)} filtered historical "
            f"scenarios ({html.escape(first)} to {html.escape(last)}), the joint BTC/ETH daily "
            "returns rescaled by the EWMA vol (lambda 0.94) now over then, every instrument "
            "revalued with Black-76 (vols unchanged, one day older). The histogram is the "
            "method's scenario P&L, VaR and ES its risk_measures. The ETH hedge offsets the "
            "calls' delta only as far as the two coins move together: the benefit is the sum "
            "of the standalone ES minus the whole book's, shared between the underlyings by "
            "their Euler contributions to the book's ES.</p>",
        ),
        _tail_section(snap),
    ]
