"""Correlation matrices for joint simulation: validation and positive-definite repair.

Rule of ``var-margin.md`` section 3.4: a correlation matrix that is not positive definite is
eigen-decomposed, its eigenvalues are clipped at ``1e-8``, the matrix is rebuilt and rescaled
to a unit diagonal, and the repair is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from portmargin.core import ValidationError

__all__ = ["EIGEN_FLOOR", "CorrelationRepair", "repair_correlation"]

EIGEN_FLOOR = 1e-8
"""Smallest eigenvalue kept by the repair; a matrix with a smaller one is repaired."""

_SYMMETRY_TOL = 1e-12
_DIAGONAL_TOL = 1e-12


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CorrelationRepair:
    """A correlation matrix as used for simulation, with its Cholesky factor.

    Attributes
    ----------
    given
        Shape ``(k, k)``: the matrix as supplied (validated: symmetric, unit diagonal, entries
        in [-1, 1]).
    matrix
        Shape ``(k, k)``: the matrix used, ``given`` itself when it is positive definite,
        otherwise the repaired matrix.
    cholesky
        Shape ``(k, k)``, lower triangular ``L`` with ``L @ L.T == matrix``.
    eigenvalues
        Shape ``(k,)``, ascending eigenvalues of ``given``.
    repaired
        Whether any eigenvalue was below :data:`EIGEN_FLOOR` and the matrix was rebuilt.
    """

    given: NDArray[np.float64]
    matrix: NDArray[np.float64]
    cholesky: NDArray[np.float64]
    eigenvalues: NDArray[np.float64]
    repaired: bool
    name: str = field(default="correlation")

    @property
    def max_change(self) -> float:
        """Largest absolute change of an entry made by the repair (0 when not repaired)."""
        return float(np.max(np.abs(self.matrix - self.given)))

    def report(self) -> tuple[str, ...]:
        """One line saying whether and how the matrix was repaired (empty if it was not)."""
        if not self.repaired:
            return ()
        clipped = self.eigenvalues[self.eigenvalues < EIGEN_FLOOR]
        values = ", ".join(f"{v:.6g}" for v in clipped)
        return (
            f"{self.name} not positive definite: {clipped.size} eigenvalue(s) ({values}) "
            f"clipped at {EIGEN_FLOOR:g}, matrix rebuilt and rescaled to a unit diagonal; "
            f"largest change of an entry {self.max_change:.6g}",
        )


def _readonly(a: npt.ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(a, dtype=np.float64)
    a.flags.writeable = False
    return a


def repair_correlation(
    correlation: npt.ArrayLike, *, name: str = "correlation"
) -> CorrelationRepair:
    """Validate a correlation matrix and make it positive definite if it is not.

    Parameters
    ----------
    correlation
        Shape ``(k, k)``, ``k >= 1``: symmetric (to 1e-12), unit diagonal (to 1e-12), finite
        entries in [-1, 1].
    name
        Field name used in errors and in the report (e.g. ``"rho_J"``).

    Returns
    -------
    CorrelationRepair
        The matrix used and its lower Cholesky factor. When the smallest eigenvalue is below
        :data:`EIGEN_FLOOR`: eigenvalues clipped at the floor, ``V diag(max(w, floor)) V'``
        rescaled to a unit diagonal, ``repaired = True``.

    Raises
    ------
    ValidationError
        Not a square finite matrix, not symmetric, diagonal not 1, an entry outside [-1, 1].
    """
    try:
        c = np.array(correlation, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(name, correlation, "a square matrix of numbers") from None
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 1:
        raise ValidationError(name, f"shape {c.shape}", "a square (k, k) matrix, k >= 1")
    if not np.isfinite(c).all():
        raise ValidationError(name, "non-finite entries", "finite correlations")
    asym = np.abs(c - c.T)
    if (asym > _SYMMETRY_TOL).any():
        i, j = (int(x) for x in np.unravel_index(int(np.argmax(asym)), c.shape))
        raise ValidationError(
            f"{name}[{i}, {j}]", float(c[i, j]), f"a symmetric matrix ([{j}, {i}] is {c[j, i]!r})"
        )
    diag_err = np.abs(np.diag(c) - 1.0)
    if (diag_err > _DIAGONAL_TOL).any():
        i = int(np.argmax(diag_err))
        raise ValidationError(f"{name}[{i}, {i}]", float(c[i, i]), "1 on the diagonal")
    if (np.abs(c) > 1.0).any():
        i, j = (int(x) for x in np.unravel_index(int(np.argmax(np.abs(c))), c.shape))
        raise ValidationError(f"{name}[{i}, {j}]", float(c[i, j]), "a correlation in [-1, 1]")
    c = 0.5 * (c + c.T)
    np.fill_diagonal(c, 1.0)
    w, v = np.linalg.eigh(c)
    repaired = bool(w[0] < EIGEN_FLOOR)
    used = c
    if repaired:
        rebuilt = (v * np.maximum(w, EIGEN_FLOOR)) @ v.T
        scale = 1.0 / np.sqrt(np.diag(rebuilt))
        used = rebuilt * scale[:, None] * scale[None, :]
        used = 0.5 * (used + used.T)
        np.fill_diagonal(used, 1.0)
    return CorrelationRepair(
        given=_readonly(c),
        matrix=_readonly(used),
        cholesky=_readonly(np.linalg.cholesky(used)),
        eigenvalues=_readonly(w),
        repaired=repaired,
        name=name,
    )
