"""The ``var`` method on the bundled data and on synthetic histories: HS and FHS figures against
independent computations, parameters, errors, short history, properties."""

from __future__ import annotations

from datetime import date
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from var_support import btc_eth_market, bundled_history, params, run_var

import linear_market_support as lm
import portmargin.methods.var._breakdown as breakdown
from portmargin.bench import synthetic_book
from portmargin.bench._margin import venue_instruments
from portmargin.core import MarketDataError, ValidationError
from portmargin.instruments import Spot
from portmargin.io.params import load_params, read_pack
from portmargin.market import RECOMMENDED_HISTORY_START, MarketSnapshot, PriceHistory
from portmargin.methods.var import VarMargin
from portmargin.risk import tail_size
from portmargin.scenarios import ewma_variance

VAR = VarMargin()
BTC, ETH = lm.perp("BTC"), lm.perp("ETH")


def independent_var_es(losses: np.ndarray, alpha: float) -> tuple[float, float]:
    """Sorted-loss VaR and ES of section 5, written out on one vector."""
    ordered = np.sort(losses)[::-1]
    a = ordered.size * (1 - alpha)
    k = int(np.floor(a + 1e-9))
    return float(ordered[k]), float((ordered[:k].sum() + (a - k) * ordered[k]) / a)


def test_hs_figures_equal_a_sorted_loss_computation_on_the_bundled_data(
    demo_snapshot: MarketSnapshot,
) -> None:
    history = bundled_history()
    market = demo_snapshot
    book = lm.book({"long": [(lm.perp("BTC", "USD"), 1.0)]})
    perp = run_var(book, market, params(method="hs"))
    window = history.joint_returns(["BTC"], as_of="2020-05-21", lookback_days=1095)
    spot = market.index("BTC")
    # an inverse perpetual of one coin: USD P&L S m
    var, es = independent_var_es(-spot * np.expm1(window.returns[:, 0]), 0.99)
    assert perp.figures["risk_measures.var"][0] == pytest.approx(var, rel=1e-9)
    assert perp.figures["risk_measures.es"][0] == pytest.approx(es, rel=1e-9)
    assert perp.figures["risk_measures.scenarios"][0] == 1095
    assert perp.figures["risk_measures.as_of"][0] == "2020-05-21"
    assert perp.components["core_margin"][0] == pytest.approx(es, rel=1e-9)


def test_as_of_leaves_later_returns_out(demo_snapshot: MarketSnapshot) -> None:
    market = demo_snapshot
    book = lm.book({"long": [(lm.perp("BTC", "USD"), 1.0)]})
    batch = run_var(book, market, params(method="hs", as_of="2020-05-20"))
    window = bundled_history().joint_returns(["BTC"], as_of="2020-05-20", lookback_days=1095)
    assert window.dates[-1] == np.datetime64("2020-05-20")
    _, es = independent_var_es(-market.index("BTC") * np.expm1(window.returns[:, 0]), 0.99)
    assert batch.figures["risk_measures.es"][0] == pytest.approx(es, rel=1e-9)
    assert any("as_of 2020-05-20" in n for n in batch.notes)


def known_vol_history(n: int = 700, seed: int = 3) -> tuple[PriceHistory, np.ndarray, float]:
    """BTC returns r_t = sigma_t z_t with sigma_t the EWMA forecast itself (lambda 0.94, seeded
    by 30 alternating +-2 % returns): FHS must turn them into sigma_now z_t exactly."""
    rng = np.random.default_rng(seed)
    r = np.empty(n)
    r[:30] = np.tile([0.02, -0.02], 15)
    z = rng.standard_normal(n)
    var = float(np.mean(r[:30] ** 2))
    for t in range(n):
        if t >= 30:
            r[t] = np.sqrt(var) * z[t]
        var = 0.94 * var + 0.06 * r[t] ** 2
    closes = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    dates = np.datetime64("2019-01-01", "D") + np.arange(n + 1)
    history = PriceHistory(
        underlyings=("BTC",),
        dates=dates,
        closes=closes[:, None],
        volumes=np.full((n + 1, 1), 1e10),
    )
    assert np.sqrt(ewma_variance(np.diff(np.log(closes)))[-1]) == pytest.approx(np.sqrt(var))
    return history, z, float(np.sqrt(var))


