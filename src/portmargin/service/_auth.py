"""API keys: bearer tokens verified by the store, cached, and what a key may see and do.

Scopes: ``read`` (GET routes and computations that change nothing), ``trade`` (positions and
collateral of its accounts), ``admin`` (everything, every account). A key sees only its
accounts (``admin`` and ``all_accounts`` keys see all); any route of an account it does not
see answers 404 as if the account did not exist, before any scope check (so ids do not leak).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from portmargin.store import KeyRow, NotFound, Store

__all__ = ["Caller", "ForbiddenError", "KeyCache", "UnauthorizedError", "implied_scopes"]

CACHE_PRUNE_AT = 10_000
"""Cached verifications at which expired ones are dropped."""

_IMPLIES = {"read": {"read"}, "trade": {"read", "trade"}, "admin": {"read", "trade", "admin"}}


def implied_scopes(scopes: frozenset[str]) -> frozenset[str]:
    """``scopes`` with those they imply (trade ⊃ read, admin ⊃ all)."""
    return frozenset(s for scope in scopes for s in _IMPLIES.get(scope, ()))


class UnauthorizedError(Exception):
    """No usable API key (missing, malformed, unknown, wrong secret or revoked): 401."""


class ForbiddenError(Exception):
    """The key lacks the scope a route needs: 403 (only on what the key may see)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__(f"this API key lacks the {scope!r} scope")


@dataclass(frozen=True, slots=True)
class Caller:
    """The verified key of a request."""

    key: KeyRow

    @property
    def key_id(self) -> str:
        """The key's id (recorded in the audit log)."""
        return self.key.key_id

    @property
    def scopes(self) -> frozenset[str]:
        """Scopes granted, with those they imply."""
        return implied_scopes(self.key.scopes)

    @property
    def all_accounts(self) -> bool:
        """Whether the key sees every account."""
        return self.key.all_accounts or "admin" in self.key.scopes

    def sees(self, account_id: str) -> bool:
        """Whether the key may see ``account_id``."""
        return self.all_accounts or account_id in self.key.accounts

    def check_account(self, account_id: str) -> None:
        """Raise :class:`~portmargin.store.NotFound` for an account the key may not see."""
        if not self.sees(account_id):
            raise NotFound("account", account_id)

    def require(self, scope: str) -> None:
        """Raise :class:`ForbiddenError` unless the key has ``scope``."""
        if scope not in self.scopes:
            raise ForbiddenError(scope)


class KeyCache:
    """Verified keys by sha256 of their token for ``seconds``; revocation is checked in the
    store on every request (one indexed read), so it takes effect at once. A key's scopes and
    accounts never change after its creation, so its row is kept with its verification.

    Parameters
    ----------
    store
        Verifies tokens (argon2id, tens of milliseconds) and reads key rows.
    seconds
        How long a verification is reused.
    """

    def __init__(self, store: Store, seconds: float) -> None:
        self._store = store
        self._seconds = seconds
        self._lock = threading.Lock()
        self._verified: dict[bytes, tuple[KeyRow, float]] = {}

    def caller(self, authorization: str | None) -> Caller:
        """The caller of an ``Authorization: Bearer <token>`` header.

        Raises
        ------
        UnauthorizedError
            No bearer token, or one the store does not accept (unknown, wrong, revoked).
        """
        known = self.cached(authorization)
        if known is not None:
            return known
        token = _token(authorization)
        digest = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        now = time.monotonic()
        verified = self._store.verify_key(token)
        if verified is None:
            raise UnauthorizedError("API key not valid (unknown, wrong or revoked)")
        with self._lock:
            if len(self._verified) >= CACHE_PRUNE_AT:
                self._verified = {d: v for d, v in self._verified.items() if v[1] > now}
            self._verified[digest] = (verified, now + self._seconds)
        return Caller(verified)

    def cached(self, authorization: str | None) -> Caller | None:
        """The caller of a header whose token was verified less than ``seconds`` ago (its
        revocation read from the store), or None when the token must be verified (slow:
        :meth:`caller` does it).

        Raises
        ------
        UnauthorizedError
            No bearer token, or the key of a cached token was revoked.
        """
        token = _token(authorization)
        digest = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        with self._lock:
            cached = self._verified.get(digest)
        if cached is None or cached[1] <= time.monotonic():
            return None
        row = cached[0]
        if self._store.key_usable(row.key_id):
            return Caller(row)
        self.forget(row.key_id)
        raise UnauthorizedError("API key revoked")

    def forget(self, key_id: str) -> None:
        """Drop every cached verification of ``key_id`` (after its revocation)."""
        with self._lock:
            for digest in [d for d, (k, _) in self._verified.items() if k.key_id == key_id]:
                del self._verified[digest]


def _token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header.

    Raises
    ------
    UnauthorizedError
        Another scheme or no token.
    """
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError("missing 'Authorization: Bearer <API key>' header")
    return token
