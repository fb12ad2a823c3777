"""Background jobs: the recompute of every stored account in a thread, its progress in the
store's ``jobs`` table."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from portmargin.core import PortmarginError
from portmargin.service._desk import Desk
from portmargin.store import JobRow, Store, Tx

__all__ = ["Jobs"]

_log = logging.getLogger("portmargin.service")


class Jobs:
    """Starts and tracks background recomputes.

    Parameters
    ----------
    store, desk
        Where progress is written, and what computes.
    """

    def __init__(self, store: Store, desk: Desk) -> None:
        self._store = store
        self._desk = desk
        self._threads: list[threading.Thread] = []

    def create_recompute(self, tx: Tx, methods: Sequence[str]) -> JobRow:
        """Create a queued recompute job in ``tx``; :meth:`start` it once ``tx`` is
        committed. Its ``total`` is accounts × methods."""
        for name in methods:
            self._desk.params(name)  # unknown methods are refused before the job exists
        total = len(self._store.accounts()) * len(methods)
        return tx.create_job("recompute", total)

    def start(self, job_id: str, methods: Sequence[str]) -> None:
        """Run the recompute job ``job_id`` in a thread."""
        thread = threading.Thread(
            target=self._run, args=(job_id, tuple(methods)), name=f"job-{job_id}", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for running jobs (at shutdown)."""
        for thread in self._threads:
            thread.join(timeout)

    def _update(
        self,
        job_id: str,
        *,
        state: str | None = None,
        done: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        with self._store.begin() as tx:
            tx.update_job(job_id, state=state, done=done, detail=detail)

    def _run(self, job_id: str, methods: tuple[str, ...]) -> None:
        self._update(job_id, state="running")
        job = self._store.job(job_id)
        total = job.total if job is not None else 0
        try:
            detail = self._desk.recompute(
                methods, lambda done: self._update(job_id, done=min(done, total))
            )
        except PortmarginError as exc:
            self._update(job_id, state="failed", detail={"error": str(exc)})
        except Exception as exc:
            _log.exception("recompute job %s failed", job_id)
            self._update(job_id, state="failed", detail={"error": f"internal error: {exc!r}"})
        else:
            # accounts holding nothing need no margin: they are done too
            self._update(job_id, state="done", done=total, detail=detail)