def test_fhs_revolatises_by_the_current_ewma_forecast() -> None:
    history, z, sigma_now = known_vol_history()
    market = btc_eth_market()
    book = lm.book({"long": [(BTC, 1.0)], "short": [(BTC, -1.0)]})
    pack = params(method="fhs", lookback_days=500, history_start={})
    batch = run_var(book, market, pack, history)
    window_z = z[-500:]
    for row, sign in ((0, 1.0), (1, -1.0)):
        losses = -sign * 50_000.0 * np.expm1(sigma_now * window_z)
        var, es = independent_var_es(losses, 0.99)
        assert batch.figures["risk_measures.var"][row] == pytest.approx(var, rel=1e-9)
        assert batch.figures["risk_measures.es"][row] == pytest.approx(es, rel=1e-9)
    assert any(f"BTC {sigma_now:.6f}" in n for n in batch.notes)


def test_two_day_overlapping_scenarios() -> None:
    history, _, _ = known_vol_history()
    market = btc_eth_market()
    book = lm.book({"long": [(BTC, 1.0)]})
    batch = run_var(
        book,
        market,
        params(method="hs", lookback_days=500, holding_period_days=2, history_start={}),
        history,
    )
    r = np.diff(np.log(history.closes[:, 0]))[-500:]
    two_day = r[1:] + r[:-1]
    _, es = independent_var_es(-50_000.0 * np.expm1(two_day), 0.99)
    assert batch.figures["risk_measures.scenarios"][0] == 499
    assert batch.figures["risk_measures.es"][0] == pytest.approx(es, rel=1e-9)
    assert batch.figures["risk_measures.holding_period_days"][0] == 2


def test_short_history_is_flagged_and_too_short_raises(demo_snapshot: MarketSnapshot) -> None:
    market = btc_eth_market()
    book = lm.book({"long": [(BTC, 1.0)]})
    batch = run_var(book, market, params(method="hs", as_of="2015-06-01"))
    n = int(batch.figures["risk_measures.scenarios"][0])
    assert 100 < n < 1095
    assert any("short_history" in note for note in batch.notes)
    with pytest.raises(ValidationError, match="allow_small_sample"):
        run_var(book, market, params(method="hs", lookback_days=50))
    small = run_var(book, market, params(method="hs", lookback_days=50, allow_small_sample=True))
    assert small.figures["risk_measures.es"][0] > 0


def test_parameters_are_checked() -> None:
    pack = read_pack("var/default")
    with pytest.raises(ValidationError, match="bogus"):
        VAR.params_from_mapping({**pack, "bogus": 1})
    bad = {**pack, "liquidity": {"BTC": {**pack["liquidity"]["BTC"], "depth": 1.0}}}
    with pytest.raises(ValidationError, match=r"liquidity\.BTC\.depth"):
        VAR.params_from_mapping(bad)
    with pytest.raises(ValidationError, match=r"mc\.paths"):
        VAR.params_from_mapping({**pack, "mc": {**pack["mc"], "paths": 0}})
    for key, value in (("confidence", 1.0), ("confidence", 0.0), ("offset_cap", 1.5)):
        with pytest.raises(ValidationError, match=key):
            VAR.params_from_mapping({**pack, key: value})
    with pytest.raises(ValidationError, match="vol_model"):
        VAR.params_from_mapping({**pack, "vol_model": "sticky_delta"})
    assert load_params(VAR, "var/default", ["as_of=2020-05-20"]).as_of == date(2020, 5, 20)
    conservative = load_params(VAR, "var/conservative")
    assert (conservative.confidence, conservative.holding_period_days) == (0.995, 2)


def test_monte_carlo_margin_is_seeded_and_reproducible() -> None:
    book = lm.book({"long": [(BTC, 1.0)], "short": [(BTC, -1.0)]})
    mc = params(method="mc", mc={"paths": 20_000, "seed": 7, "jump_threshold": 4.0})
    first = run_var(book, btc_eth_market(), mc)
    again = run_var(book, btc_eth_market(), mc)
    np.testing.assert_array_equal(first.maintenance_margin, again.maintenance_margin)
    assert any("Monte Carlo paths" in n for n in first.notes)
    assert any(n.startswith("var: merton") for n in first.notes)
    reseeded = params(method="mc", mc={"paths": 20_000, "seed": 8, "jump_threshold": 4.0})
    other = run_var(book, btc_eth_market(), reseeded)
    assert not np.array_equal(first.maintenance_margin, other.maintenance_margin)
    assert np.all(first.maintenance_margin > 0)


