"""okx-pm/2024: spot in the USDT unit by default (OKX's 2024-05-31 example), a spot unit chosen
per account, and the pre-merge MR4 form (one maximum forward price move, 0.6 % for BTC)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linear_market_support import book, linear_future, market, perp
from portmargin.core import ValidationError
from portmargin.instruments import Currency, Instrument, Perpetual, Settlement, Spot
from portmargin.io.params import load_params
from portmargin.methods import AccountInputs
from portmargin.methods.okx_pm import Mr4Form, OkxParams, OkxPM
from portmargin.results import MarginBatch

METHOD = OkxPM()


def _inputs(**values: Mapping[str, object]) -> AccountInputs:
    """Per-account inputs of okx-pm."""
    return AccountInputs.of(OkxPM.account_inputs, **values)


SPOT = 70_000.0
COIN = Currency(code="BTC")
COIN_PERP = Perpetual(underlying="BTC", quote="USD", settlement=Settlement.INVERSE)


def _pack(name: str) -> OkxParams:
    loaded = load_params(METHOD, name)
    assert isinstance(loaded, OkxParams)
    return loaded


OLD = _pack("okx-pm/2024")
NEW = _pack("okx-pm/2025")


def _one(batch: MarginBatch, name: str, account: str = "a") -> float:
    return float(batch.components[name][batch.rows_of(account)[0]])


def _mmr(batch: MarginBatch, account: str = "a") -> float:
    return float(batch.maintenance_margin[batch.rows_of(account)[0]])


def test_pack_values() -> None:
    """DOC: spot joins the USDT unit by default; MR4 is the 0.6 % maximum forward price move
    of BTC and ETH (no pre-merge value published for other tiers)."""
    assert OLD.spot_margin_currency == "USDT"
    assert OLD.mr4_form is Mr4Form.MAX_FORWARD_MOVE
    assert (OLD.mr4_annual_move("BTC"), OLD.mr4_annual_move("ETH")) == (0.006, 0.006)
    with pytest.raises(ValidationError, match="mr4_tiers"):
        OLD.mr4_annual_move("SOL")


def test_doc_2024_05_31_example() -> None:
    """DOC (OKX, "OKX to enhance new features in portfolio margin mode", 2024-05-31): BTC spot
    10 BTC against -1,000 BTCUSDT perpetual contracts (0.01 BTC each): MR1, 2, 3, 5, 6 = 0,
    MR4 = 8,053.32, MMR = max(max(MR1, MR2, MR6) + MR3 + MR4 + MR5, MR7) = 8,053.32 USDT.

    The price is not published; S = 67,111 gives MR4 = 20 x S x 0.6 % = 8,053.32 exactly.
    MR7 (venue 3,020.17) uses the uncalibrated raw-charge rate here: 0.02 % x 10 x S, below
    MR4, so MMR = MR4 as at the venue. The example's spot buy order (5 BTC) is not a
    position: with 15 BTC spot MR4 is the same 20 x S x 0.6 %."""
    mk = market(spots={"BTC": 67_111.0})
    bk = book(
        {
            "a": [(COIN, 10.0), (perp(quote="USDT"), -10.0)],
            "with_order": [(COIN, 15.0), (perp(quote="USDT"), -10.0)],
        }
    )
    batch = METHOD.compute(bk, mk, OLD)
    assert batch.errors == {}
    for name in ("mr1", "mr2", "mr3", "mr5", "mr6"):
        assert _one(batch, name) == pytest.approx(0.0, abs=1e-6), name
        assert _one(batch, f"{name}/BTC-USDT") == pytest.approx(0.0, abs=1e-6), name
    assert round(_one(batch, "mr4/BTC-USDT"), 2) == 8_053.32
    assert _one(batch, "mr4") == pytest.approx(8_053.32, abs=1e-9)
    assert _one(batch, "mr7") == pytest.approx(0.0002 * 10 * 67_111.0)
    assert _mmr(batch) == pytest.approx(8_053.32, abs=1e-9)
    assert batch.initial_margin[batch.rows_of("a")[0]] == pytest.approx(1.3 * 8_053.32)
    assert not any(k.endswith("/BTC-USD") for k in batch.components)
    assert _one(batch, "mr4", "with_order") == pytest.approx(8_053.32, abs=1e-9)


def test_pre_merge_mr4_ignores_time_to_expiry() -> None:
    """Pre-merge MR4 = S x 0.6 % x (sum |delta_g| - |sum delta_g|), whatever the expiry: a
    lone future 0, a future against a perp or a calendar 2 x S x 0.6 % = 840 (the 2025 form
    scales with T: S (max(0.5 %, 5 % T) + 0.5 %))."""
    mk = market(days=(30.0, 182.5))
    near, far = linear_future(30.0), linear_future(182.5)
    bk = book(
        {
            "alone": [(far, 1.0)],
            "basis": [(far, 1.0), (perp(), -1.0)],
            "calendar": [(near, 1.0), (far, -1.0)],
        }
    )
    batch = METHOD.compute(bk, mk, OLD)
    assert _one(batch, "mr4", "alone") == pytest.approx(0.0, abs=1e-9)
    assert _one(batch, "mr4", "basis") == pytest.approx(2 * SPOT * 0.006)
    assert _one(batch, "mr4", "calendar") == pytest.approx(2 * SPOT * 0.006)
    merged = METHOD.compute(bk, mk, NEW)
    m = 0.05 * 182.5 / 365.0
    assert _one(merged, "mr4", "basis") == pytest.approx(SPOT * (m + 0.005))
    assert any("MR4 pre-merge form" in n for n in batch.notes)
    assert not any("MR4 pre-merge form" in n for n in merged.notes)


def test_other_tiers_reported_not_guessed() -> None:
    """No pre-merge MR4 value is published outside BTC and ETH: such accounts are reported."""
    mk = market(spots={"BTC": SPOT, "SOL": 150.0})
    batch = METHOD.compute(book({"a": [(perp(), 1.0)], "sol": [(perp("SOL"), 1.0)]}), mk, OLD)
    assert batch.account.tolist() == ["a"]
    assert "mr4_tiers" in batch.errors["sol"]


def test_spot_unit_per_account() -> None:
    """Each account's BTC balance joins the unit it chose: USDT (default) leaves the
    coin-margined perp alone (two MR6 of 21,000), USD offsets it (MR4 = 2 S x 0.6 % = 840),
    USDC gives a third unit; a USDT perp is offset by the default only."""
    legs = [(COIN, 1.0), (COIN_PERP, -1.0)]
    bk = book(
        {"a": legs, "usd": legs, "usdc": legs, "usdt": [(COIN, 1.0), (perp(quote="USDT"), -1.0)]}
    )
    batch = METHOD.compute(
        bk, market(), OLD, inputs=_inputs(spot_unit={"usd": "USD", "usdc": "USDC"})
    )
    assert batch.errors == {}
    assert _one(batch, "mr6/BTC-USDT", "a") == pytest.approx(21_000.0)
    assert _one(batch, "mr6/BTC-USD", "a") == pytest.approx(21_000.0)
    assert _mmr(batch, "a") == pytest.approx(42_000.0)
    assert _one(batch, "mr6/BTC-USD", "usd") == pytest.approx(0.0, abs=1e-6)
    assert _one(batch, "mr4/BTC-USD", "usd") == pytest.approx(840.0)
    assert _mmr(batch, "usd") == pytest.approx(840.0)
    assert _one(batch, "mr6/BTC-USDC", "usdc") == pytest.approx(21_000.0)
    assert _mmr(batch, "usdc") == pytest.approx(42_000.0)
    assert _mmr(batch, "usdt") == pytest.approx(840.0)
    assert any("spot_unit: 2 account(s)" in n for n in batch.notes)
    explained = batch.result(batch.rows_of("a")[0]).contributions
    assert {c.instrument for c in explained} <= {COIN.name, COIN_PERP.name}


def test_spot_unit_of_a_spot_pair() -> None:
    """A BTC/USDT spot pair follows the same choice as a coin balance."""
    pair = Spot(base="BTC", quote="USDT")
    bk = book({"a": [(pair, 1.0), (COIN_PERP, -1.0)]})
    assert _mmr(METHOD.compute(bk, market(), OLD)) == pytest.approx(42_000.0)
    assert _mmr(
        METHOD.compute(bk, market(), OLD, inputs=_inputs(spot_unit={"a": "USD"}))
    ) == pytest.approx(840.0)


@pytest.mark.parametrize(
    ("spot_unit", "params", "match"),
    [
        ({"a": "EUR"}, OLD, r"spot_unit\['a'\]: got 'EUR', expected one of 'USDT', 'USDC', 'USD'"),
        ({"a": "usdt"}, OLD, r"spot_unit\['a'\]"),
        ({"zz": "USD"}, OLD, r"spot_unit\['zz'\].*an account of the book"),
        ({"a": "USD"}, NEW, r"spot_unit.*merged risk units"),
    ],
)
def test_spot_unit_validation(spot_unit: dict[str, str], params: OkxParams, match: str) -> None:
    """Unknown units, unknown accounts and a choice with merged units are refused."""
    bk = book({"a": [(COIN, 1.0), (COIN_PERP, -1.0)]})
    with pytest.raises(ValidationError, match=match):
        METHOD.compute(bk, market(), params, inputs=_inputs(spot_unit=spot_unit))


def test_pack_spot_unit_validated() -> None:
    """The pack's spot_margin_currency must be one of the three units."""
    bad = dataclasses.replace(OLD, spot_margin_currency="EUR")
    with pytest.raises(ValidationError, match="spot_margin_currency"):
        METHOD.compute(book({"a": [(COIN, 1.0)]}), market(), bad)


