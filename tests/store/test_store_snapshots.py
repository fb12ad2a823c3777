"""Market snapshots (payload bytes back as uploaded) and parameter packs in use."""

from __future__ import annotations

import hashlib
import os

import pytest

from portmargin.core import ValidationError
from portmargin.data import demo_chain_path
from portmargin.store import Store


def test_round_trip_bytes_identical(store: Store) -> None:
    chain = demo_chain_path().read_bytes()
    noise = os.urandom(4096)  # does not compress: stored as is
    with store.begin() as tx:
        made = tx.add_snapshot(
            label="demo",
            parts=[("deribit-csv", chain), ("market-file", noise), ("deribit-json", b"")],
            valuation_ms=1_590_000_000_000,
            underlyings=["BTC", "ETH"],
        )
    got = store.snapshot(made.snapshot_id)
    assert got == made
    assert store.latest_snapshot_id() == made.snapshot_id
    assert [p.payload for p in got.parts] == [chain, noise, b""]
    assert [p.format for p in got.parts] == ["deribit-csv", "market-file", "deribit-json"]
    assert [p.size for p in got.parts] == [len(chain), 4096, 0]
    assert got.parts[0].sha256 == hashlib.sha256(chain).hexdigest()
    assert (got.label, got.valuation_ms, got.underlyings) == (
        "demo",
        1_590_000_000_000,
        ("BTC", "ETH"),
    )


def test_compressible_payload_stored_smaller(store: Store) -> None:
    payload = b"instrument,mark\n" + b"BTC-PERPETUAL,9000\n" * 10_000
    with store.begin() as tx:
        made = tx.add_snapshot(
            label="x", parts=[("deribit-csv", payload)], valuation_ms=1, underlyings=["BTC"]
        )
    with store._engine.connect() as c:
        stored = c.exec_driver_sql("SELECT encoding, length(payload) FROM snapshot_parts").one()
    assert stored[0] == "gzip"
    assert stored[1] < len(payload) // 10
    got = store.snapshot(made.snapshot_id)
    assert got is not None
    assert got.parts[0].payload == payload


def test_latest_and_listing(store: Store) -> None:
    assert store.latest_snapshot() is None
    assert store.snapshot(1) is None
    with store.begin() as tx:
        for k in range(3):
            tx.add_snapshot(
                label=f"s{k}", parts=[("deribit-json", b"{}")], valuation_ms=k, underlyings=["BTC"]
            )
    latest = store.latest_snapshot()
    assert latest is not None
    assert latest.label == "s2"
    assert latest.parts[0].payload == b"{}"
    listed = store.snapshots(limit=2)
    assert [s.label for s in listed] == ["s2", "s1"]
    assert all(p.payload is None for s in listed for p in s.parts)


@pytest.mark.parametrize(
    ("parts", "underlyings", "message"),
    [
        ([], ["BTC"], "parts: got"),
        ([("csv", b"x")], ["BTC"], r"parts\[0\].format: got 'csv'"),
        ([("deribit-csv", b"x")], ["BTC,ETH"], "underlyings: got 'BTC,ETH'"),
    ],
)
def test_bad_snapshots(
    store: Store, parts: list[tuple[str, bytes]], underlyings: list[str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message), store.begin() as tx:
        tx.add_snapshot(label="x", parts=parts, valuation_ms=1, underlyings=underlyings)


def test_params_in_use(store: Store) -> None:
    assert store.params_in_use() == {}
    with store.begin() as tx:
        tx.set_params("deribit-pm", "deribit-pm/2024-06", {"volatility_range_up": "0.45"})
        tx.set_params("standard", "standard/2024-01", {})
    with store.begin() as tx:
        tx.set_params("deribit-pm", "deribit-pm/2024-06", {"b": "2", "a": "1"})
    used = store.params_in_use()
    assert sorted(used) == ["deribit-pm", "standard"]
    assert used["deribit-pm"].overrides == {"a": "1", "b": "2"}
    assert used["standard"].pack == "standard/2024-01"
    with pytest.raises(ValidationError, match=r"overrides\['a'\]: got 1"), store.begin() as tx:
        tx.set_params("standard", "p", {"a": 1})  # type: ignore[dict-item]


def test_no_latest_snapshot_in_an_empty_store(store: Store) -> None:
    assert store.latest_snapshot_id() is None
