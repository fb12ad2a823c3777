"""API keys: tokens verify, wrong/unknown/revoked ones do not, only an argon2id hash is kept."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portmargin.core import ValidationError
from portmargin.store import NotFound, Store


def test_token_verifies_and_names_its_key(store: Store) -> None:
    with store.begin() as tx:
        key, token = tx.create_key(scopes=["read", "trade"], accounts=["B", "A"], label="desk")
    assert token.startswith(f"pm_{key.key_id}_")
    assert len(key.key_id) == 12
    assert len(token) == 3 + 12 + 1 + 43
    assert key.scopes == frozenset({"read", "trade"})
    assert key.accounts == ("A", "B")
    assert not key.all_accounts
    assert store.verify_key(token) == key
    assert store.key(key.key_id) == key
    assert store.keys() == [key]
    assert store.key_usable(key.key_id)
    assert not store.key_usable("x" * 12)


def test_wrong_unknown_malformed_and_revoked_tokens(store: Store) -> None:
    with store.begin() as tx:
        key, token = tx.create_key(scopes=["admin"], all_accounts=True)
        other, other_token = tx.create_key(scopes=["read"], accounts=["A"])
    secret = token[16:]
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    unknown = f"pm_{'x' * 12}_{secret}"
    swapped = f"pm_{other.key_id}_{secret}"
    for bad in (wrong, unknown, swapped, "", "pm_", token + "x", "Bearer " + token):
        assert store.verify_key(bad) is None, bad
    with store.begin() as tx:
        revoked = tx.revoke_key(key.key_id)
    assert revoked.revoked
    assert store.verify_key(token) is None
    assert not store.key_usable(key.key_id)
    assert store.key_usable(other.key_id)
    assert store.verify_key(other_token) == other
    with store.begin() as tx:
        assert tx.revoke_key(key.key_id).revoked_ms == revoked.revoked_ms
    with pytest.raises(NotFound, match="api key 'nope' not found"), store.begin() as tx:
        tx.revoke_key("nope")


def test_only_an_argon2id_hash_is_stored(store: Store) -> None:
    with store.begin() as tx:
        key, token = tx.create_key(scopes=["read"], accounts=["A"])
    secret = token[16:]
    with store._engine.connect() as c:
        row = c.execute(sa.text("SELECT * FROM api_keys")).one()
        links = c.execute(sa.text("SELECT * FROM api_key_accounts")).all()
    assert row.secret_hash.startswith("$argon2id$")
    for value in (*row, *(v for link in links for v in link)):
        assert secret not in str(value)
    assert "secret_hash" not in repr(key)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scopes": []}, "scopes: got"),
        ({"scopes": ["read", "root"]}, r"scopes: got \['read', 'root'\]"),
        ({"scopes": ["read"]}, "accounts: got"),
        ({"scopes": ["read"], "accounts": [""]}, "account_id: got ''"),
    ],
)
def test_bad_keys(store: Store, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message), store.begin() as tx:
        tx.create_key(**kwargs)  # type: ignore[arg-type]
