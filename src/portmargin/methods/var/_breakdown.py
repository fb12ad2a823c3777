"""Per-position breakdown of the ``var`` margin (section 8): Euler ES in the portfolio and in
the group, component VaR, standalone and incremental VaR/ES, allocated core margin and add-on;
per group, its Euler share of the portfolio measure and its share of the diversification
benefit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from portmargin.methods.var._liquidity import AddOn
from portmargin.methods.var._losses import PortfolioTail, UnitLosses, tail_values
from portmargin.methods.var._params import Measure, VarParams
from portmargin.risk import tail_size, var_es

__all__ = ["group_shares", "position_figures", "pro_rata"]

CHUNK_ELEMENTS = 1 << 22
"""Loss-matrix elements built at a time for the incremental measures."""
CANDIDATES = 48
"""Worst scenarios of an account on which the book without one position is measured first
(at least four times the tail)."""


def incremental(
    full: Sequence[NDArray[np.float64]],
    loss_p: NDArray[np.float64],
    losses: UnitLosses,
    entries: tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]],
    params: VarParams,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """VaR and ES of every account's portfolio without each of its positions, shape
    ``(nnz,)`` each (exact, equal weights).

    The book minus position ``i`` is first measured on candidate scenarios: the account's
    ``K`` worst and the ``K`` in which the position gains most (``K`` =
    :data:`CANDIDATES`, at least four tails). That is exact when no other scenario can reach
    the tail: when the ``(K+1)``-th largest account loss plus the ``(K+1)``-th largest gain of
    the position does not exceed the VaR found. The other entries are recomputed on every
    scenario, in chunks of at most :data:`CHUNK_ELEMENTS` losses.
    """
    rows, cols, qty = entries
    n_entries = rows.size
    s = loss_p.shape[1]
    size = tail_size(s, params.confidence, allow_small_sample=params.allow_small_sample)
    var = np.empty(n_entries)
    es = np.empty(n_entries)
    redo = np.arange(n_entries)
    k = max(CANDIDATES, 4 * (size.k + 1))
    if n_entries and k < s:
        # the account's k worst scenarios and the (k+1)-th largest loss
        part = np.argpartition(loss_p, s - k - 1, axis=1)
        worst = part[:, s - k :]
        outside_loss = np.take_along_axis(loss_p, part[:, s - k - 1 : s - k], axis=1)[:, 0]
        del part
        in_worst = np.zeros(loss_p.shape, dtype=bool)
        np.put_along_axis(in_worst, worst, True, axis=1)
        # per instrument and side (long, short): gain per unit held, its k best scenarios
        gain = np.stack(
            [np.max([-u for u in losses.units], axis=0), np.max(list(losses.units), axis=0)]
        )
        gpart = np.argpartition(gain, s - k - 1, axis=2)
        best = gpart[:, :, s - k :]
        outside_gain = np.take_along_axis(gain, gpart[:, :, s - k - 1 : s - k], axis=2)[..., 0]
        del gpart, gain
        side = (qty < 0).astype(np.intp)
        cand_gain = best[side, cols]
        at_gain = rows.astype(np.int64)[:, None] * s + cand_gain  # flat positions
        at_unit = cols.astype(np.int64)[:, None] * s
        q = qty[:, None]
        without = [
            np.concatenate(
                [
                    np.take_along_axis(f, worst, axis=1)[rows]
                    - q * np.take(u, at_unit + worst[rows]),
                    np.take(f, at_gain) - q * np.take(u, at_unit + cand_gain),
                ],
                axis=1,
            )
            for f, u in zip(full, losses.units, strict=True)
        ]
        rest = without[0] if len(without) == 1 else np.maximum(without[0], without[1])
        rest[:, k:][np.take(in_worst, at_gain)] = -np.inf  # a scenario counts once
        del at_gain, at_unit
        var, es = tail_values(rest, size)
        bound = outside_loss[rows] + np.abs(qty) * outside_gain[side, cols]
        redo = np.flatnonzero(bound > var)
    step = max(1, CHUNK_ELEMENTS // max(s, 1))
    for start in range(0, redo.size, step):
        chunk = redo[start : start + step]
        r, c, q = rows[chunk], cols[chunk], qty[chunk][:, None]
        without = [f[r] - q * u[c] for f, u in zip(full, losses.units, strict=True)]
        rest = without[0] if len(without) == 1 else np.maximum(without[0], without[1])
        var[chunk], es[chunk] = tail_values(rest, size)
    return var, es


def standalone(
    losses: UnitLosses, params: VarParams
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """VaR and ES of one unit long (column 0) and one unit short (column 1) of every margined
    instrument, shape ``(c, 2)`` each (a position's own measure is ``|q|`` times its side's)."""
    sides = [np.stack([u, -u]) for u in losses.units]
    both = sides[0] if len(sides) == 1 else np.maximum(sides[0], sides[1])
    c, s = losses.units[0].shape
    var, es = var_es(
        both.reshape(2 * c, s), params.confidence, allow_small_sample=params.allow_small_sample
    )
    return var.reshape(2, c).T, es.reshape(2, c).T


def pro_rata(
    weight: NDArray[np.float64],
    rows: NDArray[np.intp],
    group: NDArray[np.intp],
    amount: NDArray[np.float64],
) -> NDArray[np.float64]:
    """``amount[row, group]`` shared among the entries of each (row, group) pro rata to
    ``weight`` (>= 0), shape ``(nnz,)``; nothing where the weights of the cell are 0."""
    k = amount.shape[1]
    key = rows.astype(np.int64) * k + group
    den = np.bincount(key, weights=weight, minlength=amount.size)[key]
    share = np.divide(weight, den, out=np.zeros_like(weight), where=den > 0)
    result: NDArray[np.float64] = share * amount[rows, group]
    return result


def group_shares(
    contribution: NDArray[np.float64],
    where: tuple[NDArray[np.intp], NDArray[np.intp]],
    group_measure: NDArray[np.float64],
    benefit: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each group's Euler share of the portfolio measure and its share of the
    diversification benefit, USD, shape ``(k, n)`` each (groups × accounts).

    ``var-margin.md`` section 8 asks for a benefit share per group without fixing the rule;
    this is the Euler allocation (Tasche 1999). The share of group ``g`` in account ``r`` is
    ``P_g = sum_{i in g} C_i^P``, the contributions of its positions in the portfolio's tail
    (Euler ES, or component VaR when the measure is VaR), so ``sum_g P_g = m_P``. Its benefit
    share is ``b_g = m_g - P_g`` where ``B > 0`` and 0 where ``B = 0`` (no benefit granted,
    as the allocated core margin then uses the group measure), so ``sum_g b_g = B``. The
    allocated core margin of the group's positions sums to ``m_g - offset_cap b_g``. With ES
    ``b_g >= 0``: the portfolio's tail weights are one admissible weighting of the group's
    losses, whose ES is the largest.

    Parameters
    ----------
    contribution
        Per position (CSR entry), its contribution to the portfolio measure, shape
        ``(nnz,)``.
    where
        Row (account) and group index of each entry, shape ``(nnz,)`` each.
    group_measure
        ``m_g``, shape ``(k, n)``.
    benefit
        ``B``, shape ``(n,)``.
    """
    rows, group = where
    k, n = group_measure.shape
    key = group.astype(np.int64) * n + rows
    summed = np.bincount(key, weights=contribution, minlength=k * n)
    share: NDArray[np.float64] = summed.astype(np.float64).reshape(k, n)
    benefit_share: NDArray[np.float64] = np.where(benefit > 0, group_measure - share, 0.0)
    return share, benefit_share


