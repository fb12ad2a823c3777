"""Accounts: create, read, page, update, delete (with everything that belongs to them)."""

from __future__ import annotations

import pytest

from portmargin.core import ValidationError
from portmargin.store import UNCHANGED, Conflict, NotFound, ResultInput, Store


def test_create_and_read(store: Store) -> None:
    with store.begin() as tx:
        made = tx.create_account("A", currency="BTC", label="desk 1")
    assert store.account("A") == made
    assert made.currency == "BTC"
    assert made.label == "desk 1"
    assert made.created_ms == made.updated_ms > 1_600_000_000_000
    assert store.account("B") is None


def test_create_twice_is_a_conflict_and_rolls_back(store: Store) -> None:
    with store.begin() as tx:
        tx.create_account("A")
    with pytest.raises(Conflict, match="account 'A' already exists"):
        _create_both(store)
    assert store.account("B") is None


@pytest.mark.parametrize("bad", ["", "x" * 129])
def test_bad_account_ids(store: Store, bad: str) -> None:
    with pytest.raises(ValidationError, match="account_id: got"), store.begin() as tx:
        tx.create_account(bad)


def test_longest_id_accepted(store: Store) -> None:
    with store.begin() as tx:
        tx.create_account("x" * 128)
    assert store.account("x" * 128) is not None


def test_accounts_sorted_by_bytes_and_paged(store: Store) -> None:
    ids = ["b", "B", "a", "A-2", "A_1", "é", "z"]
    with store.begin() as tx:
        for a in ids:
            tx.create_account(a)
    expected = sorted(ids, key=str.encode)
    assert [r.account_id for r in store.accounts()] == expected
    assert [r.account_id for r in store.accounts(limit=3)] == expected[:3]
    assert [r.account_id for r in store.accounts(after=expected[2], limit=2)] == expected[3:5]
    picked = store.accounts(["z", "a", "missing", "B"])
    assert [r.account_id for r in picked] == ["B", "a", "z"]
    assert [r.account_id for r in store.accounts(["z", "a", "B"], limit=2)] == ["B", "a"]


def test_update_keeps_unchanged_fields(store: Store) -> None:
    with store.begin() as tx:
        tx.create_account("A", currency="BTC", label="one")
    with store.begin() as tx:
        row = tx.update_account("A", label="two")
    assert (row.currency, row.label) == ("BTC", "two")
    with store.begin() as tx:
        row = tx.update_account("A", currency=None, label=UNCHANGED)
    assert (row.currency, row.label) == (None, "two")
    assert store.account("A") == row
    with pytest.raises(NotFound, match="account 'B' not found"), store.begin() as tx:
        tx.update_account("B", label="x")


def test_delete_cascades(store: Store) -> None:
    with store.begin() as tx:
        tx.upsert_positions(
            [("A", "BTC-PERPETUAL", 1.0), ("B", "BTC-PERPETUAL", 2.0)], create_accounts=True
        )
        tx.set_collateral("A", {"BTC": 1.0})
        tx.record_results([_result("A")])
    with store.begin() as tx:
        tx.delete_account("A")
    assert store.account("A") is None
    assert store.positions("A") == []
    assert store.collateral("A") == []
    assert store.history("A") == []
    assert store.status("A") == []
    assert store.status_changes("A") == []
    assert store.book_table().to_pydict()["account"] == ["B"]
    assert store.check_integrity() == []
    with pytest.raises(NotFound, match="account 'A' not found"), store.begin() as tx:
        tx.delete_account("A")


def _create_both(store: Store) -> None:
    with store.begin() as tx:
        tx.create_account("B")
        tx.create_account("A")


def _result(account: str) -> ResultInput:
    return ResultInput(
        account=account,
        method="standard",
        snapshot_id=None,
        computed_ms=1_000,
        currency="BTC",
        initial_margin=1.0,
        maintenance_margin=0.5,
        equity=2.0,
        excess=1.0,
        margin_ratio=0.25,
        status="healthy",
        detail="{}",
    )
