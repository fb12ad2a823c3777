"""okx-pm components on small books with closed forms, and the DOC MR7 example."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from linear_market_support import book, linear_future, market, option, perp
from portmargin.instruments import Currency, parse_instrument
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods.okx_pm import OkxParams, OkxPM, depeg_hedged, tiered_charge, unit_grid
from portmargin.methods.okx_pm._reprice import unit_risk
from portmargin.pricing import black76
from portmargin.results import MarginBatch
from portmargin.risk import resolve_instruments
from portmargin.scenarios import VolShockMode

METHOD = OkxPM()
SPOT = 70_000.0
BOUNDS = (10_000.0, 70_000.0, 170_000.0, 300_000.0, 470_000.0, 700_000.0)
MULTS = (1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0)


@pytest.fixture(scope="module")
def params() -> OkxParams:
    loaded = load_params(METHOD)
    assert isinstance(loaded, OkxParams)
    return loaded


def _one(batch: MarginBatch, name: str, account: str = "a") -> float:
    return float(batch.components[name][batch.rows_of(account)[0]])


def test_doc_mr7_tier_example() -> None:
    """DOC: raw 30,000 -> 10,000 x 1 + 20,000 x 2 = 50,000; MMR = max(40,000, 50,000)."""
    adj = tiered_charge(np.array([30_000.0]), BOUNDS, MULTS)
    assert adj[0] == pytest.approx(50_000.0)
    assert max(40_000.0, float(adj[0])) == pytest.approx(50_000.0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.0, 0.0),
        (10_000.0, 10_000.0),
        (70_000.0, 10_000.0 + 2 * 60_000.0),
        (170_000.0, 130_000.0 + 4 * 100_000.0),
        (800_000.0, 10e3 + 120e3 + 400e3 + 780e3 + 1_360e3 + 2_300e3 + 12 * 100e3),
    ],
)
def test_tier_scaling(raw: float, expected: float) -> None:
    """Incremental scaling: each tier's multiplier applies to the part inside the tier."""
    assert tiered_charge(np.array([raw]), BOUNDS, MULTS)[0] == pytest.approx(expected)


def test_long_perp(params: OkxParams) -> None:
    """Long 1 perp at 70,000: MR1 = 12 % x 70,000 = 8,400; MR6 = 24 % -> 16,800; MR4 = 0
    (lone perpetual); MR7 raw 0.02 % x 70,000 = 14; MMR 16,800; IMR = 1.3 x MMR = 21,840."""
    batch = METHOD.compute(book({"a": [(perp(), 1.0)]}), market(), params)
    assert _one(batch, "mr1") == pytest.approx(8_400.0)
    assert _one(batch, "mr6") == pytest.approx(16_800.0)
    assert _one(batch, "mr4") == pytest.approx(0.0, abs=1e-9)
    assert _one(batch, "mr7_raw") == pytest.approx(14.0)
    assert batch.maintenance_margin[0] == pytest.approx(16_800.0)
    assert batch.initial_margin[0] == pytest.approx(1.3 * 16_800.0)
    assert batch.worst_scenario is not None
    assert batch.worst_scenario[0] == "BTC MR1 -12% IV down"


def test_mr4_spot_against_perp(params: OkxParams) -> None:
    """Section 4 structure: spot +10 BTC against perp -10 -> MR4 = 20 x S x m; with the
    0.6 % move then in force and S = 67,111: 8,053.32 (MMR = MR4 as MR4 > MR7)."""
    old = dataclasses.replace(params, mr4_min_move=0.006)
    mk = market(spots={"BTC": 67_111.0})
    bk = book({"a": [(Currency(code="BTC"), 10.0), (perp(quote="USDT"), -10.0)]})
    batch = METHOD.compute(bk, mk, old)
    assert _one(batch, "mr4") == pytest.approx(8_053.32)
    assert _one(batch, "mr1") == pytest.approx(0.0, abs=1e-6)
    assert batch.maintenance_margin[0] == pytest.approx(8_053.32)


def test_mr4_term_basis(params: OkxParams) -> None:
    """Future of T years: m = max(0.5 %, 5 % T). Alone: S (m - 0.005); against a short perp:
    S (m + 0.005)."""
    days = 182.5
    m = max(0.005, 0.05 * days / 365.0)
    mk = market(days=(days,))
    fut = linear_future(days)
    batch = METHOD.compute(book({"a": [(fut, 1.0)], "b": [(fut, 1.0), (perp(), -1.0)]}), mk, params)
    assert _one(batch, "mr4", "a") == pytest.approx(SPOT * (m - 0.005))
    assert _one(batch, "mr4", "b") == pytest.approx(SPOT * (m + 0.005))


