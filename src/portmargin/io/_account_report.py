"""The user's margin report: an index of every account and one page per account (offline).

``index.html`` lists every account of the batch, the most at risk first (by excess over the
requirement when the batch carries equity, else by initial margin), and the accounts that could
not be computed with their reason. ``accounts/<name>.html`` shows one account: IM and MM per
result row, the component tree, the positions with their P&L in the worst scenario, equity and
excess (when known) and heatmaps of the account's P&L on the method's own scenario grid with
the worst scenario marked; for ``span`` the clearing statement of each combined commodity, for
``var`` the histogram of the account's scenario P&L with the method's VaR and ES marked and
the diversification benefit shared by underlying.
``plotly.min.js`` is written once beside the index and referenced
relatively: the pages load nothing from the network.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.analysis import to_usd
from portmargin.core import PortmarginError, ValidationError, ms_to_datetime
from portmargin.io._account_grids import ScenarioGrid, grids
from portmargin.io._distribution import TailMarks, pnl_distribution_html
from portmargin.io._span_statement import span_active_scenarios, span_statement_html
from portmargin.io._var_distribution import var_scenario_pnl
from portmargin.io._var_groups import var_groups_html
from portmargin.io.figures import figure_div_html, row_name, scenario_grid_figure
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio
from portmargin.results import MarginBatch, MarginResult

__all__ = [
    "DEFAULT_PAGES",
    "AccountReport",
    "safe_page_names",
    "scenario_grid_html",
    "write_account_report",
]

DEFAULT_PAGES = 200
"""Accounts given a page of their own by default (the most at risk first)."""

PLOTLY_JS = "plotly.min.js"
"""File name of the embedded plotly.js, beside ``index.html``."""

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem;word-break:break-all}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #dde}h3{font-size:1rem;margin-bottom:.3rem}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.25rem .6rem;text-align:right;
border-bottom:1px solid #eef;vertical-align:top;white-space:nowrap}th{background:#f5f6fa}
th:first-child,td:first-child,td.l,th.l{text-align:left}
td.l{max-width:24rem;white-space:normal;overflow-wrap:anywhere}
.note{color:#556;font-size:.85rem}.scroll{max-height:36rem;overflow:auto;display:inline-block}.neg{color:#b3261e}.warn{color:#8a5300}
a{color:#1f5fbf}
"""

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AccountReport:
    """What the report shows.

    Attributes
    ----------
    batch
        Margin of the accounts under one method. When it carries equity (as every batch of
        :func:`portmargin.methods.run_method` does), equity, excess and margin ratio are shown
        and accounts are ranked by excess in USD (each account's currencies counted once);
        otherwise they show ``n/a`` and accounts are ranked by initial margin.
    portfolios
        The accounts' positions (those of ``batch``).
    market
        Snapshot the batch was computed on (USD conversion at its index, scenario grids).
    params
        Parameter pack the batch was computed with.
    file_errors
        Accounts the positions file could not read → reason.
    warnings
        Notes about the input file.
    """

    batch: MarginBatch
    portfolios: tuple[Portfolio, ...]
    market: MarketSnapshot
    params: Any
    file_errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        have = {pf.account for pf in self.portfolios}
        if len(have) != len(self.portfolios):
            raise ValidationError("portfolios", len(self.portfolios), "one portfolio per account")
        missing = sorted(set(self.batch.account.tolist()) - have)
        if missing:
            raise ValidationError(
                "batch", missing[:5], "rows of accounts present in 'portfolios' only"
            )
        object.__setattr__(self, "portfolios", tuple(self.portfolios))
        object.__setattr__(self, "file_errors", MappingProxyType(dict(self.file_errors)))
        object.__setattr__(self, "warnings", tuple(self.warnings))


