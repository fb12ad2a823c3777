"""Margin of a Parquet positions file, shard by shard, each shard's results written by its task."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portmargin.core import DataFormatError, PortmarginError
from portmargin.distributed._executors import Executor
from portmargin.distributed._plan import Shard, plan_shards
from portmargin.instruments import Instrument, parse_instrument
from portmargin.market import MarketSnapshot
from portmargin.methods import NO_INPUTS, AccountInputs, MarginMethod, RunOptions, run_method
from portmargin.risk import price_snapshot

__all__ = ["ShardOutcome", "ShardedRun", "margin_sharded"]

SHARDS_PER_WORKER = 2
"""Shards planned per worker: enough to even out uneven shards, few enough to stay cheap."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardOutcome:
    """What one shard task did.

    Attributes
    ----------
    index
        The shard.
    part
        Parquet file of the shard's results (rows as :meth:`MarginBatch.to_arrow`).
    accounts, errors
        Accounts read, and failed accounts → reason (bad rows and accounts the method could
        not compute).
    warnings, notes
        The reader's warnings and the method's notes.
    seconds
        Wall time of the task.
    """

    index: int
    part: str
    accounts: int
    errors: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardedRun:
    """A sharded margin run.

    Attributes
    ----------
    out
        The results file written.
    shards
        Per-shard outcomes, in file order.
    workers
        Tasks the executor could run at once.
    cuts_allowed
        Row boundaries where the file could be cut without splitting an account.
    seconds
        Wall time, planning to the last byte written.
    """

    out: Path
    shards: tuple[ShardOutcome, ...]
    workers: int
    cuts_allowed: int
    seconds: float

    @property
    def accounts(self) -> int:
        """Accounts read."""
        return sum(s.accounts for s in self.shards)

    @property
    def errors(self) -> dict[str, str]:
        """Failed accounts → reason, over every shard."""
        return {a: e for s in self.shards for a, e in s.errors.items()}

    @property
    def warnings(self) -> tuple[str, ...]:
        """Reader warnings of every shard."""
        return tuple(w for s in self.shards for w in s.warnings)

    @property
    def notes(self) -> tuple[str, ...]:
        """Method notes, each once."""
        return tuple(dict.fromkeys(n for s in self.shards for n in s.notes))


def margin_sharded(
    positions: str | Path,
    out: str | Path,
    method: MarginMethod,
    params: Any,
    market: MarketSnapshot,
    executor: Executor,
    inputs: AccountInputs = NO_INPUTS,
) -> ShardedRun:
    """Margin every account of a Parquet positions file on ``executor``; write ``out``.

    The file is split into runs of rows that never split an account (:func:`plan_shards`),
    ``SHARDS_PER_WORKER`` per worker. The snapshot, priced once here for every distinct
    instrument of the file (:func:`portmargin.risk.price_snapshot`; names that do not parse
    stay per-account errors of the shards), and the parameters go to every worker once;
    each task reads its row groups, margins them through
    :func:`portmargin.methods.run_method` and writes its results next to ``out``; the parts
    are then joined into ``out`` (Parquet, or CSV by suffix) in file order. Results equal a
    run of the whole file in one process, row for row. Per-account ``inputs`` go to every
    worker with the parameters; each shard uses those of its accounts.

    On a real cluster every worker must see ``positions`` and the folder of ``out`` at the
    same paths (a shared file system).

    Raises
    ------
    DataFormatError
        If ``positions`` is not Parquet, ``out`` is not ``.parquet`` or ``.csv``, or a shard
        holds an unusable row (such as an empty account id).
    """
    start = time.perf_counter()
    source, target = Path(positions), Path(out)
    if source.suffix.lower() not in (".parquet", ".pq"):
        raise DataFormatError(str(source), "sharded runs read Parquet positions files")
    if target.suffix.lower() not in (".parquet", ".csv"):
        raise DataFormatError(str(target), "sharded runs write .parquet or .csv results")
    plan = plan_shards(source, executor.workers * SHARDS_PER_WORKER)
    priced = price_snapshot(market, _file_instruments(source))
    parts = target.with_name(target.name + ".parts")
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    try:
        outcomes = executor.map(
            _margin_shard,
            list(plan.shards),
            {
                "job": _Job(positions=str(source.resolve()), parts=str(parts.resolve())),
                "method": method,
                "params": params,
                "market": priced,
                "inputs": inputs,
            },
        )
        outcomes.sort(key=lambda o: o.index)
        _join([Path(o.part) for o in outcomes], target)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    return ShardedRun(
        out=target,
        shards=tuple(outcomes),
        workers=executor.workers,
        cuts_allowed=plan.cuts_allowed,
        seconds=time.perf_counter() - start,
    )


def _file_instruments(source: Path) -> tuple[Instrument, ...]:
    """The distinct instruments named in the ``instrument`` column of a Parquet positions
    file (only that column is read), each name parsed once; names that do not parse, and a
    missing or non-text column, are left to the shards to report."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if "instrument" not in pq.read_schema(source).names:
        return ()
    column = pq.read_table(source, columns=["instrument"], read_dictionary=["instrument"]).column(
        "instrument"
    )
    distinct = column.unique()
    if pa.types.is_dictionary(distinct.type):
        distinct = distinct.dictionary.take(distinct.indices).unique()
    if not (pa.types.is_string(distinct.type) or pa.types.is_large_string(distinct.type)):
        return ()
    instruments: dict[str, Instrument] = {}
    for name in distinct.drop_null().to_pylist():
        try:
            inst = parse_instrument(name)
        except PortmarginError:
            continue
        instruments.setdefault(inst.name, inst)
    return tuple(instruments.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class _Job:
    positions: str
    parts: str


def _margin_shard(
    shard: Shard,
    *,
    job: _Job,
    method: MarginMethod,
    params: Any,
    market: MarketSnapshot,
    inputs: AccountInputs,
) -> ShardOutcome:
    """Read the shard's row groups, margin them, write the part; runs on a worker."""
    import pyarrow.parquet as pq

    from portmargin.io.positions import COLUMNS, positions_from_table

    start = time.perf_counter()
    groups = pq.ParquetFile(job.positions).read_row_groups(list(shard.row_groups), columns=COLUMNS)
    table = groups.slice(shard.start - shard.first_group_row, shard.rows)
    read = positions_from_table(table, job.positions, first_row=shard.start + 1)
    batch = run_method(method, read.book, market, params, RunOptions(), inputs=inputs)
    part = Path(job.parts) / f"part-{shard.index:05d}.parquet"
    pq.write_table(batch.to_arrow(extra_errors=read.account_errors), part)
    return ShardOutcome(
        index=shard.index,
        part=str(part),
        accounts=len(read.book.accounts) + len(read.account_errors),
        errors={**batch.errors, **read.account_errors},
        warnings=read.warnings,
        notes=batch.notes,
        seconds=time.perf_counter() - start,
    )


def _join(parts: list[Path], target: Path) -> None:
    """Append the part files to ``target`` in order, one part in memory at a time."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    tmp = target.with_name(target.name + ".tmp")
    first = pq.read_table(parts[0])
    writer: Any
    if target.suffix.lower() == ".csv":
        writer = pcsv.CSVWriter(tmp, first.schema)
    else:
        writer = pq.ParquetWriter(tmp, first.schema)
    with writer:
        writer.write_table(first)
        for part in parts[1:]:
            writer.write_table(pq.read_table(part).cast(first.schema))
    tmp.replace(target)
