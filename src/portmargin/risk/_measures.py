"""Value at risk and expected shortfall of loss vectors, many accounts at once.

Rules of ``var-margin.md`` section 5. Losses are positive numbers (loss = -P&L), one row per
account (or per sub-portfolio), one column per scenario:

- equal weights: with ``a = n (1 - alpha)``, ``k = floor(a + 1e-9)`` and ``f = a - k``, losses
  sorted descending ``L_1 >= L_2 >= ...``: ``VaR = L_(k+1)`` and
  ``ES = (L_1 + ... + L_k + f L_(k+1)) / a``. ``k = 0`` (fewer than one tail scenario) raises
  unless ``allow_small_sample``, and then ``VaR = ES = L_1``;
- weighted scenarios (weights ``p >= 0`` summing to 1): VaR is the first sorted loss whose
  cumulative weight exceeds ``1 - alpha + 1e-12``; ES spends the tail mass ``1 - alpha`` down
  the sorted list (the last loss takes only what remains of its weight) and divides by it.

Sorting is stable (ties keep scenario order), so the tail scenarios and the Euler weights are
reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError

__all__ = ["TailRisk", "TailSize", "tail_risk", "tail_size", "var_es"]

_K_EPSILON = 1e-9
"""Guard of ``floor(a)`` against ``10 (1 - 0.8) = 1.9999999999999996``."""
_WEIGHT_EPSILON = 1e-12
"""Cumulative weight must exceed ``1 - alpha`` by this much to hold the VaR scenario."""
_WEIGHT_SUM_TOLERANCE = 1e-9
"""Largest accepted ``|sum(weights) - 1|``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TailSize:
    """Size of the equal-weight tail of ``n`` scenarios at confidence ``alpha``.

    Attributes
    ----------
    n
        Number of scenarios.
    a
        Tail mass in scenarios, ``n (1 - alpha)``.
    k
        Whole tail scenarios, ``floor(a + 1e-9)`` (``0`` only with ``allow_small_sample``:
        then the tail is the worst scenario alone).
    f
        Fraction of scenario ``k + 1`` in the tail, ``a - k`` (clipped at 0).
    """

    n: int
    a: float
    k: int
    f: float

    @property
    def weights(self) -> NDArray[np.float64]:
        """Tail weight of the sorted losses ``L_1 .. L_(k+1)``, shape ``(k + 1,)``, summing
        to 1: ``1/a`` on the ``k`` worst and ``f/a`` on the next (``[1.0]`` when ``k = 0``)."""
        if self.k == 0:
            return np.ones(1)
        w = np.full(self.k + 1, 1.0 / self.a)
        w[-1] = self.f / self.a
        return w


def _check_confidence(confidence: float) -> float:
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float | np.floating)
        or not math.isfinite(float(confidence))
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ValidationError("confidence", confidence, "a number in the open interval (0, 1)")
    return float(confidence)


def tail_size(n: int, confidence: float, *, allow_small_sample: bool = False) -> TailSize:
    """The equal-weight tail of ``n`` scenarios (``a``, ``k``, ``f`` of section 5).

    Raises
    ------
    ValidationError
        ``confidence`` outside (0, 1), ``n < 1``, or ``a < 1`` (``k = 0``) without
        ``allow_small_sample``.
    """
    alpha = _check_confidence(confidence)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValidationError("n_scenarios", n, "an integer >= 1")
    a = int(n) * (1.0 - alpha)
    k = min(math.floor(a + _K_EPSILON), int(n) - 1)
    if k == 0:
        if not allow_small_sample:
            raise ValidationError(
                "confidence",
                alpha,
                f"a tail of at least one scenario: n (1 - confidence) = {n} x {1 - alpha:.6g} "
                f"= {a:.6g} < 1 (more scenarios, a lower confidence, or allow_small_sample)",
            )
        return TailSize(n=int(n), a=a, k=0, f=0.0)
    return TailSize(n=int(n), a=a, k=k, f=max(a - k, 0.0))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TailRisk:
    """VaR, ES and the tail that produced them, per row of a loss matrix.

    Attributes
    ----------
    confidence
        ``alpha`` in (0, 1).
    var, es
        Shape ``(r,)``: VaR and ES in the losses' unit (> 0: a loss).
    var_scenario
        Shape ``(r,)``, intp: column of the VaR scenario of each row.
    tail_index
        Shape ``(r, m)``, intp: columns of the tail scenarios of each row, worst first (ties in
        column order).
    tail_weight
        Shape ``(r, m)``: weight of each tail scenario in ES, each row summing to 1
        (``ES = sum_j tail_weight[:, j] * L[rows, tail_index[:, j]]``); zero-weight entries
        may close a row (the VaR scenario with ``f = 0``).
    """

    confidence: float
    var: NDArray[np.float64]
    es: NDArray[np.float64]
    var_scenario: NDArray[np.intp]
    tail_index: NDArray[np.intp]
    tail_weight: NDArray[np.float64]

    def dense_weights(self, n_scenarios: int) -> NDArray[np.float64]:
        """Tail weight of every scenario, shape ``(r, n_scenarios)`` (0 outside the tail)."""
        out = np.zeros((self.var.shape[0], n_scenarios))
        np.put_along_axis(out, self.tail_index, self.tail_weight, axis=1)
        return out