def test_mr2_theta(params: OkxParams) -> None:
    """Long ATM call, 7 days, 50 % IV: MR2 = V(T) - V(T - 1 day)."""
    t = 7.0 / 365.0
    decay = float(
        black76.price(SPOT, SPOT, t, 0.5, True) - black76.price(SPOT, SPOT, t - 1 / 365, 0.5, True)
    )
    batch = METHOD.compute(book({"a": [(option(7.0, SPOT), 1.0)]}), market(days=(7.0,)), params)
    assert _one(batch, "mr2") == pytest.approx(decay, rel=1e-12)
    short = METHOD.compute(book({"a": [(option(7.0, SPOT), -1.0)]}), market(days=(7.0,)), params)
    assert _one(short, "mr2") == 0.0


def test_mr3_calendar(params: OkxParams) -> None:
    """Long 7-day call, short 45-day call: twist B (short end down, long end up) loses
    vega_7 x p_7 + vega_45 x p_45 with p = 5 (30 / DTE)^0.3."""
    mk = market(days=(7.0, 45.0))
    v7 = float(black76.greeks(SPOT, SPOT, 7 / 365, 0.5, True)["vega"])
    v45 = float(black76.greeks(SPOT, SPOT, 45 / 365, 0.5, True)["vega"])
    p7, p45 = 5 * (30 / 7) ** 0.3, 5 * (30 / 45) ** 0.3
    bk = book({"a": [(option(7.0, SPOT), 1.0), (option(45.0, SPOT), -1.0)]})
    batch = METHOD.compute(bk, mk, params)
    assert _one(batch, "mr3") == pytest.approx(v7 * p7 + v45 * p45, rel=1e-9)


def test_mr5_rho(params: OkxParams) -> None:
    """MR5 = |sum q rho| x 1 % / 1 %: two short puts, 45 days."""
    rho = float(black76.greeks(SPOT, 65_000.0, 45 / 365, 0.5, False)["rho"])
    bk = book({"a": [(option(45.0, 65_000.0, call=False), -2.0)]})
    batch = METHOD.compute(bk, market(days=(45.0,)), params)
    assert _one(batch, "mr5") == pytest.approx(abs(2 * rho), rel=1e-9)


def test_mr1_option_grid(params: OkxParams) -> None:
    """Short ATM call, 45 days, 50 % IV: the worst grid state is +12 % with IV up by
    30 x 45^-0.3 points; MR6 is the +24 % move at unchanged IV."""
    t = 45 / 365
    pts = 30 * 45**-0.3 / 100
    base = float(black76.price(SPOT, SPOT, t, 0.5, True))
    grid = [
        float(black76.price(SPOT * (1 + m), SPOT, t, max(0.5 + s * pts, 0.01), True)) - base
        for m in (-0.12, -0.08, -0.04, 0.0, 0.04, 0.08, 0.12)
        for s in (-1, 0, 1)
    ]
    mr6 = float(black76.price(SPOT * 1.24, SPOT, t, 0.5, True)) - base
    batch = METHOD.compute(book({"a": [(option(45.0, SPOT), -1.0)]}), market(days=(45.0,)), params)
    assert _one(batch, "mr1") == pytest.approx(max(grid), rel=1e-12)
    assert _one(batch, "mr6") == pytest.approx(mr6, rel=1e-12)
    assert batch.worst_scenario is not None
    assert batch.worst_scenario[0] == "BTC MR1 +12% IV up"


def test_mr9_kernel_and_book(params: OkxParams) -> None:
    """Pairs in order (USDT, USDC), (USDT, USD), (USDC, USD), hedged amounts removed.
    Long USDT perp against short USDC perp: h = 70,000, MR9 = 700 = MMR (MR1 = MR4 = 0)."""
    got = depeg_hedged(np.array([[100.0, -60.0, -50.0], [10.0, 20.0, 30.0]]))
    assert got.tolist() == pytest.approx([100.0, 0.0])
    bk = book({"a": [(perp(quote="USDT"), 1.0), (perp(quote="USDC"), -1.0)]})
    batch = METHOD.compute(bk, market(), params)
    assert _one(batch, "mr9") == pytest.approx(700.0)
    assert _one(batch, "mr4") == pytest.approx(0.0, abs=1e-9)
    assert batch.maintenance_margin[0] == pytest.approx(700.0)
    pre_2025 = METHOD.compute(bk, market(), dataclasses.replace(params, include_mr9=False))
    assert pre_2025.maintenance_margin[0] == pytest.approx(28.0)


