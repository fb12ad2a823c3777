"""Shard plans: runs of rows, balanced, never splitting an account."""

from __future__ import annotations

from itertools import chain
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portmargin.core import DataFormatError, ValidationError
from portmargin.distributed import ShardPlan, plan_shards


def write(path: Path, accounts: list[str], row_group_size: int) -> Path:
    table = pa.table(
        {
            "account": accounts,
            "instrument": ["BTC-PERPETUAL"] * len(accounts),
            "quantity": [1.0] * len(accounts),
        }
    )
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def shard_accounts(path: Path, plan: ShardPlan) -> list[list[str]]:
    """The accounts of each shard's rows, read as a task reads them."""
    out = []
    for shard in plan.shards:
        groups = pq.ParquetFile(path).read_row_groups(list(shard.row_groups))
        rows = groups.slice(shard.start - shard.first_group_row, shard.rows)
        out.append(rows.column("account").to_pylist())
    return out


def test_grouped_file_splits_evenly_between_accounts(tmp_path: Path) -> None:
    accounts = [f"a{k // 3:03d}" for k in range(300)]  # 100 accounts, 3 rows each
    path = write(tmp_path / "p.parquet", accounts, 40)  # row groups end inside accounts
    plan = plan_shards(path, 4)
    assert plan.rows == 300
    assert plan.cuts_allowed == 99
    sizes = [s.rows for s in plan.shards]
    assert len(sizes) == 4
    assert max(sizes) - min(sizes) <= 3
    assert list(chain.from_iterable(shard_accounts(path, plan))) == accounts


def test_scattered_accounts_give_one_shard(tmp_path: Path) -> None:
    accounts = [f"a{k % 7}" for k in range(70)]
    plan = plan_shards(write(tmp_path / "p.parquet", accounts, 10), 4)
    assert plan.cuts_allowed == 0
    assert len(plan.shards) == 1
    assert plan.shards[0].row_groups == tuple(range(7))
    assert plan.shards[0].rows == 70


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=30),
    group=st.integers(1, 9),
    shards=st.integers(1, 8),
    swap=st.booleans(),
)
def test_every_row_once_and_every_account_in_one_shard(
    sizes: list[int], group: int, shards: int, swap: bool, tmp_path: Path
) -> None:
    accounts = [f"acc{k}" for k, n in enumerate(sizes) for _ in range(n)]
    if swap and len(accounts) > 2:  # one account's rows apart: fewer places to cut
        accounts[0], accounts[-1] = accounts[-1], accounts[0]
    path = write(tmp_path / "p.parquet", accounts, group)
    plan = plan_shards(path, shards)
    assert 1 <= len(plan.shards) <= shards
    assert [(s.start, s.stop) for s in plan.shards] == list(
        zip([0, *[s.stop for s in plan.shards[:-1]]], [s.stop for s in plan.shards], strict=True)
    )
    parts = shard_accounts(path, plan)
    assert list(chain.from_iterable(parts)) == accounts
    owner: dict[str, int] = {}
    for k, part in enumerate(parts):
        for account in part:
            assert owner.setdefault(account, k) == k


def test_bad_requests_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "p.parquet", ["a"], 1)
    with pytest.raises(ValidationError, match="shards"):
        plan_shards(path, 0)
    text = tmp_path / "p.csv"
    text.write_text("account,instrument,quantity\na,BTC,1\n")
    with pytest.raises(DataFormatError, match="Parquet"):
        plan_shards(text, 2)
