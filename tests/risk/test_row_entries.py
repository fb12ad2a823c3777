"""row_entries reads one CSR row exactly as scipy's row and column indexing does."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from portmargin.risk import row_entries

Columns = NDArray[np.intp] | None


@st.composite
def rows_and_columns(draw: st.DrawFn) -> tuple[sp.csr_array, int, Columns]:
    n_rows = draw(st.integers(1, 6))
    n_cols = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n_rows, n_cols)) < 0.4, rng.normal(size=(n_rows, n_cols)), 0.0)
    q = sp.csr_array(dense)
    if draw(st.booleans()):
        q = sp.csr_array(dense[:, rng.permutation(n_cols)])
        q.has_sorted_indices = False
        perm = [rng.permutation(int(q.indptr[r + 1] - q.indptr[r])) for r in range(n_rows)]
        q.indices[:] = np.concatenate(
            [q.indices[q.indptr[r] : q.indptr[r + 1]][p] for r, p in enumerate(perm)]
        )
        q.data[:] = np.concatenate(
            [q.data[q.indptr[r] : q.indptr[r + 1]][p] for r, p in enumerate(perm)]
        )
    row = draw(st.integers(0, n_rows - 1))
    columns = None
    if draw(st.booleans()):
        k = draw(st.integers(0, n_cols))
        columns = rng.permutation(n_cols)[:k].astype(np.intp)
    return q, row, columns


@settings(max_examples=200, deadline=None)
@given(rows_and_columns())
def test_row_entries_match_scipy_indexing(case: tuple[sp.csr_array, int, Columns]) -> None:
    q, row, columns = case
    picked = q[[row]] if columns is None else q[[row]][:, columns]
    expected = picked.tocoo()
    cols, data = row_entries(q, row, columns)
    assert cols.tolist() == expected.coords[1].tolist()
    assert data.tolist() == expected.data.tolist()
    assert cols.dtype == np.intp
    assert data.dtype == np.float64


def test_row_entries_of_an_empty_row() -> None:
    q = sp.csr_array(np.array([[0.0, 1.5], [0.0, 0.0]]))
    cols, data = row_entries(q, 1)
    assert cols.size == 0
    assert data.size == 0
    cols, data = row_entries(q, 0, np.array([1], dtype=np.intp))
    assert cols.tolist() == [0]
    assert data.tolist() == [1.5]
