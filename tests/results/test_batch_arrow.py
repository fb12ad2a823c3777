"""MarginBatch as Arrow tables: equals result(i) row by row, errors, equity, detail."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow.compute as pc
import pytest

from portmargin.analysis import compute_margin
from portmargin.core import ValidationError
from portmargin.instruments import parse_instrument
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names
from portmargin.portfolio import Portfolio, Position
from portmargin.results import MarginBatch


def batch(accounts: list[str], im: list[float]) -> MarginBatch:
    n = len(accounts)
    return MarginBatch(
        method="m",
        params_version="v1",
        account=np.array(accounts, dtype=object),
        currency=np.array(["BTC"] * n, dtype=object),
        initial_margin=np.array(im),
        maintenance_margin=np.array(im) * 0.8,
        components={"risk": np.array(im), "risk/worst": np.array(im) * 0.9},
    )


def _books() -> list[Portfolio]:
    def pf(account: str, *rows: tuple[str, float]) -> Portfolio:
        return Portfolio(
            account=account,
            positions=tuple(Position(instrument=parse_instrument(n), quantity=q) for n, q in rows),
        )

    return [
        pf("a", ("BTC-26JUN20-10000-C", -2.0), ("BTC-PERPETUAL", 1.0)),
        pf("b", ("BTC-26JUN20-8000-P", -1.0), ("BTC", 1.0)),
        pf("c", ("ETH-26JUN20-200-C", -1.0)),
        pf("d", ("BTC_USDC-26JUN20-10000-C", -1.0), ("USDC", 5000.0)),
        pf("e"),
    ]


@pytest.mark.parametrize("name", method_names())
def test_to_arrow_equals_results(name: str, demo_snapshot: MarketSnapshot) -> None:
    method = get_method(name)
    b = compute_margin(method, _books(), demo_snapshot, load_params(method))
    table = b.to_arrow({"z": "bad row"})
    assert table.num_rows == len(b) + len(b.errors) + 1
    rows = table.to_pylist()
    for i in range(len(b)):
        r, row = b.result(i), rows[i]
        assert row["status"] == "ok"
        assert row["account"] == r.account
        assert row["method"] == r.method == name
        assert row["params_version"] == r.params_version
        assert row["currency"] == r.currency
        assert row["group"] == r.group
        assert row["initial_margin"] == r.initial_margin
        assert row["maintenance_margin"] == r.maintenance_margin
        assert row["worst_scenario"] == r.worst_scenario
        assert row["equity"] == r.equity
        assert row["excess"] == r.excess
        assert row["margin_ratio"] == r.margin_ratio
        assert row["error"] is None
    errors = rows[len(b) :]
    assert [e["account"] for e in errors] == [*b.errors, "z"]
    for e in errors:
        assert e["status"] == "error"
        assert e["initial_margin"] is None
        assert e["error"] == {**b.errors, "z": "bad row"}[e["account"]]


@pytest.mark.parametrize("name", method_names())
def test_detail_arrow_equals_results(name: str, demo_snapshot: MarketSnapshot) -> None:
    method = get_method(name)
    b = compute_margin(method, _books(), demo_snapshot, load_params(method))
    detail = b.detail_arrow(contributions=True)
    components = detail.filter(pc.equal(detail["kind"], "component")).to_pylist()
    contributions = detail.filter(pc.equal(detail["kind"], "contribution")).to_pylist()
    expected_components = []
    expected_contributions = []
    for i in range(len(b)):
        r = b.result(i)
        paths: list[str] = []
        for depth, c in r.component_rows():
            paths[depth:] = [c.name]
            parent = "/".join(paths[:depth]) or None
            expected_components.append(
                (r.account, r.currency, r.group, c.name, parent, c.amount, c.source)
            )
        expected_contributions += [
            (r.account, r.currency, x.instrument, x.pnl, x.quantity, r.worst_scenario)
            for x in r.contributions
        ]
    assert [
        (d["account"], d["currency"], d["group"], d["name"], d["parent"], d["amount"], d["source"])
        for d in components
    ] == expected_components
    assert all(d["quantity"] is None for d in components)
    assert [
        (d["account"], d["currency"], d["name"], d["amount"], d["quantity"], d["source"])
        for d in contributions
    ] == expected_contributions
    assert b.detail_arrow().num_rows == len(components)


def with_funds(b: MarginBatch, equity: list[float]) -> MarginBatch:
    """``b`` with equity, and excess and ratio as run_method derives them for one row each."""
    e = np.array(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(e > 0, b.maintenance_margin / e, np.nan)
    return replace(b, equity=e, excess=e - b.initial_margin, margin_ratio=ratio)


def test_equity_columns() -> None:
    b = with_funds(batch(["a", "b", "c"], [1.0, 2.0, 3.0]), [4.0, 0.0, np.nan])
    assert b.excess is not None
    assert b.excess.tolist()[:2] == [3.0, -2.0]
    rows = b.to_arrow().to_pylist()
    assert rows[0]["equity"] == 4.0
    assert rows[0]["excess"] == 3.0
    assert rows[0]["margin_ratio"] == pytest.approx(0.8 / 4.0)
    assert rows[1]["margin_ratio"] is None  # equity <= 0
    assert rows[2]["equity"] is rows[2]["excess"] is rows[2]["margin_ratio"] is None
    plain = batch(["a"], [1.0])
    assert plain.equity is plain.excess is plain.margin_ratio is None


def test_equity_must_have_one_value_per_row() -> None:
    with pytest.raises(ValidationError, match="equity"):
        replace(with_funds(batch(["a", "b"], [1.0, 2.0]), [1.0, 2.0]), equity=np.array([1.0]))
    with pytest.raises(ValidationError, match="all three arrays or none"):
        replace(batch(["a"], [1.0]), equity=np.array([1.0]))


def test_concat_keeps_equity() -> None:
    first = with_funds(batch(["a"], [1.0]), [5.0])
    both = MarginBatch.concat([first, batch(["b"], [2.0])])
    assert both.equity is not None
    assert both.equity[0] == 5.0
    assert np.isnan(both.equity[1])
    assert MarginBatch.concat([batch(["a"], [1.0])]).equity is None


def test_component_order_is_depth_first() -> None:
    b = replace(
        batch(["a"], [1.0]),
        components={
            "x": np.array([1.0]),
            "y": np.array([1.0]),
            "x/z": np.array([0.5]),
            "x/z/w": np.array([0.5]),
        },
    )
    assert b.component_order() == [("x", 0), ("x/z", 1), ("x/z/w", 2), ("y", 0)]
    names = b.detail_arrow().column("name").to_pylist()
    assert names == ["x", "z", "w", "y"]