def test_jump_diffusion_raises_the_margin_of_short_tail_puts() -> None:
    """Short far out-of-the-money puts: Monte Carlo paths with the estimated jumps, options
    revalued with Merton, need more than the same paths revalued with Black-76."""
    book = lm.book({"tail": [(lm.option(30.0, 30_000.0, call=False), -10.0)]})
    mc = {"paths": 20_000, "seed": 11, "jump_threshold": 4.0}
    black = run_var(book, btc_eth_market(), params(method="mc", mc=mc))
    jumps = run_var(book, btc_eth_market(), params(method="mc", mc=mc, revaluation_model="merton"))
    assert jumps.maintenance_margin[0] > black.maintenance_margin[0] > 0
    assert any("revalued with merton" in n for n in jumps.notes)
    with pytest.raises(ValidationError, match="revaluation_model"):
        params(revaluation_model="heston")


def test_a_market_without_history_says_how_to_supply_one() -> None:
    book = lm.book({"long": [(BTC, 1.0)]})
    with pytest.raises(MarketDataError, match="load_history"):
        VAR.compute(book, btc_eth_market(), params())  # the market carries no history


def test_underlyings_without_parameters_or_history_are_account_errors() -> None:
    market = lm.market({"BTC": 50_000.0, "SOL": 100.0})
    book = lm.book({"sol": [(lm.perp("SOL"), 1.0)], "btc": [(BTC, 1.0)]})
    batch = run_var(book, market, params())
    assert "no var liquidity parameters for 'SOL'" in batch.errors["sol"]
    liquidity = {**read_pack("var/default")["liquidity"]}
    liquidity["SOL"] = liquidity["BTC"]
    batch = run_var(book, market, params(liquidity=liquidity))
    assert "no price history for 'SOL'" in batch.errors["sol"]
    assert batch.initial_margin[batch.rows_of("btc")[0]] > 0


def test_worst_of_is_never_below_either_vol_model() -> None:
    market = btc_eth_market()
    book = lm.book(
        {
            "short_call": [(lm.option(30.0, 55_000.0), -1.0)],
            "long_put": [(lm.option(30.0, 45_000.0, call=False), 1.0), (BTC, 0.2)],
        }
    )
    runs = {
        m: run_var(book, market, params(vol_model=m))
        for m in ("sticky_strike", "vol_beta", "worst_of")
    }
    es = {m: b.figures["risk_measures.es"] for m, b in runs.items()}
    assert np.all(es["worst_of"] >= np.maximum(es["sticky_strike"], es["vol_beta"]) - 1e-9)
    worst = runs["worst_of"]
    i = worst.rows_of("long_put")[0]
    euler = sum(c.figures["euler_es"] for c in worst.explain(i))  # type: ignore[misc]
    assert euler == pytest.approx(es["worst_of"][i], rel=1e-9)
    assert worst.components["liquidity_addon/BTC/vega"][i] > 0


def test_empty_accounts_and_notes() -> None:
    market = btc_eth_market()
    book = lm.book({"a": [(BTC, 1.0), (ETH, 3.0)], "empty": []})
    batch = run_var(book, market, params())
    assert set(batch.account.tolist()) == {"a", "empty"}
    i = batch.rows_of("a")[0]
    assert batch.figures["risk_measures.es"][i] > 0
    empty = batch.rows_of("empty")[0]
    assert batch.initial_margin[empty] == 0.0
    assert batch.figures["risk_measures.es"][empty] == 0.0
    table = batch.to_arrow()
    assert "risk_measures.es" in table.column_names
    notes = " | ".join(batch.notes)
    assert "fhs scenarios, 1095 scenarios" in notes
    assert "worst scenario dates" in notes
    assert "vol model sticky_strike" in notes


# --- properties -------------------------------------------------------------------------


@cache
def market_with_history() -> MarketSnapshot:
    """BTC 50,000 / ETH 4,000 linear market with the bundled daily history."""
    return btc_eth_market()


