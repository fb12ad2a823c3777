"""account_equity values every currency bucket in one sparse product, as slicing would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.data import demo_chain_path
from portmargin.instruments import parse_instrument
from portmargin.io.deribit import load_deribit_chain_csv
from portmargin.risk import Book, account_equity, resolve_instruments, unit_values

MARKET = load_deribit_chain_csv(demo_chain_path()).snapshot
INSTRUMENTS = (
    *sorted((q.instrument for q in MARKET.quotes.values()), key=lambda i: i.name)[:40],
    *(q.instrument for q in MARKET.futures.values()),
    *(parse_instrument(n) for n in ("BTC", "USDC", "BTC_USDC", "ETH")),
)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_equity_buckets_match_column_slices(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = len(INSTRUMENTS)
    dense = np.where(rng.random((n, m)) < 0.2, np.round(rng.normal(size=(n, m)), 2), 0.0)
    rows, cols = np.nonzero(dense)
    book = Book.from_arrays([f"a{i}" for i in range(n)], INSTRUMENTS, rows, cols, dense[rows, cols])
    table = resolve_instruments(book.instruments, MARKET.with_unlisted_allowed())
    equity = account_equity(book, table)
    value = np.nan_to_num(unit_values(table), nan=0.0)
    assert equity.currencies == tuple(sorted(set(table.settlement_currency.tolist())))
    assert equity.amounts.shape == (n, len(equity.currencies))
    for k, ccy in enumerate(equity.currencies):
        c = np.flatnonzero(table.settlement_currency == ccy)
        expected = book.quantities[:, c] @ value[c]
        assert equity.amounts[:, k].tolist() == expected.tolist()
