"""The VaR/ES part of ``portmargin demo``: scenario P&L of sample books over the filtered
historical (FHS) 1-day scenarios of the bundled daily history, with Black-76 and with Merton
jump-diffusion revaluation."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from portmargin.analysis import compute_margin
from portmargin.core import MarketDataError, ms_to_datetime
from portmargin.instruments import OptionType
from portmargin.io.params import load_params
from portmargin.io.report import ReportSection, TailMarks, pnl_distribution_html, table_html
from portmargin.market import MarketSnapshot, PriceHistory
from portmargin.methods import get_method, method_names
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import (
    BLACK76,
    Book,
    MertonJumps,
    MertonModel,
    RevaluationModel,
    build_risk_array,
    prepare_book,
    var_es,
)
from portmargin.scenarios import estimate_merton, fhs_scenarios

__all__ = ["SPEC_JUMPS", "risk_sections", "short_put_portfolio"]

SPEC_JUMPS = {
    "BTC": MertonJumps(intensity=3.482, mean=-0.0100, vol=0.1773),
    "ETH": MertonJumps(intensity=2.868, mean=-0.0867, vol=0.2359),
}
"""Merton jumps per underlying (jumps per year, mean and vol of the log jump ratio): the
estimation table of ``specs/var-margin.md``."""

CONFIDENCE = 0.99
"""Confidence of the VaR and ES shown (the bundled ``var`` pack's)."""

LOOKBACK_DAYS = 1095
HISTORY_START = {"ETH": date(2017, 1, 1)}
"""As the bundled ``var`` pack: three years of joint daily returns, ETH from 2017."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _ScenarioPnl:
    """P&L of one book over the FHS scenarios, USD (gain > 0), per underlying ``(s,)``."""

    labels: tuple[str, ...]
    by_underlying: dict[str, NDArray[np.float64]]

    @property
    def total(self) -> NDArray[np.float64]:
        total: NDArray[np.float64] = np.sum(list(self.by_underlying.values()), axis=0)
        return total


def _fhs_pnl(
    book: Portfolio, snap: MarketSnapshot, history: PriceHistory, model: RevaluationModel
) -> _ScenarioPnl:
    """P&L of ``book`` in each FHS 1-day scenario with returns up to the market's date:
    keyed joint BTC/ETH moves, vols unchanged (sticky strike), the market one day older."""
    prepared = prepare_book(Book.from_portfolios([book]), snap)
    if prepared.errors:
        raise MarketDataError(next(iter(prepared.errors.values())))
    table = prepared.table
    underlyings = sorted(set(table.underlying.tolist()))
    window = history.joint_returns(
        underlyings,
        as_of=ms_to_datetime(snap.valuation_ms).date(),
        lookback_days=LOOKBACK_DAYS,
        history_start={u: d for u, d in HISTORY_START.items() if u in underlyings},
    )
    scenarios = fhs_scenarios(history, window).to_scenario_set("fhs 1d")
    pnl_usd = build_risk_array(table, scenarios, model).pnl_usd()
    q = np.asarray(prepared.book.quantities.toarray()[0], dtype=np.float64)
    return _ScenarioPnl(
        labels=scenarios.labels,
        by_underlying={u: (q * (table.underlying == u)) @ pnl_usd for u in underlyings},
    )


def _measures(pnl: NDArray[np.float64]) -> tuple[float, float]:
    """VaR and ES (USD losses) of one P&L vector at :data:`CONFIDENCE`, equal weights."""
    var, es = var_es(-pnl[None, :], CONFIDENCE)
    return float(var[0]), float(es[0])


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


def _diversification(
    book: Portfolio, snap: MarketSnapshot, pnl: _ScenarioPnl
) -> tuple[str, TailMarks, str]:
    """Table of standalone ES per underlying against portfolio ES (and the ``var`` method's
    margin when it is registered), the marks of the histogram and where they come from."""
    rows = []
    standalone = 0.0
    for u, values in pnl.by_underlying.items():
        v, e = _measures(values)
        standalone += e
        rows.append([f"{u} positions alone", _usd(v), _usd(e)])
    var_p, es_p = _measures(pnl.total)
    rows.append(["sum of standalone ES", "", _usd(standalone)])
    rows.append(["whole book", _usd(var_p), _usd(es_p)])
    rows.append(["diversification benefit", "", _usd(standalone - es_p)])
    marks = TailMarks(confidence=CONFIDENCE, var=var_p, es=es_p)
    source = "the shared VaR/ES kernel (portmargin.risk.var_es) on these scenarios"
    extra = ""
    if "var" in method_names():
        method = get_method("var")
        pack = load_params(method)
        batch = compute_margin(method, [book], snap, pack)
        if book.account in batch.errors:
            extra = (
                f"<p>The var method cannot margin this book: "
                f"{html.escape(batch.errors[book.account])}</p>"
            )
        else:
            i = batch.rows_of(book.account)[0]
            c = batch.components
            figures = batch.figures
            marks = TailMarks(
                confidence=float(figures["risk_measures.confidence"][i]),
                var=float(figures["risk_measures.var"][i]),
                es=float(figures["risk_measures.es"][i]),
            )
            source = f"the var method's risk_measures (pack {batch.params_version})"
            body = [
                [name, _usd(float(c[key][i]))]
                for name, key in (
                    ("sum of standalone ES per underlying", "core_margin/group_sum"),
                    ("portfolio ES", "core_margin/portfolio"),
                    ("diversification benefit B", "core_margin/benefit"),
                    ("offset granted (cap x B)", "core_margin/offset"),
                    ("capped core margin", "core_margin"),
                    ("liquidity add-on", "liquidity_addon"),
                )
                if key in c
            ]
            body.append(["maintenance margin", _usd(float(batch.maintenance_margin[i]))])
            extra = "<h3>var method</h3>" + table_html(["", "USD"], body)
    table = table_html(["FHS 1-day, 99 %", "VaR (USD)", "ES (USD)"], rows)
    return table + extra, marks, source


def _tail_section(snap: MarketSnapshot, history: PriceHistory) -> ReportSection:
    """Short far-OTM puts: ES with Black-76 against Merton revaluation of the same scenarios."""
    book = short_put_portfolio(snap)
    put = book.positions[0].instrument
    black = _fhs_pnl(book, snap, history, BLACK76).total
    merton = _fhs_pnl(book, snap, history, MertonModel(jumps=SPEC_JUMPS)).total
    (vb, eb), (vm, em) = _measures(black), _measures(merton)
    rows = [
        ["Black-76", _usd(vb), _usd(eb)],
        ["Merton jump diffusion (spec jumps)", _usd(vm), _usd(em)],
        ["Merton / Black-76", _ratio(vm, vb), _ratio(em, eb)],
    ]
    fit = estimate_merton(
        history, underlyings=["BTC"], as_of=ms_to_datetime(snap.valuation_ms).date()
    ).assets[0]
    fitted = MertonJumps(intensity=fit.jump_intensity, mean=fit.jump_mean, vol=fit.jump_vol)
    ve, ee = _measures(_fhs_pnl(book, snap, history, MertonModel(jumps={"BTC": fitted})).total)
    rows.append(
        [
            f"Merton, jumps fitted up to the market date (lambda {fitted.intensity:.3f}, "
            f"mu_J {fitted.mean:+.4f}, delta {fitted.vol:.4f})",
            _usd(ve),
            _usd(ee),
        ]
    )
    if "var" in method_names():
        method = get_method("var")
        for model, label in (("black76", "Black-76"), ("merton", "Merton")):
            pack = load_params(method, None, [f"revaluation_model={model}"])
            batch = compute_margin(method, [book], snap, pack)
            if book.account not in batch.errors:
                mm = float(batch.maintenance_margin[batch.rows_of(book.account)[0]])
                rows.append([f"var method MM ({label}, with liquidity add-on)", "", _usd(mm)])
    jumps = SPEC_JUMPS["BTC"]
    return ReportSection(
        title=f"Short tail: {book.account} (short 10 {put.name})",
        body_html=table_html(["revaluation", "VaR 99 % (USD)", "ES 99 % (USD)"], rows)
        + pnl_distribution_html(
            merton,
            TailMarks(confidence=CONFIDENCE, var=vm, es=em),
            title=f"{book.account}: FHS 1-day P&L, Merton revaluation",
        )
        + "<p class='note'>The same FHS 1-day scenarios revalued with "
        "portmargin.risk.build_risk_array: Black-76 on the mark vols, and MertonModel with "
        f"the spec's BTC jumps (lambda {jumps.intensity:g}/year, mu_J {jumps.mean:+g}, "
        f"delta {jumps.vol:g}) on the same vols as diffusion vols; VaR and ES by the shared "
        "kernel portmargin.risk.var_es. The last Merton row fits the jumps to the BTC daily "
        "closes up to the market's date (portmargin.scenarios.estimate_merton, no look-ahead). "
        "The var method rows use its default pack with revaluation_model black76 and merton "
        "(jumps fitted the same way).</p>",
    )


def risk_sections(snap: MarketSnapshot, cross: Portfolio) -> list[ReportSection]:
    """The scenario P&L sections of the demo: the cross-asset book ``cross`` with its
    diversification and the short-tail book, both over the FHS 1-day scenarios of the
    market's daily history up to its date.

    Raises
    ------
    MarketDataError
        ``snap`` carries no daily history.
    """
    history = snap.history
    if history is None:
        raise MarketDataError("the demo's scenario P&L needs the market's daily history")
    pnl = _fhs_pnl(cross, snap, history, BLACK76)
    table, marks, source = _diversification(cross, snap, pnl)
    first, last = pnl.labels[0], pnl.labels[-1]
    return [
        ReportSection(
            title=f"Scenario P&L: {cross.account} (FHS 1 day)",
            body_html=pnl_distribution_html(
                pnl.total, marks, title=f"{cross.account}: FHS 1-day P&L (Black-76)"
            )
            + table
            + f"<p class='note'>{len(pnl.labels)} filtered historical scenarios "
            f"({html.escape(first)} to {html.escape(last)}): the joint BTC/ETH daily returns "
            "rescaled by the EWMA vol (lambda 0.94) now over then, applied as keyed scenarios "
            "and revalued with portmargin.risk.build_risk_array (vols unchanged, one day "
            f"older). VaR and ES marks: {html.escape(source)}. The ETH hedge offsets the "
            "calls' delta only as far as the two coins move together: the benefit is the "
            "sum of the standalone ES minus the whole book's.</p>",
        ),
        _tail_section(snap, history),
    ]
