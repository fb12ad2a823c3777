"""Concurrent writers on one SQLite file: they wait for each other (busy timeout, write lock
taken at BEGIN) instead of failing with "database is locked"."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from portmargin.store import Busy, Store
from portmargin.store._engine import BUSY_TIMEOUT_MS

_WRITER = """
import sys
from portmargin.store import Store
url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Store.open(url) as store:
    for k in range(n):
        with store.begin() as tx:
            tx.upsert_positions([(name, f"BTC-PERPETUAL-{k}", float(k + 1))], create_accounts=True)
            tx.append_audit(key_id=None, action="write", target=name)
        store.positions(name)
"""


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.open(url).close()
    n = 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, url, name, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("P1", "P2")
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err
    with Store.open(url) as store:
        assert [len(store.positions(name)) for name in ("P1", "P2")] == [n, n]
        assert len(store.audit(limit=10 * n)) == 2 * n
        assert store.check_integrity() == []


def test_threads_share_one_store(tmp_path: Path) -> None:
    n = 100
    errors: list[BaseException] = []
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:

        def write(name: str) -> None:
            try:
                for k in range(n):
                    with store.begin() as tx:
                        tx.upsert_positions([(name, f"I{k}", 1.0)], create_accounts=True)
                    store.book_table([name])
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(f"T{j}",)) for j in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.book_table().num_rows == 4 * n


def _synchronous(c: sa.Connection) -> int:
    return int(c.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_a_commit_not_asked_durable_runs_at_normal_then_the_level_comes_back(
    tmp_path: Path,
) -> None:
    with Store.open(f"sqlite:///{tmp_path / 's.db'}") as store:
        with store.begin(durable=False) as tx:
            tx.create_account("A")
            relaxed = _synchronous(tx._c)
        with store.begin() as tx:
            tx.create_account("B")
            durable = _synchronous(tx._c)
        with store._connect() as c:
            after = _synchronous(c)
        assert [a.account_id for a in store.accounts()] == ["A", "B"]
    assert (relaxed, durable, after) == (1, 2, 2)  # NORMAL, FULL, FULL


def test_a_relaxed_transaction_that_fails_restores_the_level(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 's.db'}") as store:
        with contextlib.suppress(RuntimeError), store.begin(durable=False) as tx:
            tx.create_account("A")
            raise RuntimeError("rolled back")
        with store._connect() as c:
            assert _synchronous(c) == 2
        assert store.accounts() == []


def test_a_transaction_that_must_not_wait_is_busy_while_another_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(url) as store, Store.open(url) as other:
        with other.begin() as held:
            held.create_account("A")
            with pytest.raises(Busy, match="write lock"), store.begin(wait=False) as tx:
                tx.create_account("B")
        with store.begin(wait=False) as tx:  # free again: begun at once
            tx.create_account("B")
        with store._connect() as c:
            assert int(c.exec_driver_sql("PRAGMA busy_timeout").scalar_one()) == BUSY_TIMEOUT_MS
        assert [a.account_id for a in store.accounts()] == ["A", "B"]


def test_postgresql_never_begins_a_transaction_that_must_not_wait(store: Store) -> None:
    if store.dialect == "sqlite":
        with store.begin(wait=False) as tx:
            tx.create_account("A")
        assert store.account("A") is not None
        return
    with pytest.raises(Busy), store.begin(wait=False):
        pass
