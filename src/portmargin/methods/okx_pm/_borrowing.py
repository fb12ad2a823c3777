"""MR8 (borrowing) per account: an input of the engine, aligned with a book's accounts."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from itertools import repeat

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError

__all__ = ["borrowing_charge"]

_EXPECTED = "a finite amount >= 0 (USD)"
_BOOLS = frozenset({bool, np.bool_})


def _validate(borrowing: Mapping[str, float]) -> None:
    """Raise :class:`ValidationError` naming the first account of ``borrowing`` whose value
    is not a real number (bools excluded), finite and >= 0."""
    raw = list(borrowing.values())
    values = np.asarray(raw)
    numeric = values.ndim == 1 and values.dtype.kind in "iuf"
    if not numeric or not _BOOLS.isdisjoint(map(type, raw)):
        values = np.array([_as_float(v) for v in raw])
    values = values.astype(np.float64)
    bad = np.flatnonzero(~(np.isfinite(values) & (values >= 0.0)))
    if bad.size:
        account = list(borrowing)[int(bad[0])]
        raise ValidationError(f"borrowing[{account!r}]", borrowing[account], _EXPECTED)


def _as_float(value: object) -> float:
    """``value`` as a float, NaN when it is not a real number (rejected by the caller)."""
    if isinstance(value, numbers.Real) and type(value) not in _BOOLS:
        return float(value)
    return math.nan


def borrowing_charge(
    accounts: Sequence[str], borrowing: Mapping[str, float] | None
) -> NDArray[np.float64]:
    """MR8 of each account, USD, shape ``(len(accounts),)``, >= 0.

    Parameters
    ----------
    accounts
        Account ids of the result rows.
    borrowing
        Account → MR8 (margin on borrowed funds), USD, finite and >= 0. Accounts not listed
        get 0; entries for accounts not in ``accounts`` are validated and otherwise ignored.
        None means 0 for every account.

    Raises
    ------
    ValidationError
        Naming the account (``borrowing['a']``) and the value, if a value is not a finite
        number >= 0.
    """
    if not borrowing:
        return np.zeros(len(accounts))
    _validate(borrowing)
    return np.fromiter(
        map(borrowing.get, accounts, repeat(0.0)), dtype=np.float64, count=len(accounts)
    )
