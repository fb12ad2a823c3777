"""Margin results to record: validation of the input columns and the status changes they make."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pyarrow as pa

from portmargin.core import ValidationError
from portmargin.store._rows import STATUSES, ResultInput

__all__ = [
    "CHANGE_COLUMNS",
    "RESULT_COLUMNS",
    "STATUS_COLUMNS",
    "status_updates",
    "validated_results",
]

RESULT_COLUMNS: Final = tuple(f.name for f in dataclasses.fields(ResultInput))
"""Input columns of :meth:`Tx.record_results`, in order."""
STATUS_COLUMNS: Final = ("account_id", "method", "status", "since_ms")
"""Columns of the ``account_status`` rows made by :func:`status_updates`."""
CHANGE_COLUMNS: Final = (
    "account_id",
    "method",
    "old_status",
    "new_status",
    "at_ms",
    "equity",
    "initial_margin",
    "maintenance_margin",
    "snapshot_id",
)
"""Columns of the ``status_changes`` rows made by :func:`status_updates`."""

_AMOUNTS = ("initial_margin", "maintenance_margin", "equity", "excess")
_RANK = {s: n for n, s in enumerate(STATUSES)}


def validated_results(table: pa.Table | Sequence[ResultInput]) -> dict[str, list[Any]]:
    """Result columns checked, keyed by ``margin_results`` column name (``account_id`` for
    ``account``), one list per column in :data:`RESULT_COLUMNS` order.

    Raises
    ------
    ValidationError
        A missing column, an amount that is not a finite number, an unknown status, or a
        detail that is not text; the field names the row (0-based) and column.
    """
    if isinstance(table, pa.Table):
        missing = [c for c in RESULT_COLUMNS if c not in table.column_names]
        if missing:
            raise ValidationError("columns", table.column_names, f"also {', '.join(missing)}")
        columns = {c: table.column(c).to_pylist() for c in RESULT_COLUMNS}
    else:
        columns = {c: [getattr(r, c) for r in table] for c in RESULT_COLUMNS}
    for c in _AMOUNTS:
        for n, v in enumerate(columns[c]):
            if not (isinstance(v, int | float) and math.isfinite(v)):
                raise ValidationError(f"results[{n}].{c}", v, "a finite number")
    columns["margin_ratio"] = [
        None if v is None or not math.isfinite(v) else float(v) for v in columns["margin_ratio"]
    ]
    for n, s in enumerate(columns["status"]):
        if s not in _RANK:
            raise ValidationError(f"results[{n}].status", s, " or ".join(STATUSES))
    for n, d in enumerate(columns["detail"]):
        if not isinstance(d, str):
            raise ValidationError(f"results[{n}].detail", d, "JSON text")
    return {("account_id" if c == "account" else c): columns[c] for c in RESULT_COLUMNS}


def status_updates(
    columns: Mapping[str, Sequence[Any]], current: Mapping[tuple[str, str], str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """New ``account_status`` rows and ``status_changes`` rows implied by recorded results.

    Parameters
    ----------
    columns
        Recorded results as from :func:`validated_results`.
    current
        (account, method) → stored status.

    Returns
    -------
    tuple of lists
        Status rows (:data:`STATUS_COLUMNS`) to upsert and change rows
        (:data:`CHANGE_COLUMNS`) to append: one each per (account, method) whose worst
        status among the results (the last of equally bad ones) differs from the stored one
        or has none stored.
    """
    status = columns["status"]
    worst: dict[tuple[str, str], int] = {}
    for n, key in enumerate(zip(columns["account_id"], columns["method"], strict=True)):
        seen = worst.get(key)
        if seen is None or _RANK[status[n]] >= _RANK[status[seen]]:
            worst[key] = n
    statuses: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = []
    for (account, method), n in worst.items():
        old = current.get((account, method))
        if old == status[n]:
            continue
        at = columns["computed_ms"][n]
        statuses.append((account, method, status[n], at))
        changes.append(
            (
                account,
                method,
                old,
                status[n],
                at,
                columns["equity"][n],
                columns["initial_margin"][n],
                columns["maintenance_margin"][n],
                columns["snapshot_id"][n],
            )
        )
    return statuses, changes
