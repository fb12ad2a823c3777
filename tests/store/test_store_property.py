"""Property: any sequence of position upserts, replaces and deletes leaves the store holding
what a plain dict model of the same operations holds."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portmargin.store import Store

ACCOUNTS = ["a", "B", "c-1"]
INSTRUMENTS = ["BTC-PERPETUAL", "BTC-26JUN20-9000-C", "ETH-PERPETUAL", "USDC"]
_run = itertools.count()

quantities = st.one_of(st.just(0.0), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
rows = st.lists(
    st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(INSTRUMENTS), quantities), max_size=12
)
operations = st.lists(
    st.tuples(st.sampled_from(["upsert", "replace"]), rows), min_size=1, max_size=6
)


def _apply(
    model: dict[str, dict[str, float]], op: str, batch: list[tuple[str, str, float]]
) -> None:
    if op == "replace":
        for account, _, _ in batch:
            model[account] = {}
    for account, instrument, quantity in batch:
        held = model.setdefault(account, {})
        if quantity == 0.0:
            held.pop(instrument, None)
        else:
            held[instrument] = quantity


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_store_matches_dict_model(
    store: Store, ops: list[tuple[str, list[tuple[str, str, float]]]]
) -> None:
    prefix = f"run{next(_run)}-"  # each example works on accounts of its own
    model: dict[str, dict[str, float]] = {}
    for op, batch in ops:
        named = [(prefix + a, i, q) for a, i, q in batch]
        with store.begin() as tx:
            tx.upsert_positions(named, replace=op == "replace", create_accounts=True)
        _apply(model, op, named)
    for account in (prefix + a for a in ACCOUNTS):
        held = {p.instrument: p.quantity for p in store.positions(account)}
        assert held == model.get(account, {})
    expected = sorted(
        ((a, i, q) for a, held in model.items() for i, q in held.items()),
        key=lambda r: (r[0].encode(), r[1].encode()),
    )
    book = store.book_table([prefix + a for a in ACCOUNTS]).to_pydict()
    assert list(zip(book["account"], book["instrument"], book["quantity"], strict=True)) == expected