def test_mr7_binds_when_scaled_charge_dominates(params: OkxParams) -> None:
    """With a 1 % rate, long 50 USDT perps and short 50 USDC perps: raw 70,000 -> scaled
    130,000 > MR9 = 35,000: MMR = MR7."""
    costly = dataclasses.replace(params, mr7_delta_one_rate=0.01)
    bk = book({"a": [(perp(quote="USDT"), 50.0), (perp(quote="USDC"), -50.0)]})
    batch = METHOD.compute(bk, market(), costly)
    assert _one(batch, "mr7_raw") == pytest.approx(70_000.0)
    assert _one(batch, "mr7") == pytest.approx(130_000.0)
    assert batch.maintenance_margin[0] == pytest.approx(130_000.0)
    assert batch.initial_margin[0] == pytest.approx(1.3 * 130_000.0)


def test_tiers_and_errors(params: OkxParams) -> None:
    """SOL uses the 'others' MR1 grid (25 %) and its MR6 tier (36 %); a coin without market
    data is reported in errors."""
    mk = market(spots={"BTC": SPOT, "SOL": 100.0})
    batch = METHOD.compute(
        book({"a": [(perp("SOL"), 1.0)], "bad": [(perp("ETH"), 1.0)]}), mk, params
    )
    assert _one(batch, "mr1") == pytest.approx(25.0)
    assert _one(batch, "mr6") == pytest.approx(36.0)
    assert set(batch.errors) == {"bad"}
    assert params.mr1_moves("XRP") == (0.06, 0.12, 0.18)
    assert params.mr4_annual_move("XRP") == 0.15


def test_notes_name_assumptions(params: OkxParams, demo_snapshot: object) -> None:
    """The batch names its assumptions; a coin-settled Deribit option book computes."""
    from portmargin.market import MarketSnapshot

    assert isinstance(demo_snapshot, MarketSnapshot)
    inst = next(iter(demo_snapshot.quotes.values())).instrument
    batch = METHOD.compute(book({"a": [(inst, -5.0)]}), demo_snapshot, params)
    assert batch.errors == {}
    assert batch.maintenance_margin[0] > 0
    assert any("MR1 IV table not published" in n for n in batch.notes)
    assert any("MR8" in n for n in batch.notes)


def test_covered_call_is_long_delta_in_usd(
    params: OkxParams, demo_snapshot: MarketSnapshot
) -> None:
    """Short 5 coin-settled 10000 calls plus a 5 BTC balance, bundled chain (S = 9,081.63).

    In USD the balance is long 5 BTC and the calls are short about 1.7 BTC of delta, so the
    covered call is net long about 3.3 BTC while the naked call is net short 1.7 BTC: the
    covered call needs more margin (IMR 12,319 against 7,583 USD) but less than the balance
    alone. MR6 sets both, at -24 % for the covered call and +24 % for the naked one: minus
    the USD P&L ``5 S m`` of the balance plus ``-5 (V'/F' - V/F) S (1 + m)`` of the calls
    (Black-76 at unchanged IV, coin P&L converted at the scenario price).
    """
    call = parse_instrument("BTC-26JUN20-10000-C")
    coin = Currency(code="BTC")
    bk = book(
        {"naked": [(call, -5.0)], "covered": [(call, -5.0), (coin, 5.0)], "coin": [(coin, 5.0)]}
    )
    batch = METHOD.compute(bk, demo_snapshot, params)
    t = resolve_instruments([call], demo_snapshot)
    F, K, T, sig, D, S = t.forward[0], t.strike[0], t.tau[0], t.sigma[0], t.df[0], t.index[0]

    def call_usd_pnl(m: float) -> float:
        shocked = float(black76.price(F * (1 + m), K, T, sig, True, D)) / (F * (1 + m))
        return (shocked - float(black76.price(F, K, T, sig, True, D)) / F) * S * (1 + m)

    naked_mr6 = 5.0 * call_usd_pnl(0.24)
    covered_mr6 = 5.0 * S * 0.24 + 5.0 * call_usd_pnl(-0.24)
    assert _one(batch, "mr6", "naked") == pytest.approx(naked_mr6, rel=1e-12)
    assert _one(batch, "mr6", "covered") == pytest.approx(covered_mr6, rel=1e-12)
    mmr = {
        a: float(batch.maintenance_margin[batch.rows_of(a)[0]])
        for a in ("naked", "covered", "coin")
    }
    for a in ("naked", "covered"):
        assert _one(batch, "mr6", a) > max(_one(batch, "mr1", a), _one(batch, "mr2", a))
        assert _one(batch, "mr7", a) < mmr[a]
    assert mmr["naked"] < mmr["covered"] < mmr["coin"]
    imr = {a: float(batch.initial_margin[batch.rows_of(a)[0]]) for a in ("naked", "covered")}
    assert imr == pytest.approx({"naked": 7_583.2, "covered": 12_318.6}, abs=0.1)
    assert _one(batch, "mr4", "covered") > 0.0


