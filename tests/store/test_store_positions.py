"""Positions and collateral: bulk upserts, replaces, deletes by zero, and the book table."""

from __future__ import annotations

import math

import pytest

from portmargin.core import ValidationError
from portmargin.store import NotFound, Store

PERP = "BTC-PERPETUAL"
CALL = "BTC-26JUN20-9000-C"


def _held(store: Store, account: str) -> dict[str, float]:
    return {p.instrument: p.quantity for p in store.positions(account)}


def test_upsert_then_update_and_delete_by_zero(store: Store) -> None:
    with store.begin() as tx:
        tx.create_account("A")
        assert tx.upsert_positions([("A", PERP, 10.0), ("A", CALL, -2.5)]) == 2
    assert _held(store, "A") == {PERP: 10.0, CALL: -2.5}
    assert [p.instrument for p in store.positions("A")] == [CALL, PERP]
    with store.begin() as tx:
        tx.upsert_positions([("A", PERP, 0.0), ("A", CALL, 3.0), ("A", "ETH-PERPETUAL", 1.0)])
    assert _held(store, "A") == {CALL: 3.0, "ETH-PERPETUAL": 1.0}


def test_repeated_rows_take_the_last_quantity(store: Store) -> None:
    with store.begin() as tx:
        tx.upsert_positions(
            [("A", PERP, 1.0), ("A", PERP, 0.0), ("A", CALL, 0.0), ("A", CALL, 2.0)],
            create_accounts=True,
        )
    assert _held(store, "A") == {CALL: 2.0}


def test_replace_holds_exactly_the_given_rows(store: Store) -> None:
    with store.begin() as tx:
        tx.upsert_positions(
            [("A", PERP, 1.0), ("A", CALL, 2.0), ("B", PERP, 3.0)], create_accounts=True
        )
    with store.begin() as tx:
        tx.upsert_positions([("A", "ETH-PERPETUAL", 4.0), ("A", CALL, 0.0)], replace=True)
    assert _held(store, "A") == {"ETH-PERPETUAL": 4.0}
    assert _held(store, "B") == {PERP: 3.0}


def test_missing_account_is_not_found_unless_created(store: Store) -> None:
    with pytest.raises(NotFound, match="account 'B' not found"):
        _create_and_upsert(store)
    assert store.account("A") is None  # the whole transaction rolled back
    with store.begin() as tx:
        tx.upsert_positions([("B", PERP, 1.0)], create_accounts=True)
    row = store.account("B")
    assert row is not None
    assert (row.currency, row.label) == (None, None)


def _create_and_upsert(store: Store) -> None:
    with store.begin() as tx:
        tx.create_account("A")
        tx.upsert_positions([("A", PERP, 1.0), ("B", PERP, 1.0)])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "lots"])
def test_non_finite_quantity_rejected_naming_field_and_value(store: Store, bad: object) -> None:
    with pytest.raises(ValidationError) as info, store.begin() as tx:
        tx.upsert_positions([("A", PERP, 1.0), ("A", CALL, bad)], create_accounts=True)  # type: ignore[list-item]
    assert info.value.field == f"quantity of {CALL!r} in account 'A'"
    assert repr(bad) in str(info.value)
    assert "expected a finite number" in str(info.value)
    assert store.account("A") is None


def test_collateral_set_replace_and_zero(store: Store) -> None:
    with store.begin() as tx:
        tx.create_account("A")
        tx.set_collateral("A", {"USDC": 1000.0, "BTC": 1.5})
    assert [(c.currency, c.amount) for c in store.collateral("A")] == [
        ("BTC", 1.5),
        ("USDC", 1000.0),
    ]
    with store.begin() as tx:
        tx.set_collateral("A", {"BTC": 0.0, "ETH": -2.0})
    assert [(c.currency, c.amount) for c in store.collateral("A")] == [
        ("ETH", -2.0),
        ("USDC", 1000.0),
    ]
    with store.begin() as tx:
        tx.set_collateral("A", {"BTC": 3.0}, replace=True)
    assert [(c.currency, c.amount) for c in store.collateral("A")] == [("BTC", 3.0)]
    with (
        pytest.raises(ValidationError, match="collateral 'BTC' of account 'A': got inf"),
        store.begin() as tx,
    ):
        tx.set_collateral("A", {"BTC": math.inf})
    with pytest.raises(NotFound, match="account 'Z' not found"), store.begin() as tx:
        tx.set_collateral("Z", {"BTC": 1.0})


