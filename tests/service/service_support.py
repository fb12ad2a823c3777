"""Helpers of the service tests: a test client on the demo data and API keys."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portmargin.service import DemoLoad
from portmargin.store import Store

__all__ = ["Service"]


class Service:
    """An app on a store holding the demo data, a test client and helpers to make keys."""

    def __init__(self, client: TestClient, demo: DemoLoad) -> None:
        self.client = client
        self.demo = demo
        self.store: Store = client.app.state.services.store  # type: ignore[attr-defined]
        self.admin = self.key(["admin"])

    def key(self, scopes: list[str], accounts: tuple[str, ...] = ()) -> dict[str, str]:
        """Headers carrying a new key with ``scopes`` on ``accounts``."""
        with self.store.begin() as tx:
            _, token = tx.create_key(scopes=scopes, accounts=accounts, label="test")
        return {"Authorization": f"Bearer {token}"}
