"""``portmargin keys`` and ``portmargin import`` on a store file, run as real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_support import run_cli as run
from portmargin.store import Store


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def test_keys_create_list_revoke(url: str) -> None:
    made = run(
        "keys",
        "create",
        "--scope",
        "read",
        "--scope",
        "trade",
        "--account",
        "A",
        "--account",
        "B",
        "--label",
        "desk",
        "--database-url",
        url,
    )
    assert made.returncode == 0, made.stderr
    first, token = made.stdout.splitlines()
    assert first.startswith("key ")
    assert first.endswith(": read, trade")
    assert "not shown again" in made.stderr
    with Store.open(url) as store:
        key = store.verify_key(token)
        assert key is not None
        assert key.accounts == ("A", "B")
        assert key.scopes == frozenset({"read", "trade"})
        assert store.audit()[-1].action == "keys create"
    listed = run("keys", "list", "--json", "--database-url", url)
    assert listed.returncode == 0, listed.stderr
    assert token not in listed.stdout
    rows = json.loads(listed.stdout)
    assert [(r["key_id"], r["scopes"], r["accounts"], r["label"], r["revoked"]) for r in rows] == [
        (key.key_id, ["read", "trade"], ["A", "B"], "desk", None)
    ]
    table = run("keys", "list", "--database-url", url)
    assert key.key_id in table.stdout
    revoked = run("keys", "revoke", key.key_id, "--database-url", url)
    assert revoked.returncode == 0, revoked.stderr
    with Store.open(url) as store:
        assert store.verify_key(token) is None
    assert json.loads(run("keys", "list", "--json", "--database-url", url).stdout)[0]["revoked"]


def test_keys_errors(url: str) -> None:
    bad = run("keys", "create", "--scope", "root", "--all-accounts", "--database-url", url)
    assert bad.returncode == 2
    assert "error: scopes: got ['root']" in bad.stderr
    missing = run("keys", "revoke", "nope", "--database-url", url)
    assert missing.returncode == 2
    assert "error: api key 'nope' not found" in missing.stderr


def test_keys_default_url_from_environment(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("PORTMARGIN_DATABASE_URL", url)
    made = run("keys", "create", "--scope", "admin", "--all-accounts")
    assert made.returncode == 0, made.stderr
    with Store.open(url) as store:
        assert len(store.keys()) == 1
        assert store.keys()[0].all_accounts


def _write(path: Path, *rows: str) -> Path:
    path.write_text("account,instrument,quantity\n" + "".join(r + "\n" for r in rows))
    return path


def test_import_positions_and_collateral_skipping_bad_accounts(url: str, tmp_path: Path) -> None:
    first = _write(
        tmp_path / "p.csv",
        "A,BTC-PERPETUAL,10",
        "A,BTC,1.5",
        "B,BTC-26JUN20-9000-C,-2",
        "B,BTC-XX,1",
        "C,USDC,1000",
        "C,ETH-PERPETUAL,3",
    )
    proc = run("import", str(first), "--database-url", url)
    assert proc.returncode == 1
    assert (
        "imported 2 accounts (2 created), 2 positions, 2 collateral balances; 1 accounts skipped"
        in proc.stdout
    )
    assert "skipped account B" in proc.stderr
    assert "row 4" in proc.stderr
    assert "'instrument'" in proc.stderr
    with Store.open(url) as store:
        assert store.account("B") is None
        book = store.book_table().to_pydict()
        assert list(zip(*book.values(), strict=True)) == [
            ("A", "BTC", 1.5),
            ("A", "BTC-PERPETUAL", 10.0),
            ("C", "ETH-PERPETUAL", 3.0),
            ("C", "USDC", 1000.0),
        ]
        assert [a.action for a in store.audit()] == ["import"]

    second = _write(
        tmp_path / "q.csv",
        "A,BTC-PERPETUAL,0",
        "A,ETH-PERPETUAL,1",
        "A,ETH-PERPETUAL,1",
        "C,USDC,0",
    )
    proc = run("import", str(second), "--database-url", url)
    assert proc.returncode == 0, proc.stderr
    assert "imported 2 accounts (0 created)" in proc.stdout
    assert "quantities summed" in proc.stderr
    with Store.open(url) as store:
        book = store.book_table().to_pydict()
        assert list(zip(*book.values(), strict=True)) == [
            ("A", "BTC", 1.5),
            ("A", "ETH-PERPETUAL", 2.0),
            ("C", "ETH-PERPETUAL", 3.0),
        ]

    third = _write(
        tmp_path / "r.csv", "A,BTC-PERPETUAL,5", "C,BTC,2", "D,USDC,7", "E,BTC-PERPETUAL,0"
    )
    proc = run("import", str(third), "--replace", "--database-url", url)
    assert proc.returncode == 0, proc.stderr
    with Store.open(url) as store:
        book = store.book_table().to_pydict()
        assert list(zip(*book.values(), strict=True)) == [
            ("A", "BTC-PERPETUAL", 5.0),
            ("C", "BTC", 2.0),
            ("D", "USDC", 7.0),
        ]
        assert store.account("E") is not None
        assert store.check_integrity() == []


def test_import_parquet(url: str, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "p.parquet"
    pq.write_table(
        pa.table(
            {
                "account": ["A", "A"],
                "instrument": ["BTC-PERPETUAL", "USDC"],
                "quantity": [1.0, 50.0],
            }
        ),
        path,
    )
    proc = run("import", str(path), "--database-url", url)
    assert proc.returncode == 0, proc.stderr
    with Store.open(url) as store:
        assert [(p.instrument, p.quantity) for p in store.positions("A")] == [
            ("BTC-PERPETUAL", 1.0)
        ]
        assert [(c.currency, c.amount) for c in store.collateral("A")] == [("USDC", 50.0)]


def test_import_unreadable_file(url: str, tmp_path: Path) -> None:
    proc = run("import", str(tmp_path / "missing.csv"), "--database-url", url)
    assert proc.returncode == 2
    assert "error:" in proc.stderr
    assert "missing.csv" in proc.stderr
