"""MarketSnapshot: validation, forward and vol interpolation rules, bulk accessors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.core import MS_PER_DAY, MarketDataError, ValidationError, year_fraction
from portmargin.data import demo_chain_path, demo_daily_paths
from portmargin.instruments import Perpetual, parse_instrument
from portmargin.io import load_history
from portmargin.io.deribit import load_deribit_chain_csv
from portmargin.market import FutureQuote, MarketSnapshot, VolSmile

VALUATION_MS = 1590103355277
E1 = VALUATION_MS + 30 * MS_PER_DAY
E2 = VALUATION_MS + 120 * MS_PER_DAY
SPOT = 9000.0
F1, F2 = 9050.0, 9200.0
STRIKES = [7000.0, 9000.0, 11000.0]


def smile(expiry_ms: int, forward: float, vols: list[float]) -> VolSmile:
    return VolSmile(
        expiry_ms=expiry_ms, forward=forward, strikes=np.array(STRIKES), vols=np.array(vols)
    )


def snapshot(**overrides: object) -> MarketSnapshot:
    fields: dict[str, object] = {
        "valuation_ms": VALUATION_MS,
        "index_prices": {"BTC": SPOT, "ETH": 200.0},
        "forwards": {("BTC", E1): F1, ("BTC", E2): F2, ("ETH", E1): 201.0},
        "smiles": {
            ("BTC", E1): smile(E1, F1, [0.9, 0.8, 0.85]),
            ("BTC", E2): smile(E2, F2, [0.95, 0.85, 0.9]),
            ("ETH", E1): VolSmile(
                expiry_ms=E1, forward=201.0, strikes=np.array([200.0]), vols=np.array([1.1])
            ),
        },
        "rates": {"USDC": 0.05},
        "metadata": {"source": "test"},
    }
    fields.update(overrides)
    return MarketSnapshot(**fields)  # type: ignore[arg-type]


def tau(expiry_ms: int) -> float:
    return float(year_fraction(VALUATION_MS, expiry_ms))


class TestForward:
    def test_listed_expiry_is_exact(self) -> None:
        market = snapshot()
        assert market.forward("BTC", E1) == F1
        assert market.forward("BTC", E2) == F2

    def test_index_at_and_before_valuation(self) -> None:
        market = snapshot()
        assert market.forward("BTC", VALUATION_MS) == pytest.approx(SPOT, rel=1e-15)
        assert market.forward("BTC", VALUATION_MS - MS_PER_DAY) == pytest.approx(SPOT, rel=1e-15)

    def test_log_basis_linear_in_time_from_the_index(self) -> None:
        market = snapshot()
        half = VALUATION_MS + 15 * MS_PER_DAY
        expected = SPOT * math.exp(0.5 * math.log(F1 / SPOT))
        assert market.forward("BTC", half) == pytest.approx(expected, rel=1e-13)

    def test_log_basis_linear_in_time_between_expiries(self) -> None:
        market = snapshot()
        middle = (E1 + E2) // 2
        weight = (middle - E1) / (E2 - E1)
        log_basis = (1 - weight) * math.log(F1 / SPOT) + weight * math.log(F2 / SPOT)
        assert market.forward("BTC", middle) == pytest.approx(SPOT * math.exp(log_basis), rel=1e-13)

    def test_annualised_basis_of_last_expiry_is_kept_beyond_it(self) -> None:
        market = snapshot()
        later = VALUATION_MS + 240 * MS_PER_DAY
        expected = SPOT * math.exp(math.log(F2 / SPOT) * tau(later) / tau(E2))
        assert market.forward("BTC", later) == pytest.approx(expected, rel=1e-13)

    def test_missing_data_names_the_underlying(self) -> None:
        market = snapshot(index_prices={"BTC": SPOT, "ETH": 200.0, "SOL": 20.0})
        with pytest.raises(MarketDataError, match=r"'XRP'.*have: BTC, ETH, SOL"):
            market.forward("XRP", E1)
        with pytest.raises(MarketDataError, match="no forward for underlying 'SOL'"):
            market.forward("SOL", E1)
        assert market.index("SOL") == 20.0


class TestVol:
    def test_listed_expiry_uses_its_smile(self) -> None:
        market = snapshot()
        strikes = np.array([6000.0, 8000.0, 9000.0, 10000.0, 20000.0])
        np.testing.assert_array_equal(
            market.vol("BTC", E1, strikes), market.smiles["BTC", E1].vol(strikes)
        )

    def test_total_variance_linear_in_time_at_same_moneyness(self) -> None:
        market = snapshot()
        middle = VALUATION_MS + 75 * MS_PER_DAY
        strikes = np.array([5000.0, 8500.0, 9100.0, 12000.0])
        k = np.log(strikes / market.forward("BTC", middle))
        w1 = market.smiles["BTC", E1].vol_at_moneyness(k) ** 2 * tau(E1)
        w2 = market.smiles["BTC", E2].vol_at_moneyness(k) ** 2 * tau(E2)
        weight = (middle - E1) / (E2 - E1)
        expected = np.sqrt((w1 + weight * (w2 - w1)) / tau(middle))
        np.testing.assert_allclose(market.vol("BTC", middle, strikes), expected, rtol=1e-13)

    def test_flat_vol_before_first_and_after_last_smile(self) -> None:
        market = snapshot()
        for expiry, nearest in ((VALUATION_MS + MS_PER_DAY, E1), (E2 + 400 * MS_PER_DAY, E2)):
            strikes = np.array([7500.0, 10500.0])
            k = np.log(strikes / market.forward("BTC", expiry))
            expected = market.smiles["BTC", nearest].vol_at_moneyness(k)
            np.testing.assert_allclose(market.vol("BTC", expiry, strikes), expected, rtol=1e-14)

    def test_expired_expiry_still_gives_a_finite_vol(self) -> None:
        market = snapshot()
        out = market.vol("BTC", VALUATION_MS - MS_PER_DAY, [9000.0])
        assert np.isfinite(out).all()

    def test_missing_smile_and_bad_strikes(self) -> None:
        market = snapshot(smiles={})
        with pytest.raises(MarketDataError, match="no vol smile for underlying 'BTC'"):
            market.vol("BTC", E1, [9000.0])
        with pytest.raises(ValidationError, match="strikes"):
            snapshot().vol("BTC", E1, [0.0])


class TestBulk:
    def test_forwards_for_matches_scalar(self) -> None:
        market = snapshot()
        names = ["BTC", "ETH", "BTC", "BTC"]
        expiries = [E1, E1, (E1 + E2) // 2, VALUATION_MS - 1]
        out = market.forwards_for(names, np.array(expiries, dtype=np.int64))
        expected = [market.forward(u, e) for u, e in zip(names, expiries, strict=True)]
        np.testing.assert_array_equal(out, expected)

    def test_vols_for_matches_scalar_and_broadcasts(self) -> None:
        market = snapshot()
        names = np.array(["BTC", "BTC", "ETH", "BTC", "BTC"])
        expiries = np.array([E1, E2, E1, E1 + MS_PER_DAY, E1])
        strikes = np.array([8000.0, 8000.0, 190.0, 9500.0, 12000.0])
        out = market.vols_for(names, expiries, strikes)
        expected = [
            float(market.vol(str(u), int(e), k))
            for u, e, k in zip(names, expiries, strikes, strict=True)
        ]
        np.testing.assert_array_equal(out, expected)
        assert market.vols_for("BTC", E1, np.full((2, 2), 9000.0)).shape == (2, 2)

    def test_expiries_must_be_integers(self) -> None:
        with pytest.raises(ValidationError, match="expiries_ms"):
            snapshot().forwards_for(["BTC"], [1.5e12])


class TestOtherAccessors:
    def test_discount_factor(self) -> None:
        market = snapshot()
        assert market.discount_factor("USD", E2) == 1.0
        assert market.discount_factor("USDC", E2) == pytest.approx(math.exp(-0.05 * tau(E2)))
        assert market.discount_factor("USDC", VALUATION_MS - MS_PER_DAY) == 1.0

    def test_year_fraction_and_listing(self) -> None:
        market = snapshot()
        assert market.year_fraction(E1) == pytest.approx(30 / 365, rel=1e-15)
        assert market.expiries("BTC") == (E1, E2)
        assert market.underlyings == ("BTC", "ETH")


class TestValidation:
    def test_mappings_are_read_only_and_object_frozen(self) -> None:
        market = snapshot()
        with pytest.raises(TypeError):
            market.forwards["BTC", E1] = 1.0  # type: ignore[index]
        with pytest.raises(dataclasses.FrozenInstanceError):
            market.valuation_ms = 1  # type: ignore[misc]

    def test_replace_returns_a_new_validated_snapshot(self) -> None:
        market = snapshot()
        moved = dataclasses.replace(market, index_prices={"BTC": 9100.0, "ETH": 200.0})
        assert moved.index("BTC") == 9100.0
        assert market.index("BTC") == SPOT
        with pytest.raises(ValidationError, match="valuation_ms"):
            dataclasses.replace(market, valuation_ms=E1)

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"valuation_ms": -5}, "valuation_ms"),
            ({"index_prices": {"BTC": 0.0}}, "index_prices['BTC']"),
            ({"index_prices": [("BTC", 1.0)]}, "index_prices"),
            ({"forwards": {("BTC", VALUATION_MS): 9000.0}, "smiles": {}}, "forwards"),
            ({"forwards": {"BTC": 9000.0}, "smiles": {}}, "forwards"),
            ({"forwards": {("DOGE", E1): 0.1}, "smiles": {}}, "forwards"),
            ({"forwards": {("BTC", E1): math.nan}, "smiles": {}}, f"forwards[('BTC', {E1})]"),
            ({"forwards": {("BTC", E1): F1}}, f"smiles[('BTC', {E2})]"),
            ({"smiles": {("BTC", E1): smile(E1, 9051.0, [0.8] * 3)}}, f"smiles[('BTC', {E1})]"),
            ({"smiles": {("BTC", E2): smile(E1, F1, [0.8] * 3)}}, f"smiles[('BTC', {E2})]"),
            ({"rates": {"USD": math.inf}}, "rates['USD']"),
            ({"metadata": {"source": 1}}, "metadata"),
        ],
    )
    def test_invalid_fields_are_named(self, overrides: dict[str, object], field: str) -> None:
        with pytest.raises(ValidationError) as caught:
            snapshot(**overrides)
        assert caught.value.field == field

    def test_quotes_are_keyed_by_their_own_name(self) -> None:
        perpetual = parse_instrument("BTC-PERPETUAL")
        assert isinstance(perpetual, Perpetual)
        quote = FutureQuote(
            instrument_name="BTC-PERPETUAL",
            instrument=perpetual,
            timestamp_ms=VALUATION_MS,
            mark_price=9083.9,
        )
        assert snapshot(futures={"BTC-PERPETUAL": quote}).futures["BTC-PERPETUAL"] is quote
        with pytest.raises(ValidationError, match="futures"):
            snapshot(futures={"BTC-26JUN20": quote})
        with pytest.raises(ValidationError, match="quotes"):
            snapshot(quotes={"BTC-PERPETUAL": quote})


@st.composite
def calendar_markets(draw: st.DrawFn) -> MarketSnapshot:
    """Snapshots whose total variance at every node moneyness grows with expiry."""
    days = draw(st.lists(st.integers(1, 1000), min_size=1, max_size=5, unique=True).map(sorted))
    nodes = draw(st.lists(st.integers(-20, 20), min_size=1, max_size=6, unique=True).map(sorted))
    k_nodes = np.array(nodes) / 10.0
    variance = np.array(
        draw(st.lists(st.floats(1e-4, 1.0), min_size=len(nodes), max_size=len(nodes)))
    )
    forwards, smiles = {}, {}
    for day in days:
        expiry = VALUATION_MS + day * MS_PER_DAY
        forward = SPOT * math.exp(draw(st.floats(-0.2, 0.2)))
        vols = np.sqrt(variance / tau(expiry))
        forwards["BTC", expiry] = forward
        smiles["BTC", expiry] = VolSmile(
            expiry_ms=expiry, forward=forward, strikes=forward * np.exp(k_nodes), vols=vols
        )
        variance = variance + np.array(
            draw(st.lists(st.floats(0.0, 0.5), min_size=len(nodes), max_size=len(nodes)))
        )
    return MarketSnapshot(
        valuation_ms=VALUATION_MS, index_prices={"BTC": SPOT}, forwards=forwards, smiles=smiles
    )


@settings(max_examples=50, deadline=None)
@given(calendar_markets(), st.floats(-3.0, 3.0))
def test_total_variance_is_monotone_in_time_at_fixed_moneyness(
    market: MarketSnapshot, k: float
) -> None:
    expiries = np.unique(
        np.concatenate(
            [
                VALUATION_MS + np.arange(1, 1200, 23) * MS_PER_DAY,
                np.array(market.expiries("BTC")),
            ]
        )
    )
    total = []
    for expiry in expiries:
        strike = market.forward("BTC", int(expiry)) * math.exp(k)
        vol = float(market.vol("BTC", int(expiry), strike))
        assert math.isfinite(vol)
        assert vol >= 0.0
        total.append(vol**2 * tau(int(expiry)))
    assert np.all(np.diff(total) >= -1e-12)


def reference_forward(market: MarketSnapshot, underlying: str, expiry_ms: int) -> float:
    """The forward rule of the class notes, rebuilt from ``market.forwards`` on every call."""
    spot = market.index(underlying)
    listed = sorted(e for u, e in market.forwards if u == underlying)
    if expiry_ms in listed:
        return market.forwards[underlying, expiry_ms]
    listed_forwards = np.array([market.forwards[underlying, e] for e in listed])
    times = year_fraction(market.valuation_ms, np.array(listed, dtype=np.int64))
    log_basis = np.log(listed_forwards / spot)
    t = year_fraction(market.valuation_ms, np.array([expiry_ms], dtype=np.int64))
    inside = np.interp(t, np.concatenate(([0.0], times)), np.concatenate(([0.0], log_basis)))
    beyond = log_basis[-1] / times[-1] * t
    return float((spot * np.exp(np.where(t > times[-1], beyond, inside)))[0])


@settings(max_examples=50, deadline=None)
@given(
    calendar_markets(),
    st.lists(st.integers(-100 * MS_PER_DAY, 1500 * MS_PER_DAY), min_size=1, max_size=20),
)
def test_forward_curves_built_once_give_the_rebuilt_forwards_exactly(
    market: MarketSnapshot, offsets: list[int]
) -> None:
    listed = list(market.expiries("BTC"))
    expiries = [VALUATION_MS + o for o in offsets] + listed
    expected = [reference_forward(market, "BTC", e) for e in expiries]
    assert [market.forward("BTC", e) for e in expiries] == expected
    bulk = market.forwards_for("BTC", np.array(expiries, dtype=np.int64))
    assert bulk.tolist() == expected
    assert listed == sorted(e for _, e in market.forwards)


def test_derived_fields_follow_a_replaced_snapshot() -> None:
    market = snapshot()
    moved = dataclasses.replace(market, forwards={("BTC", E1): 9100.0}, smiles={})
    assert moved.forward("BTC", E1) == 9100.0
    assert moved.expiries("BTC") == (E1,)
    assert moved.expiries("ETH") == ()
    with pytest.raises(MarketDataError, match="no forward for underlying 'ETH'"):
        moved.forward("ETH", E1)
    assert market.forward("BTC", E2) == F2


def test_quoted_options_are_the_keys_of_the_quotes() -> None:
    market = load_deribit_chain_csv(demo_chain_path()).snapshot
    expected = {
        (q.instrument.underlying, q.instrument.expiry_ms, q.instrument.strike, q.instrument.is_call)
        for q in market.quotes.values()
    }
    assert market.quoted_options == expected
    assert len(expected) > 0
    assert snapshot().quoted_options == frozenset()


def test_a_snapshot_carries_its_daily_history() -> None:
    snapshot = MarketSnapshot(valuation_ms=1_590_000_000_000, index_prices={"BTC": 9_000.0})
    assert snapshot.history is None
    history = load_history(demo_daily_paths()).history
    carried = snapshot.with_history(history)
    assert carried.history is history
    assert carried.index_prices == snapshot.index_prices
    with pytest.raises(ValidationError, match="history"):
        MarketSnapshot(valuation_ms=1_590_000_000_000, index_prices={"BTC": 1.0}, history="x")  # type: ignore[arg-type]