def test_book_table_orders_by_account_then_instrument_with_collateral(store: Store) -> None:
    with store.begin() as tx:
        tx.upsert_positions(
            [("b", PERP, 1.0), ("A", CALL, -1.0), ("A", PERP, 2.0), ("a", "ETH-PERPETUAL", 5.0)],
            create_accounts=True,
        )
        tx.create_account("empty")
        tx.set_collateral("A", {"USDC": 100.0, "BTC": 0.5})
        tx.create_account("only-collateral")
        tx.set_collateral("only-collateral", {"ETH": 2.0})
    book = store.book_table()
    assert book.schema.names == ["account", "instrument", "quantity"]
    assert str(book.schema.field("quantity").type) == "double"
    rows = list(zip(*book.to_pydict().values(), strict=True))
    assert rows == [
        ("A", "BTC", 0.5),
        ("A", CALL, -1.0),
        ("A", PERP, 2.0),
        ("A", "USDC", 100.0),
        ("a", "ETH-PERPETUAL", 5.0),
        ("b", PERP, 1.0),
        ("only-collateral", "ETH", 2.0),
    ]
    picked = store.book_table(["b", "A", "empty", "nobody"]).to_pydict()
    assert picked["account"] == ["A", "A", "A", "A", "b"]
    assert picked["instrument"] == ["BTC", CALL, PERP, "USDC", PERP]


def test_book_table_of_an_empty_store(store: Store) -> None:
    book = store.book_table()
    assert book.num_rows == 0
    assert book.schema.names == ["account", "instrument", "quantity"]


def test_clear_positions_keeps_collateral(store: Store) -> None:
    with store.begin() as tx:
        tx.upsert_positions([("A", PERP, 1.0), ("B", PERP, 2.0)], create_accounts=True)
        tx.set_collateral("A", {"BTC": 1.0})
    with store.begin() as tx:
        tx.clear_positions(["A"])
    assert store.positions("A") == []
    assert [c.currency for c in store.collateral("A")] == ["BTC"]
    assert _held(store, "B") == {PERP: 2.0}
    with pytest.raises(NotFound, match="account 'Z' not found"), store.begin() as tx:
        tx.clear_positions(["Z"])


def test_bulk_paths_agree_with_small_ones(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of rows (PostgreSQL streams them with COPY) land exactly like a few."""
    from portmargin.store._bulk import COPY_MIN_ROWS

    monkeypatch.setattr("portmargin.store._sql.SCAN_FROM", 1_000)  # whole-table reads too

    names = [f"BTC-26JUN20-{5_000 + 500 * k}-C" for k in range(10)]
    accounts = [f"acct-{a:04d}" for a in range(COPY_MIN_ROWS // 10 + 50)]
    rows = [(a, n, float(k + 1)) for a in accounts for k, n in enumerate(names)]
    with store.begin() as tx:
        assert tx.upsert_positions(rows, create_accounts=True) == len(rows)
    with store.begin() as tx:
        tx.upsert_positions([(a, n, q + 1.0) for a, n, q in rows])
    with store.begin() as tx:
        tx.upsert_positions([(a, names[0], -1.0) for a in accounts], replace=True)
    book = store.book_table()
    assert book.num_rows == len(accounts)
    assert book.column("quantity").to_pylist() == [-1.0] * len(accounts)
    assert len(store.accounts()) == len(accounts)
    assert store.check_integrity() == []


def test_holdings_reads_positions_then_balances_and_knows_missing_accounts(store: Store) -> None:
    with store.begin() as tx:
        tx.create_account("A")
        tx.create_account("empty")
        tx.upsert_positions([("A", PERP, -5.0), ("A", CALL, 2.0)])
        tx.set_collateral("A", {"USDC": 100.0, "BTC": 1.5})
    expected = [(p.instrument, p.quantity) for p in store.positions("A")]
    expected += [(c.currency, c.amount) for c in store.collateral("A")]
    assert store.holdings("A") == expected
    assert [name for name, _ in expected] == [CALL, PERP, "BTC", "USDC"]
    assert store.holdings("empty") == []
    assert store.holdings("nope") is None