def test_unit_without_tier_is_an_account_error(params: OkxParams) -> None:
    """A pack without a catch-all tier: holders of an unlisted coin are errors, others computed."""
    listed_only = dataclasses.replace(params, mr1_tiers=params.mr1_tiers[:1])
    mk = market(spots={"BTC": SPOT, "SOL": 100.0})
    batch = METHOD.compute(
        book({"a": [(perp(), 1.0)], "sol": [(perp("SOL"), 1.0), (perp(), 1.0)]}), mk, listed_only
    )
    assert batch.account.tolist() == ["a"]
    assert set(batch.errors) == {"sol"}
    assert "no tier for 'SOL'" in batch.errors["sol"]
    assert _one(batch, "mr1") == pytest.approx(0.12 * SPOT)
    assert "mr1/SOL" not in batch.components


@pytest.mark.parametrize("dte", [0.25, 1.0, 7.0, 30.0, 365.0])
def test_mr1_iv_points_on_the_engine_law(params: OkxParams, dte: float) -> None:
    """The MR1 states move IV by -1, 0, +1 x 30 max(DTE, 1)^-0.3 vol points (absolute law)."""
    grid = unit_grid("BTC", params)
    assert sorted(set(grid.mr1.column("vol_shock").tolist())) == [-0.3, 0.0, 0.3]
    assert grid.mr1.vol_law.mode is VolShockMode.ABSOLUTE
    shocked = grid.mr1.vol_law.shocked_vols(
        np.array([0.5]), np.array([dte]), np.array([-0.3, 0.0, 0.3])
    )
    points = 30.0 * max(dte, 1.0) ** -0.3 / 100.0
    assert shocked[0] == pytest.approx([0.5 - points, 0.5, 0.5 + points], rel=1e-14)


def test_iv_floor_in_mr1_states_only(params: OkxParams) -> None:
    """IV 0.5 %: every MR1 state prices at IV >= 1 % (unchanged IV too), while MR6 and MR2
    keep the 0.5 % IV (spec: IV unchanged)."""
    days, vol, strike = 7.0, 0.005, SPOT
    table = resolve_instruments([option(days, strike)], market(days=(days,), vol=vol))
    grid = unit_grid("BTC", params)
    pnl = unit_risk(table, grid).pnl[0]
    t = days / 365.0

    def value(fwd: float, sigma: float, tau: float = t) -> float:
        return float(black76.price(fwd, strike, tau, sigma, True))

    now = value(SPOT, vol)
    same = grid.labels.index("BTC MR1 +0% IV same")
    assert pnl[same] == pytest.approx(value(SPOT, 0.01) - now, rel=1e-12)
    assert pnl[same] > 0.0
    down = grid.labels.index("BTC MR1 +4% IV down")
    assert pnl[down] == pytest.approx(value(SPOT * 1.04, 0.01) - now, rel=1e-12)
    mr6 = grid.labels.index("BTC MR6 +24%")
    assert pnl[mr6] == pytest.approx(value(SPOT * 1.24, vol) - now, rel=1e-12)
    mr2 = grid.labels.index("BTC MR2 1d theta")
    assert pnl[mr2] == pytest.approx(value(SPOT, vol, t - 1 / 365) - now, rel=1e-12)
    assert pnl[mr2] < 0.0 < value(SPOT, 0.01, t - 1 / 365) - now


def test_explain_adds_up_to_the_worst_mr1_state(params: OkxParams) -> None:
    """Per-position USD P&L in the worst MR1 state sums to -MR1 of that unit."""
    bk = book({"a": [(option(30.0, 75_000.0), -3.0), (perp("BTC"), 1.0)]})
    batch = METHOD.compute(bk, market(), params)
    result = batch.result(0)
    assert result.worst_scenario is not None
    assert {c.instrument for c in result.contributions} == {
        "BTC_USDC-PERPETUAL",
        option(30.0, 75_000.0).name,
    }
    total = sum(c.pnl for c in result.contributions)
    assert total == pytest.approx(-float(batch.components["mr1"][0]), rel=1e-12)
