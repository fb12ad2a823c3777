"""Margin results to record: validation of the input rows and the status changes they make."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pyarrow as pa

from portmargin.core import ValidationError
from portmargin.store._rows import STATUSES, ResultInput

__all__ = ["RESULT_COLUMNS", "status_updates", "validated_results"]

RESULT_COLUMNS: Final = tuple(f.name for f in dataclasses.fields(ResultInput))
"""Input columns of :meth:`Tx.record_results`, in order."""

_AMOUNTS = ("initial_margin", "maintenance_margin", "equity", "excess")
_RANK = {s: n for n, s in enumerate(STATUSES)}


def validated_results(table: pa.Table | Sequence[ResultInput]) -> list[dict[str, Any]]:
    """Result rows as ``margin_results`` column values, checked.

    Raises
    ------
    ValidationError
        A missing column, an amount that is not finite, an unknown status, or detail that is
        not text; the field names the row (0-based) and column.
    """
    if isinstance(table, pa.Table):
        missing = [c for c in RESULT_COLUMNS if c not in table.column_names]
        if missing:
            raise ValidationError("columns", table.column_names, f"also {', '.join(missing)}")
        columns = {c: table.column(c).to_pylist() for c in RESULT_COLUMNS}
    else:
        columns = {c: [getattr(r, c) for r in table] for c in RESULT_COLUMNS}
    for c in _AMOUNTS:
        values = columns[c]
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            n = next(
                n
                for n, v in enumerate(values)
                if not (isinstance(v, int | float) and math.isfinite(v))
            )
            raise ValidationError(f"results[{n}].{c}", values[n], "a finite number")
    ratios = [
        None if v is None or not math.isfinite(v) else float(v) for v in columns["margin_ratio"]
    ]
    for n, s in enumerate(columns["status"]):
        if s not in _RANK:
            raise ValidationError(f"results[{n}].status", s, " or ".join(STATUSES))
    for n, d in enumerate(columns["detail"]):
        if not isinstance(d, str):
            raise ValidationError(f"results[{n}].detail", d, "JSON text")
    names = ["account_id" if c == "account" else c for c in RESULT_COLUMNS]
    columns["margin_ratio"] = ratios
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def status_updates(
    rows: Sequence[Mapping[str, Any]], current: Mapping[tuple[str, str], str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """New ``account_status`` rows and ``status_changes`` rows implied by recorded results.

    Parameters
    ----------
    rows
        Recorded rows (``margin_results`` columns).
    current
        (account, method) → stored status.

    Returns
    -------
    tuple of lists
        Status rows to upsert and change rows to append: one each per (account, method)
        whose worst status among ``rows`` (the last of equally bad ones) differs from the
        stored one or has none stored.
    """
    worst: dict[tuple[str, str], Mapping[str, Any]] = {}
    for r in rows:
        key = (r["account_id"], r["method"])
        seen = worst.get(key)
        if seen is None or _RANK[r["status"]] >= _RANK[seen["status"]]:
            worst[key] = r
    statuses: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for (account, method), r in worst.items():
        old = current.get((account, method))
        if old == r["status"]:
            continue
        statuses.append(
            {
                "account_id": account,
                "method": method,
                "status": r["status"],
                "since_ms": r["computed_ms"],
            }
        )
        changes.append(
            {
                "account_id": account,
                "method": method,
                "old_status": old,
                "new_status": r["status"],
                "at_ms": r["computed_ms"],
                "equity": r["equity"],
                "initial_margin": r["initial_margin"],
                "maintenance_margin": r["maintenance_margin"],
                "snapshot_id": r["snapshot_id"],
            }
        )
    return statuses, changes
