"""apply_offsets and worst_case avoid full-size temporaries and give the formulas bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from portmargin.methods.deribit_pm._aggregate import apply_offsets, worst_case
from portmargin.methods.deribit_pm._params import DampenerMode


def reference(
    pre: NDArray[np.float64],
    n_std: int,
    ext_moves: NDArray[np.float64],
    values: tuple[float, float, float, float, float],
    mode: DampenerMode,
) -> NDArray[np.float64]:
    """``specs/deribit-pm.md`` §6 written with one temporary per step."""
    pnl_offset, cap, dampener, extended_factor, price_range = values
    out = np.where(pre > 0, np.minimum(pnl_offset * pre, cap), pre)
    ext = out[:, n_std:]
    xf = extended_factor * ext
    if mode is DampenerMode.FIXED_OFFSET:
        damped = np.minimum(0.0, xf + dampener)
    elif mode is DampenerMode.MOVE_SCALED:
        relief = (np.abs(ext_moves) / price_range - 1.0) * dampener
        damped = xf + np.minimum(relief[None, :], np.abs(xf))
    else:
        damped = xf
    out[:, n_std:] = np.where(ext < 0, damped, ext)
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 5),
    st.integers(0, 6),
    st.integers(0, 6),
    st.sampled_from(list(DampenerMode)),
    st.tuples(
        st.floats(0.0, 1.0),
        st.floats(0.0, 10.0),
        st.floats(0.0, 2.0),
        st.floats(0.5, 2.0),
        st.floats(0.05, 1.0),
    ),
)
def test_apply_offsets_matches_the_formula_bit_for_bit(
    seed: int,
    accounts: int,
    n_std: int,
    n_ext: int,
    mode: DampenerMode,
    values: tuple[float, float, float, float, float],
) -> None:
    rng = np.random.default_rng(seed)
    pre = np.round(rng.normal(0.0, 3.0, (accounts, n_std + n_ext)), 1)
    pre[rng.random(pre.shape) < 0.1] = -0.0
    moves = rng.normal(0.0, 0.5, n_ext)
    before = pre.copy()
    pnl_offset, cap, dampener, extended_factor, price_range = values
    got = apply_offsets(
        pre,
        n_std,
        moves,
        pnl_offset=pnl_offset,
        cap=cap,
        dampener=dampener,
        extended_factor=extended_factor,
        price_range=price_range,
        mode=mode,
    )
    expected = reference(pre, n_std, moves, values, mode)
    assert got.shape == pre.shape
    assert got.tobytes() == expected.tobytes()
    assert pre.tobytes() == before.tobytes()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 8), st.booleans())
def test_worst_case_is_the_first_minimum_in_priority_order(
    seed: int, accounts: int, n: int, with_nan: bool
) -> None:
    rng = np.random.default_rng(seed)
    agg = np.round(rng.normal(0.0, 1.0, (accounts, n)), 0)
    agg[rng.random(agg.shape) < 0.2] = -0.0
    if with_nan:
        agg[rng.random(agg.shape) < 0.2] = np.nan
    priority = rng.permutation(n).astype(np.intp)
    ordered = agg[:, priority]
    pick = np.argmin(ordered, axis=1)
    expected_low = ordered[np.arange(accounts), pick]
    worst, column = worst_case(agg, priority)
    assert column.tolist() == priority[pick].tolist()
    assert worst.tobytes() == (-np.minimum(0.0, expected_low)).tobytes()
