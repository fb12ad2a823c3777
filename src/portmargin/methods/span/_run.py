"""Run SPAN over a book: assign contracts to combined commodities, state every CC, add up."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.core import name_some
from portmargin.instruments import Option
from portmargin.market import MarketSnapshot
from portmargin.methods.span._arrays import cc_arrays, reference_price, tier_of
from portmargin.methods.span._params import InterSpread, SpanParams, settlement_key
from portmargin.methods.span._statement import CCStatement, cc_statement, inter_credits
from portmargin.risk import STABLECOINS, Book, InstrumentTable, Kind, prepare_book, set_aside

__all__ = ["SpanRun", "run_span"]

FloatArray = NDArray[np.float64]
REPRICE_TOLERANCE = 1e-6
"""Relative difference between model value and venue mark above which a warning is noted."""
_LISTED = 5
_NAMED = 10
"""Instruments and accounts named in the note on options past expiry (the rest counted)."""
_KIND_NAMES = {
    Kind.SPOT: "spot",
    Kind.FUTURE: "future",
    Kind.PERPETUAL: "perpetual",
    Kind.OPTION: "option",
}


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SpanRun:
    """Every intermediate of a SPAN run over ``a`` computable accounts.

    Attributes
    ----------
    book, table
        Computable accounts and their resolved instruments (options at their mark's vol).
    statements
        One per CC holding positions in the book, pack order.
    inter_credit
        Credit per CC after the scan-risk cap, CC money, shape ``(a, n_cc)``.
    inter_spreads
        Inter spreads formed per definition that may form (ascending priority; in segregated
        scope without ``credit_across_currencies`` only those within one settlement
        sub-account), shape ``(a, k)``.
    cc_risk
        ``max(scan + intra + spot - credit, SOM)`` per CC, CC money, shape ``(a, n_cc)``.
    to_account
        Account-currency units per unit of each CC's money (index of a coin CC), ``(n_cc,)``.
    to_row
        Row-currency units per unit of each CC's money, ``(n_cc,)``: ``to_account`` in multi
        scope, 1 in segregated scope (nothing converted).
    pool_of
        Collateral pool of every CC, ``(n_cc,)``: 0 in multi scope; in segregated scope the
        index of its settlement sub-account.
    row_account, row_pool
        Account (index into ``book.accounts``) and pool of each of the ``r`` result rows,
        account-major: every account once in multi scope; in segregated scope one row per
        sub-account in which the account holds a position.
    currency
        Currency of every row, ``(r,)``: ``account_currency`` in multi scope; in segregated
        scope the currency the row's positions settle in.
    span_risk_mm, span_risk_im, nov, req_mm, req_im
        Row totals in the row's currency, shape ``(r,)``.
    past_expiry_value
        The part of ``nov`` of options past expiry (intrinsic value), shape ``(r,)``.
    errors
        Accounts left out → reason.
    notes
        Warnings and conversions of the run.
    """

    book: Book
    table: InstrumentTable
    statements: tuple[CCStatement, ...]
    inter_credit: FloatArray
    inter_spreads: FloatArray
    cc_risk: FloatArray
    to_account: FloatArray
    to_row: FloatArray
    pool_of: NDArray[np.intp]
    row_account: NDArray[np.intp]
    row_pool: NDArray[np.intp]
    currency: NDArray[np.object_]
    span_risk_mm: FloatArray
    span_risk_im: FloatArray
    nov: FloatArray
    req_mm: FloatArray
    req_im: FloatArray
    past_expiry_value: FloatArray
    errors: Mapping[str, str]
    notes: tuple[str, ...]


def _own_mark_vols(table: InstrumentTable, market: MarketSnapshot) -> InstrumentTable:
    """``table`` with every quoted option's vol set to its mark's IV (§4 step 4); options
    past expiry keep no vol (they are valued at intrinsic)."""
    rows = np.flatnonzero(table.is_option & ~table.past_expiry)
    quotes = [market.quotes.get(table.names[r]) for r in rows.tolist()]
    quoted = np.array([q is not None for q in quotes], dtype=bool)
    if not quoted.any():
        return table
    sigma = table.sigma.copy()
    sigma[rows[quoted]] = [q.mark_iv for q in quotes if q is not None]
    return dataclasses.replace(table, sigma=sigma)


def _usd_rate(currency: str, market: MarketSnapshot) -> float:
    return 1.0 if currency in STABLECOINS else market.index(currency)


def _assign(
    table: InstrumentTable, params: SpanParams
) -> tuple[NDArray[np.intp], list[tuple[NDArray[np.intp], str]]]:
    """CC index per column (-1: currency balances, not margined) and the columns that cannot
    be margined, each with the reason."""
    keys = {params.cc_key(c): i for i, c in enumerate(params.cc)}
    ids = [c.id for c in params.cc]
    entries = {e.id: e for e in params.contract}
    cc_of = np.full(len(table), -1, dtype=np.intp)
    bad: list[tuple[NDArray[np.intp], str]] = []
    for col in range(len(table)):
        kind = Kind(int(table.kind[col]))
        if kind is Kind.CURRENCY:
            continue
        name = table.names[col]
        entry = entries.get(name)
        style = "inverse" if table.inverse[col] else "linear"
        if entry is not None:
            if entry.kind not in (None, _KIND_NAMES[kind]) or entry.style not in (None, style):
                bad.append(
                    (
                        np.array([col]),
                        f"{name}: a {style} {_KIND_NAMES[kind]}, not the "
                        f"{' '.join(t for t in (entry.style, entry.kind) if t)} of its span "
                        "[[contract]] entry",
                    )
                )
                continue
            cc_of[col] = ids.index(entry.cc)
            continue
        key = (
            str(table.underlying[col]).upper(),
            settlement_key(str(table.settlement_currency[col])),
        )
        if key in keys:
            cc_of[col] = keys[key]
        else:
            bad.append(
                (
                    np.array([col]),
                    f"{name}: no span combined commodity for underlying "
                    f"{key[0]} settled in {table.settlement_currency[col]} (pack has {ids})",
                )
            )
    for i, cc in enumerate(params.cc):
        cols = np.flatnonzero(cc_of == i)
        if not cols.size:
            continue
        tiers = tier_of(cc, table.take(cols))
        for col in cols[tiers < 0].tolist():
            cc_of[col] = -1
            dte = table.tau[col] * 365.0
            bad.append(
                (
                    np.array([col]),
                    f"{table.names[col]}: no tier of span CC {cc.id} covers DTE {dte:.2f}",
                )
            )
    return cc_of, bad


def _reprice_note(table: InstrumentTable, market: MarketSnapshot, values: FloatArray) -> str | None:
    """Options whose model value at the mark's vol misses the venue mark."""
    off: list[str] = []
    for r in np.flatnonzero(table.is_option & ~table.past_expiry).tolist():
        quote = market.quotes.get(table.names[r])
        inst = table.instruments[r]
        if quote is None or not isinstance(inst, Option):
            continue
        if quote.instrument.settlement is not inst.settlement:
            continue
        mark = quote.mark_price
        if abs(values[r] - mark) > REPRICE_TOLERANCE * max(abs(mark), 1e-300):
            off.append(table.names[r])
    if not off:
        return None
    return (
        f"span: warning: the model value at the mark IV and the snapshot forward does not "
        f"reprice the venue mark within {REPRICE_TOLERANCE:g} relative for {len(off)} "
        f"option(s): {name_some(off, _LISTED)}; the model value is used as V_0"
    )


def _past_expiry_note(table: InstrumentTable, book: Book) -> str | None:
    """The options past expiry that computed accounts hold, and those accounts (§12)."""
    cols = np.flatnonzero(table.past_expiry)
    if cols.size == 0:
        return None
    held = book.quantities[:, cols].tocsc()
    held.eliminate_zeros()
    cols = cols[np.diff(held.indptr) > 0]
    if cols.size == 0:
        return None
    holders = [a for a, h in zip(book.accounts, book.holders(cols).tolist(), strict=True) if h]
    names = name_some([table.names[c] for c in cols.tolist()], _NAMED)
    return (
        f"span: warning: {cols.size} option(s) past expiry, which should already have been "
        f"settled, valued at intrinsic value on the index (no time value, no vol "
        f"sensitivity; each risk array scenario is the intrinsic value at its price move; "
        f"short ones still count in the short option minimum): {names}; held by "
        f"{len(holders)} account(s): {name_some(holders, _NAMED)}"
    )


def _formable(statements: Sequence[CCStatement], params: SpanParams) -> list[InterSpread]:
    """The pack's inter spreads that may form: all of them, except in segregated scope
    without ``credit_across_currencies`` those whose legs settle in different sub-accounts."""
    if params.collateral.cross_currency_credit:
        return list(params.inter_spread)
    pool = {c.id: params.sub_account(c) for c in params.cc}
    return [sd for sd in params.inter_spread if len({pool[leg.cc] for leg in sd.legs}) == 1]


def _pools(
    statements: Sequence[CCStatement], params: SpanParams
) -> tuple[NDArray[np.intp], tuple[str, ...]]:
    """Pool (collateral sub-account) of every CC and the pool keys: one pool in multi scope,
    one per settlement sub-account (first-seen order) in segregated scope."""
    if not params.collateral.segregated:
        return np.zeros(len(statements), dtype=np.intp), (params.account_currency,)
    keys = tuple(dict.fromkeys(params.sub_account(s.arrays.cc) for s in statements))
    pools = [keys.index(params.sub_account(s.arrays.cc)) for s in statements]
    return np.array(pools, dtype=np.intp), keys


def _rows(
    statements: Sequence[CCStatement],
    pool_of: NDArray[np.intp],
    n_pools: int,
    a: int,
    segregated: bool,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """``(account, pool)`` of every result row, account-major: every account in multi
    scope; in segregated scope every pool in which the account holds a position."""
    if not segregated:
        return np.arange(a, dtype=np.intp), np.zeros(a, dtype=np.intp)
    held = np.zeros((a, n_pools), dtype=bool)
    for s, p in zip(statements, pool_of.tolist(), strict=True):
        held[:, p] |= s.held
    account, pool = np.nonzero(held)
    return account.astype(np.intp), pool.astype(np.intp)


def _row_currencies(
    statements: Sequence[CCStatement],
    pool_of: NDArray[np.intp],
    keys: tuple[str, ...],
    rows: tuple[NDArray[np.intp], NDArray[np.intp]],
    quantities: sp.csr_array,
    table: InstrumentTable,
    params: SpanParams,
) -> NDArray[np.object_]:
    """Currency of every row: ``account_currency`` in multi scope. In segregated scope the
    currency the account's positions of the sub-account settle in (e.g. ``USDC``, so that
    the row meets the equity held in it); positions of one stablecoin sub-account settled in
    several stablecoins give the settlement currency of the pack's first CC of it."""
    account, pool = rows
    if not params.collateral.segregated:
        return np.full(account.size, params.account_currency, dtype=object)
    out = np.empty(account.size, dtype=object)
    for p, key in enumerate(keys):
        ccs = [s for s, q in zip(statements, pool_of.tolist(), strict=True) if q == p]
        cols = np.concatenate([s.arrays.columns for s in ccs])
        codes = table.settlement_currency[cols].astype(str)
        names, code = np.unique(codes, return_inverse=True)
        onehot = sp.csr_array(
            (np.ones(cols.size), (np.arange(cols.size), code.ravel())),
            shape=(cols.size, names.size),
        )
        held = abs(quantities[:, cols]) @ onehot
        mine = np.flatnonzero(pool == p)
        counts = np.asarray(held.toarray() > 0)[account[mine]]
        single = counts.sum(axis=1) == 1
        fallback = ccs[0].arrays.cc.settlement_currency.upper() if len(ccs) else key
        out[mine] = np.where(single, names[np.argmax(counts, axis=1)], fallback)
    return out


def _segregated_note(params: SpanParams) -> str:
    across = (
        "form (credit_across_currencies = true)"
        if params.collateral.credit_across_currencies
        else "do not form (assumption: the spec is silent; credit_across_currencies = false)"
    )
    return (
        "span: segregated collateral scope (specs/span.md §9, lifecycle.md §1): one row per "
        "account and settlement sub-account (every stablecoin as one), in the currency its "
        "positions settle in; nothing is converted: CC risks, NOV and requirements are summed "
        f"per sub-account (account_currency {params.account_currency} is not used); inter "
        f"spreads between CCs of different settlement currencies {across}"
    )


def run_span(book: Book, market: MarketSnapshot, params: SpanParams) -> SpanRun:
    """SPAN statement of every account of ``book`` (``specs/span.md`` §4-§9).

    Parameters
    ----------
    book
        Positions in coins of underlying (> 0 long).
    market
        Index, forwards, futures marks and smiles; an option with a venue quote is valued at
        its mark IV, the others at the smile's vol.
    params
        A ``span`` pack.

    Returns
    -------
    SpanRun
        Accounts holding an instrument without market data, without a CC in the pack or
        outside every tier of its CC are in ``errors``; currency balances are collateral.
    """
    prepared = prepare_book(book, market, expired_at_intrinsic=True)
    table = _own_mark_vols(prepared.table, market)
    cc_of, bad = _assign(table, params)
    good, rejected = set_aside(prepared.book, bad)
    errors = {**prepared.errors, **rejected}
    a = len(good.accounts)
    quantities = good.quantities.tocsr()
    statements: list[CCStatement] = []
    values = np.zeros(len(table))
    for i, cc in enumerate(params.cc):
        cols = np.flatnonzero(cc_of == i)
        if not cols.size:
            continue
        arrays = cc_arrays(cc, params.defaults, table, cols, reference_price(cc, market))
        values[cols] = arrays.value
        statements.append(cc_statement(quantities[:, cols].tocsr(), arrays))
    credit, spreads = inter_credits(statements, _formable(statements, params))
    account_rate = _usd_rate(params.account_currency, market)
    to_account = np.array(
        [
            (_usd_rate(s.arrays.cc.underlying, market) if s.arrays.coin else 1.0) / account_rate
            for s in statements
        ]
    )
    segregated = params.collateral.segregated
    to_row = np.ones(len(statements)) if segregated else to_account
    n = len(statements)
    cc_risk = np.zeros((a, n))
    for k, s in enumerate(statements):
        total = s.scan_risk + s.intra_charge + s.spot_charge - credit[:, k]
        cc_risk[:, k] = np.maximum(total, s.som)
    pool_of, keys = _pools(statements, params)
    rows = _rows(statements, pool_of, len(keys), a, segregated)
    currency = _row_currencies(statements, pool_of, keys, rows, quantities, table, params)
    # (n_cc, n_pools): each CC's money in its pool's row currency
    to_pool = np.zeros((n, len(keys)))
    to_pool[np.arange(n), pool_of] = to_row

    def per_row(amounts: FloatArray) -> FloatArray:
        """``(a, n_cc)`` CC amounts summed per row, in the row's currency."""
        pooled = amounts @ to_pool if n else np.zeros((a, len(keys)))
        result: FloatArray = pooled[rows[0], rows[1]]
        return result

    mm = np.maximum(per_row(cc_risk), 0.0)
    im = params.ratio() * mm
    nov = per_row(np.column_stack([s.nov for s in statements]) if n else np.zeros((a, 0)))
    past_expiry = per_row(
        np.column_stack([s.past_expiry_value for s in statements]) if n else np.zeros((a, 0))
    )
    notes = [
        "span: combined commodities per underlying and settlement currency; every "
        "stablecoin settles as USD; currency balances are collateral and carry no requirement",
        f"span: every account uses the account class 'default' (IM = {params.ratio():g} x MM)",
        "span: MM = SPANRisk_MM, IM = SPANRisk_IM (equity including option values); "
        "cash-only requirements req_mm / req_im = max(risk - NOV, 0)",
    ]
    if segregated:
        notes.append(_segregated_note(params))
    else:
        notes.append(
            "span: multi collateral scope (specs/span.md §9): one row per account, every CC "
            f"risk summed in {params.account_currency}"
        )
        for s, rate in zip(statements, to_account, strict=True):
            if s.arrays.coin:
                notes.append(
                    f"span: {s.arrays.cc.id} amounts in {s.arrays.cc.settlement_currency} "
                    f"converted at the index, {rate:.10g} {params.account_currency} each"
                )
    for note in (_reprice_note(table, market, values), _past_expiry_note(table, good)):
        if note is not None:
            notes.append(note)
    return SpanRun(
        book=good,
        table=table,
        statements=tuple(statements),
        inter_credit=credit,
        inter_spreads=spreads,
        cc_risk=cc_risk,
        to_account=to_account,
        to_row=to_row,
        pool_of=pool_of,
        row_account=rows[0],
        row_pool=rows[1],
        currency=currency,
        span_risk_mm=mm,
        span_risk_im=im,
        nov=nov,
        req_mm=np.maximum(mm - nov, 0.0),
        req_im=np.maximum(im - nov, 0.0),
        past_expiry_value=past_expiry,
        errors=errors,
        notes=tuple(notes),
    )
