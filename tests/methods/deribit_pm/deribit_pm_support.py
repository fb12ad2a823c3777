"""Helpers shared by the deribit-pm tests: packs, books, markets and the conformance folder."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from portmargin.instruments import Future, Perpetual, parse_instrument
from portmargin.io.params import load_params
from portmargin.market import FutureQuote, MarketSnapshot
from portmargin.methods.deribit_pm import DERIBIT_PM, DeribitPMParams
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

ENV_VAR = "PORTMARGIN_CONFORMANCE_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
DOCS_EXAMPLE = "docs_example_btc_2024-06-17.json"


def conformance_root() -> Path:
    """``$PORTMARGIN_CONFORMANCE_DIR`` or ``<project>/../shared/conformance``."""
    override = os.environ.get(ENV_VAR)
    return Path(override) if override else PROJECT_ROOT.parent / "shared" / "conformance"


def docs_example() -> Path:
    """Path of the docs example (may not exist)."""
    return conformance_root() / "deribit_pm" / DOCS_EXAMPLE


def pack(version: str = "2024-06-17") -> DeribitPMParams:
    """A bundled pack."""
    params = load_params(DERIBIT_PM, f"deribit-pm/{version}")
    assert isinstance(params, DeribitPMParams)
    return params


def book(accounts: Mapping[str, Mapping[str, float]]) -> Book:
    """Book from ``account → {instrument name: quantity}``."""
    return Book.from_portfolios(
        [
            Portfolio.from_positions(
                account,
                [
                    Position(instrument=parse_instrument(n), quantity=q)
                    for n, q in positions.items()
                ],
            )
            for account, positions in accounts.items()
        ]
    )


def futures_market(
    valuation_ms: int, index: Mapping[str, float], marks: Mapping[str, float]
) -> MarketSnapshot:
    """Index prices plus futures/perpetual marks (a future's mark is its expiry forward)."""
    quotes: dict[str, FutureQuote] = {}
    forwards: dict[tuple[str, int], float] = {}
    for name, mark in marks.items():
        inst = parse_instrument(name)
        assert isinstance(inst, Future | Perpetual)
        quotes[name] = FutureQuote(
            instrument_name=name, instrument=inst, timestamp_ms=valuation_ms, mark_price=mark
        )
        if isinstance(inst, Future):
            forwards[inst.underlying, inst.expiry_ms] = mark
    return MarketSnapshot(
        valuation_ms=valuation_ms, index_prices=index, forwards=forwards, futures=quotes
    )


def names_of(chain: MarketSnapshot, expiry_index: int, count: int) -> Sequence[str]:
    """``count`` option names of the ``expiry_index``-th expiry of a snapshot (sorted)."""
    expiry = sorted({q.instrument.expiry_ms for q in chain.quotes.values()})[expiry_index]
    names = sorted(n for n, q in chain.quotes.items() if q.instrument.expiry_ms == expiry)
    return names[:: max(1, len(names) // count)][:count]
