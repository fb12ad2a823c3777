"""Per-account sums by group: a product with a dense group matrix, as the sparse one gave."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.methods.okx_pm._unit import _by_group


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 6), st.integers(1, 8), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_by_group_matches_the_sparse_product(n: int, m: int, groups: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n, m)) < 0.5, np.round(rng.normal(size=(n, m)), 1), 0.0)
    q = sp.csr_array(dense)
    group = rng.integers(0, groups, m).astype(np.intp)
    values = np.round(rng.normal(size=m), 1)
    values[rng.random(m) < 0.2] = 0.0
    grouping = sp.csr_array((values, (np.arange(m), group)), shape=(m, groups))
    expected = (q @ grouping).toarray()
    got = _by_group(q, group, values, groups)
    assert got.shape == (n, groups)
    assert got.tolist() == expected.tolist()
