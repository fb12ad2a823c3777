"""Every account is accounted for, valued, and margined independently of its batch.

Runs every registered method through :func:`portmargin.methods.run_method`: accounts in =
accounts with a row + accounts in ``errors``; empty, flat, zero-quantity and collateral-only
accounts get margin 0 with their equity; an oversized position is a per-account error; IM is
never below MM; an account alone gets what it gets in any batch, in any order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import QuantLib as ql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import linear_market_support as lm
from method_universe import LINEAR_ONLY, Universe
from portmargin.analysis import to_usd
from portmargin.bench import synthetic_book
from portmargin.instruments import Instrument, parse_instrument
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import RunOptions, get_method, method_names, run_method
from portmargin.results import MarginBatch
from portmargin.risk import Book, resolve_instruments

COIN_AT_RISK = {
    "okx-pm": "OKX margins in USD and counts coin holdings in the risk unit (MR1, MR6)",
}


def run(name: str, book: Book, market: MarketSnapshot) -> MarginBatch:
    method = get_method(name)
    return run_method(method, book, market, load_params(method))


def book_of(accounts: dict[str, list[tuple[Instrument, float]]]) -> Book:
    """A book that keeps every account, also those whose rows are all zero."""
    instruments: list[Instrument] = []
    column: dict[str, int] = {}
    rows, cols, qty = [], [], []
    for a, positions in enumerate(accounts.values()):
        for inst, q in positions:
            if inst.name not in column:
                column[inst.name] = len(instruments)
                instruments.append(inst)
            rows.append(a)
            cols.append(column[inst.name])
            qty.append(q)
    return Book.from_arrays(
        list(accounts), instruments, np.array(rows), np.array(cols), np.array(qty, dtype=float)
    )


def rows_of(batch: MarginBatch, account: str) -> list[int]:
    return batch.rows_of(account)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", method_names())
def test_accounts_in_equal_results_plus_errors(name: str, universe: Universe) -> None:
    call = universe.short_call
    cash = parse_instrument(universe.collateral)
    accounts = {
        "empty": [],
        "flat": [(call, 3.0), (call, -3.0)],
        "zero": [(call, 0.0)],
        "collateral": [(cash, 2.5)],
        "good": [(call, -1.0), (cash, 1.0)],
        "bad": [(universe.unpriced, -1.0)],
        "huge": [(call, -1e300), (cash, 1.0)],
    }
    batch = run(name, book_of(accounts), universe.market)
    with_rows = set(batch.account.tolist())
    assert with_rows | set(batch.errors) == set(accounts)
    assert not with_rows & set(batch.errors)
    assert set(batch.errors) == {"bad", "huge"}
    assert "1e+300" in batch.errors["huge"]
    assert call.name in batch.errors["huge"]
    quiet = (
        ("empty", "flat", "zero")
        if name in COIN_AT_RISK
        else ("empty", "flat", "zero", "collateral")
    )
    for account in quiet:
        rows = rows_of(batch, account)
        assert len(rows) == 1
        assert batch.initial_margin[rows[0]] == 0.0
        assert batch.maintenance_margin[rows[0]] == 0.0
    assert sum(batch.initial_margin[i] for i in rows_of(batch, "good")) > 0


@pytest.mark.parametrize("name", method_names())
def test_collateral_is_valued_into_equity(name: str, universe: Universe) -> None:
    cash = parse_instrument(universe.collateral)
    batch = run(name, book_of({"c": [(cash, 2.5)], "none": []}), universe.market)
    (i,) = rows_of(batch, "c")
    assert batch.equity is not None
    assert batch.excess is not None
    assert batch.margin_ratio is not None
    value_usd = to_usd(2.5, universe.collateral, universe.market)
    row_usd = to_usd(float(batch.equity[i]), str(batch.currency[i]), universe.market)
    assert row_usd == pytest.approx(value_usd, rel=1e-12)
    assert batch.excess[i] == pytest.approx(batch.equity[i] - batch.initial_margin[i])
    assert batch.margin_ratio[i] == pytest.approx(batch.maintenance_margin[i] / batch.equity[i])
    (j,) = rows_of(batch, "none")
    assert batch.equity[j] == 0.0
    assert math.isnan(batch.margin_ratio[j])
    result = batch.result(j)
    assert result.equity == 0.0
    assert result.margin_ratio is None


def test_equity_counts_option_value_at_the_venue_vol(coin_universe: Universe) -> None:
    """BTC collateral minus a short call's value, the call priced by QuantLib's Black formula."""
    call = coin_universe.short_call
    market = coin_universe.market
    book = book_of({"writer": [(call, -2.0), (parse_instrument("BTC"), 1.0)]})
    batch = run("deribit-pm", book, market)
    (i,) = rows_of(batch, "writer")
    t = resolve_instruments([call], market)
    F, K, T, sig, D = (float(a[0]) for a in (t.forward, t.strike, t.tau, t.sigma, t.df))
    usd = ql.blackFormula(ql.Option.Call, K, F, sig * math.sqrt(T), D)
    assert batch.currency[i] == "BTC"
    assert batch.equity is not None
    assert batch.excess is not None
    assert batch.margin_ratio is not None
    assert batch.equity[i] == pytest.approx(1.0 - 2.0 * usd / F, rel=1e-9)
    assert batch.excess[i] == pytest.approx(batch.equity[i] - batch.initial_margin[i])
    assert batch.margin_ratio[i] == pytest.approx(batch.maintenance_margin[i] / batch.equity[i])


def test_rows_in_several_currencies_count_their_own_holdings(coin_universe: Universe) -> None:
    """standard margin on Deribit margins BTC and USDC books apart: each keeps its own funds."""
    market = coin_universe.market
    usdc_perp = parse_instrument("BTC_USDC-PERPETUAL")
    book = book_of(
        {
            "two": [
                (coin_universe.short_call, -1.0),
                (parse_instrument("BTC"), 0.5),
                (usdc_perp, 1.0),
                (parse_instrument("USDC"), 1000.0),
            ]
        }
    )
    batch = run("standard", book, market)
    assert batch.equity is not None
    by_ccy = {str(batch.currency[i]): i for i in rows_of(batch, "two")}
    assert set(by_ccy) == {"BTC", "USDC"}
    assert batch.equity[by_ccy["USDC"]] == pytest.approx(1000.0)
    assert batch.equity[by_ccy["BTC"]] < 0.5


def test_im_below_mm_from_rounding_is_raised_and_said(coin_universe: Universe) -> None:
    book = book_of({"nano": [(coin_universe.short_call, -1e-9)]})
    batch = run("deribit-pm", book, coin_universe.market)
    (i,) = rows_of(batch, "nano")
    assert batch.initial_margin[i] == batch.maintenance_margin[i] > 0
    assert any("IM raised to MM" in n for n in batch.notes)


def test_quantity_bound_is_a_parameter(coin_universe: Universe) -> None:
    method = get_method("standard")
    book = book_of({"a": [(coin_universe.short_call, -50.0)]})
    batch = run_method(
        method, book, coin_universe.market, load_params(method), RunOptions(max_abs_quantity=10.0)
    )
    assert "a" in batch.errors
    assert "|quantity| <= 10" in batch.errors["a"]
    with pytest.raises(ValueError, match="max_abs_quantity"):
        RunOptions(max_abs_quantity=0.0)


ACCOUNT_FIELDS = ("initial_margin", "maintenance_margin", "equity", "excess")


def per_account(batch: MarginBatch) -> dict[str, object]:
    """Account → its rows' numbers keyed by (currency, group), or its error reason."""
    out: dict[str, object] = dict(batch.errors)
    for i, account in enumerate(batch.account.tolist()):
        group = None if batch.group is None else batch.group[i]
        key = (str(batch.currency[i]), group)
        values = tuple(float(getattr(batch, f)[i]) for f in ACCOUNT_FIELDS)
        out.setdefault(account, {})[key] = values  # type: ignore[index]
    return out


