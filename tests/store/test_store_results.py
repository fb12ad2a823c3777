"""Margin results: history, latest per account and method, statuses and their changes."""

from __future__ import annotations

import dataclasses
import math

import pyarrow as pa
import pytest

from portmargin.core import ValidationError
from portmargin.store import RESULT_COLUMNS, NotFound, ResultInput, Store

BASE = ResultInput(
    account="A",
    method="deribit-pm",
    snapshot_id=None,
    computed_ms=1_000,
    currency="BTC",
    initial_margin=1.0,
    maintenance_margin=0.5,
    equity=2.0,
    excess=1.0,
    margin_ratio=0.25,
    status="healthy",
    detail='{"components": []}',
)


def _r(**changes: object) -> ResultInput:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


@pytest.fixture
def accounts(store: Store) -> Store:
    with store.begin() as tx:
        for a in ("A", "B"):
            tx.create_account(a)
    return store


def test_first_status_then_unchanged_then_change(accounts: Store) -> None:
    store = accounts
    with store.begin() as tx:
        assert tx.record_results([_r()]) == 1
    changes = store.status_changes("A")
    assert [(c.old_status, c.new_status, c.at_ms) for c in changes] == [(None, "healthy", 1_000)]
    assert [(s.method, s.status, s.since_ms) for s in store.status("A")] == [
        ("deribit-pm", "healthy", 1_000)
    ]
    with store.begin() as tx:
        tx.record_results([_r(computed_ms=2_000)])
    assert len(store.status_changes("A")) == 1
    assert store.status("A")[0].since_ms == 1_000
    with store.begin() as tx:
        tx.record_results([_r(computed_ms=3_000, equity=0.7, status="margin_call")])
    latest = store.status_changes("A")[0]
    assert (latest.old_status, latest.new_status, latest.at_ms, latest.equity) == (
        "healthy",
        "margin_call",
        3_000,
        0.7,
    )
    assert (latest.initial_margin, latest.maintenance_margin) == (1.0, 0.5)
    assert len(store.status_changes("A")) == 2
    assert store.status("A")[0].status == "margin_call"
    assert store.status("A")[0].since_ms == 3_000


def test_worst_status_of_a_run_counts(accounts: Store) -> None:
    with accounts.begin() as tx:
        tx.record_results(
            [
                _r(currency="BTC", status="healthy"),
                _r(currency="ETH", status="liquidation", equity=0.1),
                _r(currency="USDC"),
            ]
        )
    change = accounts.status_changes("A")[0]
    assert (change.new_status, change.equity) == ("liquidation", 0.1)


def test_statuses_are_per_method(accounts: Store) -> None:
    with accounts.begin() as tx:
        tx.record_results([_r(method="standard"), _r(method="deribit-pm", status="margin_call")])
    assert [(s.method, s.status) for s in accounts.status("A")] == [
        ("deribit-pm", "margin_call"),
        ("standard", "healthy"),
    ]
    assert len(accounts.status_changes()) == 2


def test_history_newest_first_with_limit_and_paging(accounts: Store) -> None:
    rows = [_r(computed_ms=t, initial_margin=float(t)) for t in (5, 1, 3)] + [
        _r(method="standard", computed_ms=4)
    ]
    with accounts.begin() as tx:
        tx.record_results([*rows, _r(account="B", computed_ms=9)])
    assert [h.computed_ms for h in accounts.history("A")] == [5, 4, 3, 1]
    assert [h.computed_ms for h in accounts.history("A", method="deribit-pm")] == [5, 3, 1]
    assert [h.computed_ms for h in accounts.history("A", limit=2)] == [5, 4]
    assert [h.computed_ms for h in accounts.history("A", before_ms=4)] == [3, 1]
    first = accounts.history("A", limit=1)[0]
    assert (first.initial_margin, first.detail, first.margin_ratio, first.snapshot_id) == (
        5.0,
        BASE.detail,
        0.25,
        None,
    )
    assert first.result_id > 0


