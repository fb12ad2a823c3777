"""The S:PM batch path: every account, every aggregation key, as sparse products.

One :class:`GroupRun` per aggregation key ``<settlement>_<base>`` holds every intermediate
array, so the batch result (:func:`~portmargin.methods.deribit_pm.DeribitPM.compute`) and the
one-portfolio response (:func:`~portmargin.methods.deribit_pm.simulate_pme`) read the same
numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.market import MarketSnapshot
from portmargin.methods.deribit_pm._aggregate import apply_offsets, delta_shock
from portmargin.methods.deribit_pm._grid import Grid, build_grid
from portmargin.methods.deribit_pm._params import (
    Assumptions,
    CurrencyParams,
    DeltaShockModel,
    DeribitPMParams,
    MarginInputs,
    PairParams,
    RollGrouping,
)
from portmargin.risk import (
    STABLECOINS,
    Book,
    InstrumentTable,
    Kind,
    WorstLoss,
    build_risk_array,
    group_columns,
    prepare_book,
    set_aside,
    worst_loss,
)

__all__ = ["BatchRun", "GroupRun", "InputOverrides", "group_key", "run_batch"]

FloatArray = NDArray[np.float64]
InputOverrides = Mapping[tuple[str, str], MarginInputs]
"""``(account, key)`` → venue inputs of that row, ``key`` like ``"btc_btc"``."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class GroupRun:
    """Intermediate and final arrays of one aggregation key (amounts in ``settlement``).

    Attributes
    ----------
    key
        ``"<settlement>_<base>"`` lower case (``"btc_btc"``).
    settlement
        Settlement currency, upper case.
    grid
        Scenario columns.
    columns
        Instrument columns of ``BatchRun.book`` in this group, shape ``(c,)``.
    pnl
        P&L per unit, settlement currency, shape ``(c, n)`` (the risk array's).
    accounts
        Rows of ``BatchRun.book`` holding any of ``columns``, shape ``(a,)``.
    quantities
        CSR ``(a, c)`` of their positions.
    pre, agg
        Pre-aggregated and aggregated vectors, shape ``(a, n)``.
    worst
        Worst loss (>= 0) of ``agg`` and its column, shape ``(a,)`` each.
    roll_shock, delta_shock, correlation_contingency, risk_matrix_margin
        Shape ``(a,)``, >= 0.
    open_orders_margin, mmp_margin, spot_margin
        Venue inputs, shape ``(a,)``.
    initial_margin, maintenance_margin
        Shape ``(a,)``, >= 0.
    """

    key: str
    settlement: str
    grid: Grid
    columns: NDArray[np.intp]
    pnl: FloatArray
    accounts: NDArray[np.intp]
    quantities: sp.csr_array
    pre: FloatArray
    agg: FloatArray
    worst: WorstLoss
    roll_shock: FloatArray
    delta_shock: FloatArray
    correlation_contingency: FloatArray
    risk_matrix_margin: FloatArray
    open_orders_margin: FloatArray
    mmp_margin: FloatArray
    spot_margin: FloatArray
    initial_margin: FloatArray
    maintenance_margin: FloatArray


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BatchRun:
    """Outcome of :func:`run_batch`.

    Attributes
    ----------
    book, table
        Accounts computed and their resolved instruments (aligned columns).
    groups
        One run per aggregation key, keys sorted.
    errors
        Accounts left out → reason.
    """

    book: Book
    table: InstrumentTable
    groups: tuple[GroupRun, ...]
    errors: Mapping[str, str]


def group_key(settlement: str, base: str) -> str:
    """Aggregation key ``"<settlement>_<base>"``, lower case (``"btc_btc"``, ``"usdc_eth"``)."""
    return f"{settlement.lower()}_{base.lower()}"


def _group_keys(table: InstrumentTable) -> NDArray[np.object_]:
    """Aggregation key per column; None for balances and spot pairs (ignored by S:PM)."""
    derivative = np.isin(table.kind, (Kind.FUTURE, Kind.PERPETUAL, Kind.OPTION))
    keys = [
        group_key(s, u) if d else None
        for s, u, d in zip(
            table.settlement_currency.tolist(),
            table.underlying.tolist(),
            derivative.tolist(),
            strict=True,
        )
    ]
    return np.array(keys, dtype=object)


def _params_of(
    params: DeribitPMParams, settlement: str, base: str
) -> tuple[CurrencyParams, PairParams] | str:
    pair = params.pair(base)
    ccy = params.currency_for(settlement, settlement in STABLECOINS)
    if pair is None:
        return f"parameter pack {params.version} has no currency_pair.{base.lower()}_usd"
    if ccy is None:
        return f"parameter pack {params.version} has no currency.{settlement.lower()}"
    return ccy, pair


def run_batch(
    book: Book,
    market: MarketSnapshot,
    params: DeribitPMParams,
    overrides: InputOverrides | None = None,
) -> BatchRun:
    """Run S:PM over every account of ``book``.

    Accounts holding an instrument without market data, or of a pair or settlement currency
    the pack has no parameters for, are set aside in ``errors``; the rest is computed.
    """
    prepared = prepare_book(book, market)
    errors = dict(prepared.errors)
    table = prepared.table
    plan: list[tuple[str, NDArray[np.intp], CurrencyParams, PairParams]] = []
    no_params: list[tuple[NDArray[np.intp], str]] = []
    for key, cols in group_columns(_group_keys(table)).items():
        if key is None:
            continue
        found = _params_of(
            params, str(table.settlement_currency[cols[0]]), str(table.underlying[cols[0]])
        )
        if isinstance(found, str):
            no_params.append((cols, found))
        else:
            plan.append((str(key), cols, *found))
    good, aside = set_aside(prepared.book, no_params)
    errors.update(aside)
    groups = tuple(
        _run_group(good, table, key, cols, ccy, pair, params, overrides or {})
        for key, cols, ccy, pair in plan
    )
    return BatchRun(book=good, table=table, groups=groups, errors=MappingProxyType(errors))


