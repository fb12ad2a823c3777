"""Instrument tables, risk arrays and books against closed forms and direct pricing."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.core import MarketDataError, ValidationError
from portmargin.instruments import parse_instrument
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio, Position
from portmargin.pricing import black76
from portmargin.risk import (
    Book,
    Kind,
    RiskArray,
    build_risk_array,
    prepare_book,
    resolve_instruments,
    scenario_pnl,
    set_aside,
    unit_values,
    with_expired_at_intrinsic,
)
from portmargin.scenarios import Scenario, ScenarioSet, VolShockLaw

NAMES = [
    "BTC-26JUN20-9000-C",
    "BTC-26JUN20-8000-P",
    "BTC-PERPETUAL",
    "BTC-26JUN20",
    "BTC_USDC-PERPETUAL",
    "BTC_USDC",
    "BTC",
    "USDC",
]
LAW = VolShockLaw(short_term_power=0.3, long_term_power=0.13, min_vol_up=0.5)
GRID = ScenarioSet(
    name="grid",
    scenarios=tuple(
        Scenario(label=f"{m:+} {v:+} {t:+}", spot_shock=m, vol_shock=v, time_shift_days=t)
        for m in (-0.3, 0.0, 0.2)
        for v in (-0.25, 0.0, 0.5)
        for t in (0.0, 2.0)
    ),
    vol_law=LAW,
)


@pytest.fixture(scope="module")
def risk(demo_snapshot: MarketSnapshot) -> RiskArray:
    table = resolve_instruments([parse_instrument(n) for n in NAMES], demo_snapshot)
    return build_risk_array(table, GRID)


def test_table_resolution(demo_snapshot: MarketSnapshot) -> None:
    table = resolve_instruments([parse_instrument(n) for n in NAMES], demo_snapshot)
    assert not table.missing
    assert list(table.kind) == [
        Kind.OPTION, Kind.OPTION, Kind.PERPETUAL, Kind.FUTURE,
        Kind.PERPETUAL, Kind.SPOT, Kind.CURRENCY, Kind.CURRENCY,
    ]  # fmt: skip
    expiry = parse_instrument("BTC-26JUN20").expiry_ms  # type: ignore[union-attr]
    assert table.forward[0] == demo_snapshot.forward("BTC", expiry)
    assert table.sigma[0] == pytest.approx(float(demo_snapshot.vol("BTC", expiry, [9000.0])[0]))
    assert table.forward[2] == demo_snapshot.index("BTC")
    assert list(table.settlement_currency) == [
        "BTC", "BTC", "BTC", "BTC", "USDC", "USDC", "BTC", "USDC",
    ]  # fmt: skip
    assert table.index[-1] == 1.0


def test_missing_data_is_listed_not_raised(demo_snapshot: MarketSnapshot) -> None:
    names = ["ETH-26JUN20-200-C", "BTC-21MAY20-9000-C", "BTC-PERPETUAL"]
    table = resolve_instruments([parse_instrument(n) for n in names], demo_snapshot)
    assert "ETH" in table.missing["ETH-26JUN20-200-C"]
    assert "expired" in table.missing["BTC-21MAY20-9000-C"]
    assert list(table.usable) == [False, False, True]
    with pytest.raises(MarketDataError, match="ETH-26JUN20-200-C"):
        build_risk_array(table, GRID)


def test_options_past_expiry_at_intrinsic_on_the_index(demo_snapshot: MarketSnapshot) -> None:
    names = ["ETH-26JUN20-200-C", "BTC-21MAY20-9000-C", "BTC-21MAY20-9000-P", "BTC-PERPETUAL"]
    table = resolve_instruments([parse_instrument(n) for n in names], demo_snapshot)
    revived = with_expired_at_intrinsic(table)
    assert list(revived.past_expiry) == [False, True, True, False]
    assert list(revived.missing) == ["ETH-26JUN20-200-C"]  # no ETH index: still missing
    index = demo_snapshot.index("BTC")
    assert revived.forward[1:3].tolist() == [index, index]
    assert revived.tau[1:3].tolist() == [0.0, 0.0]
    values = unit_values(revived)
    # inverse options: intrinsic in coin, max(+-(S - K), 0) / S
    assert values[1] == pytest.approx(max(index - 9000.0, 0.0) / index, rel=1e-15)
    assert values[2] == pytest.approx(max(9000.0 - index, 0.0) / index, rel=1e-15, abs=0.0)
    assert with_expired_at_intrinsic(revived) is revived
    prepared = prepare_book(
        Book.from_portfolios(
            [
                Portfolio.from_positions(
                    "old", [Position(instrument=parse_instrument(names[1]), quantity=1.0)]
                )
            ]
        ),
        demo_snapshot,
        expired_at_intrinsic=True,
    )
    assert prepared.errors == {}
    assert list(prepared.table.past_expiry) == [True]


def test_delta_one_closed_forms(risk: RiskArray) -> None:
    m = GRID.column("spot_shock")
    np.testing.assert_allclose(risk.pnl[2], 1 - 1 / (1 + m), rtol=0, atol=1e-15)
    np.testing.assert_allclose(risk.pnl[3], 1 - 1 / (1 + m), rtol=0, atol=1e-15)
    index = risk.table.index[4]
    np.testing.assert_allclose(risk.pnl[4], index * m, rtol=1e-15)
    np.testing.assert_allclose(risk.pnl[5], index * m, rtol=1e-15)
    assert np.all(risk.pnl[6:] == 0.0)
    np.testing.assert_array_equal(risk.delta[2:], [1, 1, 1, 1, 1, 0])


def test_options_match_direct_black76(risk: RiskArray) -> None:
    t = risk.table
    for row in (0, 1):
        F, K, T, sig = t.forward[row], t.strike[row], t.tau[row], t.sigma[row]
        call = bool(t.is_call[row])
        base = float(black76.price(F, K, T, sig, call)) / F
        for s, sc in enumerate(GRID.scenarios):
            factor = LAW.term_factor(np.array([T * 365]))[0]
            vol = max(sig * (1 + sc.vol_shock * factor), 0.5 if sc.vol_shock > 0 else 0.0)
            F1 = F * (1 + sc.spot_shock)
            T1 = T - sc.time_shift_days / 365
            expected = float(black76.price(F1, K, T1, vol, call)) / F1 - base
            assert risk.pnl[row, s] == pytest.approx(expected, rel=1e-12, abs=1e-15)
        unshocked = GRID.labels.index("+0.0 +0.0 +0.0")
        assert risk.pnl[row, unshocked] == 0.0


def test_usd_conversion_at_scenario_price(risk: RiskArray) -> None:
    m = GRID.column("spot_shock")
    usd = risk.pnl_usd()
    index = risk.table.index[0]
    np.testing.assert_allclose(usd[0], risk.pnl[0] * index * (1 + m), rtol=1e-15)
    np.testing.assert_array_equal(usd[4], risk.pnl[4])  # USDC-settled
    np.testing.assert_allclose(usd[6], index * m, rtol=1e-15)  # a BTC balance moves with BTC
    assert np.all(usd[7] == 0.0)  # a USDC balance does not


def test_time_shift_ages_the_discount_factor(demo_snapshot: MarketSnapshot) -> None:
    from dataclasses import replace

    market = replace(demo_snapshot, rates={"USDC": 0.05})
    table = resolve_instruments([parse_instrument("BTC_USDC-26JUN20-9000-C")], market)
    aged = ScenarioSet(name="t", scenarios=(Scenario(label="10d", time_shift_days=10.0),))
    ra = build_risk_array(table, aged)
    F, K, T, sig, D = table.forward[0], 9000.0, table.tau[0], table.sigma[0], table.df[0]
    T1 = T - 10 / 365
    expected = black76.price(F, K, T1, sig, True, np.exp(-0.05 * T1)) - black76.price(
        F, K, T, sig, True, D
    )
    assert ra.pnl[0, 0] == pytest.approx(float(expected), rel=1e-12)


def test_book_and_scenario_pnl(demo_snapshot: MarketSnapshot, risk: RiskArray) -> None:
    def pos(name: str, q: float) -> Position:
        return Position(instrument=parse_instrument(name), quantity=q)

    book = Book.from_portfolios(
        [
            Portfolio.from_positions("a", [pos("BTC-PERPETUAL", 2.0), pos("BTC-26JUN20", -2.0)]),
            Portfolio.from_positions("b", [pos("BTC-26JUN20-9000-C", -1.0)]),
            Portfolio(account="empty"),
        ]
    )
    assert book.shape == (3, 3)
    prepared = prepare_book(book, demo_snapshot)
    assert not prepared.errors
    ra = build_risk_array(prepared.table, GRID)
    pnl = scenario_pnl(prepared.book, np.arange(3), ra.pnl)
    np.testing.assert_allclose(pnl[0], 0.0, atol=1e-15)  # inverse future vs perpetual nets
    call = prepared.table.names.index("BTC-26JUN20-9000-C")
    np.testing.assert_allclose(pnl[1], -ra.pnl[call], rtol=1e-15)
    assert np.all(pnl[2] == 0.0)
    assert list(book.holders(np.array([2]))) == [False, True, False]


def test_prepare_book_sets_aside_bad_accounts(demo_snapshot: MarketSnapshot) -> None:
    book = Book.from_portfolios(
        [
            Portfolio.from_positions(
                "eth", [Position(instrument=parse_instrument("ETH-PERPETUAL"), quantity=1.0)]
            ),
            Portfolio.from_positions(
                "btc", [Position(instrument=parse_instrument("BTC-PERPETUAL"), quantity=1.0)]
            ),
        ]
    )
    prepared = prepare_book(book, demo_snapshot)
    assert list(prepared.errors) == ["eth"]
    assert prepared.book.accounts == ("btc",)
    assert [i.name for i in prepared.book.instruments] == ["BTC-PERPETUAL"]


def test_book_validation() -> None:
    import scipy.sparse as sp

    inst = (parse_instrument("BTC-PERPETUAL"),)
    with pytest.raises(ValidationError, match="shape"):
        Book(accounts=("a", "b"), instruments=inst, quantities=sp.csr_array((1, 1)))
    bad = sp.csr_array(np.array([[np.nan]]))
    with pytest.raises(ValidationError, match="finite"):
        Book(accounts=("a",), instruments=inst, quantities=bad)


def test_discount_follows_each_option_quote_currency(demo_snapshot: MarketSnapshot) -> None:
    from dataclasses import replace

    market = replace(demo_snapshot, rates={"USDC": 0.05})
    names = ["BTC-26JUN20-9000-C", "BTC_USDC-26JUN20-9000-C"]
    table = resolve_instruments([parse_instrument(n) for n in names], market)
    assert table.df[0] == 1.0  # inverse options are quoted in USD (rate 0 on Deribit)
    assert table.df[1] == pytest.approx(np.exp(-0.05 * table.tau[1]), rel=1e-15)


def test_set_aside_first_group_wins_in_group_then_book_order() -> None:
    """Holders of each group's columns leave the book with the first group's reason; errors
    list accounts by that group, then in book order; nobody set aside returns the book."""
    insts = [parse_instrument(n) for n in ("BTC-PERPETUAL", "ETH-PERPETUAL", "BTC-26JUN20")]
    book = Book.from_arrays(
        ["a", "b", "c", "d", "e"],
        insts,
        np.array([0, 1, 1, 2, 3, 4], dtype=np.intp),
        np.array([1, 0, 2, 2, 0, 1], dtype=np.intp),
        np.array([1.0, 1.0, -1.0, 2.0, 1.0, 3.0]),
    )
    good, errors = set_aside(book, [(np.array([2]), "no fut"), (np.array([1, 2]), "no eth")])
    assert list(errors.items()) == [
        ("b", "no fut"),
        ("c", "no fut"),
        ("a", "no eth"),
        ("e", "no eth"),
    ]
    assert good.accounts == ("d",)
    assert good.instruments == book.instruments
    assert good.quantities.toarray().tolist() == [[1.0, 0.0, 0.0]]
    same, none = set_aside(book, [(np.zeros(0, dtype=np.intp), "unused")])
    assert same is book
    assert none == {}
    assert set_aside(book, []) == (book, {})