def euler(
    losses: UnitLosses,
    tail: PortfolioTail,
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    qty: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Euler ES contribution ``q sum_j w_j L[c, s_j]`` and component VaR ``q L[c, s*]`` of
    each entry (row, column, quantity) in its row's tail, shape ``(nnz,)`` each."""
    idx = tail.risk.tail_index[rows]
    first = None if tail.first is None else tail.first[rows[:, None], idx]
    unit = losses.at(cols[:, None], idx, first)
    es = qty * np.einsum("ij,ij->i", unit, tail.risk.tail_weight[rows])
    star = tail.risk.var_scenario[rows]
    first_star = None if tail.first is None else tail.first[rows, star]
    return es, qty * losses.at(cols, star, first_star)


def position_figures(
    losses: UnitLosses,
    params: VarParams,
    tails: tuple[PortfolioTail, list[PortfolioTail], NDArray[np.intp]],
    entries: tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]],
    book_level: tuple[list[NDArray[np.float64]], NDArray[np.float64], NDArray[np.float64], AddOn],
) -> dict[str, NDArray[np.float64]]:
    """Per position (CSR entry of ``x.q``), USD, shape ``(nnz,)`` each: Euler ES in the
    portfolio and in its group, component VaR, standalone VaR/ES, incremental VaR/ES, the
    allocated core margin and the add-on share."""
    port, groups, group_of = tails
    rows, cols, qty = entries
    parts_p, loss_p, benefit, add = book_level
    euler_p, cvar_p = euler(losses, port, rows, cols, qty)
    g_of = group_of[cols]
    euler_g = np.empty_like(euler_p)
    cvar_g = np.empty_like(cvar_p)
    for g, tail in enumerate(groups):
        sel = np.flatnonzero(g_of == g)
        euler_g[sel], cvar_g[sel] = euler(losses, tail, rows[sel], cols[sel], qty[sel])
    unit_var, unit_es = standalone(losses, params)
    side = (qty < 0).astype(np.intp)
    without_var, without_es = incremental(parts_p, loss_p, losses, entries, params)
    if params.measure is Measure.ES:
        in_p, in_g = euler_p, euler_g
    else:
        in_p, in_g = cvar_p, cvar_g
    cap = params.offset_cap
    allocated = np.where(benefit[rows] > 0, (1.0 - cap) * in_g + cap * in_p, in_g)
    addon = pro_rata(np.abs(qty * add.notional_unit[cols]), rows, g_of, add.delta) + pro_rata(
        np.abs(qty * add.vega_unit[cols]), rows, g_of, add.vega
    )
    return {
        "euler_es": euler_p,
        "euler_es_group": euler_g,
        "component_var": cvar_p,
        "standalone_es": np.abs(qty) * unit_es[cols, side],
        "standalone_var": np.abs(qty) * unit_var[cols, side],
        "incremental_es": port.risk.es[rows] - without_es,
        "incremental_var": port.risk.var[rows] - without_var,
        "allocated_core_margin": allocated,
        "allocated_addon": addon,
    }