quantities = st.floats(-50.0, 50.0, allow_nan=False).filter(lambda q: abs(q) > 1e-3)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(btc=quantities, eth=quantities, k=st.floats(0.1, 10.0))
def test_homogeneity_margin_floor_and_capped_benefit(btc: float, eth: float, k: float) -> None:
    market = market_with_history()
    book = lm.book(
        {
            "x": [(BTC, btc), (ETH, eth)],
            "kx": [(BTC, k * btc), (ETH, k * eth)],
            "spot_hedge": [(Spot(base="BTC", quote="USDC"), abs(btc)), (BTC, -abs(btc))],
        }
    )
    batch = run_var(book, market, params())
    assert np.all(batch.initial_margin >= 0)
    assert np.all(batch.maintenance_margin >= 0)
    x, kx, hedge = (batch.rows_of(a)[0] for a in ("x", "kx", "spot_hedge"))
    for name in ("risk_measures.var", "risk_measures.es"):
        assert batch.figures[name][kx] == pytest.approx(k * batch.figures[name][x], rel=1e-9)
    c = batch.components
    assert c["core_margin"][kx] == pytest.approx(k * c["core_margin"][x], rel=1e-9, abs=1e-9)
    # long BTC spot against a short BTC perpetual: no market risk left
    assert c["core_margin"][hedge] == pytest.approx(0.0, abs=1e-6 * 50_000 * abs(btc))
    # the benefit is within the cap: ES_P <= M_core <= sum of group ES
    es_p, total = c["core_margin/portfolio"][x], c["core_margin/group_sum"][x]
    assert es_p - 1e-9 <= c["core_margin"][x] <= total + 1e-9
    assert total >= es_p - 1e-9


def test_btc_eth_book_has_a_diversification_benefit_within_the_cap() -> None:
    batch = run_var(lm.book({"x": [(BTC, 1.0), (ETH, -10.0)]}), market_with_history(), params())
    c = {k: float(v[0]) for k, v in batch.components.items()}
    assert c["core_margin/benefit"] > 0
    assert c["core_margin"] == pytest.approx(
        c["core_margin/group_sum"] - 0.8 * c["core_margin/benefit"]
    )
    assert c["core_margin/portfolio"] < c["core_margin"] < c["core_margin/group_sum"]


def test_doubling_every_position_doubles_var_and_es() -> None:
    book = lm.book({"x": [(BTC, 1.5), (ETH, -7.0), (lm.option(30.0, 52_000.0), -2.0)]})
    double = lm.book({"x": [(BTC, 3.0), (ETH, -14.0), (lm.option(30.0, 52_000.0), -4.0)]})
    one = run_var(book, market_with_history(), params())
    two = run_var(double, market_with_history(), params())
    for name in ("risk_measures.var", "risk_measures.es"):
        assert two.figures[name][0] == pytest.approx(2 * one.figures[name][0], rel=1e-9)
    size = tail_size(1095, 0.99)
    assert (size.k, size.f) == (10, pytest.approx(0.95))


