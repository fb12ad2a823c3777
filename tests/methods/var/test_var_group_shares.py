"""Per-underlying attribution of the ``var`` diversification benefit (section 8: "per group:
ES_g, benefit share"): Euler share of the portfolio measure and benefit share per group,
against section 9's figures, an independent sorted-loss computation and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from var_support import (
    R_BTC,
    R_ETH,
    btc_eth_market,
    bundled_history,
    history_from_simple_returns,
    params,
    run_var,
)

import linear_market_support as lm
from portmargin.results import MarginBatch

BTC, ETH = lm.perp("BTC"), lm.perp("ETH")
BTC_FUT, ETH_FUT = lm.linear_future(30.0, "BTC"), lm.linear_future(30.0, "ETH")
SPOT = {"BTC": 50_000.0, "ETH": 4_000.0}
GROUPS = ("BTC", "ETH")

SECTION_9 = {
    # alpha: Euler ES (BTC, ETH) and standalone ES (BTC, ETH) of the section 9 table
    0.90: ((-330.0, 7840.0), (13770.0, 7840.0)),
    0.80: ((6495.0, 248.0), (13545.0, 6112.0)),
    0.75: ((6010.0, 294.40), (12092.0, 5366.40)),
}


def shares(batch: MarginBatch, i: int) -> dict[str, dict[str, float]]:
    """Per group: its measure alone, Euler share, benefit share and offset granted."""
    c = batch.components
    return {
        u: {
            part: float(c[f"core_margin/{part}/{u}"][i])
            for part in ("group_sum", "portfolio", "benefit", "offset")
        }
        for u in GROUPS
    }


@pytest.mark.parametrize("alpha", sorted(SECTION_9))
def test_section_9_benefit_shares(alpha: float) -> None:
    """One position per group: the Euler share is the leg's Euler ES and the benefit share
    its standalone ES minus it (e.g. alpha 0.80: BTC 13,545 - 6,495 = 7,050, ETH 6,112 -
    248 = 5,864, together B = 12,914)."""
    euler, alone = SECTION_9[alpha]
    history = history_from_simple_returns({"BTC": R_BTC, "ETH": R_ETH}, "2021-05-19")
    pack = params(method="hs", confidence=alpha, lookback_days=10, as_of="2021-05-19")
    batch = run_var(lm.book({"book": [(BTC, 2.0), (ETH, -20.0)]}), btc_eth_market(), pack, history)
    got = shares(batch, 0)
    approx = lambda x: pytest.approx(x, rel=1e-9, abs=1e-6)  # noqa: E731
    c = {k: float(v[0]) for k, v in batch.components.items()}
    for g, u in enumerate(GROUPS):
        assert got[u]["portfolio"] == approx(euler[g])
        assert got[u]["benefit"] == approx(alone[g] - euler[g])
        assert got[u]["offset"] == approx(0.8 * (alone[g] - euler[g]))
    assert sum(got[u]["portfolio"] for u in GROUPS) == approx(c["core_margin/portfolio"])
    assert sum(got[u]["benefit"] for u in GROUPS) == approx(c["core_margin/benefit"])
    # the group's allocated core margin is its measure less its offset
    positions = {p.instrument: p.figures for p in batch.explain(0)}  # type: ignore[misc]
    for u, inst in (("BTC", BTC), ("ETH", ETH)):
        assert positions[inst.name]["allocated_core_margin"] == approx(
            got[u]["group_sum"] - got[u]["offset"]
        )


def independent_shares(
    qty: dict[str, tuple[float, float]], returns: np.ndarray, alpha: float
) -> tuple[dict[str, float], dict[str, float], float]:
    """Euler share and standalone ES per group, and the book's ES, written out from the
    sorted book losses of section 5 (linear legs: loss = -q S (e^R - 1))."""
    loss = {u: -sum(qty[u]) * SPOT[u] * np.expm1(returns[:, g]) for g, u in enumerate(GROUPS)}
    book = loss["BTC"] + loss["ETH"]
    n = book.size
    a = n * (1 - alpha)
    k = int(np.floor(a + 1e-9))
    order = np.argsort(-book, kind="stable")
    weights = np.zeros(n)
    weights[order[:k]] = 1.0 / a
    weights[order[k]] = (a - k) / a

    def es(x: np.ndarray) -> float:
        s = np.sort(x)[::-1]
        return float((s[:k].sum() + (a - k) * s[k]) / a)

    return (
        {u: float(weights @ loss[u]) for u in GROUPS},
        {u: es(loss[u]) for u in GROUPS},
        es(book),
    )


legs = st.floats(-20.0, 20.0, allow_nan=False).filter(lambda q: abs(q) > 0.05)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(btc=st.tuples(legs, legs), eth=st.tuples(legs, legs))
def test_group_shares_equal_an_independent_computation(
    btc: tuple[float, float], eth: tuple[float, float]
) -> None:
    """Two legs per group (perpetual and 30-day future) on 1,095 HS scenarios of the bundled
    history: shares sum to the portfolio ES and equal a second computation."""
    book = lm.book({"x": [(BTC, btc[0]), (BTC_FUT, btc[1]), (ETH, eth[0]), (ETH_FUT, eth[1])]})
    batch = run_var(book, btc_eth_market(), params(method="hs"))
    window = bundled_history().joint_returns(["BTC", "ETH"], as_of="2021-11-24")
    euler, alone, es_book = independent_shares({"BTC": btc, "ETH": eth}, window.returns, 0.99)
    got = shares(batch, 0)
    scale = 50_000.0 * (abs(btc[0]) + abs(btc[1]) + abs(eth[0]) + abs(eth[1]))
    approx = lambda x: pytest.approx(x, rel=1e-9, abs=1e-9 * scale)  # noqa: E731
    assert batch.figures["risk_measures.es"][0] == approx(es_book)
    assert sum(got[u]["portfolio"] for u in GROUPS) == approx(es_book)
    benefit = float(batch.components["core_margin/benefit"][0])
    for u in GROUPS:
        assert got[u]["group_sum"] == approx(alone[u])
        assert got[u]["portfolio"] == approx(euler[u])
        expected = alone[u] - euler[u] if benefit > 0 else 0.0
        assert got[u]["benefit"] == approx(expected)
        assert got[u]["benefit"] >= -1e-9 * scale  # ES: the portfolio tail never beats m_g
    assert sum(got[u]["benefit"] for u in GROUPS) == approx(benefit)


@pytest.mark.parametrize("vol_model", ["sticky_strike", "worst_of"])
def test_shares_add_up_with_options_and_both_measures(vol_model: str) -> None:
    book = lm.book(
        {
            "x": [
                (lm.option(30.0, 52_000.0), -2.0),
                (lm.option(30.0, 45_000.0, call=False), 1.0),
                (BTC, 0.5),
                (ETH, -6.0),
                (lm.option(30.0, 3_600.0, call=False, asset="ETH"), -4.0),
            ],
            "btc_only": [(BTC, 1.0), (lm.option(30.0, 52_000.0), -1.0)],
        }
    )
    for measure in ("es", "var"):
        batch = run_var(book, btc_eth_market(), params(vol_model=vol_model, measure=measure))
        c = batch.components
        i = batch.rows_of("x")[0]
        got = shares(batch, i)
        assert c["core_margin/benefit"][i] > 0
        assert sum(got[u]["portfolio"] for u in GROUPS) == pytest.approx(
            c["core_margin/portfolio"][i], rel=1e-9
        )
        assert sum(got[u]["benefit"] for u in GROUPS) == pytest.approx(
            c["core_margin/benefit"][i], rel=1e-9
        )
        assert sum(got[u]["offset"] for u in GROUPS) == pytest.approx(
            c["core_margin/offset"][i], rel=1e-9
        )
        # per position, the allocated core margin adds up to the group's measure less offset
        allocated = dict.fromkeys(GROUPS, 0.0)
        for p in batch.explain(i):  # type: ignore[misc]
            allocated[p.instrument[:3]] += p.figures["allocated_core_margin"]
        for u in GROUPS:
            assert allocated[u] == pytest.approx(got[u]["group_sum"] - got[u]["offset"], rel=1e-9)
        # one underlying: no benefit, its share is the whole portfolio measure
        j = batch.rows_of("btc_only")[0]
        assert c["core_margin/benefit/BTC"][j] == 0.0
        assert c["core_margin/benefit/ETH"][j] == 0.0
        assert c["core_margin/portfolio/BTC"][j] == pytest.approx(
            c["core_margin/portfolio"][j], rel=1e-9
        )
