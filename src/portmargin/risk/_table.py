"""Resolve instruments against a market snapshot into column arrays (the priced form)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.core import MarketDataError, PortmarginError, year_fraction
from portmargin.instruments import (
    Currency,
    Future,
    Instrument,
    Option,
    Perpetual,
    Settlement,
    Spot,
    format_expiry,
    format_strike,
    parse_instrument,
)
from portmargin.market import MarketSnapshot

__all__ = ["STABLECOINS", "InstrumentTable", "Kind", "resolve_fresh", "with_expired_at_intrinsic"]

STABLECOINS = frozenset({"USD", "USDC", "USDT", "DAI", "USDE"})
"""Currencies valued at 1 USD (a de-peg is a scenario, not a price)."""


class Kind(IntEnum):
    """Instrument kind codes used in column arrays."""

    CURRENCY = 0
    SPOT = 1
    FUTURE = 2
    PERPETUAL = 3
    OPTION = 4


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class InstrumentTable:
    """Contract terms and market inputs of ``n`` instruments as aligned arrays.

    Attributes
    ----------
    instruments
        The instruments, shape ``(n,)`` as a tuple; row ``i`` of every array describes
        ``instruments[i]``.
    names
        Venue names.
    kind
        :class:`Kind` codes, int8.
    underlying
        Underlying coin per row (for a currency balance, the currency itself), object array.
    settlement_currency
        Currency of P&L: the coin for inverse products, the quote for linear ones and spot
        pairs, the currency itself for balances.
    inverse
        True for coin-settled (inverse) futures, perpetuals and options.
    strike
        USD, NaN for non-options.
    is_call
        True for calls (False for everything else).
    expiry_ms
        Epoch ms, 0 for perpetuals, spot and balances.
    tau
        Year fraction to expiry (ACT/365), 0 where there is no expiry.
    forward
        Price driving the row, USD per coin: the expiry forward for options, the venue mark
        (else the forward) for futures, the mark (else the index) for perpetuals, the index
        for spot pairs and coins, 1 for stablecoins.
    index
        Index of the underlying, USD per coin (1 for stablecoins).
    sigma
        Implied vol (fraction) at the strike and expiry, NaN for non-options.
    df
        Discount factor to expiry of the quote currency (1 where there is no expiry).
    missing
        Instrument name → reason, for instruments that could not be resolved; their rows hold
        NaN prices and must not be used.
    unlisted
        True for rows the snapshot does not list (see :class:`~portmargin.market.MarketSnapshot`)
        that were priced from its forwards and smiles because it allows unlisted instruments;
        False everywhere else (including ``missing`` rows).
    """

    instruments: tuple[Instrument, ...]
    names: tuple[str, ...]
    kind: NDArray[np.int8]
    underlying: NDArray[np.object_]
    settlement_currency: NDArray[np.object_]
    inverse: NDArray[np.bool_]
    strike: NDArray[np.float64]
    is_call: NDArray[np.bool_]
    expiry_ms: NDArray[np.int64]
    tau: NDArray[np.float64]
    forward: NDArray[np.float64]
    index: NDArray[np.float64]
    sigma: NDArray[np.float64]
    df: NDArray[np.float64]
    missing: Mapping[str, str]
    unlisted: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.instruments)

    @property
    def is_option(self) -> NDArray[np.bool_]:
        """Mask of option rows."""
        result: NDArray[np.bool_] = self.kind == Kind.OPTION
        return result

    @property
    def past_expiry(self) -> NDArray[np.bool_]:
        """Mask of options whose expiry is at or before the valuation time (``tau <= 0``)."""
        result: NDArray[np.bool_] = self.is_option & (self.expiry_ms > 0) & (self.tau <= 0.0)
        return result

    @property
    def usable(self) -> NDArray[np.bool_]:
        """Mask of rows with complete market data."""
        return np.array([n not in self.missing for n in self.names], dtype=bool)

    def take(self, rows: NDArray[np.intp]) -> InstrumentTable:
        """The sub-table of the given row indices (same order)."""
        idx = np.asarray(rows, dtype=np.intp)
        names = tuple(self.names[i] for i in idx)
        return InstrumentTable(
            instruments=tuple(self.instruments[i] for i in idx),
            names=names,
            kind=self.kind[idx],
            underlying=self.underlying[idx],
            settlement_currency=self.settlement_currency[idx],
            inverse=self.inverse[idx],
            strike=self.strike[idx],
            is_call=self.is_call[idx],
            expiry_ms=self.expiry_ms[idx],
            tau=self.tau[idx],
            forward=self.forward[idx],
            index=self.index[idx],
            sigma=self.sigma[idx],
            df=self.df[idx],
            missing=MappingProxyType({n: self.missing[n] for n in names if n in self.missing}),
            unlisted=self.unlisted[idx],
        )


def _kind(inst: Instrument) -> Kind:
    if isinstance(inst, Option):
        return Kind.OPTION
    if isinstance(inst, Future):
        return Kind.FUTURE
    if isinstance(inst, Perpetual):
        return Kind.PERPETUAL
    if isinstance(inst, Spot):
        return Kind.SPOT
    return Kind.CURRENCY


def _underlying(inst: Instrument) -> str:
    if isinstance(inst, Currency):
        return inst.code
    return inst.underlying


def _settlement(inst: Instrument) -> str:
    if isinstance(inst, Currency):
        return inst.code
    if isinstance(inst, Spot):
        return inst.quote
    return inst.settlement_currency


def resolve_fresh(instruments: Sequence[Instrument], market: MarketSnapshot) -> InstrumentTable:
    """Resolve instruments into an :class:`InstrumentTable` against ``market``, every one
    afresh (:func:`~portmargin.risk.resolve_instruments` reuses the rows a priced snapshot
    holds).

    Loops run per distinct ``(underlying, expiry)`` and per instrument only to read contract
    terms; prices and vols are looked up in bulk.

    Every row depends on its instrument and ``market`` only, not on the other instruments
    resolved with it (a future is not missing because an option of its expiry has no vol).

    Instruments whose market data is missing (no index, no forward, no vol for an option,
    expired at valuation time) are listed in ``missing`` with the reason instead of raising,
    so a batch can report the accounts that hold them and still compute the others. So are
    instruments the snapshot does not list (no quote of that expiry, strike and type; a quote
    excluded by the loader; see :class:`~portmargin.market.MarketSnapshot`), unless
    ``market.allow_unlisted``: they are then priced from the forwards and smiles and flagged
    in ``unlisted``.
    """
    insts = tuple(instruments)
    n = len(insts)
    names = tuple(i.name for i in insts)
    kind = np.array([_kind(i) for i in insts], dtype=np.int8)
    underlying = np.array([_underlying(i) for i in insts], dtype=object)
    settlement = np.array([_settlement(i) for i in insts], dtype=object)
    inverse = np.array(
        [
            isinstance(i, Future | Perpetual | Option) and i.settlement is Settlement.INVERSE
            for i in insts
        ],
        dtype=bool,
    )
    strike = np.array([i.strike if isinstance(i, Option) else np.nan for i in insts])
    is_call = np.array([isinstance(i, Option) and i.is_call for i in insts], dtype=bool)
    expiry = np.array(
        [i.expiry_ms if isinstance(i, Future | Option) else 0 for i in insts], dtype=np.int64
    )
    has_expiry = expiry > 0
    tau = np.where(has_expiry, year_fraction(market.valuation_ms, expiry), 0.0)
    forward = np.full(n, np.nan)
    index = np.full(n, np.nan)
    sigma = np.full(n, np.nan)
    df = np.ones(n)
    missing: dict[str, str] = {}

    for u in np.unique(underlying) if n else ():
        rows = np.flatnonzero(underlying == u)
        if u in STABLECOINS:
            index[rows] = 1.0
            forward[rows] = 1.0
            continue
        try:
            index[rows] = market.index(str(u))
        except MarketDataError as exc:
            for r in rows:
                missing[names[r]] = str(exc)
    index_ok = np.isfinite(index)
    forward = np.where(np.isin(kind, (Kind.SPOT, Kind.CURRENCY, Kind.PERPETUAL)), index, forward)

    expired = has_expiry & (tau <= 0)
    for r in np.flatnonzero(expired):
        missing.setdefault(
            names[r], f"{names[r]} has expired (valuation time is at or after expiry)"
        )
    for r in np.flatnonzero(kind == Kind.PERPETUAL):
        quote = market.futures.get(names[r])
        if quote is not None:
            forward[r] = quote.mark_price
    dated = np.flatnonzero(has_expiry & index_ok & ~expired)
    failed: dict[str, PortmarginError] = {}
    for u in np.unique(underlying[dated]) if dated.size else ():
        rows = dated[underlying[dated] == u]
        try:
            forward[rows] = market.forwards_for(str(u), expiry[rows])
        except PortmarginError as exc:
            failed[str(u)] = exc
    keys = {(str(underlying[r]), int(expiry[r])) for r in dated}
    for u, e in sorted(keys):
        rows = dated[(underlying[dated] == u) & (expiry[dated] == e)]
        if u in failed:
            for r in rows:
                missing.setdefault(names[r], f"{names[r]}: {failed[u]}")
            continue
        opt = rows[kind[rows] == Kind.OPTION]
        if not opt.size:
            continue
        try:
            sigma[opt] = market.vol(u, e, strike[opt])
            quotes = np.array([_quote_currency(insts[r]) for r in opt], dtype=object)
            for ccy in set(quotes.tolist()):
                df[opt[quotes == ccy]] = market.discount_factor(ccy, e)
        except PortmarginError as exc:
            for r in opt:
                missing.setdefault(names[r], f"{names[r]}: {exc}")
    for r in np.flatnonzero(kind == Kind.FUTURE):
        quote = market.futures.get(names[r])
        if quote is not None and names[r] not in missing:
            forward[r] = quote.mark_price
    unlisted = np.zeros(n, dtype=bool)
    for row, reason in _unlisted(insts, market).items():
        if names[row] in missing:
            continue
        if market.allow_unlisted:
            unlisted[row] = True
        else:
            missing[names[row]] = reason
    return InstrumentTable(
        instruments=insts,
        names=names,
        kind=kind,
        underlying=underlying,
        settlement_currency=settlement,
        inverse=inverse,
        strike=strike,
        is_call=is_call,
        expiry_ms=expiry,
        tau=tau,
        forward=forward,
        index=index,
        sigma=sigma,
        df=df,
        missing=MappingProxyType(missing),
        unlisted=unlisted,
    )


def with_expired_at_intrinsic(table: InstrumentTable) -> InstrumentTable:
    """``table`` with its options past expiry priced at intrinsic value instead of missing.

    :func:`resolve_fresh` lists an option whose expiry is at or before the valuation time in
    ``missing``. Here every such row whose underlying has an index gets ``forward`` = the
    index (USD per coin: the price the option settles against once no time is left),
    ``tau = 0``, ``sigma = 0`` and ``df = 1``, and leaves ``missing``: every pricer then
    values it at intrinsic, ``max(F - K, 0)`` (call) or ``max(K - F, 0)`` (put), under any
    price move, with no time value and no vol sensitivity (``pricing-conventions.md`` §2.3).
    Rows without an index stay missing. ``table`` itself is returned when nothing changes.
    """
    rows = np.flatnonzero(
        table.past_expiry
        & np.isfinite(table.index)
        & np.array([n in table.missing for n in table.names], dtype=bool)
    )
    if rows.size == 0:
        return table
    revived = {table.names[r] for r in rows.tolist()}
    forward, tau, sigma, df = (a.copy() for a in (table.forward, table.tau, table.sigma, table.df))
    forward[rows] = table.index[rows]
    tau[rows] = 0.0
    sigma[rows] = 0.0
    df[rows] = 1.0
    return dataclasses.replace(
        table,
        forward=forward,
        tau=tau,
        sigma=sigma,
        df=df,
        missing=MappingProxyType({n: r for n, r in table.missing.items() if n not in revived}),
    )


_OptionKey = tuple[str, int, float, bool]
_HINT = "allow unlisted instruments (--allow-unlisted) to price it from the smile"


def _option_key(inst: Option) -> _OptionKey:
    return inst.underlying, inst.expiry_ms, inst.strike, inst.is_call


def _excluded_options(market: MarketSnapshot) -> dict[_OptionKey, tuple[str, str]]:
    """Option key → (excluded venue name, reason), for the snapshot's excluded options."""
    out: dict[_OptionKey, tuple[str, str]] = {}
    for name, reason in market.excluded.items():
        try:
            inst = parse_instrument(name)
        except PortmarginError:
            continue
        if isinstance(inst, Option):
            out.setdefault(_option_key(inst), (name, reason))
    return out