def _roll_shock(
    q: sp.csr_array,
    sub: InstrumentTable,
    delta: FloatArray,
    ccy: CurrencyParams,
    grouping: RollGrouping,
) -> FloatArray:
    """``Σ_g |Δ_g| max(min_annualised_move, annualised_move_risk T_g)`` coin, shape ``(a,)``."""
    if grouping is RollGrouping.EXPIRY:
        _, group = np.unique(sub.expiry_ms, return_inverse=True)
    else:
        group = np.arange(len(sub))
    n_g = int(group.max()) + 1 if group.size else 0
    member = sp.csr_array((delta, (np.arange(len(sub)), group)), shape=(len(sub), n_g))
    tau = np.zeros(n_g)
    tau[group] = sub.tau
    rate = np.maximum(ccy.min_annualised_move, ccy.annualised_move_risk * tau)
    result: FloatArray = np.asarray(abs(q @ member) @ rate)
    return result


def _inputs(
    book: Book, rows: NDArray[np.intp], key: str, defaults: Assumptions, overrides: InputOverrides
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Open-order, MMP and spot margin of the accounts ``rows`` of ``book``, shape ``(a,)``
    each: ``defaults``, replaced by the ``overrides`` of ``key``."""
    oo = np.full(rows.size, defaults.open_orders_margin)
    mmp = np.full(rows.size, defaults.mmp_margin)
    spot = np.full(rows.size, defaults.spot_margin)
    wanted = {account: value for (account, k), value in overrides.items() if k == key}
    if wanted:
        names = np.asarray(book.accounts, dtype=object)[rows]
        for i in np.flatnonzero(np.isin(names, list(wanted))).tolist():
            value = wanted[names[i]]
            oo[i], mmp[i], spot[i] = value.open_orders_margin, value.mmp_margin, value.spot_margin
    return oo, mmp, spot


def _block(q: sp.csr_array, rows: NDArray[np.intp], cols: NDArray[np.intp]) -> sp.csr_array:
    """``q[rows][:, cols]`` as CSR; an index that keeps every row or column in order is not
    applied (no copy of a million-row matrix for a venue with one group)."""
    if rows.size != q.shape[0] or np.any(rows != np.arange(rows.size)):
        q = q[rows]
    if cols.size != q.shape[1] or np.any(cols != np.arange(cols.size)):
        q = q[:, cols]
    return sp.csr_array(q)


def _run_group(
    book: Book,
    table: InstrumentTable,
    key: str,
    cols: NDArray[np.intp],
    ccy: CurrencyParams,
    pair: PairParams,
    params: DeribitPMParams,
    overrides: InputOverrides,
) -> GroupRun:
    a = params.assumptions
    sub = table.take(cols)
    settlement, base = str(sub.settlement_currency[0]), str(sub.underlying[0])
    index = float(sub.index[0])
    to_settle = 1.0 / index if settlement == base else 1.0
    usd_factor = 1.0 if settlement == base else index
    grid = build_grid(key, params.general, pair, a)
    risk = build_risk_array(sub, grid.scenarios)
    pnl, delta = risk.pnl, risk.delta
    accounts = np.flatnonzero(book.holders(cols))
    q = _block(book.quantities, accounts, cols)
    pre = np.asarray(q @ pnl).reshape(len(accounts), pnl.shape[1])
    agg = apply_offsets(
        pre,
        grid.n_std,
        grid.moves[grid.n_std :],
        pnl_offset=ccy.pnl_offset,
        cap=ccy.max_offsetable_pnl * to_settle,
        dampener=ccy.extended_dampener * to_settle,
        extended_factor=pair.extended_table_factor,
        price_range=pair.price_range,
        mode=a.extended_dampener_mode,
    )
    worst = worst_loss(agg, priority=grid.priority)
    roll = _roll_shock(q, sub, delta, ccy, a.roll_grouping) * usd_factor
    if a.delta_shock_model is DeltaShockModel.OFF:
        dshock = np.zeros(len(accounts))
    else:
        dshock = usd_factor * delta_shock(
            np.asarray(q @ delta),
            index,
            threshold_usd=pair.delta_total_liq_shock_threshold,
            max_shock=pair.max_delta_shock,
            m_inc=pair.m_inc,
        )
    corr = np.zeros(len(accounts))
    rmm = np.round(worst.loss, a.worst_case_decimals) + roll + dshock + corr
    oo, mmp, spot = _inputs(book, accounts, key, a, overrides)
    return GroupRun(
        key=key,
        settlement=settlement,
        grid=grid,
        columns=cols,
        pnl=pnl,
        accounts=accounts,
        quantities=q,
        pre=pre,
        agg=agg,
        worst=worst,
        roll_shock=roll,
        delta_shock=dshock,
        correlation_contingency=corr,
        risk_matrix_margin=rmm,
        open_orders_margin=oo,
        mmp_margin=mmp,
        spot_margin=spot,
        initial_margin=np.round(rmm + oo + mmp + spot, a.im_decimals),
        maintenance_margin=params.general.mm_factor * rmm,
    )
