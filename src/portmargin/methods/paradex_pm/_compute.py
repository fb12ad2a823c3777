"""Paradex PM margin of every account of a book, as a :class:`MarginBatch` in USD."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from portmargin.core import name_some
from portmargin.instruments import Option
from portmargin.market import MarketSnapshot
from portmargin.methods.paradex_pm._asset import AssetMargin, asset_margin
from portmargin.methods.paradex_pm._params import ParadexParams
from portmargin.methods.paradex_pm._vol import own_mark_iv
from portmargin.results import Contribution, MarginBatch
from portmargin.risk import (
    Book,
    InstrumentTable,
    Kind,
    ScenarioExplainer,
    group_columns,
    group_totals,
    prepare_book,
    set_aside,
    worst_group,
)

__all__ = ["METHOD_NAME", "compute"]

METHOD_NAME = "paradex-pm"

_DERIVATIVES = (Kind.FUTURE, Kind.PERPETUAL, Kind.OPTION)

_SOURCES = {
    "net_portfolio_imr": "sum over base assets of max(SCAN Risk, Minimum Delta Requirement)",
    "scan_risk": "max over scenarios of weight x loss of the base-asset book (USD)",
    "min_delta": "(unhedged_mf x |Net Delta| + hedged_mf x Hedged Delta) x Spot",
    "funding_provision": "max(0, sum of perp q x mark x predicted 8h rate x hours / 8)",
    "fee_provision": "taker_fee x sum |position value| (perps at mark, options at index)",
}

_ASSUMPTIONS = (
    "paradex-pm: positions only, open orders are not margined (include_orders = false)",
    "paradex-pm: forwards move with spot, F' = F (1 + spot_shock); time unchanged",
    "paradex-pm: option delta = spot delta of the Black-76 model at mark IV "
    "(coin-settled options: net transaction delta)",
    "paradex-pm: Gross Delta per instrument position (legs in one instrument are netted)",
    "paradex-pm: no offsets across base assets; requirements add up",
    "paradex-pm: currency balances are collateral and carry no requirement",
)


def _unsupported(
    table: InstrumentTable, params: ParadexParams
) -> list[tuple[NDArray[np.intp], str]]:
    """Columns of spot pairs and of derivatives on base assets missing from the pack, one at
    a time in column order, each with the reason given to its holders."""
    derivative = np.isin(table.kind, _DERIVATIVES)
    have = [a.base_asset for a in params.assets]
    known = np.isin(table.underlying, have)
    columns = np.flatnonzero((table.kind == Kind.SPOT) | (derivative & ~known))
    return [
        (
            columns[i : i + 1],
            f"{table.names[c]}: spot pairs are not margined by paradex-pm"
            if table.kind[c] == Kind.SPOT
            else f"{table.names[c]}: no paradex-pm parameters for base asset "
            f"{table.underlying[c]!r} (pack has {have})",
        )
        for i, c in enumerate(columns.tolist())
    ]


_LISTED = 5
"""Instrument names spelled out in a note before the rest is counted."""


def _vol_note(unquoted: Sequence[str]) -> str:
    if not unquoted:
        return "paradex-pm: every option revalued from its own venue mark IV"
    return (
        f"paradex-pm: no venue quote (own mark IV) for {len(unquoted)} option(s): "
        f"{name_some(unquoted, _LISTED)}; their IV is the snapshot smile's at strike and "
        "expiry, the other options are revalued from their own mark IV"
    )


def _notes(
    table: InstrumentTable,
    market: MarketSnapshot,
    params: ParadexParams,
    unquoted: Sequence[str],
) -> list[str]:
    notes = list(_ASSUMPTIONS)
    if bool(np.any(table.is_option)):
        notes.append(_vol_note(unquoted))
    notes.append(f"paradex-pm: min_vol_shock_up read as a {params.vol_up_floor.value!r} floor")
    if params.funding_rates:
        notes.append("paradex-pm: funding provision pay-only from the pack's funding_rates")
    else:
        notes.append("paradex-pm: no predicted funding rate given, funding provision 0")
    notes.append(f"paradex-pm: fee provision rate {params.taker_fee:g} (assumption)")
    option_quotes = {i.quote for i in table.instruments if isinstance(i, Option)}
    flat = sorted(c for c in option_quotes if c not in market.rates)
    if flat:
        notes.append(f"paradex-pm: no rate for {', '.join(flat)} in the snapshot: flat 0 used")
    if bool(np.any(table.inverse)):
        notes.append(
            "paradex-pm: coin-settled (inverse) P&L converted to USD at the scenario price"
        )
    return notes


def _components(
    parts: Sequence[AssetMargin], n: int
) -> tuple[dict[str, NDArray[np.float64]], dict[str, str]]:
    keys = [p.asset.base_asset for p in parts]
    components = group_totals(
        {
            "net_portfolio_imr": [p.net_imr for p in parts],
            "scan_risk": [p.scan for p in parts],
            "min_delta": [p.min_delta for p in parts],
            "funding_provision": [p.funding for p in parts],
            "fee_provision": [p.fee for p in parts],
        },
        keys,
        n,
    )
    sources: dict[str, str] = {}
    for name in components:
        root, _, key = name.partition("/")
        sources[name] = f"{_SOURCES[root]}; base asset {key}" if key else _SOURCES[root]
    return components, sources


def compute(book: Book, market: MarketSnapshot, params: ParadexParams) -> MarginBatch:
    """Paradex PM IMR and MMR of every account of ``book``, one USD row per account.

    Per base asset ``b`` (DOC): ``net_b = max(SCAN_b, MinDelta_b)``; the account's
    ``IMR = sum_b net_b + funding + fee`` and ``MMR = sum_b mmf_b net_b + funding + fee``.
    Components ``net_portfolio_imr``, ``scan_risk``, ``min_delta``, ``funding_provision`` and
    ``fee_provision`` are sums over base assets, each with one child per base asset
    (``"scan_risk/BTC"``). ``worst_scenario`` is the SCAN scenario of the base asset with the
    largest SCAN; ``explain`` gives each position's USD P&L in it.

    Parameters
    ----------
    book
        Accounts × instruments, signed quantities in coins of underlying.
    market
        Index prices, forwards, perpetual marks (USD per coin) and option quotes: each
        option is revalued from its own quote's ``mark_iv``; an option without a quote takes
        the smile's vol at its strike (listed in ``notes``). Rates by quote currency (flat 0
        when absent, flagged in ``notes``).
    params
        A ``paradex-pm`` pack.

    Returns
    -------
    MarginBatch
        Rows of the computable accounts (currency ``"USD"``); accounts holding instruments
        without market data, spot pairs or base assets missing from the pack are in
        ``errors``.
    """
    prepared = prepare_book(book, market)
    table, unquoted = own_mark_iv(prepared.table, market)
    good, rejected = set_aside(prepared.book, _unsupported(table, params))
    errors = {**prepared.errors, **rejected}
    n = len(good.accounts)
    derivatives = np.flatnonzero(np.isin(table.kind, _DERIVATIVES))
    by_asset = group_columns(table.underlying[derivatives])
    parts = [
        asset_margin(good, table, derivatives[by_asset[a.base_asset]], a, params)
        for a in params.assets
        if a.base_asset in by_asset
    ]
    components, sources = _components(parts, n)
    provisions = components["funding_provision"] + components["fee_provision"]
    mm_core = np.sum([p.asset.mmf_factor * p.net_imr for p in parts], axis=0) if parts else 0.0
    worst, which = worst_group(
        [p.scan for p in parts], [p.worst.labels(p.labels) for p in parts], n
    )
    explainers = [
        ScenarioExplainer(
            quantities=good.quantities,
            pnl=p.pnl_usd,
            names=[table.names[c] for c in p.columns.tolist()],
            worst=p.worst,
            columns=p.columns,
        )
        for p in parts
    ]

    def explain(i: int) -> tuple[Contribution, ...]:
        return () if worst[i] is None else explainers[int(which[i])](i)

    return MarginBatch(
        method=METHOD_NAME,
        params_version=params.version,
        account=np.array(good.accounts, dtype=object),
        currency=np.full(n, "USD", dtype=object),
        initial_margin=components["net_portfolio_imr"] + provisions,
        maintenance_margin=mm_core + provisions,
        components=components,
        sources=sources,
        worst_scenario=worst,
        errors=errors,
        explain=explain,
        notes=tuple(_notes(table, market, params, unquoted)),
    )
