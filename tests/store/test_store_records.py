"""The append-only audit log, idempotency records and jobs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portmargin.core import ValidationError
from portmargin.store import Conflict, NotFound, Store


def test_audit_appends_and_pages(store: Store) -> None:
    with store.begin() as tx:
        first = tx.append_audit(
            key_id="k1",
            action="PUT /v1/accounts/{id}/positions",
            target="A",
            status=200,
            detail={"rows": 2},
        )
        second = tx.append_audit(key_id=None, action="keys create")
    log = store.audit()
    assert [a.audit_id for a in log] == [first, second]
    assert (log[0].key_id, log[0].target, log[0].status, log[0].detail) == (
        "k1",
        "A",
        200,
        {"rows": 2},
    )
    assert (log[1].key_id, log[1].target, log[1].status, log[1].detail) == (None, None, None, {})
    assert [a.audit_id for a in store.audit(after_id=first)] == [second]
    assert [a.audit_id for a in store.audit(limit=1)] == [first]


def test_audit_log_refuses_update_delete_and_truncate(store: Store) -> None:
    with store.begin() as tx:
        tx.append_audit(key_id="k", action="a")
    statements = ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"]
    if store.dialect == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            _execute(store, statement)
    assert [a.action for a in store.audit()] == ["a"]


def _execute(store: Store, statement: str) -> None:
    with store._engine.begin() as c:
        c.exec_driver_sql(statement)


def test_idempotency_save_and_load(store: Store) -> None:
    assert store.idempotent("k", "i1") is None
    with store.begin() as tx:
        saved = tx.save_idempotent("k", "i1", "ab" * 32, 201, '{"ok": true}')
    assert store.idempotent("k", "i1") == saved
    assert store.idempotent("other", "i1") is None
    with pytest.raises(Conflict, match="idempotency key 'i1' already exists"), store.begin() as tx:
        tx.save_idempotent("k", "i1", "cd" * 32, 200, "{}")
    assert store.idempotent("k", "i1") == saved


def test_job_lifecycle(store: Store) -> None:
    with store.begin() as tx:
        job = tx.create_job("recompute", 100)
    assert (job.state, job.done, job.total, job.started_ms, job.finished_ms) == (
        "queued",
        0,
        100,
        None,
        None,
    )
    assert store.job(job.job_id) == job
    with store.begin() as tx:
        running = tx.update_job(job.job_id, state="running")
        progress = tx.update_job(job.job_id, done=40, detail={"accounts": 40})
    assert running.started_ms is not None
    assert (progress.state, progress.done, progress.detail, progress.started_ms) == (
        "running",
        40,
        {"accounts": 40},
        running.started_ms,
    )
    with store.begin() as tx:
        done = tx.update_job(job.job_id, state="done", done=100)
    assert done.finished_ms is not None
    assert done.started_ms == running.started_ms
    assert store.job(job.job_id) == done
    assert store.job("nope") is None
    with pytest.raises(NotFound, match="job 'nope' not found"), store.begin() as tx:
        tx.update_job("nope", done=1)
    with pytest.raises(ValidationError, match="state: got 'paused'"), store.begin() as tx:
        tx.update_job(job.job_id, state="paused")
