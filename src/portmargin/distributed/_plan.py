"""Split a Parquet positions file into runs of rows that never split an account."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from portmargin.core import DataFormatError, ValidationError

__all__ = ["Shard", "ShardPlan", "plan_shards"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Shard:
    """A run of consecutive rows of a Parquet file, margined by one task.

    Attributes
    ----------
    index
        Position of the shard in the file (results are written in this order).
    start, stop
        Rows ``start`` to ``stop - 1`` of the file (0-based, header excluded).
    row_groups
        The row groups holding those rows (consecutive, ascending); the task reads them and
        keeps its rows.
    first_group_row
        File row of the first row of ``row_groups[0]``.
    """

    index: int
    start: int
    stop: int
    row_groups: tuple[int, ...]
    first_group_row: int

    @property
    def rows(self) -> int:
        """Rows in the shard."""
        return self.stop - self.start


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardPlan:
    """How a file is split.

    Attributes
    ----------
    shards
        The shards, in file order; every row is in exactly one.
    rows
        Rows in the file.
    cuts_allowed
        Row boundaries where the file could be cut without splitting an account (a file
        grouped by account can be cut between any two accounts; 0 when accounts are spread
        over the whole file, which then is one shard).
    """

    shards: tuple[Shard, ...]
    rows: int
    cuts_allowed: int


def plan_shards(path: str | Path, shards: int) -> ShardPlan:
    """Split ``path`` into at most ``shards`` runs of rows that never split an account.

    A cut between two rows is only made where no account has rows on both sides, as close
    as possible to equal row counts. A file grouped by account (all rows of an account next
    to each other, as exports usually are) can be cut between any two accounts, wherever its
    row groups end; a file whose accounts are spread over all of it yields one shard.

    Parameters
    ----------
    path
        Parquet positions file (columns ``account``, ``instrument``, ``quantity``).
    shards
        Largest number of shards wanted, >= 1.

    Raises
    ------
    ValidationError
        If ``shards`` < 1.
    DataFormatError
        If the file is not a readable Parquet file with an ``account`` column, or is empty.
    """
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValidationError("shards", shards, "a whole number >= 1")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
        accounts = pq.read_table(path, columns=["account"]).column("account")
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise DataFormatError(str(path), f"cannot be read as Parquet positions: {exc}") from None
    n = len(accounts)
    if n == 0:
        raise DataFormatError(str(path), "has no position rows")
    span = (
        pa.table({"account": accounts, "row": pa.array(np.arange(n, dtype=np.int64))})
        .group_by("account")
        .aggregate([("row", "min"), ("row", "max")])
    )
    allowed = _allowed_cuts(span.column("row_min").to_numpy(), span.column("row_max").to_numpy(), n)
    edges = [0, *_balanced(allowed, n, shards), n]
    group_start = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
    plan = []
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        first = int(np.searchsorted(group_start, lo, side="right") - 1)
        last = int(np.searchsorted(group_start, hi, side="left") - 1)
        plan.append(
            Shard(
                index=k,
                start=lo,
                stop=hi,
                row_groups=tuple(range(first, last + 1)),
                first_group_row=int(group_start[first]),
            )
        )
    return ShardPlan(shards=tuple(plan), rows=n, cuts_allowed=int(allowed.size))


def _allowed_cuts(first: NDArray[np.int64], last: NDArray[np.int64], n: int) -> NDArray[np.intp]:
    """Rows ``r`` (1 to ``n - 1``) before which a cut splits no account: no account has its
    first row before ``r`` and its last row at or after ``r``."""
    crossing = np.zeros(n + 1, dtype=np.int64)
    spread = first < last
    np.add.at(crossing, first[spread] + 1, 1)
    np.add.at(crossing, last[spread] + 1, -1)
    inside = np.cumsum(crossing)[1:n]
    result: NDArray[np.intp] = np.flatnonzero(inside == 0) + 1
    return result


def _balanced(allowed: NDArray[np.intp], n: int, shards: int) -> list[int]:
    """Allowed cuts nearest to ``n / shards`` rows apart (duplicates dropped)."""
    if allowed.size == 0 or shards == 1:
        return []
    targets = n * np.arange(1, shards) / shards
    right = np.clip(np.searchsorted(allowed, targets), 0, allowed.size - 1)
    left = np.clip(right - 1, 0, allowed.size - 1)
    nearer = np.where(
        np.abs(allowed[left] - targets) <= np.abs(allowed[right] - targets), left, right
    )
    return sorted(set(allowed[nearer].tolist()))
