"""MarginEngine: incremental results equal a full run over the same book and snapshot."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import linear_market_support as lm
from method_universe import LINEAR_ONLY, Universe, coin_books
from portmargin.analysis import MarginEngine
from portmargin.bench import synthetic_book
from portmargin.core import ValidationError
from portmargin.data import demo_chain_path, demo_daily_paths
from portmargin.io import load_history
from portmargin.io.deribit import load_deribit_chain_csv
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import NO_INPUTS, AccountInputs, get_method, method_names, run_method
from portmargin.portfolio import Portfolio, Position
from portmargin.results import MarginBatch
from portmargin.risk import Book


def other_market(name: str) -> MarketSnapshot:
    """A second snapshot: the chain with median forwards, or the USDC market 3 % higher."""
    if name in LINEAR_ONLY:
        return lm.market({"BTC": 72_100.0}, days=(7.0, 30.0, 90.0), vol=0.62)
    chain = load_deribit_chain_csv(demo_chain_path(), forward_pick="median").snapshot
    return chain.with_history(load_history(demo_daily_paths()).history)


def full(
    name: str, book: Book, market: MarketSnapshot, inputs: AccountInputs = NO_INPUTS
) -> MarginBatch:
    method = get_method(name)
    return run_method(method, book, market, load_params(method), inputs=inputs)


def engine_for(name: str, book: Book, market: MarketSnapshot) -> MarginEngine:
    method = get_method(name)
    return MarginEngine(method, load_params(method), book, market)


def table(batch: MarginBatch) -> dict[str, object]:
    """Account → {(currency, group): numbers} or its error reason."""
    out: dict[str, object] = dict(batch.errors)
    assert batch.equity is not None
    assert batch.excess is not None
    for i, account in enumerate(batch.account.tolist()):
        key = (str(batch.currency[i]), None if batch.group is None else batch.group[i])
        numbers = (
            float(batch.initial_margin[i]),
            float(batch.maintenance_margin[i]),
            float(batch.equity[i]),
            float(batch.excess[i]),
            *(float(v[i]) for v in batch.components.values()),
        )
        rows = out.setdefault(account, {})
        assert isinstance(rows, dict)
        rows[key] = numbers
    return out


def assert_same(a: MarginBatch, b: MarginBatch) -> None:
    left, right = table(a), table(b)
    assert set(left) == set(right)
    for account, value in left.items():
        other = right[account]
        if isinstance(value, str):
            assert value == other, account
            continue
        assert isinstance(value, dict)
        assert isinstance(other, dict)
        assert set(value) == set(other), account
        for key, numbers in value.items():
            np.testing.assert_allclose(numbers, other[key], rtol=1e-10, atol=1e-12)
    assert a.account.size == b.account.size


def random_book(universe: Universe, accounts: int, seed: int) -> Book:
    return synthetic_book(universe.instruments, accounts, 8, np.random.default_rng(seed))


def portfolio(universe: Universe, account: str, seed: int) -> Portfolio:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(universe.instruments), size=4, replace=False)
    return Portfolio.from_positions(
        account,
        [
            Position(instrument=universe.instruments[k], quantity=round(rng.normal(), 1) or 0.1)
            for k in picks
        ],
    )


@pytest.mark.parametrize("name", method_names())
def test_engine_follows_positions_and_markets(name: str, universe: Universe) -> None:
    book = random_book(universe, 40, 7)
    engine = engine_for(name, book, universe.market)
    assert_same(engine.batch, full(name, book, universe.market))

    changed = [
        portfolio(universe, book.accounts[3], 1),
        Portfolio(account=book.accounts[5]),
        Portfolio.from_positions(
            book.accounts[8], [Position(instrument=universe.unpriced, quantity=-1.0)]
        ),
        portfolio(universe, "newcomer", 2),
    ]
    part = engine.update_positions(changed)
    assert sorted(set(part.account.tolist()) | set(part.errors)) == sorted(
        p.account for p in changed
    )
    assert book.accounts[8] in engine.batch.errors
    assert engine.accounts[-1] == "newcomer"
    assert_same(engine.batch, full(name, engine.book, universe.market))

    engine.update_positions([portfolio(universe, book.accounts[3], 3)])
    assert_same(engine.batch, full(name, engine.book, universe.market))

    moved = other_market(name)
    engine.update_market(moved)
    assert engine.market is moved
    assert_same(engine.batch, full(name, engine.book, moved))

    engine.update_positions([portfolio(universe, book.accounts[0], 4)])
    engine.remove_accounts([book.accounts[1], "newcomer"])
    assert "newcomer" not in engine.accounts
    assert_same(engine.batch, full(name, engine.book, moved))


def test_engine_rejects_unknown_and_repeated_accounts(coin_universe: Universe) -> None:
    book = random_book(coin_universe, 5, 1)
    engine = engine_for("standard", book, coin_universe.market)
    with pytest.raises(ValidationError, match="accounts the engine holds"):
        engine.remove_accounts(["nobody"])
    twice = [Portfolio(account="x"), Portfolio(account="x")]
    with pytest.raises(ValidationError, match="each account at most once"):
        engine.update_positions(twice)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["update", "remove", "market", "inputs"]), st.integers(0, 11)),
        min_size=1,
        max_size=6,
    )
)
def test_any_sequence_of_changes_equals_a_full_run(
    steps: list[tuple[str, int]], demo_snapshot: MarketSnapshot
) -> None:
    universe = coin_books(demo_snapshot)
    markets = [demo_snapshot, other_market("deribit-pm")]
    book = random_book(universe, 12, 11)
    engine = engine_for("deribit-pm", book, demo_snapshot)
    for k, (action, n) in enumerate(steps):
        account = f"acct-{n:06d}"
        if action == "update":
            engine.update_positions([portfolio(universe, account, k)])
        elif action == "remove" and account in engine.accounts:
            engine.remove_accounts([account])
        elif action == "market":
            engine.update_market(markets[k % 2])
        elif action == "inputs" and account in engine.accounts:
            given = {(account, "btc_btc"): 0.01 * (k + 1)}
            engine.update_inputs(AccountInputs.of(SPECS, mmp_margin=given))
        assert_same(engine.batch, full("deribit-pm", engine.book, engine.market, engine.inputs))


SPECS = get_method("deribit-pm").account_inputs


def test_engine_inputs_replace_an_accounts_values(demo_snapshot: MarketSnapshot) -> None:
    """New inputs re-margin only the accounts named, replacing all their values; removed
    accounts lose theirs; unknown accounts are refused."""
    universe = coin_books(demo_snapshot)
    book = random_book(universe, 4, 3)
    first = AccountInputs.of(
        SPECS,
        mmp_margin={("acct-000000", "btc_btc"): 0.5, ("acct-000001", "btc_btc"): 0.25},
        open_orders_margin={("acct-000000", "btc_btc"): 0.125},
    )
    engine = MarginEngine(
        get_method("deribit-pm"),
        load_params(get_method("deribit-pm")),
        book,
        demo_snapshot,
        inputs=first,
    )
    assert_same(engine.batch, full("deribit-pm", book, demo_snapshot, first))
    part = engine.update_inputs(
        AccountInputs.of(SPECS, mmp_margin={("acct-000000", "btc_btc"): 0.75})
    )
    assert part.account.tolist() == ["acct-000000"]
    assert engine.inputs.get("mmp_margin") == {
        ("acct-000000", "btc_btc"): 0.75,
        ("acct-000001", "btc_btc"): 0.25,
    }
    assert engine.inputs.get("open_orders_margin") == {}
    row = engine.batch.rows_of("acct-000000")[0]
    assert engine.batch.components["mmp_margin"][row] == 0.75
    assert engine.batch.components["open_orders_margin"][row] == 0.0
    assert_same(engine.batch, full("deribit-pm", book, demo_snapshot, engine.inputs))
    with pytest.raises(ValidationError, match="accounts the engine holds"):
        engine.update_inputs(AccountInputs.of(SPECS, mmp_margin={("ghost", "btc_btc"): 1.0}))
    engine.remove_accounts(["acct-000001"])
    assert engine.inputs.get("mmp_margin") == {("acct-000000", "btc_btc"): 0.75}
