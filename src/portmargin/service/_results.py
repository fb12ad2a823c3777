"""Margin results as JSON and as rows of the results history, with the account status.

Status rule, per result row in the row's currency: equity ≥ IM → ``healthy``;
MM ≤ equity < IM → ``margin_call``; equity < MM → ``liquidation``. An equity that could not
be valued (a currency without a USD price) counts as 0. An account's status is the worst of
its rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from portmargin.results import MarginBatch, MarginResult

__all__ = [
    "STATUSES",
    "Status",
    "batch_rows",
    "result_json",
    "status_of",
    "statuses",
    "worst_status",
]

Status = Literal["healthy", "margin_call", "liquidation"]
STATUSES: tuple[Status, ...] = ("healthy", "margin_call", "liquidation")
"""Statuses from best to worst."""


def statuses(
    equity: NDArray[np.float64], im: NDArray[np.float64], mm: NDArray[np.float64]
) -> NDArray[np.int8]:
    """Status code of every row (index into :data:`STATUSES`); shapes ``(r,)``, amounts in
    each row's currency, NaN equity counted as 0."""
    eq = np.nan_to_num(np.asarray(equity, dtype=np.float64), nan=0.0)
    code = np.zeros(eq.shape, dtype=np.int8)
    code[eq < im] = 1
    code[eq < mm] = 2
    return code


def status_of(equity: float | None, im: float, mm: float) -> Status:
    """Status of one row (see :func:`statuses`)."""
    eq = 0.0 if equity is None or not math.isfinite(equity) else equity
    return STATUSES[int(statuses(np.array([eq]), np.array([im]), np.array([mm]))[0])]


def worst_status(values: Sequence[Status]) -> Status:
    """The worst of ``values`` (``healthy`` when empty)."""
    return max(values, key=STATUSES.index, default="healthy")


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def result_json(result: MarginResult) -> dict[str, Any]:
    """One result row as JSON: requirements, equity, excess, margin ratio, status, the
    component tree, worst scenario, per-position contributions, params version and notes.
    Non-finite numbers become ``null``."""
    out = result.to_dict()
    for name in ("equity", "excess", "margin_ratio"):
        out[name] = _finite(out[name])
    out["status"] = status_of(result.equity, result.initial_margin, result.maintenance_margin)
    return out


def batch_rows(
    batch: MarginBatch, snapshot_id: int | None, computed_ms: int
) -> tuple[pa.Table, dict[str, str]]:
    """The rows of ``batch`` as a table for the results history, and the accounts not computed.

    Built from :meth:`MarginBatch.to_arrow` (one row per result row; failed accounts are
    returned apart with their reason). Columns: ``account``, ``method``, ``snapshot_id``,
    ``computed_ms``, ``currency``, ``initial_margin``, ``maintenance_margin``, ``equity``,
    ``excess``, ``margin_ratio`` (amounts in the row's currency; equity 0 where not valued,
    margin ratio null where equity is not > 0),
    ``status`` and ``detail`` (JSON: component tree, worst scenario, group, params version).
    The batch's notes are not in ``detail``: they may name other accounts.
    """
    table = batch.to_arrow()
    ok = table.filter(pc.equal(table.column("status"), "ok"))
    errors = dict(batch.errors)
    n = ok.num_rows
    im = ok.column("initial_margin").to_numpy()
    mm = ok.column("maintenance_margin").to_numpy()
    equity = ok.column("equity").to_numpy(zero_copy_only=False)
    code = statuses(equity.astype(np.float64), im, mm)
    labels = pa.DictionaryArray.from_arrays(pa.array(code.astype(np.int32)), pa.array(STATUSES))
    rows = pa.table(
        {
            "account": ok.column("account"),
            "method": ok.column("method"),
            "snapshot_id": pa.array(np.full(n, snapshot_id), pa.int64())
            if snapshot_id is not None
            else pa.nulls(n, pa.int64()),
            "computed_ms": pa.array(np.full(n, computed_ms, dtype=np.int64)),
            "currency": ok.column("currency"),
            "initial_margin": ok.column("initial_margin"),
            "maintenance_margin": ok.column("maintenance_margin"),
            "equity": pa.array(np.nan_to_num(equity.astype(np.float64), nan=0.0)),
            "excess": pa.array(_excess(ok, im)),
            "margin_ratio": _nan_to_null(ok.column("margin_ratio")),
            "status": labels.cast(pa.string()),
            "detail": pa.array(_details(batch), pa.string()),
        }
    )
    return rows, errors


def _excess(ok: pa.Table, im: NDArray[np.float64]) -> NDArray[np.float64]:
    """Excess of every row; where equity was not valued (counted as 0), minus the row's IM."""
    excess = ok.column("excess").to_numpy(zero_copy_only=False).astype(np.float64)
    return np.where(np.isfinite(excess), excess, -im)


def _nan_to_null(column: pa.ChunkedArray) -> pa.Array:
    values = column.to_numpy(zero_copy_only=False).astype(np.float64)
    return pa.array(values, pa.float64(), mask=~np.isfinite(values))


def _details(batch: MarginBatch) -> list[str]:
    """``detail`` JSON of every row, from the component arrays (no result objects)."""
    order = batch.component_order()
    names = [name for name, _ in order]
    children: dict[str, list[int]] = {}
    for k, name in enumerate(names):
        children.setdefault(name.rpartition("/")[0], []).append(k)
    amounts = (
        np.column_stack([batch.components[n] for n in names]).tolist()
        if names
        else [[] for _ in range(len(batch))]
    )
    sources = [batch.sources.get(n, "") for n in names]
    short = [n.rpartition("/")[2] for n in names]
    currency = batch.currency.tolist()
    worst = batch.worst_scenario.tolist() if batch.worst_scenario is not None else None
    group = batch.group.tolist() if batch.group is not None else None

    def tree(parent: str, row: list[float], ccy: str) -> list[dict[str, Any]]:
        out = []
        for k in children.get(parent, ()):
            node: dict[str, Any] = {"name": short[k], "amount": row[k], "currency": ccy}
            if sources[k]:
                node["source"] = sources[k]
            below = tree(names[k], row, ccy)
            if below:
                node["children"] = below
            out.append(node)
        return out

    details = []
    for i, row in enumerate(amounts):
        detail: Mapping[str, Any] = {
            "components": tree("", row, str(currency[i])),
            "worst_scenario": None if worst is None or worst[i] is None else str(worst[i]),
            "group": "" if group is None or group[i] is None else str(group[i]),
            "params_version": batch.params_version,
        }
        details.append(json.dumps(detail))
    return details
