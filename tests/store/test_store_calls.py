"""Lifecycle states and margin calls: recorded, read back, changes noted, integrity."""

from __future__ import annotations

import dataclasses

import pytest

from portmargin.core import ValidationError
from portmargin.store import CallRow, NotFound, StateInput, Store

STATE = StateInput(
    account="A",
    method="deribit-pm",
    status="healthy",
    since_ms=1_000,
    assessed_ms=1_000,
    equity_usd=77_500.0,
    initial_margin_usd=47_500.0,
    maintenance_margin_usd=38_000.0,
    reduce_only=False,
    called_out=False,
)
CALL = CallRow(
    call_id=None,
    account_id="A",
    method="deribit-pm",
    issued_ms=2_000,
    deadline_ms=3_602_000,
    amount_usd=5_200.0,
    deposits_usd=0.0,
    status="open",
    closed_ms=None,
    reason=None,
    snapshot_id=None,
)


@pytest.fixture
def accounts(store: Store) -> Store:
    with store.begin() as tx:
        for a in ("A", "B"):
            tx.create_account(a)
    return store


def _state(**changes: object) -> StateInput:
    return dataclasses.replace(STATE, **changes)  # type: ignore[arg-type]


def _call(**changes: object) -> CallRow:
    return dataclasses.replace(CALL, **changes)  # type: ignore[arg-type]


def test_states_with_figures_and_changes(accounts: Store) -> None:
    with accounts.begin() as tx:
        assert tx.record_states([STATE, _state(account="B", status="warning")]) == 2
    (a,) = accounts.status("A")
    assert (a.status, a.equity_usd, a.initial_margin_usd, a.maintenance_margin_usd) == (
        "healthy",
        77_500.0,
        47_500.0,
        38_000.0,
    )
    assert (a.reduce_only, a.called_out, a.assessed_ms) == (False, False, 1_000)
    with accounts.begin() as tx:  # same state, new figures: no change row
        assert tx.record_states([_state(equity_usd=70_000.0, assessed_ms=1_500)]) == 0
    assert accounts.status("A")[0].equity_usd == 70_000.0
    assert accounts.status("A")[0].since_ms == 1_000
    with accounts.begin() as tx:
        changes = tx.record_states(
            [
                _state(
                    status="margin_call",
                    since_ms=2_000,
                    assessed_ms=2_000,
                    equity_usd=37_075.0,
                    initial_margin_usd=42_275.0,
                    maintenance_margin_usd=33_820.0,
                    reduce_only=True,
                )
            ],
            [CALL],
        )
    assert changes == 1
    latest = accounts.status_changes("A")[0]
    assert (latest.old_status, latest.new_status, latest.at_ms, latest.equity) == (
        "healthy",
        "margin_call",
        2_000,
        37_075.0,
    )
    assert [s.account_id for s in accounts.states("deribit-pm")] == ["A", "B"]
    assert [s.status for s in accounts.states("deribit-pm", ["B", "X"])] == ["warning"]
    assert accounts.check_integrity() == []


def test_calls_are_inserted_then_updated_by_issue_time(accounts: Store) -> None:
    with accounts.begin() as tx:
        tx.record_states([], [CALL, _call(account_id="B", issued_ms=2_500)])
    with accounts.begin() as tx:
        tx.record_states([], [_call(amount_usd=5_300.0)])
    with accounts.begin() as tx:
        tx.record_states(
            [], [_call(amount_usd=5_300.0, status="met", closed_ms=9_000, reason="equity")]
        )
    with accounts.begin() as tx:
        tx.record_states([], [_call(issued_ms=10_000, deadline_ms=3_610_000)])
    calls = accounts.calls(["A"])
    assert [(c.issued_ms, c.status, c.amount_usd, c.reason) for c in calls] == [
        (10_000, "open", 5_200.0, None),
        (2_000, "met", 5_300.0, "equity"),
    ]
    assert all(c.call_id is not None for c in calls)
    assert [c.account_id for c in accounts.calls(status="open")] == ["A", "B"]
    assert accounts.calls(method="standard") == []
    assert len(accounts.calls(limit=1)) == 1
    assert accounts.check_integrity() == []


def test_deleting_an_account_deletes_its_calls(accounts: Store) -> None:
    with accounts.begin() as tx:
        tx.record_states([STATE], [CALL])
    with accounts.begin() as tx:
        tx.delete_account("A")
    assert accounts.calls() == []
    assert accounts.check_integrity() == []


def test_bad_states_and_calls_are_refused(accounts: Store) -> None:
    with (
        pytest.raises(ValidationError, match=r"states\[0\].status: got 'fine'"),
        accounts.begin() as tx,
    ):
        tx.record_states([_state(status="fine")])
    with pytest.raises(ValidationError, match=r"states\[0\].equity_usd"), accounts.begin() as tx:
        tx.record_states([_state(equity_usd=float("nan"))])
    with pytest.raises(ValidationError, match=r"states\[1\]"), accounts.begin() as tx:
        tx.record_states([STATE, STATE])
    with (
        pytest.raises(ValidationError, match=r"calls\[0\].status: got 'paid'"),
        accounts.begin() as tx,
    ):
        tx.record_states([], [_call(status="paid")])
    with pytest.raises(NotFound), accounts.begin() as tx:
        tx.record_states([_state(account="nobody")])
    assert accounts.status("A") == []
    assert accounts.calls() == []


def test_results_can_leave_statuses_to_the_lifecycle(accounts: Store) -> None:
    from test_store_results import BASE

    with accounts.begin() as tx:
        tx.record_results([BASE], update_status=False)
    assert len(accounts.history("A")) == 1
    assert accounts.status("A") == []


def test_a_store_at_0001_is_upgraded_with_its_statuses(store_url: str) -> None:
    from alembic import command

    from portmargin.store._engine import WRITE, _config, create_engine

    engine = create_engine(store_url)
    with engine.connect() as c:
        c.execution_options(**{WRITE: True})
        with c.begin():
            command.upgrade(_config(c), "0001")
            c.exec_driver_sql(
                "INSERT INTO accounts (account_id, created_ms, updated_ms) VALUES ('A', 1, 1)"
            )
            c.exec_driver_sql(
                "INSERT INTO account_status (account_id, method, status, since_ms) "
                "VALUES ('A', 'standard', 'margin_call', 5)"
            )
    engine.dispose()
    with Store.open(store_url) as s:
        (row,) = s.status("A")
        assert (row.status, row.since_ms, row.equity_usd, row.reduce_only) == (
            "margin_call",
            5,
            None,
            None,
        )
        assert s.calls() == []
        assert s.check_integrity() == []
        with s.begin() as tx:
            tx.record_states([_state(method="standard", status="healthy")], [CALL])
        assert s.status("A")[0].equity_usd == 77_500.0


def test_lifecycle_lock_is_taken_within_a_write(accounts: Store) -> None:
    with accounts.begin() as tx:
        tx.lock_states()
        tx.lock_states()  # re-entrant within the transaction
        tx.record_states([STATE])
    with accounts.begin() as tx:  # released at the end of the previous transaction
        tx.lock_states()
    assert accounts.status("A")[0].status == "healthy"