def _unlisted(insts: Sequence[Instrument], market: MarketSnapshot) -> dict[int, str]:
    """Row → reason, for the options and dated futures that ``market`` does not list."""
    quoted = market.quoted_options
    excluded = _excluded_options(market) if market.excluded else {}
    out: dict[int, str] = {}
    for r, inst in enumerate(insts):
        if isinstance(inst, Option):
            key = _option_key(inst)
            if key in quoted:
                continue
            expiry = format_expiry(inst.expiry_ms)
            if key in excluded:
                row_name, why = excluded[key]
                detail = f": the quote of {row_name} was excluded: {why};"
            elif (inst.underlying, inst.expiry_ms) in market.forwards:
                side = "call" if inst.is_call else "put"
                strike = format_strike(inst.strike)
                detail = f" (no {side} quote for strike {strike} at expiry {expiry});"
            else:
                detail = f" (no quote at expiry {expiry} of {inst.underlying});"
        elif isinstance(inst, Future):
            if inst.name in market.futures:
                continue
            if inst.name in market.excluded:
                detail = f": its quote was excluded: {market.excluded[inst.name]};"
            elif (inst.underlying, inst.expiry_ms) in market.forwards:
                continue
            else:
                expiry = format_expiry(inst.expiry_ms)
                detail = f" (no future quote and no forward for expiry {expiry});"
        else:
            continue
        out[r] = f"{inst.name} is not listed in the market snapshot{detail} {_HINT}"
    return out


def _quote_currency(inst: Instrument) -> str:
    return inst.quote if isinstance(inst, Option) else "USD"
