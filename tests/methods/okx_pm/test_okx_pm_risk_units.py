"""okx-pm dated profiles: the pre-merge risk units and grids of ``okx-pm/2024`` against the
merged units of ``okx-pm/2025``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from linear_market_support import book, market, option, perp
from portmargin.instruments import Currency, Perpetual, Settlement
from portmargin.io.params import bundled_packs, load_params
from portmargin.methods.okx_pm import Mr4Form, OkxParams, OkxPM, RiskUnitGrouping, unit_grid
from portmargin.results import MarginBatch

METHOD = OkxPM()
SPOT = 70_000.0
COIN_PERP = Perpetual(underlying="BTC", quote="USD", settlement=Settlement.INVERSE)


def _pack(name: str) -> OkxParams:
    loaded = load_params(METHOD, name)
    assert isinstance(loaded, OkxParams)
    return loaded


@pytest.fixture(scope="module")
def old() -> OkxParams:
    return _pack("okx-pm/2024")


@pytest.fixture(scope="module")
def new() -> OkxParams:
    return _pack("okx-pm/2025")


def _one(batch: MarginBatch, name: str, account: str = "a") -> float:
    return float(batch.components[name][batch.rows_of(account)[0]])


def _mmr(batch: MarginBatch, account: str = "a") -> float:
    return float(batch.maintenance_margin[batch.rows_of(account)[0]])


def test_both_packs_load(old: OkxParams, new: OkxParams) -> None:
    """Both bundled packs load strictly; they differ only where the profile says so."""
    assert set(bundled_packs("okx-pm")) == {"okx-pm/2024", "okx-pm/2025"}
    assert (old.version, new.version) == ("2024", "2025")
    assert old.risk_unit_grouping is RiskUnitGrouping.UNDERLYING_AND_MARGIN_CURRENCY
    assert new.risk_unit_grouping is RiskUnitGrouping.UNDERLYING
    assert (old.include_mr9, new.include_mr9) == (False, True)
    assert old.spot_margin_currency == "USDT"
    assert old.mr4_form is Mr4Form.MAX_FORWARD_MOVE
    assert new.mr4_form is Mr4Form.ANNUALISED_MOVE
    changed = {"version", "risk_unit_grouping", "include_mr9", "mr1_tiers", "mr6_tiers"}
    changed |= {"spot_margin_currency", "mr4_form", "mr4_tiers"}
    for field in dataclasses.fields(OkxParams):
        if field.name not in changed:
            assert getattr(old, field.name) == getattr(new, field.name), field.name


def test_2024_mr1_grid_and_mr6_moves(old: OkxParams) -> None:
    """DOC 'Before' columns: MR1 +-0, 5, 10, 15 % (BTC, ETH), +-0, 7, 14, 20 % (DOT tier),
    +-0, 8, 16, 25 % (others); MR6 +-30 %, +-40 % (SOL tier), +-50 % (others)."""
    grids = {
        "BTC": [0.0, 0.05, 0.10, 0.15],
        "ETH": [0.0, 0.05, 0.10, 0.15],
        "DOT": [0.0, 0.07, 0.14, 0.20],
        "SOL": [0.0, 0.08, 0.16, 0.25],
    }
    for coin, magnitudes in grids.items():
        shocks = sorted(set(unit_grid(coin, old).mr1.column("spot_shock").tolist()))
        expected = sorted({s * m for m in magnitudes for s in (-1.0, 1.0)})
        assert shocks == pytest.approx(expected), coin
    assert (old.mr6_move("BTC"), old.mr6_move("SOL"), old.mr6_move("DOT")) == (0.30, 0.40, 0.50)
    grid = unit_grid("BTC", old, "BTC-USDT")
    assert grid.n_mr1 == 21
    assert grid.labels[0] == "BTC-USDT MR1 -15% IV down"
    assert grid.labels[21:] == (
        "BTC-USDT MR6 -30%",
        "BTC-USDT MR6 +30%",
        "BTC-USDT MR2 1d theta",
    )


def test_2024_long_perp(old: OkxParams) -> None:
    """Long 1 USDC perp at 70,000: MR1 = 15 % x 70,000 = 10,500; MR6 = 30 % -> 21,000 =
    MMR; the unit is visible in the component names and the worst scenario."""
    batch = METHOD.compute(book({"a": [(perp(), 1.0)]}), market(), old)
    assert _one(batch, "mr1/BTC-USDC") == pytest.approx(10_500.0)
    assert _one(batch, "mr6/BTC-USDC") == pytest.approx(21_000.0)
    assert _mmr(batch) == pytest.approx(21_000.0)
    assert batch.initial_margin[0] == pytest.approx(1.3 * 21_000.0)
    assert batch.worst_scenario is not None
    assert batch.worst_scenario[0] == "BTC-USDC MR1 -15% IV down"
    assert "mr1/BTC" not in batch.components


def test_pre_merge_units_do_not_offset(old: OkxParams, new: OkxParams) -> None:
    """Long 1 BTC-USDT perp against short 1 coin-margined BTC-USD perp (USD P&L ``q S m``
    each). Merged (2025): one unit, no price risk, MMR = MR9 = 1 % x 70,000 = 700. Pre-merge
    (2024): two units, each MR6 = 30 % x 70,000 = 21,000, MMR 42,000; the 2024 pack with
    merged units nets them (MMR = MR7 = 2 x 14, MR9 off)."""
    bk = book({"a": [(perp(quote="USDT"), 1.0), (COIN_PERP, -1.0)]})
    merged = METHOD.compute(bk, market(), new)
    assert _one(merged, "mr1") == pytest.approx(0.0, abs=1e-6)
    assert _one(merged, "mr6") == pytest.approx(0.0, abs=1e-6)
    assert _one(merged, "mr9/BTC") == pytest.approx(700.0)
    assert _mmr(merged) == pytest.approx(700.0)
    assert not any(k.startswith("mr1/BTC-") for k in merged.components)

    split = METHOD.compute(bk, market(), old)
    for unit in ("BTC-USDT", "BTC-USD"):
        assert _one(split, f"mr1/{unit}") == pytest.approx(10_500.0)
        assert _one(split, f"mr6/{unit}") == pytest.approx(21_000.0)
        assert _one(split, f"derivatives_mmr/{unit}") == pytest.approx(21_000.0)
        assert _one(split, f"mr7_raw/{unit}") == pytest.approx(14.0)
    assert _one(split, "mr9") == 0.0
    assert _mmr(split) == pytest.approx(42_000.0)
    assert split.initial_margin[0] == pytest.approx(1.3 * 42_000.0)

    netted = dataclasses.replace(old, risk_unit_grouping=RiskUnitGrouping.UNDERLYING)
    assert _mmr(METHOD.compute(bk, market(), netted)) == pytest.approx(28.0)


def test_usdt_and_usdc_are_separate_units(old: OkxParams) -> None:
    """USDT perp against USDC perp: two units before the merge (MR6 each), no MR9."""
    bk = book({"a": [(perp(quote="USDT"), 1.0), (perp(quote="USDC"), -1.0)]})
    batch = METHOD.compute(bk, market(), old)
    assert _one(batch, "mr6/BTC-USDT") == pytest.approx(21_000.0)
    assert _one(batch, "mr6/BTC-USDC") == pytest.approx(21_000.0)
    assert _one(batch, "mr9") == 0.0
    assert _mmr(batch) == pytest.approx(42_000.0)


def test_spot_joins_the_coin_margined_unit(old: OkxParams) -> None:
    """With ``spot_margin_currency = "USD"`` a BTC balance offsets a coin-margined perp (one
    BTC-USD unit: MR1 = MR6 = 0, MR4 = 2 S x 0.6 % = 840, the pre-merge maximum forward move)
    but not a USDT perp; with ``"USDT"`` (the pack's value) the other way round."""
    coin = Currency(code="BTC")
    bk = book(
        {
            "inv": [(coin, 1.0), (COIN_PERP, -1.0)],
            "usdt": [(coin, 1.0), (perp("BTC", "USDT"), -1.0)],
        }
    )
    batch = METHOD.compute(bk, market(), dataclasses.replace(old, spot_margin_currency="USD"))
    assert _one(batch, "mr6/BTC-USD", "inv") == pytest.approx(0.0, abs=1e-6)
    assert _one(batch, "mr4/BTC-USD", "inv") == pytest.approx(840.0)
    assert _mmr(batch, "inv") == pytest.approx(840.0)
    assert _one(batch, "mr6/BTC-USD", "usdt") == pytest.approx(21_000.0)
    assert _one(batch, "mr6/BTC-USDT", "usdt") == pytest.approx(21_000.0)

    usdt = METHOD.compute(bk, market(), dataclasses.replace(old, spot_margin_currency="USDT"))
    assert _mmr(usdt, "usdt") == pytest.approx(840.0)
    assert _mmr(usdt, "inv") == pytest.approx(42_000.0)


def test_mr9_absent_in_2024(old: OkxParams) -> None:
    """No MR9 in the pre-2025 form, even with merged units; the notes say so."""
    merged = dataclasses.replace(old, risk_unit_grouping=RiskUnitGrouping.UNDERLYING)
    bk = book({"a": [(perp(quote="USDT"), 1.0), (perp(quote="USDC"), -1.0)]})
    for params in (old, merged):
        batch = METHOD.compute(bk, market(), params)
        assert np.all(batch.components["mr9"] == 0.0)
        assert "okx-pm: MR9 off" in batch.notes
    assert _mmr(METHOD.compute(bk, market(), merged)) == pytest.approx(28.0)
    notes = METHOD.compute(bk, market(), old).notes
    assert any("pre-merge risk units" in n for n in notes)


def test_2024_options_price_in_their_unit(old: OkxParams) -> None:
    """USDC options and USDC perps share the BTC-USDC unit: a perp hedged by a put is
    charged less than the perp alone; MR1 states move by up to 15 %."""
    put = option(30.0, SPOT, call=False)
    batch = METHOD.compute(
        book({"perp": [(perp(), 1.0)], "hedged": [(perp(), 1.0), (put, 1.0)]}), market(), old
    )
    assert _mmr(batch, "hedged") < _mmr(batch, "perp")
    assert set(k for k in batch.components if k.startswith("mr1/")) == {"mr1/BTC-USDC"}