def safe_page_names(accounts: Sequence[str]) -> dict[str, str]:
    """A distinct, portable file name per account id (``"alice-2bd806c9.html"``).

    Characters other than ASCII letters, digits, ``.``, ``_`` and ``-`` become ``_``, leading
    and trailing dots and dashes are dropped, the result is cut to 60 characters and followed
    by 8 hex digits of the id's SHA-256; a counter is added in the unlikely case two names
    still meet (compared case-insensitively). No name is empty, hidden or a path.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for account in accounts:
        slug = _SAFE.sub("_", account).strip("._-")[:60] or "account"
        digest = hashlib.sha256(account.encode("utf-8")).hexdigest()[:8]
        name, n = f"{slug}-{digest}", 2
        while name.lower() in taken:
            name, n = f"{slug}-{digest}-{n}", n + 1
        taken.add(name.lower())
        out[account] = f"{name}.html"
    return out


def _plotly_js() -> str:
    """plotly.js (minified) from the installed plotly package."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise PortmarginError("HTML reports need plotly: pip install 'portmargin[plots]'") from None
    return str(get_plotlyjs())


def _amount(x: float | None) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if abs(x) < 5e-10:
        return "0"
    return f"{x:,.2f}" if abs(x) >= 1000 else f"{x:.6g}"


def _cell(text: str, cls: str = "") -> str:
    return f"<td class='{cls}'>{html.escape(text)}</td>" if cls else f"<td>{html.escape(text)}</td>"


