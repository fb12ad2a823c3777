"""Worst scenario loss and its explanation, shared by every scenario-based method.

A method computes the scenario P&L of each (account, group) row, ``Q @ R`` with the group's
risk array (after its own venue rules: offsets, discounts, dampeners); these helpers take the
worst (weighted) loss, remember the scenario that set it, label it, explain it position by
position, and pick the worst group of an account whose groups add up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.results import Contribution
from portmargin.risk._book import row_entries

__all__ = [
    "ScenarioExplainer",
    "WorstLoss",
    "group_totals",
    "worst_group",
    "worst_loss",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
Labels = NDArray[np.object_]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class WorstLoss:
    """The worst loss of ``a`` rows and the scenario that set it.

    Attributes
    ----------
    loss
        ``-min(0, worst weighted P&L)``, shape ``(a,)``, >= 0 (NaN where the P&L is), in the
        P&L's currency.
    column
        Scenario column of the worst P&L, shape ``(a,)``; -1 where the baseline (see
        :func:`worst_loss`) is the worst.
    """

    loss: FloatArray
    column: IntArray

    def labels(
        self,
        names: Sequence[str],
        *,
        baseline: str | None = None,
        blank_without_loss: bool = True,
    ) -> Labels:
        """Label of the worst scenario per row, shape ``(a,)``.

        Parameters
        ----------
        names
            Label of every scenario column, shape ``(n,)``.
        baseline
            Label of rows whose worst is the baseline (column -1).
        blank_without_loss
            None where ``loss <= 0`` (no scenario loses), else the label of the column even
            when it loses nothing.
        """
        table = np.array([*names, baseline], dtype=object)
        out: Labels = table[np.where(self.column < 0, len(names), self.column)]
        if blank_without_loss:
            out[self.loss <= 0] = None
        return out


def worst_loss(
    pnl: FloatArray,
    *,
    weights: FloatArray | None = None,
    priority: IntArray | None = None,
    baseline: FloatArray | None = None,
) -> WorstLoss:
    """The worst (weighted) scenario P&L of every row, as a loss >= 0.

    Parameters
    ----------
    pnl
        Scenario P&L, shape ``(a, n)`` (> 0 a gain), one currency.
    weights
        Scenario weights, shape ``(n,)``, >= 0: the worst is taken over ``pnl * weights``
        (SCAN's ``max weight x loss``); None for weight 1.
    priority
        Column order breaking ties, shape ``(n,)`` (the first equal minimum in this order
        wins); None for column order. A NaN P&L is the worst (the first one in this order).
    baseline
        A P&L candidate every row starts from, shape ``(a,)`` (a charge that is not a
        scenario, e.g. a basis contingency <= 0): a scenario replaces it only when strictly
        lower; the row's column is then -1.

    Returns
    -------
    WorstLoss
        ``loss = -min(0, worst)`` and the worst column of every row.
    """
    a = pnl.shape[0]
    if a == 0:
        return WorstLoss(loss=np.zeros(0), column=np.zeros(0, dtype=np.intp))
    weighted = pnl if weights is None else pnl * weights[None, :]
    if priority is None:
        column = np.argmin(weighted, axis=1).astype(np.intp)
    else:
        low = weighted.min(axis=1)
        if np.isnan(low).any():  # argmin's rule: the first NaN in priority order
            pick = np.argmin(weighted[:, priority], axis=1)
        else:  # the first column in priority order holding the row minimum, on a boolean mask
            pick = np.argmax((weighted == low[:, None])[:, priority], axis=1)
        column = priority[pick].astype(np.intp)
    worst = weighted[np.arange(a), column]
    if baseline is not None:
        scenario = worst < baseline
        worst = np.where(scenario, worst, baseline)
        column = np.where(scenario, column, -1).astype(np.intp)
    loss: FloatArray = -np.minimum(0.0, worst)
    return WorstLoss(loss=loss, column=column)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScenarioExplainer:
    """Per-position P&L of the rows of one group in their worst scenario.

    Attributes
    ----------
    quantities
        CSR quantities holding the group's rows, shape ``(rows, columns)``.
    pnl
        P&L per unit held of the group's instruments in every scenario, shape ``(c, n)``.
    names
        Instrument name of each of the ``c`` group instruments.
    worst
        The group's worst loss; row ``i`` of the group is row ``rows[i]`` of ``quantities``.
    columns
        Columns of ``quantities`` holding the ``c`` group instruments, shape ``(c,)``; None
        when ``quantities`` has exactly those columns.
    rows
        Row of ``quantities`` of each group row, shape ``(a,)``; None for the same row.
    """

    quantities: sp.csr_array
    pnl: FloatArray
    names: Sequence[str]
    worst: WorstLoss
    columns: IntArray | None = None
    rows: IntArray | None = None

    def __call__(self, row: int) -> tuple[Contribution, ...]:
        """``quantity x unit P&L`` of each position of group row ``row`` in its worst
        scenario (storage order); empty where the baseline is the worst."""
        column = int(self.worst.column[row])
        if column < 0:
            return ()
        r = row if self.rows is None else int(self.rows[row])
        cols, data = row_entries(self.quantities, r, self.columns)
        pnl = data * self.pnl[cols, column]
        return tuple(
            Contribution(instrument=self.names[c], quantity=q, pnl=p)
            for c, q, p in zip(cols.tolist(), data.tolist(), pnl.tolist(), strict=True)
        )


def worst_group(
    losses: Sequence[FloatArray], labels: Sequence[Labels], n: int
) -> tuple[Labels, IntArray]:
    """For accounts whose groups add up: the worst scenario of the group with the largest
    loss, and that group.

    Parameters
    ----------
    losses
        Scenario loss of every group, shape ``(n_accounts,)`` each (``g`` groups).
    labels
        Worst-scenario label of every group, shape ``(n_accounts,)`` each (None where the
        group loses nothing).
    n
        Number of accounts.

    Returns
    -------
    tuple
        Label per account (None where no group loses) and the index of the group with the
        largest loss (the first on ties; 0 without groups), shape ``(n_accounts,)`` each.
    """
    if not losses:
        return np.full(n, None, dtype=object), np.zeros(n, dtype=np.intp)
    which = np.argmax(np.stack(losses), axis=0).astype(np.intp)
    worst: Labels = np.stack(labels)[which, np.arange(which.size)]
    return worst, which


def group_totals(
    parts: Mapping[str, Sequence[FloatArray]], keys: Sequence[str], n: int
) -> dict[str, FloatArray]:
    """Components of accounts whose groups add up, each with one child per group.

    Parameters
    ----------
    parts
        Component name → its amounts in every group, shape ``(n,)`` each, groups in the
        order of ``keys``.
    keys
        Group labels, e.g. base assets.
    n
        Number of accounts.

    Returns
    -------
    dict
        ``name`` → sum over groups (zeros without groups) followed by ``"name/key"`` → the
        group's amounts, for every name in order.
    """
    out: dict[str, FloatArray] = {}
    for name, arrays in parts.items():
        out[name] = np.sum(arrays, axis=0) if arrays else np.zeros(n)
        for key, values in zip(keys, arrays, strict=True):
            out[f"{name}/{key}"] = values
    return out
