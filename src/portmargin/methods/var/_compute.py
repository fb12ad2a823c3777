"""VaR/ES margin of every account of a book, as a :class:`MarginBatch` in USD."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.core import MarketDataError
from portmargin.market import MarketSnapshot, PriceHistory, ReturnWindow
from portmargin.methods.var._breakdown import group_shares, position_figures
from portmargin.methods.var._liquidity import AddOn, delta_addon, vega_addon
from portmargin.methods.var._losses import PortfolioTail, UnitLosses
from portmargin.methods.var._params import Generator, Measure, RevaluationName, VarParams
from portmargin.methods.var._scenarios import (
    Scenarios,
    current_sigma,
    historical_scenarios,
    merton_estimate,
    revaluation_model,
    revalue,
)
from portmargin.results import Contribution, MarginBatch
from portmargin.risk import (
    Book,
    InstrumentTable,
    Kind,
    prepare_book,
    set_aside,
    tail_risk,
    unit_values,
)
from portmargin.scenarios import HistoricalScenarios, MertonEstimate

__all__ = ["METHOD_NAME", "NO_HISTORY", "Inputs", "Staged", "compute", "stage"]

METHOD_NAME = "var"

NO_HISTORY = (
    "the var method needs daily closes of the underlyings and the market carries no price "
    "history: read them with portmargin.io.load_history (the bundled BTC/ETH files are "
    "portmargin.data.demo_daily_paths()) and attach them with MarketSnapshot.with_history or "
    "pass them as `history`; on the command line the bundled files are attached unless "
    "--history UNDERLYING=FILE names others"
)

VOL_POINT = 0.01
"""Vol bump of one vol point (decimal), for vega in USD per vol point."""
WORST_DATES = 3
"""Scenario dates named in the notes (largest loss summed over the batch)."""

_SOURCES = {
    "core_margin": "max(M_core, 0), M_core = sum_g m_g - offset_cap x B (m = the measure)",
    "core_margin/group_sum": "sum over underlyings of the group measure (100 % offset inside)",
    "core_margin/portfolio": "measure of the whole portfolio on the same scenarios",
    "core_margin/benefit": "B = max(sum_g m_g - m_P, 0)",
    "core_margin/offset": "offset_cap x B, deducted from the group sum",
    "core_margin/portfolio/share": "Euler share of m_P: sum over the group's positions of "
    "their contributions in the portfolio's tail (ES: tail-weighted losses; VaR: losses in "
    "the VaR scenario); the shares add up to m_P",
    "core_margin/benefit/share": "benefit share: the group's own measure m_g minus its Euler "
    "share of m_P (0 when B = 0); the shares add up to B",
    "core_margin/offset/share": "offset_cap x the group's benefit share",
    "liquidity_addon": "sum over underlyings of delta and vega liquidity add-ons",
    "standalone_es": "expected shortfall of each underlying's positions alone",
    "standalone_var": "value at risk of each underlying's positions alone",
}


def _valuation_day(market: MarketSnapshot) -> date:
    return datetime.fromtimestamp(market.valuation_ms / 1000.0, tz=UTC).date()


def _market_history(market: MarketSnapshot) -> PriceHistory | None:
    """The daily history the market carries, if any."""
    return market.history


def _unsupported(
    table: InstrumentTable, held: NDArray[np.intp], params: VarParams, history: PriceHistory
) -> list[tuple[NDArray[np.intp], str]]:
    """Held columns of underlyings without liquidity parameters or price history."""
    out = []
    for c in held.tolist():
        u = str(table.underlying[c])
        if u not in params.liquidity:
            out.append(
                (
                    np.array([c], dtype=np.intp),
                    f"{table.names[c]}: no var liquidity parameters for {u!r} "
                    f"(pack has {sorted(params.liquidity)})",
                )
            )
        elif u not in history.underlyings:
            out.append(
                (
                    np.array([c], dtype=np.intp),
                    f"{table.names[c]}: no price history for {u!r} "
                    f"(history has {list(history.underlyings)})",
                )
            )
    return out


def _held_columns(q: sp.csr_matrix, candidates: NDArray[np.intp]) -> NDArray[np.intp]:
    used = np.asarray(abs(q[:, candidates]).sum(axis=0)).ravel() > 0
    result: NDArray[np.intp] = candidates[used]
    return result


def _vega_usd(table: InstrumentTable, coin_settled: NDArray[np.bool_]) -> NDArray[np.float64]:
    """USD value change of one unit for sigma + 0.01 (coin-settled rows at the index)."""
    bumped = dataclasses.replace(table, sigma=table.sigma + VOL_POINT)
    change = unit_values(bumped) - unit_values(table)
    result: NDArray[np.float64] = np.where(coin_settled, change * table.index, change)
    return result


def _notes(
    params: VarParams,
    hist: Scenarios,
    window: ReturnWindow,
    as_of: date,
    worst_dates: Sequence[str],
    sigma: dict[str, float],
    estimate: MertonEstimate | None,
) -> list[str]:
    h = hist.horizon_days
    if isinstance(hist, HistoricalScenarios):
        build = (
            "sqrt(h) x 1-day returns"
            if hist.sqrt_time_scaling
            else ("overlapping" if hist.overlapping else "non-overlapping")
        )
        source = (
            f"{hist.n_scenarios} scenarios of {h} day(s) ({build}) from {window.n} joint daily "
            f"returns {window.dates[0]} to {window.dates[-1]}"
        )
    else:
        source = (
            f"{hist.n_scenarios} Monte Carlo paths of {h} day(s) (seed {params.mc.seed}) of the "
            f"correlated Merton model estimated up to {as_of.isoformat()}"
        )
    notes = [
        f"var: parameters {params.version}; {params.method.value} scenarios, {source} over "
        f"{', '.join(window.underlyings)}; as_of {as_of.isoformat()}; options revalued with "
        f"{params.revaluation_model.value}",
        f"var: margin measure {params.measure.value} at confidence {params.confidence:g} "
        f"(VaR and ES both reported in risk_measures), offset cap {params.offset_cap:g}, "
        f"IM = {params.ratio_im_mm:g} x MM",
        f"var: vol model {params.vol_model.value}"
        + (
            ""
            if params.vol_model.value == "sticky_strike"
            else f" (vol_beta {params.vol_beta:g}, min_vol {params.min_vol:g})"
        ),
        "var: liquidity add-on sigma_d (daily EWMA at as_of): "
        + ", ".join(f"{u} {v:.6f}" for u, v in sigma.items()),
        "var: currency balances are collateral and carry no requirement",
    ]
    if estimate is not None:
        notes.extend(f"var: merton {line}" for line in estimate.report())
    if window.short_history:
        notes.append(
            f"var: short_history: {window.n} joint daily returns up to {as_of.isoformat()}, "
            f"fewer than lookback_days = {params.lookback_days} (used as they are)"
        )
    notes.extend(f"var: proxy {line}" for line in window.proxy_report())
    if worst_dates:
        notes.append(
            "var: worst scenario dates (largest loss summed over accounts): "
            + ", ".join(worst_dates)
        )
    return notes


def _zero_batch(book: Book, params: VarParams, errors: dict[str, str], as_of: date) -> MarginBatch:
    """Every account of ``book`` holds nothing margined: margin 0, VaR and ES 0, no
    scenario generated."""
    n = len(book.accounts)
    return MarginBatch(
        method=METHOD_NAME,
        params_version=params.version,
        account=np.array(book.accounts, dtype=object),
        currency=np.full(n, "USD", dtype=object),
        initial_margin=np.zeros(n),
        maintenance_margin=np.zeros(n),
        components={"core_margin": np.zeros(n), "liquidity_addon": np.zeros(n)},
        sources={k: _SOURCES[k] for k in ("core_margin", "liquidity_addon")},
        worst_scenario=np.full(n, None, dtype=object),
        errors=errors,
        figures=_risk_figures(
            np.zeros(n), np.zeros(n), params, 0, np.full(n, as_of.isoformat(), dtype=object)
        ),
    )


def _risk_figures(
    var: NDArray[np.float64],
    es: NDArray[np.float64],
    params: VarParams,
    scenarios: int,
    as_of: NDArray[np.object_],
) -> dict[str, NDArray[Any]]:
    """``risk_measures.*`` per row: portfolio VaR and ES (USD, before add-ons), confidence,
    holding period (days), scenario count and as-of date."""
    n = var.shape[0]
    return {
        "risk_measures.var": var,
        "risk_measures.es": es,
        "risk_measures.confidence": np.full(n, params.confidence),
        "risk_measures.holding_period_days": np.full(n, float(params.holding_period_days)),
        "risk_measures.scenarios": np.full(n, float(scenarios)),
        "risk_measures.as_of": as_of,
    }


def compute(
    book: Book,
    market: MarketSnapshot,
    params: VarParams,
    history: PriceHistory | None = None,
) -> MarginBatch:
    """VaR/ES margin of every account of ``book`` (``var-margin.md``), one USD row each.

    Per account: the loss matrix of its positions under the HS, FHS or Monte Carlo (Merton
    model estimated from ``market.history``) scenarios of ``market.history`` (full
    revaluation with Black-76 or Merton, ``h``-day time shift), the measure of each
    underlying's group and of the whole portfolio, the capped diversification benefit
    (``M_core``), the liquidity add-on ``A``; ``MM = max(M_core, 0) + A`` and
    ``IM = ratio_im_mm x MM``. ``figures`` carry ``risk_measures.*`` (portfolio VaR and ES in
    USD before add-ons, confidence, holding period, scenario count, as-of date);
    ``explain`` gives each position's P&L in the account's worst scenario with its Euler
    ES (portfolio and in-group), component VaR, standalone and incremental ES, and allocated
    core margin and add-on.

    Parameters
    ----------
    book
        Accounts × instruments, signed quantities (coins of underlying; balances in units).
    market
        Prices, forwards and vols at valuation, and the daily close history
        (``market.history``) the scenarios are drawn from.
    params
        A ``var`` pack.
    history
        Daily closes to draw the scenarios from; the market's own history when None.

    Returns
    -------
    MarginBatch
        Rows in USD; accounts holding instruments without market data, or underlyings
        without liquidity parameters or history, are in ``errors``.

    Raises
    ------
    MarketDataError
        The market has no history while some account holds a position; too little history
        for the lookback, the EWMA seed or the volume median.
    ValidationError
        A tail of less than one scenario
        without ``allow_small_sample``.
    """
    staged = stage(book, market, params, history)
    if staged.inputs is None:
        return _zero_batch(staged.book, params, staged.errors, staged.as_of)
    return _assemble(staged.inputs, params, staged.errors)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Staged:
    """A book ready for aggregation: the accounts that can be margined and why the others
    cannot, the as-of date, and the revalued instruments (None when nothing is held)."""

    book: Book
    errors: dict[str, str]
    as_of: date
    inputs: Inputs | None


def stage(
    book: Book, market: MarketSnapshot, params: VarParams, history: PriceHistory | None
) -> Staged:
    """Set aside the accounts that cannot be margined, generate the scenarios and revalue
    every held instrument under them (the steps before aggregation, shared by :func:`compute`
    and :func:`portmargin.methods.var.scenario_pnl`).

    Raises
    ------
    MarketDataError
        Some account holds a position and there is no history (or too little).
    """
    prepared = prepare_book(book, market)
    table = prepared.table
    q_all = prepared.book.quantities.tocsr()
    risky = np.flatnonzero(table.kind != Kind.CURRENCY).astype(np.intp)
    held = _held_columns(q_all, risky)
    errors = dict(prepared.errors)
    as_of = params.as_of or _valuation_day(market)
    if held.size == 0:
        return Staged(book=prepared.book, errors=errors, as_of=as_of, inputs=None)
    history = history or _market_history(market)
    if history is None:
        raise MarketDataError(NO_HISTORY)
    good, rejected = set_aside(prepared.book, _unsupported(table, held, params, history))
    errors.update(rejected)
    q_good = good.quantities.tocsr()
    cols = _held_columns(q_good, held)
    if cols.size == 0:
        return Staged(book=good, errors=errors, as_of=as_of, inputs=None)
    sub = table.take(cols)
    q = q_good[:, cols].tocsr()
    q.eliminate_zeros()
    underlyings = sorted({str(u) for u in sub.underlying})
    estimate = (
        merton_estimate(history, underlyings, as_of, params)
        if params.method is Generator.MC or params.revaluation_model is RevaluationName.MERTON
        else None
    )
    hist, window = historical_scenarios(history, underlyings, as_of, params, estimate)
    revalued = revalue(sub, hist, params, revaluation_model(params, estimate))
    inputs = Inputs(
        book=good,
        q=q,
        sub=sub,
        losses=UnitLosses(units=revalued.units),
        underlyings=underlyings,
        history=history,
        as_of=as_of,
        labels=np.array(revalued.labels, dtype=object),
        delta=revalued.delta,
        coin_settled=revalued.coin_settled,
        sigma=current_sigma(history, underlyings, as_of, params),
        scenarios=(hist, window),
        estimate=estimate,
    )
    return Staged(book=good, errors=errors, as_of=as_of, inputs=inputs)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Inputs:
    """What the aggregation needs: the margined book, its revalued instruments, the history.

    ``q`` is accounts × margined columns (CSR); ``sub`` the margined instruments; ``delta``
    and ``coin_settled`` per column (from the risk array); ``sigma`` the daily EWMA vol of
    each underlying at ``as_of``; ``scenarios`` the generated scenarios and their window.
    """

    book: Book
    q: sp.csr_matrix
    sub: InstrumentTable
    losses: UnitLosses
    underlyings: list[str]
    history: PriceHistory
    as_of: date
    labels: NDArray[np.object_]
    delta: NDArray[np.float64]
    coin_settled: NDArray[np.bool_]
    sigma: NDArray[np.float64]
    scenarios: tuple[Scenarios, ReturnWindow]
    estimate: MertonEstimate | None


def _addon(x: Inputs, params: VarParams, group_of: NDArray[np.intp]) -> AddOn:
    c, k = len(x.sub), len(x.underlyings)
    notional_unit = x.delta * x.sub.forward
    vega_unit = _vega_usd(x.sub, x.coin_settled)
    onehot = sp.csr_matrix((np.ones(c), (np.arange(c), group_of)), shape=(c, k))
    net_notional = np.asarray((x.q @ onehot.multiply(notional_unit[:, None])).todense())
    net_vega = np.asarray((x.q @ onehot.multiply(vega_unit[:, None])).todense())
    add_delta = np.empty_like(net_notional)
    add_vega = np.empty_like(net_vega)
    for g, u in enumerate(x.underlyings):
        liq = params.liquidity[u]
        depth = liq.depth_fraction * x.history.median_volume(u, as_of=x.as_of)
        add_delta[:, g] = delta_addon(
            net_notional[:, g], liq.spread, liq.impact_coeff, float(x.sigma[g]), depth
        )
        add_vega[:, g] = vega_addon(net_vega[:, g], liq.half_vol_spread, liq.vega_depth)
    return AddOn(delta=add_delta, vega=add_vega, notional_unit=notional_unit, vega_unit=vega_unit)


def _assemble(x: Inputs, params: VarParams, errors: dict[str, str]) -> MarginBatch:
    q, losses = x.q, x.losses
    n, c = q.shape
    alpha, small, measure = params.confidence, params.allow_small_sample, params.measure
    every = np.arange(c, dtype=np.intp)
    parts_p, loss_p, first_p = losses.of(q, every)
    port = PortfolioTail(risk=tail_risk(loss_p, alpha, allow_small_sample=small), first=first_p)
    group_of = np.searchsorted(np.array(x.underlyings, dtype=object), x.sub.underlying).astype(
        np.intp
    )
    groups: list[PortfolioTail] = []
    for g in range(len(x.underlyings) if len(x.underlyings) > 1 else 0):
        gcols = np.flatnonzero(group_of == g).astype(np.intp)
        _, loss_g, first_g = losses.of(q[:, gcols], gcols)
        risk_g = tail_risk(loss_g, alpha, allow_small_sample=small)
        groups.append(PortfolioTail(risk=risk_g, first=first_g))
    if len(x.underlyings) == 1:
        groups.append(port)  # one underlying: its group is the portfolio
    m_p = port.measure(measure)
    m_g = np.stack([g.measure(measure) for g in groups])
    group_sum = m_g.sum(axis=0)
    benefit = np.maximum(group_sum - m_p, 0.0)
    core = np.maximum(group_sum - params.offset_cap * benefit, 0.0)
    add = _addon(x, params, group_of)
    addon = (add.delta + add.vega).sum(axis=1)
    mm = core + addon

    worst = np.argmax(loss_p, axis=1).astype(np.intp)
    worst_label: NDArray[np.object_] = x.labels[worst]
    worst_label[loss_p[np.arange(n), worst] <= 0] = None
    total = loss_p.sum(axis=0)
    worst_dates = [
        str(x.labels[k]) for k in np.argsort(-total, kind="stable")[:WORST_DATES] if total[k] > 0
    ]

    rows = np.repeat(np.arange(n, dtype=np.intp), np.diff(q.indptr))
    cols = q.indices.astype(np.intp)
    qty = q.data.astype(np.float64)
    figures = position_figures(
        losses, params, (port, groups, group_of), (rows, cols, qty), (parts_p, loss_p, benefit, add)
    )
    first_w = None if first_p is None else first_p[rows, worst[rows]]
    figures_pnl = -qty * losses.at(cols, worst[rows], first_w)
    names = x.sub.names
    indptr = q.indptr
    keys = tuple(figures)
    table = np.column_stack([figures[k] for k in keys]) if rows.size else np.zeros((0, len(keys)))

    def explain(i: int) -> tuple[Contribution, ...]:
        return tuple(
            Contribution(
                instrument=names[int(cols[p])],
                quantity=float(qty[p]),
                pnl=float(figures_pnl[p]),
                figures=dict(zip(keys, table[p].tolist(), strict=True)),
            )
            for p in range(int(indptr[i]), int(indptr[i + 1]))
        )

    u_names = x.underlyings
    share, benefit_share = group_shares(
        figures["euler_es" if measure is Measure.ES else "component_var"],
        (rows, group_of[cols]),
        m_g,
        benefit,
    )
    cap = params.offset_cap
    components: dict[str, NDArray[np.float64]] = {
        "core_margin": core,
        "core_margin/group_sum": group_sum,
        **{f"core_margin/group_sum/{u}": m_g[g] for g, u in enumerate(u_names)},
        "core_margin/portfolio": m_p,
        **{f"core_margin/portfolio/{u}": share[g] for g, u in enumerate(u_names)},
        "core_margin/benefit": benefit,
        **{f"core_margin/benefit/{u}": benefit_share[g] for g, u in enumerate(u_names)},
        "core_margin/offset": cap * benefit,
        **{f"core_margin/offset/{u}": cap * benefit_share[g] for g, u in enumerate(u_names)},
        "liquidity_addon": addon,
    }
    sources = {name: _SOURCES[name] for name in components if name in _SOURCES}
    for g, u in enumerate(u_names):
        sources[f"core_margin/group_sum/{u}"] = f"{measure.value} of the {u} positions alone"
        for part in ("portfolio", "benefit", "offset"):
            sources[f"core_margin/{part}/{u}"] = f"{u}: " + _SOURCES[f"core_margin/{part}/share"]
        components[f"liquidity_addon/{u}"] = add.delta[:, g] + add.vega[:, g]
        sources[f"liquidity_addon/{u}"] = f"{u}: delta add-on + vega add-on"
        components[f"liquidity_addon/{u}/delta"] = add.delta[:, g]
        sources[f"liquidity_addon/{u}/delta"] = "Q (spread / 2 + Y sigma_d sqrt(Q / V))"
        components[f"liquidity_addon/{u}/vega"] = add.vega[:, g]
        sources[f"liquidity_addon/{u}/vega"] = "|vega| half_vol_spread (1 + sqrt(|vega| / VD))"
    for kind in ("es", "var"):
        name = f"standalone_{kind}"
        values = [getattr(grp.risk, kind) for grp in groups]
        components[name] = np.sum(values, axis=0)
        sources[name] = _SOURCES[name] + " (sum over underlyings; not a margin term)"
        for g, u in enumerate(u_names):
            components[f"{name}/{u}"] = values[g]
            sources[f"{name}/{u}"] = f"{_SOURCES[name]}: {u}"
    hist, window = x.scenarios
    return MarginBatch(
        method=METHOD_NAME,
        params_version=params.version,
        account=np.array(x.book.accounts, dtype=object),
        currency=np.full(n, "USD", dtype=object),
        initial_margin=params.ratio_im_mm * mm,
        maintenance_margin=mm,
        components=components,
        sources=sources,
        worst_scenario=worst_label,
        errors=errors,
        explain=explain,
        notes=tuple(
            _notes(
                params,
                hist,
                window,
                x.as_of,
                worst_dates,
                dict(zip(u_names, x.sigma.tolist(), strict=True)),
                x.estimate,
            )
        ),
        figures=_risk_figures(
            port.risk.var,
            port.risk.es,
            params,
            hist.n_scenarios,
            np.full(n, x.as_of.isoformat(), dtype=object),
        ),
    )
