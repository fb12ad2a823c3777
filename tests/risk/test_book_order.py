"""Book.with_columns_by_name: same positions, columns in instrument name order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.instruments import parse_instrument
from portmargin.risk import Book

NAMES = [
    "BTC-PERPETUAL",
    "BTC-26JUN20",
    "BTC-26JUN20-9000-C",
    "BTC-26JUN20-9000-P",
    "BTC-25SEP20-10000-C",
    "ETH-PERPETUAL",
    "BTC",
    "USDC",
]


@settings(max_examples=100, deadline=None)
@given(st.permutations(NAMES), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_columns_by_name_keep_every_position(names: list[str], n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n, len(names))) < 0.5, rng.normal(size=(n, len(names))), 0.0)
    rows, cols = np.nonzero(dense)
    book = Book.from_arrays(
        [f"a{i}" for i in range(n)],
        [parse_instrument(x) for x in names],
        rows,
        cols,
        dense[rows, cols],
    )
    ordered = book.with_columns_by_name()
    got = [i.name for i in ordered.instruments]
    assert got == sorted(names)
    assert ordered.accounts == book.accounts
    pairs = zip(rows.tolist(), cols.tolist(), strict=True)
    expected = {(a, names[c]): dense[a, c] for a, c in pairs}
    q = ordered.quantities
    assert q.has_sorted_indices
    seen: dict[tuple[int, str], float] = {}
    for a in range(n):
        span = slice(q.indptr[a], q.indptr[a + 1])
        assert np.all(np.diff(q.indices[span]) > 0)
        for c, v in zip(q.indices[span].tolist(), q.data[span].tolist(), strict=True):
            seen[a, got[c]] = v
    assert seen == expected
    assert ordered.with_columns_by_name() is ordered


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1), st.integers(0, len(NAMES)), st.booleans())
def test_holders_of_some_or_all_columns(n: int, seed: int, k: int, every: bool) -> None:
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n, len(NAMES))) < 0.3, rng.normal(size=(n, len(NAMES))), 0.0)
    rows, cols = np.nonzero(dense)
    book = Book.from_arrays(
        [f"a{i}" for i in range(n)],
        [parse_instrument(x) for x in NAMES],
        rows,
        cols,
        dense[rows, cols],
    )
    columns = rng.permutation(len(NAMES))[: len(NAMES) if every else k].astype(np.intp)
    expected = np.any(dense[:, columns] != 0.0, axis=1)
    assert book.holders(columns).tolist() == expected.tolist()
