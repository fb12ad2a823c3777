"""The historical scenarios of the stress pack recomputed from the bundled daily closes
(``stress-and-dynamics.md`` A.2, A.3): close-to-close moves and suggested vol multipliers."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from portmargin.data import demo_daily_paths
from portmargin.io import load_history
from portmargin.io.stress import load_stress_library
from portmargin.market import PriceHistory
from portmargin.scenarios import ScenarioKind, StressScenario, ewma_variance

LOAD = load_history(dict(demo_daily_paths()))
HISTORY: PriceHistory = LOAD.history
LIBRARY = load_stress_library()


def _closes(underlying: str) -> dict[str, float]:
    col = HISTORY.closes[:, HISTORY.column(underlying)]
    return {str(d): float(c) for d, c in zip(HISTORY.dates, col, strict=True) if np.isfinite(c)}


def _ewma_vol(underlying: str) -> dict[str, float]:
    """``sigma_EWMA(close of d)`` for every day ``d`` with a return: the forecast made at
    close ``d`` after the update with ``r_d`` (var-margin.md 3.3, written out as a loop)."""
    col = HISTORY.closes[:, HISTORY.column(underlying)]
    days = HISTORY.dates
    returns: list[tuple[str, float]] = []
    for i in range(1, days.size):
        one_day = days[i] - days[i - 1] == np.timedelta64(1, "D")
        if one_day and np.isfinite(col[i]) and np.isfinite(col[i - 1]):
            returns.append((str(days[i]), float(np.log(col[i] / col[i - 1]))))
    r = np.array([x for _, x in returns])
    variance = float(np.mean(r[:30] ** 2))
    out = {}
    for day, x in returns:
        variance = 0.94 * variance + 0.06 * x * x
        out[day] = variance**0.5
    return out


CLOSES = {u: _closes(u) for u in ("BTC", "ETH")}
SIGMA = {u: _ewma_vol(u) for u in ("BTC", "ETH")}


def _move(underlying: str, start: str, end: str) -> float:
    return CLOSES[underlying][end] / CLOSES[underlying][start] - 1.0


def _raw_multiplier(underlying: str, start: str, end: str) -> float:
    return SIGMA[underlying][end] / SIGMA[underlying][start]


def _multiplier(underlying: str, start: str, end: str) -> float:
    return float(np.clip(_raw_multiplier(underlying, start, end), 1.0, 2.5))


def test_missing_rows_are_the_null_days() -> None:
    nulls = {"2020-04-17", "2020-10-09", "2020-10-12", "2020-10-13"}
    for u in ("BTC", "ETH"):
        assert {d.date for d in LOAD.dropped if d.underlying == u} == nulls


def test_ewma_loop_matches_the_engine() -> None:
    col = HISTORY.log_returns()[:, HISTORY.column("BTC")]
    engine = np.sqrt(ewma_variance(col[np.isfinite(col)])[1:])
    assert engine[-1] == pytest.approx(SIGMA["BTC"]["2021-11-24"], rel=1e-12)
    assert round(float(engine[-1]), 6) == 0.030217  # var-margin.md 3.3 reference


# (start, end, BTC move %, ETH move %, M BTC, M ETH) as printed in A.3
A3_ROWS = [
    ("2018-01-13", "2018-02-05", -51.57, -50.02, 1.14, 1.21),
    ("2018-01-31", "2018-02-05", -31.95, -37.59, 1.21, 1.23),
    ("2018-01-15", "2018-01-16", -16.85, -18.44, 1.19, 1.19),
    ("2020-03-11", "2020-03-12", -37.17, -42.35, 2.50, 2.50),
    ("2020-03-10", "2020-03-12", -37.16, -44.04, 2.50, 2.50),
    ("2020-03-07", "2020-03-12", -44.21, -52.77, 2.50, 2.50),
    ("2021-05-18", "2021-05-19", -13.77, -27.20, 1.24, 1.57),
    ("2021-05-14", "2021-05-19", -25.82, -39.68, 1.23, 1.64),
    ("2021-05-11", "2021-05-23", -38.68, -49.39, 1.67, 1.79),
    ("2017-12-06", "2017-12-07", 25.25, 1.36, 1.33, 1.00),
    ("2017-12-02", "2017-12-07", 61.63, -6.27, 1.80, 1.00),
    ("2017-05-18", "2017-05-19", 5.25, 33.66, 1.04, 1.53),
    ("2017-03-11", "2017-03-16", 1.02, 115.84, 1.00, 1.81),
]


@pytest.mark.parametrize(("start", "end", "btc", "eth", "m_btc", "m_eth"), A3_ROWS)
def test_a3_rows_recomputed(
    start: str, end: str, btc: float, eth: float, m_btc: float, m_eth: float
) -> None:
    assert round(100 * _move("BTC", start, end), 2) == btc
    assert round(100 * _move("ETH", start, end), 2) == eth
    assert round(_multiplier("BTC", start, end), 2) == m_btc
    assert round(_multiplier("ETH", start, end), 2) == m_eth


def test_black_thursday_raw_multipliers() -> None:
    assert round(_raw_multiplier("BTC", "2020-03-11", "2020-03-12"), 2) == 3.80
    assert round(_raw_multiplier("ETH", "2020-03-11", "2020-03-12"), 2) == 2.69


def test_btc_only_leg_and_peak_closes() -> None:
    assert round(100 * _move("BTC", "2017-12-16", "2018-02-05"), 2) == -64.33
    assert round(_multiplier("BTC", "2017-12-16", "2018-02-05"), 2) == 1.05
    assert CLOSES["BTC"]["2017-12-16"] == pytest.approx(19_497.40, abs=0.005)
    assert CLOSES["ETH"]["2018-01-13"] == pytest.approx(1_396.42, abs=0.005)


HISTORICAL = [s for s in LIBRARY.scenarios if s.kind is ScenarioKind.HISTORICAL]


@pytest.mark.parametrize("scenario", HISTORICAL, ids=[s.id for s in HISTORICAL])
def test_pack_scenarios_are_the_data(scenario: StressScenario) -> None:
    assert scenario.start is not None
    assert scenario.end is not None
    start, end = scenario.start, scenario.end
    days = (datetime.date.fromisoformat(end) - datetime.date.fromisoformat(start)).days
    assert scenario.horizon_days == days
    assert scenario.vol_term_power == 0.3
    assert scenario.vol_mult_cap == 3.0
    assert start in scenario.source
    assert end in scenario.source
    for u in ("BTC", "ETH"):
        assert scenario.spot_shock[u] == round(_move(u, start, end), 4)
        assert scenario.vol_multiplier[u] == round(_multiplier(u, start, end), 2)


def _n_day_moves(underlying: str, n: int, since: str | None = None) -> dict[tuple[str, str], float]:
    closes = CLOSES[underlying]
    out = {}
    for end, c in closes.items():
        start = str(np.datetime64(end) - np.timedelta64(n, "D"))
        if start in closes and (since is None or start >= since):
            out[start, end] = c / closes[start] - 1.0
    return out


@pytest.mark.parametrize(
    ("underlying", "n", "since", "down", "up"),
    [
        ("BTC", 1, None, ("2020-03-11", "2020-03-12"), ("2017-12-06", "2017-12-07")),
        ("BTC", 5, None, ("2020-03-07", "2020-03-12"), ("2017-12-02", "2017-12-07")),
        ("ETH", 1, "2017-01-01", ("2020-03-11", "2020-03-12"), ("2017-05-18", "2017-05-19")),
        ("ETH", 5, "2017-01-01", ("2020-03-07", "2020-03-12"), ("2017-03-11", "2017-03-16")),
        ("ETH", 1, None, ("2015-08-07", "2015-08-08"), ("2015-08-10", "2015-08-11")),
        ("ETH", 5, None, ("2015-08-07", "2015-08-12"), ("2015-08-09", "2015-08-14")),
    ],
)
def test_largest_moves(
    underlying: str, n: int, since: str | None, down: tuple[str, str], up: tuple[str, str]
) -> None:
    moves = _n_day_moves(underlying, n, since)
    assert min(moves, key=lambda k: moves[k]) == down
    assert max(moves, key=lambda k: moves[k]) == up


def test_next_largest_btc_one_day_drops() -> None:
    moves = _n_day_moves("BTC", 1)
    worst = sorted(moves.items(), key=lambda kv: kv[1])[:3]
    assert [(end, round(100 * x, 2)) for (_, end), x in worst] == [
        ("2020-03-12", -37.17),
        ("2015-01-14", -21.14),
        ("2017-09-14", -18.74),
    ]


def test_left_out_rows_duplicate_listed_events() -> None:
    # LRG-*-1D-DOWN and LRG-*-5D-DOWN (seasoned) are the Black Thursday windows of the pack
    one, five = LIBRARY.get("HIST-2020-03-12-1D"), LIBRARY.get("HIST-2020-03-12-5D")
    assert (one.start, one.end) == ("2020-03-11", "2020-03-12")
    assert (five.start, five.end) == ("2020-03-07", "2020-03-12")