def test_same_time_orders_by_insertion(accounts: Store) -> None:
    with accounts.begin() as tx:
        tx.record_results([_r(initial_margin=1.0)])
    with accounts.begin() as tx:
        tx.record_results([_r(initial_margin=2.0)])
    assert [h.initial_margin for h in accounts.history("A")] == [2.0, 1.0]
    assert [r.initial_margin for r in accounts.latest_results()] == [2.0]


def test_latest_results(accounts: Store) -> None:
    with accounts.begin() as tx:
        tx.record_results(
            [
                _r(computed_ms=1),
                _r(computed_ms=2, equity=3.0),
                _r(method="standard", computed_ms=1),
                _r(account="B", computed_ms=7),
            ]
        )
    latest = accounts.latest_results()
    assert [(r.account_id, r.method, r.computed_ms) for r in latest] == [
        ("A", "deribit-pm", 2),
        ("A", "standard", 1),
        ("B", "deribit-pm", 7),
    ]
    assert [r.account_id for r in accounts.latest_results(["B"])] == ["B"]
    assert [r.method for r in accounts.latest_results(method="standard")] == ["standard"]


def test_arrow_table_input_with_snapshot(accounts: Store) -> None:
    with accounts.begin() as tx:
        snap = tx.add_snapshot(
            label="s", parts=[("deribit-json", b"{}")], valuation_ms=1, underlyings=["BTC"]
        )
    rows = [
        _r(snapshot_id=snap.snapshot_id),
        _r(account="B", margin_ratio=None, status="liquidation"),
    ]
    table = pa.table({c: [getattr(r, c) for r in rows] for c in RESULT_COLUMNS})
    with accounts.begin() as tx:
        assert tx.record_results(table) == 2
    assert accounts.history("A")[0].snapshot_id == snap.snapshot_id
    assert accounts.history("B")[0].margin_ratio is None
    assert accounts.status_changes("B")[0].new_status == "liquidation"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"initial_margin": math.nan}, r"results\[1\].initial_margin: got nan"),
        ({"equity": math.inf}, r"results\[1\].equity: got inf"),
        (
            {"status": "fine"},
            r"results\[1\].status: got 'fine', expected healthy or warning or margin_call or "
            "liquidation or bankrupt",
        ),
        ({"detail": {"a": 1}}, r"results\[1\].detail: got \{'a': 1\}"),
    ],
)
def test_bad_results_rejected(accounts: Store, change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message), accounts.begin() as tx:
        tx.record_results([_r(), _r(**change)])
    assert accounts.history("A") == []


def test_missing_column_and_account(accounts: Store) -> None:
    with pytest.raises(ValidationError, match="columns: got"), accounts.begin() as tx:
        tx.record_results(pa.table({"account": ["A"]}))
    with pytest.raises(NotFound, match="account 'Z' not found"), accounts.begin() as tx:
        tx.record_results([_r(account="Z")])


def test_bulk_results_record_every_row_and_change(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portmargin.store._bulk import COPY_MIN_ROWS

    monkeypatch.setattr("portmargin.store._sql.SCAN_FROM", 1_000)  # whole-table reads too

    accounts = [f"acct-{a:05d}" for a in range(COPY_MIN_ROWS + 100)]
    with store.begin() as tx:
        tx.upsert_positions([(a, "BTC-PERPETUAL", 1.0) for a in accounts], create_accounts=True)
        assert tx.record_results([_r(account=a, computed_ms=1) for a in accounts]) == len(accounts)
    with store.begin() as tx:
        tx.record_results(
            [
                _r(account=a, computed_ms=2, status="margin_call" if k % 2 else "healthy")
                for k, a in enumerate(accounts)
            ]
        )
    assert len(store.latest_results()) == len(accounts)
    assert {r.computed_ms for r in store.latest_results()} == {2}
    assert len(store.status_changes(limit=10 * len(accounts))) == len(accounts) + len(accounts) // 2
    assert store.status(accounts[1])[0].status == "margin_call"
    assert store.status(accounts[0])[0].since_ms == 1
