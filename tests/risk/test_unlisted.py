"""Instruments the snapshot does not list: a per-account error unless explicitly allowed."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from portmargin.analysis.deribit_check import check_deribit_pme
from portmargin.core import ValidationError
from portmargin.instruments import parse_instrument
from portmargin.io.deribit_pme import load_pme_simulate
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, prepare_book, resolve_instruments

CONFORMANCE = Path(
    os.environ.get(
        "PORTMARGIN_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[2].parent / "shared" / "conformance",
    )
)
UNLISTED = {
    "BTC-27JUN20-9000-C": "no quote at expiry 27JUN20 of BTC",
    "BTC-26JUN21-9000-C": "no quote at expiry 26JUN21 of BTC",
    "BTC-26JUN20-123456-C": "no call quote for strike 123456 at expiry 26JUN20",
    "BTC-27JUN20": "no future quote and no forward for expiry 27JUN20",
}
LISTED = (
    "BTC-26JUN20-9000-C",
    "BTC-26JUN20-9000-P",
    "BTC_USDC-26JUN20-9000-C",
    "BTC-26JUN20",
    "BTC-PERPETUAL",
    "BTC",
)


def _book(accounts: dict[str, list[tuple[str, float]]]) -> Book:
    return Book.from_portfolios(
        [
            Portfolio.from_positions(
                account,
                [Position(instrument=parse_instrument(n), quantity=q) for n, q in positions],
            )
            for account, positions in accounts.items()
        ]
    )


def test_unlisted_instruments_are_missing_with_the_reason(demo_snapshot: MarketSnapshot) -> None:
    table = resolve_instruments([parse_instrument(n) for n in (*UNLISTED, *LISTED)], demo_snapshot)
    assert set(table.missing) == set(UNLISTED)
    for name, detail in UNLISTED.items():
        assert table.missing[name] == (
            f"{name} is not listed in the market snapshot ({detail}); "
            "allow unlisted instruments (--allow-unlisted) to price it from the smile"
        )
    assert not table.unlisted.any()


def test_allowed_unlisted_instruments_are_priced_and_flagged(
    demo_snapshot: MarketSnapshot,
) -> None:
    market = demo_snapshot.with_unlisted_allowed()
    assert market.allow_unlisted
    assert not demo_snapshot.allow_unlisted
    assert market.with_unlisted_allowed() is market
    names = (*UNLISTED, *LISTED)
    table = resolve_instruments([parse_instrument(n) for n in names], market)
    assert not table.missing
    assert table.unlisted.tolist() == [n in UNLISTED for n in names]
    assert np.all(np.isfinite(table.forward))
    assert np.all(np.isfinite(table.sigma[table.is_option]))
    sub = table.take(np.array([3, 0, 5]))
    assert sub.unlisted.tolist() == [True, True, False]


def test_prepare_book_sets_holders_aside_and_reports_allowed_ones(
    demo_snapshot: MarketSnapshot,
) -> None:
    book = _book(
        {
            "listed": [("BTC-26JUN20-9000-C", -1.0), ("BTC-PERPETUAL", 2.0)],
            "far": [("BTC-26JUN21-9000-C", -1.0), ("BTC-26JUN20-9000-C", 1.0)],
            "strike": [("BTC-26JUN20-123456-C", -1.0)],
        }
    )
    prepared = prepare_book(book, demo_snapshot)
    assert prepared.book.accounts == ("listed",)
    assert "BTC-26JUN21-9000-C is not listed" in prepared.errors["far"]
    assert "strike 123456" in prepared.errors["strike"]
    assert not prepared.unlisted

    allowed = prepare_book(book, demo_snapshot.with_unlisted_allowed())
    assert not allowed.errors
    assert dict(allowed.unlisted) == {
        "far": ("BTC-26JUN21-9000-C",),
        "strike": ("BTC-26JUN20-123456-C",),
    }


def test_an_excluded_quote_is_not_listed(demo_snapshot: MarketSnapshot) -> None:
    name = "BTC-26JUN20-9000-C"
    quotes = {n: q for n, q in demo_snapshot.quotes.items() if n != name}
    reason = "mark_iv: 85000.0 % is above the maximum 1000 %"
    market = dataclasses.replace(demo_snapshot, quotes=quotes, excluded={name: reason})
    table = resolve_instruments(
        [parse_instrument(name), parse_instrument("BTC_USDC-26JUN20-9000-C")], market
    )
    assert table.missing[name] == (
        f"{name} is not listed in the market snapshot: the quote of {name} was excluded: "
        f"{reason}; allow unlisted instruments (--allow-unlisted) to price it from the smile"
    )
    assert f"the quote of {name} was excluded" in table.missing["BTC_USDC-26JUN20-9000-C"]
    allowed = resolve_instruments([parse_instrument(name)], market.with_unlisted_allowed())
    assert not allowed.missing
    assert allowed.unlisted.tolist() == [True]


def test_excluded_values_are_validated(demo_snapshot: MarketSnapshot) -> None:
    with pytest.raises(ValidationError, match="excluded"):
        dataclasses.replace(demo_snapshot, excluded={"BTC-26JUN20-9000-C": 1})
    with pytest.raises(ValidationError, match="allow_unlisted"):
        dataclasses.replace(demo_snapshot, allow_unlisted=1)


@pytest.mark.parametrize("name", method_names())
def test_every_method_reports_the_unlisted_account(
    name: str, demo_snapshot: MarketSnapshot
) -> None:
    prefix = "BTC_USDC" if name == "derive-pm2" else "BTC"
    unlisted = f"{prefix}-27JUN20-9000-C"
    book = _book(
        {
            "good": [(f"{prefix}-26JUN20-9000-C", -1.0)],
            "bad": [(unlisted, -1.0), (f"{prefix}-26JUN20-9000-C", 1.0)],
        }
    )
    method = get_method(name)
    params = load_params(method)
    batch = method.compute(book, demo_snapshot, params)
    assert tuple(batch.errors) == ("bad",)
    assert f"{unlisted} is not listed in the market snapshot" in batch.errors["bad"]
    assert "good" in batch.account.tolist()
    allowed = method.compute(book, demo_snapshot.with_unlisted_allowed(), params)
    assert not allowed.errors
    assert set(allowed.account.tolist()) == {"good", "bad"}


def test_pme_snapshot_prices_held_options_from_their_tickers(tmp_path: Path) -> None:
    """A ``private/pme/simulate`` file lists its held options by their tickers only; the
    snapshot built from it allows them (they are not venue-chain quotes)."""
    example = CONFORMANCE / "deribit_pm" / "docs_example_btc_2024-06-17.json"
    if not example.is_file():
        pytest.skip(f"Deribit conformance example not found at {example}")
    doc = json.loads(example.read_text())
    doc["portfolio"]["position"]["BTC-28JUN24-70000-C"] = -1.0
    doc["ticker"]["BTC-28JUN24-70000-C"] = {
        "mark_price": 0.01,
        "underlying_price": 67371.75,
        "mark_iv": 50.0,
    }
    path = tmp_path / "option.json"
    path.write_text(json.dumps(doc))
    case = load_pme_simulate(path)
    assert case.market.allow_unlisted
    check = check_deribit_pme(case)
    assert check.error is None