def _table(header: Sequence[str], rows: Sequence[str], left: Sequence[int] = (0,)) -> str:
    """A table whose columns ``left`` are left-aligned (their cells carry class ``l``)."""
    head = "".join(
        f"<th class='l'>{html.escape(h)}</th>" if i in left else f"<th>{html.escape(h)}</th>"
        for i, h in enumerate(header)
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def scenario_grid_html(grid: ScenarioGrid, div_id: str) -> str:
    """Heatmap of one :class:`ScenarioGrid` (:func:`~portmargin.io.figures.scenario_grid_figure`,
    the worst scenario outlined) drawn by ``Plotly.newPlot`` into ``<div id=div_id>``, with the
    grid's note; the page must load plotly.js."""
    marked = "worst scenario outlined" if grid.worst is not None else "no scenario marked here"
    return (
        figure_div_html(scenario_grid_figure(grid), div_id)
        + f"<p class='note'>{html.escape(grid.note)}; {marked}.</p>"
    )


def _page(title: str, script: str | None, body: str) -> str:
    src = f"<script src='{script}'></script>" if script else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>{src}</head>"
        f"<body>{body}</body></html>"
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Ranked:
    """Accounts with rows, in report order, with their totals (USD at the index)."""

    accounts: list[str]
    rows: dict[str, list[int]]
    im_usd: NDArray[np.float64]
    mm_usd: NDArray[np.float64]
    excess_usd: NDArray[np.float64] | None


def _first_of_currency(batch: MarginBatch) -> NDArray[np.float64]:
    """1 on the first row of each (account, currency), 0 on the others: rows of one account in
    one currency share that currency's equity and excess, which count once."""
    seen: set[tuple[str, str]] = set()
    first = np.zeros(len(batch))
    for i, key in enumerate(zip(batch.account.tolist(), batch.currency.tolist(), strict=True)):
        if key not in seen:
            seen.add(key)
            first[i] = 1.0
    return first


def _rank(report: AccountReport) -> _Ranked:
    """Order the accounts: most at risk first (lowest excess, else largest IM), then by id."""
    batch = report.batch
    by_account = batch.rows_by_account()
    computed = [pf.account for pf in report.portfolios if pf.account not in batch.errors]
    position = {a: k for k, a in enumerate(computed)}
    n = len(computed)
    rate = {c: to_usd(1.0, str(c), report.market) for c in set(batch.currency.tolist())}
    factor = np.array([rate[c] for c in batch.currency.tolist()], dtype=np.float64)
    keep = np.array([a in position for a in batch.account.tolist()], dtype=bool)
    idx = np.array([position.get(a, 0) for a in batch.account.tolist()], dtype=np.intp)[keep]

    def total(values: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.bincount(idx, weights=(values * factor)[keep], minlength=n).astype(np.float64)

    im, mm = total(batch.initial_margin), total(batch.maintenance_margin)
    excess = None if batch.excess is None else total(batch.excess * _first_of_currency(batch))
    names = np.array(computed, dtype=object)
    order = np.lexsort((names, im * -1.0 if excess is None else excess)) if n else np.zeros(0, int)
    return _Ranked(
        accounts=[computed[k] for k in order.tolist()],
        rows=by_account,
        im_usd=im[order],
        mm_usd=mm[order],
        excess_usd=None if excess is None else excess[order],
    )


def _row_values(batch: MarginBatch, i: int) -> tuple[str, str, str]:
    """Equity, excess and margin ratio of row ``i`` as text (``n/a`` without equity)."""
    equity, excess, ratio = batch.equity, batch.excess, batch.margin_ratio
    if equity is None or excess is None or ratio is None:
        return "n/a", "n/a", "n/a"
    return (
        _amount(float(equity[i])),
        _amount(float(excess[i])),
        f"{float(ratio[i]):.4g}" if np.isfinite(ratio[i]) else "n/a",
    )


def _margin_table(batch: MarginBatch, rows: Sequence[int], results: Sequence[MarginResult]) -> str:
    body = []
    for i, r in zip(rows, results, strict=True):
        equity, excess, ratio = _row_values(batch, i)
        cls = "neg" if excess.startswith("-") else ""
        body.append(
            "<tr>"
            + _cell(row_name(r), "l")
            + _cell(_amount(r.initial_margin))
            + _cell(_amount(r.maintenance_margin))
            + _cell(equity)
            + _cell(excess, cls)
            + _cell(ratio)
            + _cell(r.worst_scenario or "none", "l")
            + "</tr>"
        )
    header = ["row (currency)", "IM", "MM", "equity", "excess", "margin ratio", "worst scenario"]
    return _table(header, body, left=(0, 6))


def _components(results: Sequence[MarginResult]) -> str:
    parts = []
    for r in results:
        body = [
            "<tr>"
            + f"<td class='l' style='padding-left:{0.6 + 1.4 * depth:.1f}rem'>"
            + f"{html.escape(c.name)}</td>"
            + _cell(_amount(c.amount))
            + _cell(c.source, "l")
            + "</tr>"
            for depth, c in r.component_rows()
        ]
        parts.append(
            f"<h3>{html.escape(row_name(r))}</h3>"
            + _table(["component", f"amount ({r.currency})", "rule"], body, left=(0, 2))
        )
    return "".join(parts)


def _positions(portfolio: Portfolio, results: Sequence[MarginResult]) -> str:
    """Positions with their P&L in each row's worst scenario, largest loss first."""
    pnl = [{c.instrument: c.pnl for c in r.contributions} for r in results]
    header = ["instrument", "quantity"] + [f"P&L in worst scenario, {row_name(r)}" for r in results]

    def loss(name: str) -> float:
        return min((m[name] for m in pnl if name in m), default=0.0)

    body = []
    for p in sorted(
        portfolio.positions, key=lambda p: (loss(p.instrument.name), p.instrument.name)
    ):
        name = p.instrument.name
        cells = "".join(
            _cell(_amount(m[name]), "neg" if m[name] < 0 else "") if name in m else _cell("")
            for m in pnl
        )
        body.append("<tr>" + _cell(name, "l") + _cell(f"{p.quantity:g}") + cells + "</tr>")
    return f"<div class='scroll'>{_table(header, body)}</div>"


def _account_page(
    report: AccountReport,
    portfolio: Portfolio,
    rows: Sequence[int],
    account_grids: list[ScenarioGrid] | None,
    extras: _Extras,
) -> str:
    batch = report.batch
    results = [batch.result(i) for i in rows]
    when = ms_to_datetime(report.market.valuation_ms).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [
        "<p><a href='../index.html'>&larr; all accounts</a></p>",
        f"<h1>Account {html.escape(portfolio.account)}</h1>",
        f"<p class='note'>Method {html.escape(batch.method)}, parameters "
        f"{html.escape(batch.params_version)}, market at {html.escape(when)}. Amounts in each "
        "row's currency.</p>",
        "<h2>Margin</h2>",
    ]
    if results:
        parts.append(_margin_table(batch, rows, results))
    else:
        parts.append(
            "<p>The method reports no margin row for this account (nothing it margins).</p>"
        )
    if batch.equity is None:
        parts.append("<p class='note'>Equity, excess and margin ratio: n/a (no equity given).</p>")
    if batch.method == "span" and results:
        parts.append("<h2>SPAN statement</h2>")
        active = extras.span_active.get(portfolio.account, {})
        parts += [span_statement_html(batch, i, active) for i in rows]
    if batch.method == "var" and results:
        parts.append("<h2>P&amp;L over the var scenarios</h2>")
        parts.append(_var_distribution(batch, rows, extras, portfolio.account))
        parts.append("<h2>Diversification by underlying</h2>")
        parts += [var_groups_html(batch, i) for i in rows]
    parts.append("<h2>P&amp;L on the method's scenario grid</h2>")
    if account_grids is None:
        parts.append(
            f"<p>The method {html.escape(batch.method)} exposes no scenario grid: no heatmap "
            "is drawn.</p>"
        )
    elif not account_grids:
        parts.append("<p>No position of this account is on a scenario grid.</p>")
    else:
        parts += [scenario_grid_html(g, f"grid-{k}") for k, g in enumerate(account_grids)]
    if results:
        parts += ["<h2>Components</h2>", _components(results)]
    parts += [
        "<h2>Positions and their P&amp;L in the worst scenario</h2>",
        _positions(portfolio, results),
    ]
    if batch.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in batch.notes)
        parts.append(f"<h2>Assumptions</h2><ul class='note'>{items}</ul>")
    return _page(f"{portfolio.account}: margin", f"../{PLOTLY_JS}", "".join(parts))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Extras:
    """Method-specific inputs of the account pages: the active scenario of each combined
    commodity per row currency (``span``), and the scenario P&L with its probabilities
    (``var``)."""

    span_active: Mapping[str, Mapping[str, Mapping[str, str]]]
    var_pnl: Mapping[str, NDArray[np.float64]]
    var_weights: NDArray[np.float64]


def _extras(report: AccountReport, portfolios: Sequence[Portfolio]) -> _Extras:
    ok = [pf for pf in portfolios if pf.account not in report.batch.errors]
    method = report.batch.method
    active = span_active_scenarios(ok, report.market, report.params) if method == "span" else {}
    pnl, weights = (
        var_scenario_pnl(ok, report.market, report.params) if method == "var" else ({}, None)
    )
    return _Extras(
        span_active=active, var_pnl=pnl, var_weights=np.zeros(0) if weights is None else weights
    )


def _var_distribution(
    batch: MarginBatch, rows: Sequence[int], extras: _Extras, account: str
) -> str:
    """Histogram of the account's scenario P&L with the VaR and ES of its ``var`` row."""
    pnl = extras.var_pnl.get(account)
    figures = batch.figures
    if pnl is None or not rows or "risk_measures.var" not in figures:
        return "<p>No position of this account is revalued under the var scenarios.</p>"
    i = rows[0]
    marks = TailMarks(
        confidence=float(figures["risk_measures.confidence"][i]),
        var=float(figures["risk_measures.var"][i]),
        es=float(figures["risk_measures.es"][i]),
    )
    return pnl_distribution_html(
        pnl, marks, weights=extras.var_weights, title=f"{account}: scenario P&L (USD)"
    ) + (
        "<p class='note'>P&amp;L of the account's positions in every scenario of the pack; "
        "VaR and ES as reported by the method (portfolio, before add-ons).</p>"
    )


def _index_page(
    report: AccountReport, ranked: _Ranked, names: Mapping[str, str], pages: int
) -> str:
    batch = report.batch
    failed = {**report.file_errors, **batch.errors}
    when = ms_to_datetime(report.market.valuation_ms).strftime("%Y-%m-%d %H:%M:%S UTC")
    n = len(ranked.accounts)
    with_equity = ranked.excess_usd is not None
    order_text = (
        "by excess over the requirement in USD (lowest first: the most at risk)"
        if with_equity
        else "by initial margin in USD (largest first; no equity given, excess n/a)"
    )
    parts = [
        f"<h1>Margin report: {html.escape(batch.method)}</h1>",
        f"<p class='note'>Parameters {html.escape(batch.params_version)}, market at "
        f"{html.escape(when)}. {n} account(s) computed, {len(failed)} could not be computed. "
        f"Accounts are sorted {order_text}; USD totals at the snapshot's index "
        "(stablecoins at 1).</p>",
    ]
    left = max(n - pages, 0)
    if left:
        parts.append(
            f"<p class='warn'>{left} account(s) have no page of their own: pages were "
            f"written for the first {pages} in this order (option --pages).</p>"
        )
    body = []
    for k, account in enumerate(ranked.accounts):
        rows = ranked.rows.get(account, [])
        link = names.get(account)
        label = html.escape(account)
        cell = f"<a href='accounts/{link}'>{label}</a>" if link else label
        im_rows = "; ".join(
            f"{_amount(float(batch.initial_margin[i]))} {batch.currency[i]}" for i in rows
        )
        ratios = "; ".join(_row_values(batch, i)[2] for i in rows) or "n/a"
        worst = "; ".join(
            str(batch.worst_scenario[i])
            for i in rows
            if batch.worst_scenario is not None and batch.worst_scenario[i] is not None
        )
        excess = "n/a" if ranked.excess_usd is None else _amount(float(ranked.excess_usd[k]))
        body.append(
            "<tr>"
            + _cell(str(k + 1))
            + f"<td class='l'>{cell}</td>"
            + _cell(_amount(float(ranked.im_usd[k])))
            + _cell(_amount(float(ranked.mm_usd[k])))
            + _cell(excess, "neg" if excess.startswith("-") else "")
            + _cell(ratios)
            + _cell(im_rows or "no row", "l")
            + _cell(worst or "none", "l")
            + "</tr>"
        )
    header = [
        "#",
        "account",
        "IM (USD)",
        "MM (USD)",
        "excess (USD)",
        "margin ratio",
        "IM per row",
        "worst scenario",
    ]
    parts += ["<h2>Accounts</h2>", _table(header, body, left=(1, 6, 7))]
    if failed:
        rows_html = [
            "<tr>" + _cell(a, "l") + _cell(e, "l") + "</tr>" for a, e in sorted(failed.items())
        ]
        parts += [
            f"<h2>Accounts that could not be computed ({len(failed)})</h2>",
            _table(["account", "reason"], rows_html, left=(0, 1)),
        ]
    if report.warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in report.warnings)
        parts.append(f"<h2>Input warnings</h2><ul class='note'>{items}</ul>")
    if batch.notes:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in batch.notes)
        parts.append(f"<h2>Assumptions</h2><ul class='note'>{items}</ul>")
    return _page(f"Margin report: {batch.method}", None, "".join(parts))


