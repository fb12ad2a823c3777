"""Vector rules of the risk matrix: pnl offset, extended dampener, worst case, shocks.

Pure numpy on ``(n_accounts, n_scenarios)`` arrays of one aggregation key, amounts in the
settlement currency (P&L > 0 a gain; requirements >= 0).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from portmargin.methods.deribit_pm._params import DampenerMode
from portmargin.risk import worst_loss

__all__ = ["apply_offsets", "delta_shock", "worst_case"]

FloatArray = NDArray[np.float64]


def apply_offsets(
    pre: FloatArray,
    n_std: int,
    ext_moves: FloatArray,
    *,
    pnl_offset: float,
    cap: float,
    dampener: float,
    extended_factor: float,
    price_range: float,
    mode: DampenerMode,
) -> FloatArray:
    """Aggregated vectors from the pre-aggregated ones (``specs/deribit-pm.md`` §6).

    Parameters
    ----------
    pre
        Pre-aggregated vectors, shape ``(a, n_std + n_ext)``: standard then extended.
    n_std
        Number of standard entries.
    ext_moves
        Extended moves ``M_k``, shape ``(n_ext,)``.
    pnl_offset, cap
        Every positive entry ``x`` becomes ``min(pnl_offset x, cap)`` (``cap`` in settlement
        currency).
    dampener, extended_factor, price_range, mode
        Negative extended entries become ``x_f = extended_factor x`` relieved by ``dampener``
        (settlement currency) per ``mode``.

    Returns
    -------
    numpy.ndarray
        A new array, shape of ``pre`` (``pre`` is left unchanged).
    """
    # in place on one new array: at a million accounts each temporary is hundreds of MB
    out: FloatArray = np.multiply(pre, pnl_offset)
    np.minimum(out, cap, out=out)
    np.copyto(out, pre, where=~(pre > 0))
    ext = out[:, n_std:]
    xf = extended_factor * ext
    if mode is DampenerMode.FIXED_OFFSET:
        xf += dampener
        damped = np.minimum(0.0, xf, out=xf)
    elif mode is DampenerMode.MOVE_SCALED:
        relief = (np.abs(ext_moves) / price_range - 1.0) * dampener
        damped = np.minimum(relief[None, :], np.abs(xf))
        damped += xf
    else:
        damped = xf
    np.copyto(ext, damped, where=ext < 0)
    return out


def worst_case(agg: FloatArray, priority: NDArray[np.intp]) -> tuple[FloatArray, NDArray[np.intp]]:
    """Worst loss and the column that set it: :func:`portmargin.risk.worst_loss` with the
    grid's tie order.

    Parameters
    ----------
    agg
        Aggregated vectors, shape ``(a, n)``.
    priority
        Column order for ties (the first of equal minima wins), shape ``(n,)``.

    Returns
    -------
    tuple
        ``worst_case = -min(0, min(agg))`` (>= 0), shape ``(a,)``, and the column index of the
        minimum, shape ``(a,)``.
    """
    worst = worst_loss(agg, priority=priority)
    return worst.loss, worst.column


def delta_shock(
    net_delta: FloatArray,
    index: float,
    *,
    threshold_usd: float,
    max_shock: float,
    m_inc: float,
) -> FloatArray:
    """Delta shock in coin (``excess_linear`` model, ``specs/deribit-pm.md`` §9).

    Parameters
    ----------
    net_delta
        Net coin delta of each account, shape ``(a,)``.
    index
        Index of the pair, USD per coin.
    threshold_usd, max_shock, m_inc
        ``excess = max(0, |D| S - threshold) / S``; ``rate = min(max_shock, m_inc excess)``.

    Returns
    -------
    numpy.ndarray
        ``rate * excess`` coin, shape ``(a,)``, >= 0.
    """
    excess = np.maximum(0.0, np.abs(net_delta) * index - threshold_usd) / index
    result: FloatArray = np.minimum(max_shock, m_inc * excess) * excess
    return result