def test_2025_without_spot_unit_unchanged() -> None:
    """Merged units ignore the pack's spot currency and take no per-account choice."""
    bk = book({"a": [(COIN, 1.0), (COIN_PERP, -1.0)]})
    base = METHOD.compute(bk, market(), NEW)
    other = METHOD.compute(bk, market(), dataclasses.replace(NEW, spot_margin_currency="USDT"))
    assert _mmr(base) == _mmr(other)
    assert METHOD.compute(bk, market(), NEW, inputs=_inputs(spot_unit={})).maintenance_margin[
        0
    ] == _mmr(base)


INSTRUMENTS: tuple[Instrument, ...] = (
    COIN,
    Spot(base="BTC", quote="USDT"),
    COIN_PERP,
    perp(quote="USDT"),
    perp(),
)
units = st.sampled_from(("USDT", "USDC", "USD"))
legs = st.lists(
    st.tuples(
        st.sampled_from(INSTRUMENTS),
        st.floats(min_value=-3.0, max_value=3.0, allow_nan=False).filter(lambda q: abs(q) > 1e-3),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(legs, units), min_size=1, max_size=4))
def test_choice_equals_pack_default(
    accounts: list[tuple[list[tuple[Instrument, float]], str]],
) -> None:
    """Every account's row with its own spot unit equals that account computed alone with the
    pack's ``spot_margin_currency`` set to the same unit."""
    names = {f"a{i}": positions for i, (positions, _) in enumerate(accounts)}
    choice = {f"a{i}": unit for i, (_, unit) in enumerate(accounts)}
    batch = METHOD.compute(book(names), market(), OLD, inputs=_inputs(spot_unit=choice))
    for account, positions in names.items():
        alone = METHOD.compute(
            book({account: positions}),
            market(),
            dataclasses.replace(OLD, spot_margin_currency=choice[account]),
        )
        assert _mmr(batch, account) == pytest.approx(_mmr(alone, account), rel=1e-12, abs=1e-9)
        for name in ("mr1", "mr4", "mr6", "mr7"):
            assert _one(batch, name, account) == pytest.approx(
                _one(alone, name, account), rel=1e-12, abs=1e-9
            )