def _as_losses(losses: NDArray[np.float64]) -> NDArray[np.float64]:
    L = np.asarray(losses, dtype=np.float64)
    if L.ndim != 2 or L.shape[1] < 1:
        raise ValidationError("losses", f"shape {L.shape}", "shape (rows, scenarios >= 1)")
    if not np.isfinite(L).all():
        raise ValidationError("losses", "non-finite values", "finite losses")
    return L


def _as_weights(weights: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    p = np.asarray(weights, dtype=np.float64)
    if p.shape != (n,) or not (np.isfinite(p).all() and (p >= 0).all()):
        raise ValidationError("weights", f"shape {p.shape}", f"{n} finite weights >= 0")
    if abs(float(p.sum()) - 1.0) > _WEIGHT_SUM_TOLERANCE:
        raise ValidationError("weights", float(p.sum()), "weights summing to 1")
    return p


def _top_stable(L: NDArray[np.float64], m: int) -> NDArray[np.intp]:
    """Columns of the ``m`` largest values of each row, descending, ties in column order:
    the first ``m`` columns of a stable descending sort, without sorting whole rows unless a
    tie straddles the cut."""
    n = L.shape[1]
    if 4 * m >= n:
        return np.argsort(-L, axis=1, kind="stable")[:, :m]
    part = np.argpartition(L, n - m, axis=1)[:, n - m :]
    vals = np.take_along_axis(L, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    cut = np.take_along_axis(vals, order[:, -1:], axis=1)
    ties_in = (vals == cut).sum(axis=1)
    ties_all = (cut == L).sum(axis=1)
    redo = np.flatnonzero(ties_all > ties_in)
    if redo.size:
        top[redo] = np.argsort(-L[redo], axis=1, kind="stable")[:, :m]
    result: NDArray[np.intp] = top.astype(np.intp)
    return result


def tail_risk(
    losses: NDArray[np.float64],
    confidence: float,
    *,
    weights: NDArray[np.float64] | None = None,
    allow_small_sample: bool = False,
) -> TailRisk:
    """VaR and ES of every row of ``losses`` with the tail scenarios and their ES weights.

    Parameters
    ----------
    losses
        Shape ``(r, n)``: loss of each row (account, group) in each scenario, > 0 a loss.
    confidence
        ``alpha`` in the open interval (0, 1).
    weights
        Optional scenario probabilities, shape ``(n,)``, >= 0, summing to 1; equal weights
        (the ``a, k, f`` rule) when None.
    allow_small_sample
        With equal weights and ``a < 1``: ``VaR = ES = L_1`` instead of raising.

    Returns
    -------
    TailRisk

    Raises
    ------
    ValidationError
        ``confidence`` outside (0, 1), losses not a finite 2-d array, bad weights, or a tail
        of less than one scenario (see :func:`tail_size`).
    """
    alpha = _check_confidence(confidence)
    L = _as_losses(losses)
    n = L.shape[1]
    if weights is None:
        size = tail_size(n, alpha, allow_small_sample=allow_small_sample)
        idx = _top_stable(L, size.k + 1)
        w = np.broadcast_to(size.weights, idx.shape)
        tail = np.take_along_axis(L, idx, axis=1)
        return TailRisk(
            confidence=alpha,
            var=tail[:, -1].copy(),
            es=tail @ size.weights,
            var_scenario=idx[:, -1].copy(),
            tail_index=idx,
            tail_weight=w,
        )
    p = _as_weights(weights, n)
    order = np.argsort(-L, axis=1, kind="stable")
    cum = np.cumsum(p[order], axis=1)
    mass = 1.0 - alpha
    var_pos = np.argmax(cum > mass + _WEIGHT_EPSILON, axis=1)
    taken = np.clip(np.minimum(cum, mass) - (cum - p[order]), 0.0, None)
    m = int(max(int(var_pos.max(initial=0)) + 1, int((taken > 0).sum(axis=1).max(initial=1))))
    idx = order[:, :m]
    w = taken[:, :m] / mass
    sorted_tail = np.take_along_axis(L, idx, axis=1)
    var_scenario = np.take_along_axis(order, var_pos[:, None], axis=1)[:, 0]
    return TailRisk(
        confidence=alpha,
        var=np.take_along_axis(L, var_scenario[:, None], axis=1)[:, 0],
        es=np.einsum("ij,ij->i", sorted_tail, w),
        var_scenario=var_scenario.astype(np.intp),
        tail_index=idx.astype(np.intp),
        tail_weight=w,
    )


def var_es(
    losses: NDArray[np.float64],
    confidence: float,
    *,
    weights: NDArray[np.float64] | None = None,
    allow_small_sample: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """VaR and ES of every row of ``losses`` (values only; same rules as :func:`tail_risk`).

    With equal weights the tail is found by partition, without sorting rows or keeping the
    tail scenarios: the cheap path for many rows (e.g. a book without each of its positions).

    Returns
    -------
    tuple
        ``(var, es)``, each of shape ``(r,)``.
    """
    if weights is not None:
        full = tail_risk(losses, confidence, weights=weights, allow_small_sample=allow_small_sample)
        return full.var, full.es
    alpha = _check_confidence(confidence)
    L = _as_losses(losses)
    size = tail_size(L.shape[1], alpha, allow_small_sample=allow_small_sample)
    top = -np.partition(-L, size.k, axis=1)[:, : size.k + 1]
    var = top[:, size.k].copy()
    if size.k == 0:
        return var, var.copy()
    es = (top[:, : size.k].sum(axis=1) + size.f * var) / size.a
    return var, es
