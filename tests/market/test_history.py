"""PriceHistory, ReturnWindow: gaps, joint dates, as_of, lookback, history_start, proxies."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portmargin.core import MarketDataError, ValidationError
from portmargin.market import (
    LOOKBACK_DAYS,
    RECOMMENDED_HISTORY_START,
    PriceHistory,
    Proxy,
    to_day,
)

NAN = math.nan


def days(start: str, n: int) -> np.ndarray:
    return np.datetime64(start, "D") + np.arange(n)


def history(closes: dict[str, list[float]], start: str = "2021-01-01") -> PriceHistory:
    names = tuple(closes)
    n = len(next(iter(closes.values())))
    return PriceHistory(
        underlyings=names,
        dates=days(start, n),
        closes=np.column_stack([closes[u] for u in names]),
    )


def test_log_returns_between_consecutive_days() -> None:
    h = history({"A": [100.0, 110.0, 99.0]})
    r = h.log_returns()
    assert r.shape == (3, 1)
    assert math.isnan(r[0, 0])
    assert r[1, 0] == pytest.approx(math.log(1.1), abs=1e-15)
    assert r[2, 0] == pytest.approx(math.log(0.9), abs=1e-15)


def test_a_missing_close_removes_both_returns_touching_it() -> None:
    # var-margin.md 3.1: a return exists only if both calendar days have a valid close;
    # days without a return are skipped, never bridged and never interpolated.
    h = history({"A": [100.0, 110.0, NAN, 121.0, 133.1]})
    r = h.log_returns()[:, 0]
    assert np.isnan(r[[0, 2, 3]]).all()
    assert r[1] == pytest.approx(math.log(1.1))
    assert r[4] == pytest.approx(math.log(1.1))
    w = h.joint_returns(lookback_days=10)
    assert w.dates.tolist() == [dt.date(2021, 1, 2), dt.date(2021, 1, 5)]
    assert w.n == 2


def test_an_absent_calendar_day_is_a_gap_too() -> None:
    h = PriceHistory(
        underlyings=("A",),
        dates=np.array(["2021-01-01", "2021-01-02", "2021-01-04"], dtype="datetime64[D]"),
        closes=np.array([[1.0], [2.0], [4.0]]),
    )
    r = h.log_returns()[:, 0]
    assert math.isnan(r[2])  # no return over the two-day step 01-02 -> 01-04
    assert r[1] == pytest.approx(math.log(2.0))


def test_joint_dates_need_a_return_for_every_underlying() -> None:
    h = history({"A": [1.0, 2.0, 3.0, 4.0, 5.0], "B": [1.0, NAN, 3.0, 4.0, 5.0]})
    w = h.joint_returns(lookback_days=10)
    assert [str(d) for d in w.dates] == ["2021-01-04", "2021-01-05"]
    np.testing.assert_allclose(w.returns[:, 0], np.log([4 / 3, 5 / 4]))
    only_a = h.joint_returns(["A"], lookback_days=10)
    assert only_a.n == 4
    assert only_a.underlyings == ("A",)


def test_as_of_cuts_returns_ending_after_it() -> None:
    h = history({"A": [1.0, 2.0, 3.0, 4.0, 5.0]})
    w = h.joint_returns(as_of="2021-01-03", lookback_days=10)
    assert [str(d) for d in w.dates] == ["2021-01-02", "2021-01-03"]
    assert w.as_of == np.datetime64("2021-01-03")
    assert h.joint_returns(as_of=dt.date(2021, 1, 3), lookback_days=10).n == 2
    assert h.joint_returns(lookback_days=10).as_of == np.datetime64("2021-01-05")


def test_lookback_keeps_the_last_n_joint_returns_and_flags_short_history() -> None:
    h = history({"A": [1.0, 2.0, NAN, 3.0, 4.0, 5.0, 6.0]})
    w = h.joint_returns(lookback_days=3)
    assert [str(d) for d in w.dates] == ["2021-01-05", "2021-01-06", "2021-01-07"]
    assert not w.short_history
    # Skipped days are not counted in n: 4 returns exist over 7 calendar days.
    short = h.joint_returns(lookback_days=5)
    assert short.n == 4
    assert short.short_history  # used as they are, never padded
    assert np.isfinite(short.returns).all()


def test_default_lookback_is_three_years() -> None:
    assert LOOKBACK_DAYS == 1095
    assert history({"A": [1.0, 2.0]}).joint_returns().lookback_days == 1095


def test_history_start_drops_returns_ending_before_it() -> None:
    h = history({"A": [1.0, 2.0, 3.0, 4.0], "B": [1.0, 2.0, 3.0, 4.0]})
    w = h.joint_returns(history_start={"B": "2021-01-03"}, lookback_days=10)
    assert [str(d) for d in w.dates] == ["2021-01-03", "2021-01-04"]
    assert RECOMMENDED_HISTORY_START["ETH"] == np.datetime64("2017-01-01")


def test_proxy_fills_the_dates_before_the_short_history_and_is_reported() -> None:
    h = history({"BTC": [100.0, 110.0, 121.0, 110.0, 99.0], "NEW": [NAN, NAN, 10.0, 11.0, 12.1]})
    plain = h.joint_returns(lookback_days=4)
    assert plain.n == 2
    assert plain.short_history
    w = h.joint_returns(lookback_days=4, proxies={"NEW": Proxy(underlying="BTC", beta=1.5)})
    assert w.n == 4
    assert not w.short_history
    np.testing.assert_allclose(w.returns[:2, 1], 1.5 * np.log([1.1, 1.1]))
    np.testing.assert_allclose(w.returns[2:, 1], np.log([1.1, 1.1]))
    assert w.proxied[:, 1].tolist() == [True, True, False, False]
    assert not w.proxied[:, 0].any()
    assert [str(d) for d in w.proxy_dates("NEW")] == ["2021-01-02", "2021-01-03"]
    assert w.proxy_dates("BTC").size == 0
    assert w.proxy_report() == ("NEW: 2 daily returns are 1.5 x BTC (2021-01-02 to 2021-01-03)",)


def test_proxy_does_not_fill_a_gap_inside_the_own_history() -> None:
    h = history({"BTC": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "NEW": [NAN, 2.0, 3.0, NAN, 5.0, 6.0]})
    w = h.joint_returns(lookback_days=10, proxies={"NEW": Proxy(underlying="BTC", beta=1.0)})
    # 01-02: before NEW's first return (01-03), proxied; 01-04 and 01-05 (around the missing
    # close of 01-04) are inside NEW's history: skipped, not proxied.
    assert [str(d) for d in w.dates] == ["2021-01-02", "2021-01-03", "2021-01-06"]
    assert w.proxied[:, 1].tolist() == [True, False, False]


def test_proxy_stands_in_before_history_start() -> None:
    h = history({"BTC": [1.0, 2.0, 3.0, 4.0], "ETH": [1.0, 3.0, 6.0, 9.0]})
    w = h.joint_returns(
        lookback_days=10,
        history_start={"ETH": "2021-01-04"},
        proxies={"ETH": Proxy(underlying="BTC", beta=2.0)},
    )
    np.testing.assert_allclose(w.returns[:, 1], [2 * math.log(2), 2 * math.log(1.5), math.log(1.5)])
    assert w.proxied[:, 1].tolist() == [True, True, False]


def test_proxy_errors() -> None:
    h = history({"A": [1.0, 2.0], "B": [1.0, 2.0], "C": [1.0, 2.0]})
    with pytest.raises(ValidationError, match="proxies\\[A\\]"):
        h.joint_returns(["A", "B"], proxies={"A": Proxy(underlying="A", beta=1.0)})
    with pytest.raises(ValidationError, match="not itself proxied"):
        h.joint_returns(
            ["A", "B"],
            proxies={"A": Proxy(underlying="B", beta=1.0), "B": Proxy(underlying="C", beta=1.0)},
        )
    with pytest.raises(ValidationError, match="proxies\\[C\\]"):
        h.joint_returns(["A", "B"], proxies={"C": Proxy(underlying="A", beta=1.0)})
    with pytest.raises(MarketDataError, match="'X'"):
        h.joint_returns(["A"], proxies={"A": Proxy(underlying="X", beta=1.0)})
    with pytest.raises(ValidationError, match=r"Proxy\.beta"):
        Proxy(underlying="A", beta=math.inf)
    with pytest.raises(ValidationError, match=r"Proxy\.underlying"):
        Proxy(underlying="", beta=1.0)


def test_no_joint_return_raises() -> None:
    h = history({"A": [1.0, 2.0, 3.0], "B": [NAN, NAN, 3.0]})
    with pytest.raises(MarketDataError, match="no date up to as_of 2021-01-03"):
        h.joint_returns()
    with pytest.raises(MarketDataError, match="as_of 2020-12-01"):
        history({"A": [1.0, 2.0]}).joint_returns(as_of="2020-12-01")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lookback_days": 0}, "lookback_days"),
        ({"lookback_days": 2.5}, "lookback_days"),
        ({"lookback_days": True}, "lookback_days"),
        ({"as_of": "2021-13-01"}, "as_of"),
        ({"as_of": dt.datetime(2021, 1, 1, 12)}, "as_of"),
        ({"as_of": 20210101}, "as_of"),
        ({"history_start": {"A": "soon"}}, "history_start\\[A\\]"),
    ],
)
def test_window_parameter_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        history({"A": [1.0, 2.0]}).joint_returns(**kwargs)  # type: ignore[arg-type]


def test_unknown_underlyings_raise() -> None:
    h = history({"A": [1.0, 2.0]})
    with pytest.raises(MarketDataError, match="no price history for 'Z'"):
        h.joint_returns(["Z"])
    with pytest.raises(MarketDataError, match="'Z'"):
        h.joint_returns(history_start={"Z": "2021-01-01"})
    with pytest.raises(ValidationError, match="underlyings"):
        h.joint_returns(["A", "A"])
    with pytest.raises(ValidationError, match="a sequence of names"):
        h.joint_returns("A")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"underlyings": ()}, "PriceHistory.underlyings"),
        ({"underlyings": ("A", "A")}, "unique"),
        ({"dates": np.array([1, 2])}, "PriceHistory.dates"),
        (
            {"dates": np.array(["2021-01-02", "2021-01-01"], dtype="datetime64[D]")},
            "PriceHistory.dates\\[1\\]",
        ),
        (
            {"dates": np.array(["2021-01-01", "2021-01-01"], dtype="datetime64[D]")},
            "strictly increasing",
        ),
        ({"closes": np.array([[1.0], [0.0]])}, "PriceHistory.closes\\[A, 2021-01-02\\]"),
        ({"closes": np.array([[1.0], [-math.inf]])}, "finite close > 0"),
        ({"closes": np.array([1.0, 2.0])}, "shape"),
    ],
)
def test_price_history_validation(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "underlyings": ("A",),
        "dates": days("2021-01-01", 2),
        "closes": np.array([[1.0], [2.0]]),
    }
    args.update(kwargs)
    with pytest.raises(ValidationError, match=match):
        PriceHistory(**args)  # type: ignore[arg-type]


def test_arrays_are_read_only_copies() -> None:
    closes = np.array([[1.0], [2.0]])
    h = PriceHistory(underlyings=("A",), dates=days("2021-01-01", 2), closes=closes)
    closes[0, 0] = 5.0
    assert h.closes[0, 0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        h.closes[0, 0] = 3.0
    w = h.joint_returns()
    with pytest.raises(ValueError, match="read-only"):
        w.returns[0, 0] = 3.0


def test_to_day() -> None:
    assert to_day("d", "2021-11-24") == np.datetime64("2021-11-24")
    assert to_day("d", dt.date(2021, 11, 24)) == np.datetime64("2021-11-24")
    with pytest.raises(ValidationError, match="d: got 'NaT'"):
        to_day("d", "NaT")


prices = st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=2, max_size=60)


@given(prices)
def test_returns_without_gaps_sum_to_the_log_of_last_over_first(closes: list[float]) -> None:
    w = history({"A": closes}).joint_returns(lookback_days=len(closes))
    assert w.n == len(closes) - 1
    assert w.returns.sum() == pytest.approx(math.log(closes[-1] / closes[0]), abs=1e-9)


@given(
    prices,
    st.lists(st.booleans(), min_size=60, max_size=60),
    st.integers(min_value=1, max_value=70),
)
def test_window_is_the_last_joint_returns_of_consecutive_valid_days(
    closes: list[float], missing: list[bool], lookback: int
) -> None:
    c = np.array(closes)
    c[np.array(missing[: c.size])] = np.nan
    h = history({"A": list(c)})
    valid = [t for t in range(1, c.size) if np.isfinite(c[t]) and np.isfinite(c[t - 1])]
    if not valid:
        with pytest.raises(MarketDataError):
            h.joint_returns(lookback_days=lookback)
        return
    w = h.joint_returns(lookback_days=lookback)
    kept = valid[-lookback:]
    assert w.dates.tolist() == [d.item() for d in days("2021-01-01", c.size)[kept]]
    np.testing.assert_allclose(w.returns[:, 0], [math.log(c[t] / c[t - 1]) for t in kept])
    assert w.short_history == (len(valid) < lookback)


@given(prices, st.floats(min_value=-3, max_value=3), st.integers(min_value=1, max_value=58))
def test_proxied_entries_are_beta_times_the_proxy(
    closes: list[float], beta: float, late: int
) -> None:
    n = len(closes)
    late = min(late, n - 1)
    new = [NAN] * late + closes[late:]
    h = history({"P": closes, "N": new})
    w = h.joint_returns(lookback_days=n, proxies={"N": Proxy(underlying="P", beta=beta)})
    assert w.n == n - 1  # every date has a return: the proxy fills N's missing start
    np.testing.assert_allclose(w.returns[w.proxied[:, 1], 1], beta * w.returns[w.proxied[:, 1], 0])
    assert int(w.proxied[:, 1].sum()) == late


def test_volumes_validation_and_median() -> None:
    base: dict[str, object] = {
        "underlyings": ("A",),
        "dates": days("2021-01-01", 3),
        "closes": np.array([[1.0], [2.0], [NAN]]),
    }
    h = PriceHistory(**base, volumes=np.array([[1.0], [3.0], [100.0]]))  # type: ignore[arg-type]
    # Row 3 has no close: not a valid row, so its volume is not used.
    assert h.median_volume("A", rows=2) == 2.0
    with pytest.raises(MarketDataError, match="A: 2 rows with a close and a volume"):
        h.median_volume("A")  # 30 rows by default
    assert h.median_volume("A", as_of="2021-01-01", rows=1) == 1.0
    with pytest.raises(ValidationError, match=r"PriceHistory\.volumes\[A, 2021-01-02\]"):
        PriceHistory(**base, volumes=np.array([[1.0], [-1.0], [1.0]]))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="shape"):
        PriceHistory(**base, volumes=np.array([1.0, 2.0, 3.0]))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="rows"):
        h.median_volume("A", rows=0)