@pytest.mark.parametrize("vol_model", ["sticky_strike", "worst_of"])
def test_incremental_figures_equal_a_full_recomputation(
    vol_model: str, demo_snapshot: MarketSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The candidate-scenario shortcut of the incremental measures against every scenario."""
    book = synthetic_book(venue_instruments(demo_snapshot), 150, 20, np.random.default_rng(5))
    pack = params(vol_model=vol_model)
    fast = run_var(book, demo_snapshot, pack)
    monkeypatch.setattr(breakdown, "CANDIDATES", 10**9)
    full = run_var(book, demo_snapshot, pack)
    for name in ("incremental_es", "incremental_var"):
        a = [c.figures[name] for i in range(len(fast)) for c in fast.explain(i)]  # type: ignore[misc]
        b = [c.figures[name] for i in range(len(full)) for c in full.explain(i)]  # type: ignore[misc]
        assert a == b
    # Euler contributions add up to the portfolio ES, in-group ones to the group ES
    es = fast.figures["risk_measures.es"]
    for i in range(len(fast)):
        parts = fast.explain(i)  # type: ignore[misc]
        assert sum(c.figures["euler_es"] for c in parts) == pytest.approx(es[i], rel=1e-9, abs=1e-9)
        assert sum(c.figures["allocated_addon"] for c in parts) == pytest.approx(
            fast.components["liquidity_addon"][i], rel=1e-9, abs=1e-12
        )


def test_proxies_fill_a_short_history_and_are_reported() -> None:
    book = lm.book({"x": [(BTC, 1.0), (ETH, -5.0)]})
    pack = params(
        method="hs",
        as_of="2017-06-01",
        history_start={"ETH": "2017-01-01"},
        proxies={"ETH": {"underlying": "BTC", "beta": 1.2}},
    )
    batch = run_var(book, btc_eth_market(), pack)
    btc_only = bundled_history().joint_returns(["BTC"], as_of="2017-06-01", lookback_days=1095)
    assert batch.figures["risk_measures.scenarios"][0] == btc_only.n  # every BTC return date
    assert any(n.startswith("var: proxy ETH:") and "1.2 x BTC" in n for n in batch.notes)
    start = {"ETH": "2017-01-01"}
    unproxied = run_var(
        book, btc_eth_market(), params(method="hs", as_of="2017-06-01", history_start=start)
    )
    assert unproxied.figures["risk_measures.scenarios"][0] < 200  # ETH from 2017-01-01 only
    assert not any("proxy" in n for n in unproxied.notes)


@pytest.mark.parametrize("pack", ["var/default", "var/conservative"])
def test_packs_start_eth_where_the_spec_recommends(pack: str) -> None:
    """Section 3.1: ETH returns from 2017-01-01 (the launch phase left out)."""
    loaded = load_params(VAR, pack)
    assert dict(loaded.history_start) == {"ETH": date(2017, 1, 1)}
    assert {u: np.datetime64(d, "D") for u, d in loaded.history_start.items()} == dict(
        RECOMMENDED_HISTORY_START
    )


def eth_merton_row(history_start: dict[str, str] | None = None) -> tuple[list[str], str]:
    """The ETH row of the var method's Merton estimate up to 2021-11-24 (n, jump days,
    lambda, mu_J, delta) and its correlation note, with the default pack's start or another."""
    changes: dict[str, object] = {} if history_start is None else {"history_start": history_start}
    mc = {"paths": 2000, "seed": 1, "jump_threshold": 4.0}
    pack = params(method="mc", as_of="2021-11-24", mc=mc, **changes)
    book = lm.book({"x": [(BTC, 1.0), (ETH, -10.0)]})
    notes = run_var(book, btc_eth_market(), pack).notes
    eth = next(n for n in notes if n.startswith("var: merton ETH "))
    rho = next(n for n in notes if n.startswith("var: merton rho"))
    return eth.split()[3:8], rho


def test_default_pack_estimates_the_spec_eth_jumps() -> None:
    """With the shipped ETH start the Merton estimate is the ETH row of the section 3.4
    table and its correlation (n = 1,757); from the launch phase on it would not be."""
    row, rho = eth_merton_row()
    assert row == ["1,782", "14", "2.868", "-0.0867", "0.2359"]
    assert rho.endswith("(standardised, no-jump days, n = 1,757): BTC/ETH 0.6945")
    row, rho = eth_merton_row({})
    assert row == ["2,294", "17", "2.705", "-0.1491", "0.3735"]
    assert rho.endswith("(standardised, no-jump days, n = 2,258): BTC/ETH 0.5512")


def test_default_pack_cuts_early_eth_windows() -> None:
    """Windows reaching before 2017 hold only the ETH returns from 2017-01-01 on and are
    flagged short (882 joint returns up to 2019-06-01 instead of 1,095)."""
    book = lm.book({"x": [(BTC, 1.0), (ETH, -10.0)]})
    batch = run_var(book, btc_eth_market(), params(as_of="2019-06-01"))
    assert batch.figures["risk_measures.scenarios"][0] == 882
    assert any("short_history: 882 joint daily returns" in n for n in batch.notes)
    whole = run_var(book, btc_eth_market(), params(as_of="2019-06-01", history_start={}))
    assert whole.figures["risk_measures.scenarios"][0] == 1095
    btc = run_var(lm.book({"x": [(BTC, 1.0)]}), btc_eth_market(), params(as_of="2019-06-01"))
    assert btc.figures["risk_measures.scenarios"][0] == 1095  # BTC alone has no start date