def write_account_report(
    report: AccountReport, out_dir: str | Path, pages: int = DEFAULT_PAGES
) -> Path:
    """Write ``index.html``, ``accounts/*.html`` and ``plotly.min.js`` into ``out_dir``.

    Parameters
    ----------
    report
        Batch, positions, market and parameters.
    out_dir
        Output folder (created; files of an earlier report there are overwritten).
    pages
        Number of accounts, the most at risk first, that get a page (>= 0); the index lists
        every account with its numbers and says how many have no page.

    Returns
    -------
    pathlib.Path
        The index file.
    """
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 0:
        raise ValidationError("pages", pages, "an integer >= 0")
    plotly_js = _plotly_js()
    out = Path(out_dir)
    ranked = _rank(report)
    paged = ranked.accounts[:pages]
    names = safe_page_names(paged)
    by_name = {pf.account: pf for pf in report.portfolios}
    portfolios = [by_name[a] for a in paged]
    account_grids = grids(report.batch, portfolios, report.market, report.params)
    extras = _extras(report, portfolios)
    folder = out / "accounts"
    folder.mkdir(parents=True, exist_ok=True)
    if paged:
        (out / PLOTLY_JS).write_text(plotly_js, encoding="utf-8")
    for pf in portfolios:
        page = _account_page(
            report,
            pf,
            ranked.rows.get(pf.account, []),
            None if account_grids is None else account_grids.get(pf.account, []),
            extras,
        )
        (folder / names[pf.account]).write_text(page, encoding="utf-8")
    index = out / "index.html"
    index.write_text(_index_page(report, ranked, names, pages), encoding="utf-8")
    return index
