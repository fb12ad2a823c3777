"""check_integrity: a sound store passes; planted damage is named."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from portmargin.store import ResultInput, Store


def _fill(store: Store) -> None:
    with store.begin() as tx:
        tx.upsert_positions([("A", "BTC-PERPETUAL", 1.0)], create_accounts=True)
        tx.set_collateral("A", {"BTC": 1.0})
        tx.record_results(
            [
                ResultInput(
                    account="A",
                    method="standard",
                    snapshot_id=None,
                    computed_ms=1,
                    currency="BTC",
                    initial_margin=1.0,
                    maintenance_margin=0.5,
                    equity=2.0,
                    excess=1.0,
                    margin_ratio=None,
                    status="healthy",
                    detail="{}",
                )
            ]
        )
        tx.create_key(scopes=["read"], accounts=["A"])
        tx.append_audit(key_id=None, action="x")


def _raw_without_foreign_keys(store: Store, statement: str) -> None:
    """Run SQL with foreign keys not enforced, as damage from outside the store would be."""
    if store.dialect == "sqlite":
        path = store._engine.url.database
        assert path is not None
        with sqlite3.connect(path) as c:
            c.execute("PRAGMA foreign_keys = OFF")
            c.execute(statement)
        return
    with store._engine.begin() as c:
        c.exec_driver_sql("SET LOCAL session_replication_role = replica")
        c.exec_driver_sql(statement)


def test_sound_store_passes(store: Store) -> None:
    assert store.check_integrity() == []
    _fill(store)
    assert store.check_integrity() == []


def test_orphan_position_is_found(store: Store) -> None:
    _fill(store)
    _raw_without_foreign_keys(
        store, "INSERT INTO positions VALUES ('ghost', 'BTC-PERPETUAL', 1.0, 1)"
    )
    problems = store.check_integrity()
    assert "positions: 1 row(s) whose account_id has no accounts row (first 'ghost')" in problems
    if store.dialect == "sqlite":
        assert any(p.startswith("sqlite foreign_key_check: positions") for p in problems)


def test_bad_rows_are_found(store: Store) -> None:
    _fill(store)
    with store._engine.begin() as c:
        c.execute(sa.text("UPDATE positions SET quantity = :q"), {"q": float("inf")})
        c.exec_driver_sql("UPDATE account_status SET status = 'fine'")
    problems = store.check_integrity()
    assert "positions.quantity: 1 value(s) that are not finite numbers" in problems
    assert (
        "account_status.status: value 'fine', expected one of healthy, warning, margin_call, "
        "liquidation, bankrupt" in problems
    )


def test_schema_revision_is_checked(store: Store) -> None:
    with store._engine.begin() as c:
        c.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
    assert store.check_integrity() == [
        "schema revision 'old', expected '0002' (run the migrations)"
    ]
