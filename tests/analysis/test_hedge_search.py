"""Hedge suggestions: the obvious hedge is found, reported margins are the engine's, targets,
budgets and batch independence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from method_universe import Universe
from portmargin.analysis import (
    CostModel,
    HedgeOptions,
    HedgeSuggestion,
    Objective,
    auto_candidates,
    sample_portfolios,
    suggest_hedges,
    trade_costs,
)
from portmargin.core import ValidationError
from portmargin.instruments import Perpetual, parse_instrument
from portmargin.io.params import load_params
from portmargin.lifecycle import MethodMargining
from portmargin.market import MarketSnapshot
from portmargin.methods import AccountInputs, get_method, method_names, run_method
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, build_risk_array, prepare_book
from portmargin.scenarios import Scenario, ScenarioSet

PERP = Perpetual(underlying="BTC")
CALL = parse_instrument("BTC-26JUN20-9500-C")


def one(s: HedgeSuggestion) -> tuple[str | None, float]:
    """Instrument and quantity of a suggestion of at most one leg ((None, 0) without)."""
    assert len(s.trades) <= 1
    return (s.trades[0].instrument, s.trades[0].quantity) if s.trades else (None, 0.0)


def margining(name: str) -> MethodMargining:
    method = get_method(name)
    return MethodMargining(method=method, params=load_params(method))


def long_book() -> Portfolio:
    """Long 10 June calls and 3 perpetuals: about 7 BTC of delta."""
    return Portfolio.from_positions(
        "long", [Position(instrument=CALL, quantity=10.0), Position(instrument=PERP, quantity=3.0)]
    )


def delta(pf: Portfolio, market: MarketSnapshot) -> float:
    prepared = prepare_book(Book.from_portfolios([pf]), market)
    flat = ScenarioSet(name="base", scenarios=(Scenario(label="base"),))
    ra = build_risk_array(prepared.table, flat)
    return float((prepared.book.quantities @ ra.delta)[0])


def engine_im_usd(name: str, pf: Portfolio, market: MarketSnapshot) -> tuple[float, float]:
    """IM and MM of one account straight from run_method, its rows converted to USD at the
    index and added in row order."""
    method = get_method(name)
    batch = run_method(method, Book.from_portfolios([pf]), market, load_params(method))
    assert not batch.errors
    im = mm = 0.0
    for k, currency in enumerate(batch.currency.tolist()):
        rate = market.index(currency) if currency == "BTC" else 1.0
        im += float(batch.initial_margin[k]) * rate
        mm += float(batch.maintenance_margin[k]) * rate
    return im, mm


@pytest.mark.parametrize("name", ["deribit-pm", "span"])
def test_short_perpetual_of_matching_delta_is_found(
    name: str, demo_snapshot: MarketSnapshot
) -> None:
    pf = long_book()
    report = suggest_hedges(margining(name), Book.from_portfolios([pf]), demo_snapshot, [PERP])
    s = report.suggestions[0]
    d = delta(pf, demo_snapshot)
    assert one(s)[0] == "BTC-PERPETUAL"
    assert one(s)[1] == pytest.approx(-d, rel=0.1)
    assert s.im_after_usd < 0.5 * s.im_before_usd
    assert s.reduction_usd == pytest.approx(s.im_before_usd - s.im_after_usd)
    # a perpetual costs only the half-spread: 1 bp of the index per coin by default
    assert s.premium_usd == 0.0
    assert s.cost_usd == pytest.approx(abs(one(s)[1]) * 1e-4 * demo_snapshot.index("BTC"))


def test_closing_the_position_is_on_the_grid(demo_snapshot: MarketSnapshot) -> None:
    # under the standard method long calls need nothing: selling the 3 perpetuals back
    # takes the margin to exactly 0
    report = suggest_hedges(
        margining("standard"), Book.from_portfolios([long_book()]), demo_snapshot, [PERP]
    )
    s = report.suggestions[0]
    assert (*one(s), s.im_after_usd) == ("BTC-PERPETUAL", -3.0, 0.0)


# okx-pm adds per-expiry charges over the groups the batch holds, so an account run alone
# can differ from the same account in a batch of others in the last bit
LAST_BIT = {"okx-pm": 1e-15}


@pytest.mark.parametrize("name", ["standard", "deribit-pm", "span", "okx-pm", "paradex-pm"])
def test_applied_trade_gives_the_reported_margin_exactly(
    name: str, demo_snapshot: MarketSnapshot
) -> None:
    books = sample_portfolios(demo_snapshot)
    report = suggest_hedges(margining(name), Book.from_portfolios(books), demo_snapshot)
    names = {i.name: i for i in auto_candidates(Book.from_portfolios(books), demo_snapshot)}
    traded = 0
    for pf, s in zip(books, report.suggestions, strict=True):
        assert s.account == pf.account
        assert s.error is None
        before = engine_im_usd(name, pf, demo_snapshot)
        assert (s.im_before_usd, s.mm_before_usd) == before
        if one(s)[0] is None:
            assert (s.im_after_usd, s.mm_after_usd) == before
            continue
        traded += 1
        trade = Position(instrument=names[one(s)[0]], quantity=one(s)[1])
        after = engine_im_usd(name, pf.with_trades([trade]), demo_snapshot)
        if name in LAST_BIT:
            assert (s.im_after_usd, s.mm_after_usd) == pytest.approx(after, rel=LAST_BIT[name])
        else:
            assert (s.im_after_usd, s.mm_after_usd) == after
        assert s.im_after_usd < s.im_before_usd
    assert traded >= 3


def test_batch_gives_the_one_account_answers(demo_snapshot: MarketSnapshot) -> None:
    books = sample_portfolios(demo_snapshot)
    m = margining("deribit-pm")
    candidates = auto_candidates(Book.from_portfolios(books), demo_snapshot)
    whole = suggest_hedges(m, Book.from_portfolios(books), demo_snapshot, candidates)
    for pf, s in zip(books, whole.suggestions, strict=True):
        one = suggest_hedges(m, Book.from_portfolios([pf]), demo_snapshot, candidates)
        assert one.suggestions[0] == s


def test_target_mode_picks_the_cheapest_size_meeting_the_target(
    demo_snapshot: MarketSnapshot,
) -> None:
    pf = long_book()
    m = margining("deribit-pm")
    book = Book.from_portfolios([pf])
    best = suggest_hedges(m, book, demo_snapshot, [PERP]).suggestions[0]
    target = 0.5 * (best.im_before_usd + best.im_after_usd)
    opts = HedgeOptions(objective=Objective.TARGET, target_usd=target)
    s = suggest_hedges(m, book, demo_snapshot, [PERP], opts).suggestions[0]
    assert s.meets_target is True
    assert s.im_after_usd <= target
    # the perpetual's cost grows with size: a slightly smaller short misses the target
    smaller = pf.with_trades([Position(instrument=PERP, quantity=0.99 * one(s)[1])])
    assert engine_im_usd("deribit-pm", smaller, demo_snapshot)[0] > target
    assert abs(one(s)[1]) < abs(one(best)[1])
    assert s.cost_usd < best.cost_usd


def test_target_already_met_or_out_of_reach_means_no_trade(demo_snapshot: MarketSnapshot) -> None:
    m = margining("deribit-pm")
    book = Book.from_portfolios([long_book()])
    for target, meets in ((1e9, True), (0.0, False)):
        opts = HedgeOptions(objective=Objective.TARGET, target_usd=target)
        s = suggest_hedges(m, book, demo_snapshot, [PERP], opts).suggestions[0]
        assert (*one(s), s.cost_usd) == (None, 0.0, 0.0)
        assert s.im_after_usd == s.im_before_usd
        assert s.meets_target is meets


@pytest.mark.parametrize("budget", [0.0, 50.0, 500.0])
def test_budget_is_respected(budget: float, demo_snapshot: MarketSnapshot) -> None:
    books = sample_portfolios(demo_snapshot)
    report = suggest_hedges(
        margining("deribit-pm"),
        Book.from_portfolios(books),
        demo_snapshot,
        options=HedgeOptions(budget_usd=budget),
    )
    for s in report.suggestions:
        assert s.cost_usd <= budget
        assert s.im_after_usd <= s.im_before_usd
    if budget == 0.0:
        # every trade crosses a spread: only selling options for more than that fits
        for s in (s for s in report.suggestions if one(s)[0] is not None):
            assert one(s)[1] < 0
            assert s.premium_usd < -s.crossing_usd


def test_max_quantity_is_respected(demo_snapshot: MarketSnapshot) -> None:
    opts = HedgeOptions(max_quantity=1.5)
    books = sample_portfolios(demo_snapshot)
    report = suggest_hedges(
        margining("span"), Book.from_portfolios(books), demo_snapshot, options=opts
    )
    assert any(one(s)[0] for s in report.suggestions)
    assert all(abs(one(s)[1]) <= 1.5 for s in report.suggestions)


def test_mm_measure(demo_snapshot: MarketSnapshot) -> None:
    opts = HedgeOptions(measure="mm")
    book = Book.from_portfolios([long_book()])
    s = suggest_hedges(margining("span"), book, demo_snapshot, [PERP], opts).suggestions[0]
    assert s.mm_after_usd < s.mm_before_usd
    assert s.reduction_usd == pytest.approx(s.mm_before_usd - s.mm_after_usd)


def test_bad_account_is_reported_and_the_rest_finish(demo_snapshot: MarketSnapshot) -> None:
    unlisted = parse_instrument("BTC-26JUN20-9510-C")
    bad = Portfolio.from_positions("bad", [Position(instrument=unlisted, quantity=1.0)])
    book = Book.from_portfolios([bad, long_book()])
    report = suggest_hedges(margining("deribit-pm"), book, demo_snapshot, [PERP])
    first, second = report.suggestions
    assert first.error is not None
    assert one(first)[0] is None
    assert math.isnan(first.im_before_usd)
    assert first.meets_target is None
    assert second.error is None
    assert one(second)[0] == "BTC-PERPETUAL"


def test_option_costs_are_mark_plus_half_spread(demo_snapshot: MarketSnapshot) -> None:
    quote = next(q for q in demo_snapshot.quotes.values() if q.best_bid is not None and q.best_ask)
    index = demo_snapshot.index("BTC")
    costs = trade_costs([quote.instrument], demo_snapshot, CostModel())
    assert costs.premium[0] == quote.mark_price * index
    assert costs.crossing[0] == 0.5 * (quote.best_ask - quote.best_bid) * index
    half = 0.5 * (quote.best_ask - quote.best_bid)
    bought = costs.cost(np.array([0]), np.array([2.0]))[0]
    sold = costs.cost(np.array([0]), np.array([-2.0]))[0]
    assert bought == pytest.approx(2 * (quote.mark_price + half) * index)
    assert sold == pytest.approx(-2 * (quote.mark_price - half) * index)


def test_fees_are_capped_for_options(demo_snapshot: MarketSnapshot) -> None:
    quote = min(
        (q for q in demo_snapshot.quotes.values() if q.best_bid and q.best_ask),
        key=lambda q: q.mark_price,
    )
    index = demo_snapshot.index("BTC")
    free = trade_costs([quote.instrument, PERP], demo_snapshot, CostModel())
    fees = trade_costs([quote.instrument, PERP], demo_snapshot, CostModel(fee_rate=0.0003))
    option_fee = min(0.0003 * index, 0.125 * quote.mark_price * index)
    assert fees.crossing[0] - free.crossing[0] == pytest.approx(option_fee)
    assert fees.crossing[1] - free.crossing[1] == pytest.approx(0.0003 * index)


def test_options_are_validated() -> None:
    with pytest.raises(ValidationError, match="target_usd"):
        HedgeOptions(objective=Objective.TARGET)
    with pytest.raises(ValidationError, match="target_usd"):
        HedgeOptions(target_usd=100.0)
    with pytest.raises(ValidationError, match="size_fractions"):
        HedgeOptions(size_fractions=(0.5, -1.0))
    with pytest.raises(ValidationError, match="budget_usd"):
        HedgeOptions(budget_usd=-1.0)


def test_candidates_must_be_quoted_derivatives(demo_snapshot: MarketSnapshot) -> None:
    book = Book.from_portfolios([long_book()])
    with pytest.raises(ValidationError, match="candidates"):
        suggest_hedges(
            margining("standard"), book, demo_snapshot, [parse_instrument("BTC-26JUN20-9510-C")]
        )


def test_auto_candidates_follow_the_book(demo_snapshot: MarketSnapshot) -> None:
    names = [i.name for i in auto_candidates(Book.from_portfolios([long_book()]), demo_snapshot)]
    assert "BTC-PERPETUAL" in names
    assert not any(n.startswith("BTC_USDC") for n in names)
    options = [parse_instrument(n) for n in names if n != "BTC-PERPETUAL"]
    assert len({o.expiry_ms for o in options}) == 2
    for o in options:
        forward = demo_snapshot.forward("BTC", o.expiry_ms)
        assert abs(math.log(o.strike / forward)) <= 0.15


def test_per_account_inputs_follow_the_account_into_its_trade_rows(
    demo_snapshot: MarketSnapshot,
) -> None:
    method = get_method("deribit-pm")
    inputs = AccountInputs.of(method.account_inputs, open_orders_margin={("long", "btc_btc"): 0.05})
    plain = margining("deribit-pm")
    with_orders = MethodMargining(method=method, params=plain.params, inputs=inputs)
    pf = long_book()
    other = Portfolio.from_positions("other", pf.positions)
    book = Book.from_portfolios([pf, other])
    s, t = suggest_hedges(with_orders, book, demo_snapshot, [PERP]).suggestions
    orders_usd = 0.05 * demo_snapshot.index("BTC")
    assert s.im_before_usd == pytest.approx(t.im_before_usd + orders_usd)
    # the input is not a position: the same trade is best, with the orders' margin on top
    assert one(s) == one(t)
    assert s.im_after_usd == pytest.approx(t.im_after_usd + orders_usd)
    applied = Book.from_portfolios(
        [pf.with_trades([Position(instrument=PERP, quantity=one(s)[1])])]
    )
    assert with_orders.requirements(applied, demo_snapshot).initial_margin[0] == s.im_after_usd


def test_two_legs_add_a_second_instrument_only_when_it_helps(
    demo_snapshot: MarketSnapshot,
) -> None:
    books = sample_portfolios(demo_snapshot)
    book = Book.from_portfolios(books)
    m = margining("deribit-pm")
    single = suggest_hedges(m, book, demo_snapshot).suggestions
    budget = 1_000.0
    pairs = suggest_hedges(m, book, demo_snapshot, options=HedgeOptions(legs=2)).suggestions
    names = {i.name: i for i in auto_candidates(book, demo_snapshot)}
    seconds = 0
    for pf, s1, s2 in zip(books, single, pairs, strict=True):
        assert s2.trades[:1] == s1.trades
        assert s2.im_after_usd <= s1.im_after_usd
        if len(s2.trades) == 2:
            seconds += 1
            assert s2.im_after_usd < s1.im_after_usd
            assert s2.trades[0].instrument != s2.trades[1].instrument
        trades = [Position(instrument=names[t.instrument], quantity=t.quantity) for t in s2.trades]
        applied = pf.with_trades(trades) if trades else pf
        assert engine_im_usd("deribit-pm", applied, demo_snapshot) == (
            s2.im_after_usd,
            s2.mm_after_usd,
        )
    assert seconds >= 1
    capped = suggest_hedges(
        m, book, demo_snapshot, options=HedgeOptions(legs=2, budget_usd=budget)
    ).suggestions
    assert all(s.cost_usd <= budget for s in capped)


@pytest.mark.parametrize("name", ["deribit-pm", "span", "okx-pm"])
def test_found_size_is_as_good_as_a_fine_brute_force_grid(
    name: str, demo_snapshot: MarketSnapshot
) -> None:
    pf = long_book()
    m = margining(name)
    s = suggest_hedges(m, Book.from_portfolios([pf]), demo_snapshot, [PERP]).suggestions[0]
    sizes = np.linspace(-15.0, 5.0, 2001)  # 0.01 coin steps
    trials = Book.from_portfolios(
        [
            Portfolio.from_positions(
                f"q{k}", pf.with_trades([Position(instrument=PERP, quantity=float(q))]).positions
            )
            for k, q in enumerate(sizes)
            if q != 0
        ]
    )
    brute = np.nanmin(m.requirements(trials, demo_snapshot).initial_margin)
    assert s.im_after_usd <= brute + 1e-3 * s.im_before_usd


@pytest.mark.parametrize("name", method_names())
def test_every_method_hedges_a_short_call_with_the_perpetual(name: str, universe: Universe) -> None:
    perp = next(i for i in universe.instruments if isinstance(i, Perpetual))
    pf = Portfolio.from_positions(
        "short-call", [Position(instrument=universe.short_call, quantity=-5.0)]
    )
    options = HedgeOptions(refine_rounds=2)
    report = suggest_hedges(
        margining(name), Book.from_portfolios([pf]), universe.market, [perp], options
    )
    s = report.suggestions[0]
    assert s.error is None
    assert s.im_after_usd <= s.im_before_usd
    if name != "standard":  # standard margin has no offset between options and perpetuals
        # a short call is hedged by buying the perpetual
        assert [t.quantity > 0 for t in s.trades] == [True]
        assert s.im_after_usd < s.im_before_usd
    trades = [Position(instrument=perp, quantity=t.quantity) for t in s.trades]
    after = engine_im_usd(name, pf.with_trades(trades) if trades else pf, universe.market)
    assert (s.im_after_usd, s.mm_after_usd) == after
