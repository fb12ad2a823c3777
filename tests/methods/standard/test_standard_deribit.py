"""Deribit standard margin: every worked number of specs/standard-margin.md section 1."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from portmargin.instruments import (
    Currency,
    Instrument,
    Option,
    Perpetual,
    Settlement,
    parse_instrument,
)
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods.standard import StandardMargin, StandardParams, UnderlyingPrice
from portmargin.pricing import black76
from portmargin.risk import Book

METHOD = StandardMargin()
VALUATION_MS = 1_700_000_000_000


def _params() -> StandardParams:
    params = load_params(METHOD, "standard/deribit-sm-2024")
    assert isinstance(params, StandardParams)
    return params


def _one_each(instruments: list[Instrument], quantities: list[float]) -> Book:
    """One account per position: account ``a{i}`` holds ``quantities[i]`` of instrument i."""
    n = len(instruments)
    return Book.from_arrays(
        [f"a{i}" for i in range(n)],
        instruments,
        np.arange(n, dtype=np.intp),
        np.arange(n, dtype=np.intp),
        np.asarray(quantities, dtype=np.float64),
    )


def _flat_market() -> MarketSnapshot:
    return MarketSnapshot(valuation_ms=VALUATION_MS, index_prices={"BTC": 100_000.0, "SOL": 200.0})


def _linear_perp(coin: str) -> Perpetual:
    return Perpetual(underlying=coin, quote="USDC", settlement=Settlement.LINEAR)


OPTION_ROWS = [
    # instrument, IM, MM (BTC per contract, spec section 1.1)
    ("BTC-26JUN20-10500-C", 0.14864765, 0.12364765),
    ("BTC-26JUN20-8000-P", 0.1600573, 0.1350573),
    ("BTC-26JUN20-10500-P", 0.35252684, 0.27752684),
    ("BTC-26JUN20-28000-P", 2.2364470065, 2.2364470065),
]


def test_option_rows_of_the_bundled_chain(demo_snapshot: MarketSnapshot) -> None:
    names = [row[0] for row in OPTION_ROWS]
    batch = METHOD.compute(
        _one_each([parse_instrument(n) for n in names], [-1.0] * 4), demo_snapshot, _params()
    )
    assert list(batch.currency) == ["BTC"] * 4
    np.testing.assert_allclose(batch.initial_margin, [r[1] for r in OPTION_ROWS], rtol=1e-10)
    np.testing.assert_allclose(batch.maintenance_margin, [r[2] for r in OPTION_ROWS], rtol=1e-10)
    assert batch.worst_scenario is None


def test_deep_itm_put_im_equals_mm(demo_snapshot: MarketSnapshot) -> None:
    book = _one_each([parse_instrument("BTC-26JUN20-28000-P")], [-3.0])
    batch = METHOD.compute(book, demo_snapshot, _params())
    plain_im = 3 * (0.15 + 2.08041582)
    assert batch.initial_margin[0] == pytest.approx(3 * 2.2364470065, rel=1e-10)
    assert batch.initial_margin[0] > plain_im
    assert batch.initial_margin[0] == batch.maintenance_margin[0]


def test_long_options_need_nothing(demo_snapshot: MarketSnapshot) -> None:
    names = [row[0] for row in OPTION_ROWS]
    batch = METHOD.compute(
        _one_each([parse_instrument(n) for n in names], [2.0] * 4), demo_snapshot, _params()
    )
    assert np.all(batch.initial_margin == 0)
    assert np.all(batch.maintenance_margin == 0)


def test_model_value_replaces_a_missing_quote(demo_snapshot: MarketSnapshot) -> None:
    """Without a venue quote: Black-76 coin value at the snapshot forward and vol, U = F."""
    unquoted = dataclasses.replace(demo_snapshot, quotes={}, allow_unlisted=True)
    put = parse_instrument("BTC-26JUN20-10500-P")
    assert isinstance(put, Option)
    batch = METHOD.compute(_one_each([put], [-1.0]), unquoted, _params())
    F = demo_snapshot.forward("BTC", put.expiry_ms)
    T = demo_snapshot.year_fraction(put.expiry_ms)
    sigma = demo_snapshot.vol("BTC", put.expiry_ms, [put.strike])[0]
    mark = float(black76.price(F, put.strike, T, sigma, False)) / F
    assert batch.initial_margin[0] == pytest.approx(0.15 + mark, rel=1e-12)
    assert batch.maintenance_margin[0] == pytest.approx(0.075 + mark, rel=1e-12)


def test_index_as_underlying_price(demo_snapshot: MarketSnapshot) -> None:
    params = dataclasses.replace(_params(), sm_underlying=UnderlyingPrice.INDEX)
    book = _one_each([parse_instrument("BTC-25SEP20-9000-P")], [-1.0])
    by_index = METHOD.compute(book, demo_snapshot, params)
    by_forward = METHOD.compute(book, demo_snapshot, _params())
    quote = demo_snapshot.quotes["BTC-25SEP20-9000-P"]
    mark = quote.mark_price
    for batch, u in ((by_index, demo_snapshot.index("BTC")), (by_forward, quote.underlying_price)):
        expected = max(0.15 - max(u - 9000, 0) / u, 0.10) + mark
        assert batch.initial_margin[0] == pytest.approx(expected, rel=1e-12)
    assert by_index.initial_margin[0] > by_forward.initial_margin[0]


PERP_ROWS = [
    # coin, size, IM (USDC), MM (USDC): spec section 1.2 (DOC and DERIVED rows)
    ("BTC", 25.0, 53_125.0, 28_125.0),
    ("BTC", 350.0, 1_312_500.0, 962_500.0),
    ("SOL", 25.0, 200.625, 100.625),
    ("SOL", 6_000.0, 84_000.0, 60_000.0),
]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_linear_perpetual_rows(sign: float) -> None:
    btc, sol = _linear_perp("BTC"), _linear_perp("SOL")
    book = Book.from_arrays(
        ["a0", "a1", "a2", "a3"],
        [btc, sol],
        np.array([0, 1, 2, 3], dtype=np.intp),
        np.array([0, 0, 1, 1], dtype=np.intp),
        sign * np.array([r[1] for r in PERP_ROWS]),
    )
    batch = METHOD.compute(book, _flat_market(), _params())
    assert list(batch.currency) == ["USDC"] * 4
    np.testing.assert_allclose(batch.initial_margin, [r[2] for r in PERP_ROWS], rtol=1e-12)
    np.testing.assert_allclose(batch.maintenance_margin, [r[3] for r in PERP_ROWS], rtol=1e-12)
    np.testing.assert_allclose(batch.components["initial_margin/perpetuals"], batch.initial_margin)
    # 53,125 USDC is 0.53125 BTC at the 100,000 index
    assert batch.initial_margin[0] / 100_000.0 == pytest.approx(0.53125, rel=1e-12)


def test_inverse_perpetual_in_coin() -> None:
    """25 BTC of BTC-PERPETUAL at index 100,000: 2.125 % of 25 BTC = 0.53125 BTC."""
    inverse = Perpetual(underlying="BTC")
    batch = METHOD.compute(_one_each([inverse], [-25.0]), _flat_market(), _params())
    assert list(batch.currency) == ["BTC"]
    assert batch.initial_margin[0] == pytest.approx(0.53125, rel=1e-12)
    assert batch.maintenance_margin[0] == pytest.approx(0.28125, rel=1e-12)


def test_rows_per_settlement_currency(demo_snapshot: MarketSnapshot) -> None:
    market = dataclasses.replace(demo_snapshot, index_prices={"BTC": 100_000.0})
    call = parse_instrument("BTC-26JUN20-10500-C")
    book = Book.from_arrays(
        ["x", "y"],
        [call, _linear_perp("BTC"), Currency(code="USDC")],
        np.array([0, 0, 0, 1], dtype=np.intp),
        np.array([0, 1, 2, 2], dtype=np.intp),
        np.array([-1.0, 25.0, 1e6, 5.0]),
    )
    batch = METHOD.compute(book, market, _params())
    rows = {
        (str(a), str(c)): i
        for i, (a, c) in enumerate(zip(batch.account, batch.currency, strict=True))
    }
    assert set(rows) == {("x", "BTC"), ("x", "USDC"), ("y", "USDC")}
    assert batch.initial_margin[rows["x", "USDC"]] == pytest.approx(53_125.0)
    assert batch.initial_margin[rows["y", "USDC"]] == 0.0
    assert batch.initial_margin[rows["x", "BTC"]] > 0.1
    contributions = batch.result(rows["x", "USDC"]).contributions
    assert {c.instrument: c.pnl for c in contributions} == {
        "BTC_USDC-PERPETUAL": pytest.approx(-53_125.0),
        "USDC": 0.0,
    }