def assert_same(a: dict[str, object], b: dict[str, object]) -> None:
    assert set(a) == set(b)
    for account, left in a.items():
        right = b[account]
        if isinstance(left, str):
            assert left == right, account
            continue
        assert isinstance(right, dict)
        assert set(left) == set(right), account  # type: ignore[arg-type]
        for key, values in left.items():  # type: ignore[attr-defined]
            np.testing.assert_allclose(values, right[key], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", method_names())
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_an_account_gets_the_same_alone_in_any_batch_in_any_order(
    name: str, seed: int, universe: Universe
) -> None:
    rng = np.random.default_rng(seed)
    expired = (
        lm.option(-1.0, 70_000.0) if name in LINEAR_ONLY else parse_instrument("BTC-20MAY20-9000-C")
    )
    cash = parse_instrument(universe.collateral)
    instruments = [*universe.instruments, universe.unpriced, expired, cash]
    random = synthetic_book(instruments, 5, 6, rng).quantities.tocoo()
    n = len(instruments)
    # acc0: two instruments that cannot be priced, for different reasons; acc1: collateral
    # only; acc2..4: random positions
    rows = np.concatenate([[0, 0, 1], random.row[random.row >= 2]])
    cols = np.concatenate([[n - 3, n - 2, n - 1], random.col[random.row >= 2]])
    qty = np.concatenate([rng.normal(size=3), random.data[random.row >= 2]])
    accounts = [f"acc{k}" for k in range(5)]
    book = Book.from_arrays(accounts, instruments, rows, cols, qty)
    before = book.quantities.copy()
    whole = per_account(run(name, book, universe.market))
    assert (book.quantities != before).nnz == 0  # the caller's book is left as it was
    assert np.array_equal(book.quantities.indices, before.indices)

    assert "acc0" in whole
    assert isinstance(whole["acc0"], str)

    order = rng.permutation(len(accounts))
    perm = rng.permutation(n)
    where = np.empty_like(perm)
    where[perm] = np.arange(n)
    shuffled = Book.from_arrays(
        [accounts[k] for k in order],
        [instruments[c] for c in perm],
        np.argsort(order)[rows],
        where[cols],
        qty,
    )
    assert_same(whole, per_account(run(name, shuffled, universe.market)))

    for k, account in enumerate(accounts):
        mine = rows == k
        alone = Book.from_arrays([account], instruments, rows[mine] * 0, cols[mine], qty[mine])
        assert_same({account: whole[account]}, per_account(run(name, alone, universe.market)))


@pytest.mark.parametrize("name", sorted(set(method_names()) - LINEAR_ONLY))
def test_instruments_priced_from_the_smile_are_named_with_their_holders(
    name: str, coin_universe: Universe
) -> None:
    unlisted = parse_instrument("BTC-27JUN20-9000-C")
    book = book_of({"smile": [(unlisted, -1.0)], "listed": [(coin_universe.short_call, -1.0)]})
    strict = run(name, book, coin_universe.market)
    assert "not listed" in strict.errors["smile"]
    allowed = run(name, book, coin_universe.market.with_unlisted_allowed())
    assert not allowed.errors
    (note,) = [n for n in allowed.notes if "priced from the smile" in n]
    assert "BTC-27JUN20-9000-C" in note
    assert "1 computed account(s): smile" in note
