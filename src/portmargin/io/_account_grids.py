"""Each account's P&L on its margin method's own scenario grid, laid out for a heatmap.

Per method (the scenarios are the method's own, built from its public pieces):

- ``deribit-pm``: the aggregated risk vector of every aggregation key (``simulate_pme`` on the
  key's positions): 9 price buckets x vol up / same / down, and the extended moves (vol up);
  amounts in the key's settlement currency.
- ``paradex-pm``: the SCAN scenarios of each base asset held, ``weight x P&L`` in USD.
- ``okx-pm``: the MR1 grid of each risk unit held (spot move x IV down / same / up), USD.
- ``derive-pm2``: the PMRM_2 scenarios of each base asset (``run_batch``): spot move x vol
  direction, tail moves with their dampening, skew scenarios apart; USDC.
- ``span``: the 16 scenarios of each combined commodity held (price move in multiples of
  its scan range x vol up / unchanged / down), weighted P&L in the account currency.
- ``standard``: no scenario enters standard margin; a spot x vol grid (flat vol law) per
  settlement currency shows the book's exposure, its largest loss marked.

Other methods expose no grid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Future, Option, Perpetual
from portmargin.market import MarketSnapshot
from portmargin.methods.deribit_pm import DeribitPMParams, simulate_pme
from portmargin.methods.derive_pm2 import DerivePM2Params, DeriveScenario, DeriveVolShock
from portmargin.methods.derive_pm2 import run_batch as derive_run
from portmargin.methods.okx_pm import OkxParams, RiskUnitGrouping, unit_grid
from portmargin.methods.paradex_pm import ParadexParams, scan_pnl_usd, scenario_set
from portmargin.methods.span import PRICE_POINTS, SCENARIO_LABELS, VOL_POINTS, SpanParams, run_span
from portmargin.portfolio import Portfolio
from portmargin.results import MarginBatch
from portmargin.risk import (
    STABLECOINS,
    Book,
    InstrumentTable,
    Kind,
    build_risk_array,
    prepare_book,
)
from portmargin.scenarios import Scenario, ScenarioSet

__all__ = ["GRID_METHODS", "STANDARD_SPOT_GRID", "STANDARD_VOL_GRID", "ScenarioGrid", "grids"]

FloatArray = NDArray[np.float64]

STANDARD_SPOT_GRID = np.round(np.linspace(-0.30, 0.30, 13), 4)
"""Relative spot moves of the illustrative ``standard`` grid (the demo's)."""

STANDARD_VOL_GRID = np.array([-0.4, -0.25, 0.0, 0.25, 0.5, 1.0])
"""Relative vol moves of the illustrative ``standard`` grid (the demo's)."""

_DERIVATIVES = (Kind.FUTURE, Kind.PERPETUAL, Kind.OPTION)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScenarioGrid:
    """One account's P&L on (part of) a method's scenario grid.

    Attributes
    ----------
    title
        What the grid is (``"btc_btc: standard scenarios"``).
    currency
        Currency of ``pnl``.
    x_title, y_title
        Axis names.
    x, y
        Column and row headings, ``(nx,)`` and ``(ny,)``.
    pnl
        P&L of the account's positions in each scenario, shape ``(ny, nx)``; > 0 is a gain;
        NaN where the grid has no scenario.
    labels
        Scenario label of every cell, object array ``(ny, nx)`` ("" where none).
    worst
        ``(row, column)`` of the scenario that sets the margin, or None when none does (no
        scenario loses, or the worst case is outside this grid).
    note
        How to read the values (offsets applied, weights, ...).
    """

    title: str
    currency: str
    x_title: str
    y_title: str
    x: tuple[str, ...]
    y: tuple[str, ...]
    pnl: FloatArray
    labels: NDArray[np.object_]
    worst: tuple[int, int] | None
    note: str = ""

    def __post_init__(self) -> None:
        shape = (len(self.y), len(self.x))
        for name in ("pnl", "labels"):
            if getattr(self, name).shape != shape:
                raise ValidationError(name, getattr(self, name).shape, f"shape {shape}")
        if self.worst is not None and not (
            0 <= self.worst[0] < shape[0] and 0 <= self.worst[1] < shape[1]
        ):
            raise ValidationError("worst", self.worst, f"a cell of a {shape} grid")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Layout:
    """Where each scenario of a set sits in a grid: headings and cell indices ``(n,)``."""

    x: tuple[str, ...]
    y: tuple[str, ...]
    ix: NDArray[np.intp]
    iy: NDArray[np.intp]

    def fill(self, values: FloatArray, labels: Sequence[str]) -> tuple[FloatArray, Any]:
        """P&L ``(n,)`` and labels laid out as ``(ny, nx)`` arrays."""
        z = np.full((len(self.y), len(self.x)), np.nan)
        text = np.full(z.shape, "", dtype=object)
        z[self.iy, self.ix] = values
        text[self.iy, self.ix] = np.array(labels, dtype=object)
        return z, text


def _layout(
    x_sort: Sequence[float], x_text: Sequence[str], y_text: Sequence[str], y_order: Sequence[str]
) -> _Layout:
    """Cells of ``n`` scenarios: columns by ``x_text`` sorted on ``x_sort``, rows in
    ``y_order`` (those present). Scenarios sharing a cell are laid out as one row instead, each
    in its own column."""
    xs = sorted(dict(zip(x_text, x_sort, strict=True)).items(), key=lambda kv: kv[1])
    x = tuple(t for t, _ in xs)
    y = tuple(v for v in y_order if v in set(y_text))
    ix = np.array([x.index(t) for t in x_text], dtype=np.intp)
    iy = np.array([y.index(t) for t in y_text], dtype=np.intp)
    if len(set(zip(ix.tolist(), iy.tolist(), strict=True))) < len(ix):
        n = len(x_text)
        labels = tuple(f"{a} {b}" for a, b in zip(x_text, y_text, strict=True))
        return _Layout(x=labels, y=("",), ix=np.arange(n, dtype=np.intp), iy=np.zeros(n, np.intp))
    return _Layout(x=x, y=y, ix=ix, iy=iy)


def _pct(move: float) -> str:
    text = f"{move * 100:+.4g}%"
    return "0%" if text in ("+0%", "-0%") else text


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Run:
    """Accounts to lay out, what they were computed with, and account → the worst-scenario
    labels of its rows."""

    portfolios: Sequence[Portfolio]
    market: MarketSnapshot
    params: Any
    worst: Mapping[str, frozenset[str]]


def _worst_labels(batch: MarginBatch, accounts: Sequence[str]) -> dict[str, frozenset[str]]:
    """Account → worst-scenario labels of its rows, for ``accounts`` only."""
    if batch.worst_scenario is None:
        return {}
    rows = np.flatnonzero(np.isin(batch.account, np.array(accounts, dtype=object)))
    out: dict[str, set[str]] = {}
    for a, w in zip(batch.account[rows].tolist(), batch.worst_scenario[rows].tolist(), strict=True):
        if w is not None:
            out.setdefault(str(a), set()).add(str(w))
    return {a: frozenset(v) for a, v in out.items()}


def _by_label(
    run: _Run,
    book: Book,
    rows: NDArray[np.intp],
    spec: tuple[str, str, str, ScenarioSet, _Layout],
    pnl: FloatArray,
) -> dict[str, ScenarioGrid]:
    """Grids of the accounts ``rows`` of ``book`` (P&L ``(len(rows), n)``), the worst cell
    being the one whose label is a worst scenario of the account."""
    title, ccy, note, scenarios, layout = spec
    labels = scenarios.labels
    out = {}
    for k, r in enumerate(rows.tolist()):
        account = book.accounts[r]
        z, text = layout.fill(pnl[k], labels)
        hit = [j for j, lab in enumerate(labels) if lab in run.worst.get(account, ())]
        cell = (int(layout.iy[hit[0]]), int(layout.ix[hit[0]])) if hit else None
        out[account] = ScenarioGrid(
            title=title,
            currency=ccy,
            x_title="spot move",
            y_title="vol move",
            x=layout.x,
            y=layout.y,
            pnl=z,
            labels=text,
            worst=cell,
            note=note,
        )
    return out


def _prepared(run: _Run) -> tuple[Book, InstrumentTable]:
    prepared = prepare_book(Book.from_portfolios(run.portfolios), run.market)
    return prepared.book, prepared.table


def _spot_vol_layout(scenarios: ScenarioSet, vol_text: Callable[[float], str]) -> _Layout:
    spot = scenarios.column("spot_shock").tolist()
    vol = scenarios.column("vol_shock").tolist()
    order = [vol_text(v) for v in sorted(set(vol), reverse=True)]
    return _layout(spot, [_pct(m) for m in spot], [vol_text(v) for v in vol], order)


def _paradex(run: _Run) -> dict[str, list[ScenarioGrid]]:
    params: ParadexParams = run.params
    book, table = _prepared(run)
    out: dict[str, list[ScenarioGrid]] = {}
    for asset in params.assets:
        cols = np.flatnonzero(
            np.isin(table.kind, _DERIVATIVES) & (table.underlying == asset.base_asset)
        )
        rows = np.flatnonzero(book.holders(cols)) if cols.size else np.zeros(0, np.intp)
        if rows.size == 0:
            continue
        scenarios = scenario_set(asset, params.vol_up_floor)
        pnl, _ = scan_pnl_usd(table.take(cols), scenarios)
        weighted = np.asarray(book.quantities[rows][:, cols] @ pnl) * scenarios.column("weight")
        spec = (
            f"{asset.base_asset}: SCAN scenarios",
            "USD",
            "weight x P&L of the base asset's positions; SCAN Risk is the largest weighted loss",
            scenarios,
            _spot_vol_layout(scenarios, _pct),
        )
        for a, g in _by_label(run, book, rows, spec, weighted).items():
            out.setdefault(a, []).append(g)
    return out


def _okx_units(
    table: InstrumentTable, params: OkxParams
) -> dict[str, tuple[str, NDArray[np.intp]]]:
    """Unit name → (underlying, columns), as ``okx-pm`` groups a book: stablecoin balances
    in no unit; pre-merge units split by margin currency (coin-margined ``USD``, linear the
    settlement currency, spot and coin balances ``params.spot_margin_currency``)."""
    stable = (table.kind == Kind.CURRENCY) & np.isin(table.underlying, sorted(STABLECOINS))
    keys = table.underlying.astype(object)
    if params.risk_unit_grouping is not RiskUnitGrouping.UNDERLYING:
        derivative = np.isin(table.kind, _DERIVATIVES)
        settle = np.where(table.inverse, "USD", table.settlement_currency.astype(str))
        ccy = np.where(derivative, settle, params.spot_margin_currency)
        keys = (table.underlying.astype(str) + "-" + ccy.astype(str)).astype(object)
    units: dict[str, tuple[str, NDArray[np.intp]]] = {}
    for key in sorted(set(keys[~stable].tolist())):
        cols = np.flatnonzero((keys == key) & ~stable)
        units[str(key)] = (str(table.underlying[cols[0]]), cols)
    return units


def _okx(run: _Run) -> dict[str, list[ScenarioGrid]]:
    params: OkxParams = run.params
    book, table = _prepared(run)
    names = {-1: "IV down", 0: "IV same", 1: "IV up"}
    out: dict[str, list[ScenarioGrid]] = {}
    for unit, (underlying, cols) in _okx_units(table, params).items():
        rows = np.flatnonzero(book.holders(cols))
        if rows.size == 0:
            continue
        scenarios = unit_grid(underlying, params, unit).mr1
        pnl = build_risk_array(table.take(cols), scenarios).pnl_usd()
        spec = (
            f"{unit}: MR1 grid",
            "USD",
            "P&L of the unit's positions; MR1 is the largest loss",
            scenarios,
            _spot_vol_layout(scenarios, lambda v: names[int(np.sign(v))]),
        )
        account_pnl = np.asarray(book.quantities[rows][:, cols] @ pnl)
        for a, g in _by_label(run, book, rows, spec, account_pnl).items():
            out.setdefault(a, []).append(g)
    return out


def _standard(run: _Run) -> dict[str, list[ScenarioGrid]]:
    book, table = _prepared(run)
    spot, vol = STANDARD_SPOT_GRID, STANDARD_VOL_GRID
    scenarios = ScenarioSet(
        name="spot x vol",
        scenarios=tuple(
            Scenario(
                label=f"{_pct(m)} spot, {_pct(v)} vol", spot_shock=float(m), vol_shock=float(v)
            )
            for v in vol
            for m in spot
        ),
    )
    layout = _spot_vol_layout(scenarios, _pct)
    risk = build_risk_array(table, scenarios)
    out: dict[str, list[ScenarioGrid]] = {}
    ccys = table.settlement_currency
    for ccy in sorted(set(ccys.tolist())):
        cols = np.flatnonzero((ccys == ccy) & (table.kind != Kind.CURRENCY))
        rows = np.flatnonzero(book.holders(cols)) if cols.size else np.zeros(0, np.intp)
        if rows.size == 0:
            continue
        pnl = np.asarray(book.quantities[rows][:, cols] @ risk.pnl[cols])
        worst = np.argmin(pnl, axis=1)
        for k, r in enumerate(rows.tolist()):
            z, text = layout.fill(pnl[k], scenarios.labels)
            w = int(worst[k])
            out.setdefault(book.accounts[r], []).append(
                ScenarioGrid(
                    title=f"{ccy}: spot x vol grid",
                    currency=str(ccy),
                    x_title="spot move",
                    y_title="relative vol move",
                    x=layout.x,
                    y=layout.y,
                    pnl=z,
                    labels=text,
                    worst=(int(layout.iy[w]), int(layout.ix[w])) if pnl[k, w] < 0 else None,
                    note="standard margin uses no scenarios: this grid (flat vol law) shows the "
                    "exposure of the positions settled in this currency; the largest loss is "
                    "marked",
                )
            )
    return out


def _deribit_key(inst: object) -> str | None:
    if isinstance(inst, Future | Perpetual | Option):
        return f"{inst.settlement_currency.lower()}_{inst.underlying.lower()}"
    return None


def _deribit(run: _Run) -> dict[str, list[ScenarioGrid]]:
    """Aggregated risk vectors through ``simulate_pme``, one call per (account, key): the
    venue's single-portfolio path, exact for the rows of the batch."""
    params: DeribitPMParams = run.params
    slots = ("up", "same", "down")
    order = params.assumptions.vol_order
    ext = np.array(params.assumptions.extended_moves)
    out: dict[str, list[ScenarioGrid]] = {}
    for pf in run.portfolios:
        keys: dict[str, dict[str, float]] = {}
        for p in pf.positions:
            key = _deribit_key(p.instrument)
            if key is not None and p.quantity != 0:
                keys.setdefault(key, {})[p.instrument.name] = p.quantity
        for key, positions in sorted(keys.items()):
            pair = params.pair(key.partition("_")[2])
            if pair is None:
                continue
            sim = simulate_pme(positions, run.market, params)
            vector = sim.aggregated_risk_vectors[key]
            settlement = key.partition("_")[0]
            margins = sim.margins[settlement]
            R, B = pair.price_range, params.general.buckets_count
            moves = -R + np.arange(2 * B + 1) * (R / B)
            std_labels = [f"{_pct(m)} vol {s}" for m in moves.tolist() for s in order]
            ext_labels = [f"extended {_pct(m)} vol up" for m in ext.tolist()]
            std = _layout(
                np.repeat(moves, len(order)).tolist(),
                [_pct(m) for m in np.repeat(moves, len(order)).tolist()],
                [f"vol {s}" for _ in moves for s in order],
                [f"vol {s}" for s in slots],
            )
            extended = _layout(
                ext.tolist(), [_pct(m) for m in ext.tolist()], ["vol up"] * ext.size, ["vol up"]
            )
            hit = margins.worst_scenario in run.worst.get(pf.account, ())
            bucket = margins.worst_case_bucket
            for name, layout, values, labels in (
                ("standard", std, vector.standard, std_labels),
                ("extended", extended, vector.extended, ext_labels),
            ):
                z, text = layout.fill(np.array(values), labels)
                j = bucket.index
                cell = (
                    (int(layout.iy[j]), int(layout.ix[j]))
                    if hit and bucket.source == name
                    else None
                )
                out.setdefault(pf.account, []).append(
                    ScenarioGrid(
                        title=f"{key}: {name} scenarios",
                        currency=settlement.upper(),
                        x_title="price move",
                        y_title="vol move",
                        x=layout.x,
                        y=layout.y,
                        pnl=z,
                        labels=text,
                        worst=cell,
                        note="aggregated risk vector (after pnl_offset and the extended "
                        "dampener); worst_case is its largest loss",
                    )
                )
    return out


def _derive_column(s: DeriveScenario) -> str:
    """Column heading of a PMRM_2 scenario: the spot move (with its dampening), or the skew
    direction."""
    if s.vol_shock.is_skew:
        return s.vol_shock.value
    damp = f" x{s.dampening:.3g}" if s.dampening != 1 else ""
    return _pct(s.spot_shock - 1.0) + damp


def _derive(run: _Run) -> dict[str, list[ScenarioGrid]]:
    params: DerivePM2Params = run.params
    result = derive_run(Book.from_portfolios(run.portfolios), run.market, params)
    scenarios = params.margin.scenarios
    skew = [s.vol_shock.is_skew for s in scenarios]
    parts = [
        ("scenarios", [j for j, k in enumerate(skew) if not k]),
        ("skew scenarios", [j for j, k in enumerate(skew) if k]),
    ]
    directions = [d.value for d in (DeriveVolShock.UP, DeriveVolShock.NONE, DeriveVolShock.DOWN)]
    out: dict[str, list[ScenarioGrid]] = {}
    for g in result.groups:
        for name, cols in parts:
            if not cols:
                continue
            chosen = [scenarios[j] for j in cols]
            layout = _layout(
                [s.spot_shock + (1 - s.dampening) * 1e-6 for s in chosen],
                [_derive_column(s) for s in chosen],
                ["skew" if s.vol_shock.is_skew else s.vol_shock.value for s in chosen],
                [*directions, "skew"],
            )
            labels = [result.columns.scenarios.labels[j] for j in cols]
            for k, r in enumerate(g.accounts.tolist()):
                z, text = layout.fill(g.pnl[k, cols], labels)
                w = int(g.worst[k])
                cell = None
                if w in cols and g.min_span[k] < 0:
                    j = cols.index(w)
                    cell = (int(layout.iy[j]), int(layout.ix[j]))
                out.setdefault(result.book.accounts[r], []).append(
                    ScenarioGrid(
                        title=f"{g.base}: {name}",
                        currency="USDC",
                        x_title="spot move (dampening)" if name == "scenarios" else "skew",
                        y_title="vol shock",
                        x=layout.x,
                        y=layout.y,
                        pnl=z,
                        labels=text,
                        worst=cell,
                        note="scenario P&L (dampened tail moves); the worst loss or the basis "
                        "contingency sets the scenario loss",
                    )
                )
    return out


def _fraction(move: float) -> str:
    thirds = round(move * 3)
    if abs(thirds - move * 3) > 1e-9:
        return f"{move:+g}"
    if thirds == 0:
        return "0"
    return f"{thirds // 3:+d}" if thirds % 3 == 0 else f"{thirds:+d}/3"


def _span(run: _Run) -> dict[str, list[ScenarioGrid]]:
    params: SpanParams = run.params
    result = run_span(Book.from_portfolios(run.portfolios), run.market, params)
    vol_names = {1.0: "vol up", 0.0: "vol unchanged", -1.0: "vol down"}
    out: dict[str, list[ScenarioGrid]] = {}
    for k, s in enumerate(result.statements):
        cc = s.arrays.cc
        x = cc.multiplier(params.defaults)
        moves = np.r_[PRICE_POINTS[:-2], x, -x]
        layout = _layout(
            moves.tolist(),
            [f"{_fraction(m)} PSR" for m in moves.tolist()],
            [vol_names[v] for v in VOL_POINTS.tolist()],
            list(vol_names.values()),
        )
        scenarios = ScenarioSet(
            name=cc.id,
            scenarios=tuple(Scenario(label=f"{cc.id} #{lab}") for lab in SCENARIO_LABELS),
        )
        spec = (
            f"{cc.id}: SPAN scenarios",
            # segregated scope: the CC's own money, as in its statement row
            cc.settlement_currency if params.collateral.segregated else params.account_currency,
            "weighted P&L of the CC's positions (extreme moves x the cover fraction); the scan "
            "risk is the largest weighted loss",
            scenarios,
            layout,
        )
        rows = np.flatnonzero(s.held)
        pnl = -s.loss[rows] * result.to_row[k]
        for a, g in _by_label(run, result.book, rows, spec, pnl).items():
            out.setdefault(a, []).append(g)
    return out


GRID_METHODS: Mapping[str, Callable[[_Run], dict[str, list[ScenarioGrid]]]] = {
    "standard": _standard,
    "deribit-pm": _deribit,
    "paradex-pm": _paradex,
    "okx-pm": _okx,
    "derive-pm2": _derive,
    "span": _span,
}
"""Method name → the builder of its grids."""


def grids(
    batch: MarginBatch, portfolios: Sequence[Portfolio], market: MarketSnapshot, params: Any
) -> dict[str, list[ScenarioGrid]] | None:
    """Grids of every account of ``portfolios`` under ``batch``'s method.

    Parameters
    ----------
    batch
        The method's result for (at least) these accounts: its worst scenarios are marked.
    portfolios
        Accounts to lay out (accounts the method could not compute are skipped).
    market, params
        What the batch was computed with.

    Returns
    -------
    dict or None
        Account → grids (empty list: nothing on a grid); None when the method exposes no grid.
    """
    build = GRID_METHODS.get(batch.method)
    if build is None:
        return None
    ok = [pf for pf in portfolios if pf.account not in batch.errors]
    if not ok:
        return {}
    worst = _worst_labels(batch, [pf.account for pf in ok])
    return build(_Run(portfolios=ok, market=market, params=params, worst=worst))
