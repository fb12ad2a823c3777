"""merge_snapshots: union of underlyings, time tolerance, rates, provenance, exclusions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portmargin.core import MarketDataError, ValidationError
from portmargin.instruments import parse_instrument
from portmargin.market import (
    DEFAULT_TIME_TOLERANCE_MS,
    FutureQuote,
    MarketSnapshot,
    VolSmile,
    merge_snapshots,
)

T = 1590103355277
JUN = 1593158400000


def snap(
    underlying: str,
    valuation_ms: int = T,
    *,
    rates: dict[str, float] | None = None,
    excluded: dict[str, str] | None = None,
    allow_unlisted: bool = False,
) -> MarketSnapshot:
    spot = {"BTC": 9000.0, "ETH": 200.0, "SOL": 1.0}[underlying]
    forward = spot * 1.01
    perp = parse_instrument(f"{underlying}-PERPETUAL")
    return MarketSnapshot(
        valuation_ms=valuation_ms,
        index_prices={underlying: spot},
        forwards={(underlying, JUN): forward},
        smiles={
            (underlying, JUN): VolSmile(
                expiry_ms=JUN, forward=forward, strikes=np.array([forward]), vols=np.array([0.8])
            )
        },
        rates=rates or {},
        futures={
            perp.name: FutureQuote(
                instrument_name=perp.name,
                instrument=perp,  # type: ignore[arg-type]
                timestamp_ms=valuation_ms,
                mark_price=spot,
            )
        },
        metadata={"source": f"{underlying.lower()}-file", "files": f"{underlying}.csv"},
        excluded=excluded or {},
        allow_unlisted=allow_unlisted,
    )


def test_merge_holds_every_underlying() -> None:
    btc, eth = snap("BTC"), snap("ETH")
    m = merge_snapshots(btc, eth)
    assert m.underlyings == ("BTC", "ETH")
    assert dict(m.forwards) == {**btc.forwards, **eth.forwards}
    assert m.smiles["ETH", JUN] is eth.smiles["ETH", JUN]
    assert set(m.futures) == {"BTC-PERPETUAL", "ETH-PERPETUAL"}
    assert m.forward("ETH", JUN) == eth.forward("ETH", JUN)
    assert m.vol("BTC", JUN, [9000.0])[0] == 0.8


def test_one_snapshot_is_returned_unchanged() -> None:
    btc = snap("BTC")
    assert merge_snapshots(btc) is btc


def test_an_underlying_in_two_snapshots_is_named() -> None:
    with pytest.raises(MarketDataError, match=r"underlying\(s\) ETH appear in more than one"):
        merge_snapshots(snap("BTC"), snap("ETH"), snap("ETH", T + 1))


def test_rates_merge_and_a_conflict_is_named() -> None:
    m = merge_snapshots(snap("BTC", rates={"USD": 0.01}), snap("ETH", rates={"USD": 0.01}))
    assert dict(m.rates) == {"USD": 0.01}
    m = merge_snapshots(snap("BTC", rates={"USD": 0.01}), snap("ETH", rates={"USDC": 0.02}))
    assert dict(m.rates) == {"USD": 0.01, "USDC": 0.02}
    with pytest.raises(
        MarketDataError, match=r"rate of USD is 0\.01 in the BTC snapshot and 0\.02"
    ):
        merge_snapshots(snap("BTC", rates={"USD": 0.01}), snap("ETH", rates={"USD": 0.02}))


def test_valuation_times_within_the_tolerance_and_the_latest_is_used() -> None:
    later = T + DEFAULT_TIME_TOLERANCE_MS
    assert merge_snapshots(snap("BTC"), snap("ETH", later)).valuation_ms == later
    assert merge_snapshots(snap("ETH", later), snap("BTC")).valuation_ms == later
    with pytest.raises(
        MarketDataError, match=r"3600\.001 s apart, more than the tolerance of 3600 s"
    ):
        merge_snapshots(snap("BTC"), snap("ETH", later + 1))
    assert merge_snapshots(snap("BTC"), snap("ETH", T + 5), tolerance_ms=5).valuation_ms == T + 5
    with pytest.raises(MarketDataError, match=r"tolerance of 0\.004 s"):
        merge_snapshots(snap("BTC"), snap("ETH", T + 5), tolerance_ms=4)


def test_provenance_is_kept_under_each_part() -> None:
    m = merge_snapshots(snap("BTC"), snap("ETH", T + 1000))
    md = dict(m.metadata)
    assert md["source"] == "merged"
    assert md["merged_from"] == "BTC: btc-file; ETH: eth-file"
    assert md["valuation_time"] == "2020-05-21T23:22:36.277000+00:00"
    assert md["valuation_rule"] == "latest valuation time of the merged snapshots"
    assert md["BTC.files"] == "BTC.csv"
    assert md["ETH.source"] == "eth-file"
    assert md["BTC.valuation_time"] == "2020-05-21T23:22:35.277000+00:00"
    nested = merge_snapshots(m, snap("SOL", T))
    assert nested.metadata["BTC+ETH.BTC.files"] == "BTC.csv"
    assert nested.metadata["merged_from"] == "BTC+ETH: merged; SOL: sol-file"


def test_excluded_instruments_are_merged() -> None:
    m = merge_snapshots(
        snap("BTC", excluded={"BTC-26JUN20-9000-C": "mark_iv: bad", "FOO": "a"}),
        snap("ETH", excluded={"ETH-26JUN20": "price: bad", "FOO": "b"}),
    )
    assert dict(m.excluded) == {
        "BTC-26JUN20-9000-C": "mark_iv: bad",
        "FOO": "a; b",
        "ETH-26JUN20": "price: bad",
    }
    with pytest.raises(MarketDataError, match="ETH-PERPETUAL is listed in one snapshot"):
        merge_snapshots(snap("BTC", excluded={"ETH-PERPETUAL": "stale"}), snap("ETH"))


def test_allow_unlisted_must_agree() -> None:
    both = merge_snapshots(snap("BTC", allow_unlisted=True), snap("ETH", allow_unlisted=True))
    assert both.allow_unlisted
    with pytest.raises(MarketDataError, match="BTC: True, ETH: False"):
        merge_snapshots(snap("BTC", allow_unlisted=True), snap("ETH"))


def test_a_quote_in_two_snapshots_is_named() -> None:
    eth = snap("ETH")
    stray = MarketSnapshot(
        valuation_ms=T, index_prices={"SOL": 1.0}, futures=dict(eth.futures), metadata={}
    )
    with pytest.raises(MarketDataError, match=r"futures\['ETH-PERPETUAL'\] is in both"):
        merge_snapshots(eth, stray)


def test_bad_arguments() -> None:
    with pytest.raises(ValidationError, match="snapshots"):
        merge_snapshots()
    with pytest.raises(ValidationError, match=r"snapshots\[1\]"):
        merge_snapshots(snap("BTC"), "ETH")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="tolerance_ms"):
        merge_snapshots(snap("BTC"), snap("ETH"), tolerance_ms=-1)
    with pytest.raises(ValidationError, match="tolerance_ms"):
        merge_snapshots(snap("BTC"), snap("ETH"), tolerance_ms=1.5)  # type: ignore[arg-type]


@given(
    offsets=st.lists(
        st.integers(min_value=0, max_value=DEFAULT_TIME_TOLERANCE_MS), min_size=3, max_size=3
    ),
    order=st.permutations([0, 1, 2]),
)
def test_the_order_of_the_parts_does_not_change_the_market(
    offsets: list[int], order: list[int]
) -> None:
    parts = [snap(u, T + o) for u, o in zip(("BTC", "ETH", "SOL"), offsets, strict=True)]
    a = merge_snapshots(*parts)
    b = merge_snapshots(*(parts[i] for i in order))
    assert a.valuation_ms == b.valuation_ms == T + max(offsets)
    assert dict(a.index_prices) == dict(b.index_prices)
    assert dict(a.forwards) == dict(b.forwards)
    assert set(a.futures) == set(b.futures)
    assert {k: v for k, v in a.metadata.items() if "." in k} == {
        k: v for k, v in b.metadata.items() if "." in k
    }


def test_the_daily_history_of_one_part_is_kept() -> None:
    from portmargin.data import demo_daily_paths
    from portmargin.io import load_history

    history = load_history(demo_daily_paths()).history
    btc = MarketSnapshot(valuation_ms=1_590_000_000_000, index_prices={"BTC": 9_000.0})
    eth = MarketSnapshot(valuation_ms=1_590_000_000_000, index_prices={"ETH": 200.0})
    assert merge_snapshots(btc.with_history(history), eth).history is history
    assert merge_snapshots(btc, eth).history is None
    with pytest.raises(ValidationError, match="history"):
        merge_snapshots(
            btc.with_history(history), eth.with_history(load_history(demo_daily_paths()).history)
        )
