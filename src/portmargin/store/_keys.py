"""API key tokens ``pm_<key_id>_<secret>`` and their argon2id hashes.

The key id is 12 URL-safe characters (9 random bytes), the secret 43 (32 random bytes), both
from :mod:`secrets`; the id and secret may themselves contain ``_``, so a token is split by
position, not by separator. Only the argon2id hash of the secret is stored.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_secret", "new_token", "split_token", "verify_secret"]

_PREFIX = "pm_"
_ID_LEN = 12
_SECRET_LEN = 43
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash verified against for unknown key ids, so they take as long as known ones."""
    return _HASHER.hash(secrets.token_urlsafe(32))


def new_token() -> tuple[str, str, str]:
    """A fresh token.

    Returns
    -------
    tuple of str
        ``(key_id, secret, token)``.
    """
    key_id = secrets.token_urlsafe(9)
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"{_PREFIX}{key_id}_{secret}"


def split_token(token: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed token, else None."""
    if len(token) != len(_PREFIX) + _ID_LEN + 1 + _SECRET_LEN or not token.startswith(_PREFIX):
        return None
    rest = token[len(_PREFIX) :]
    if rest[_ID_LEN] != "_":
        return None
    return rest[:_ID_LEN], rest[_ID_LEN + 1 :]


def hash_secret(secret: str) -> str:
    """The argon2id hash (PHC string, salted) of a secret."""
    return _HASHER.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``secret_hash`` (None: an unknown key, always False).

    Takes about as long whether or not the key exists (argon2id, tens of milliseconds).
    """
    try:
        return _HASHER.verify(secret_hash or _dummy_hash(), secret) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False
