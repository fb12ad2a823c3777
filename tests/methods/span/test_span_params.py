"""Pack validation (specs/span.md section 10): every rule names the key path."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from span_support import DEC, EXAMPLE, A, C, book, example_market, pack, params, run

from portmargin.core import ValidationError
from portmargin.instruments import Option, OptionType, Perpetual, Settlement
from portmargin.market import MarketSnapshot, OptionQuote
from portmargin.methods import get_method
from portmargin.pricing import black76

Edit = Callable[[dict[str, Any]], None]


def _set(path: list[str | int], value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return edit


def _drop(path: list[str | int]) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]

    return edit


SPREAD = ["cc", 0, "intra_spread", 0]
INTER = ["inter_spread", 0]

CASES: list[tuple[str, Edit, str]] = [
    ("unknown key", _set(["cc", 0, "price_scan", "valu"], 0.1), "cc[0].price_scan.valu"),
    ("unknown top key", _set(["margin_ratio"], 1.0), "margin_ratio"),
    ("unknown default", _set(["defaults", "lookahead"], 1.0), "defaults.lookahead"),
    ("both rates", _set([*SPREAD, "rate"], 500.0), "cc[0].intra_spread[0].rate"),
    ("no rate", _drop([*SPREAD, "rate_fraction"]), "cc[0].intra_spread[0].rate_fraction"),
    ("both SOM rates", _set(["cc", 0, "som", "rate"], 250.0), "cc[0].som.rate"),
    (
        "both spot rates",
        _set(["cc", 0, "spot"], {"rate_outright": 1.0, "rate_outright_fraction": 0.1}),
        "cc[0].spot.rate_outright",
    ),
    ("psr > 0", _set(["cc", 0, "price_scan", "value"], 0.0), "cc[0].price_scan.value"),
    ("price mode", _set(["cc", 0, "price_scan", "mode"], "percent"), "cc[0].price_scan.mode"),
    (
        "ref_multiplier per contract only",
        _set(["cc", 0, "price_scan", "ref_multiplier"], 2.0),
        "cc[0].price_scan.ref_multiplier",
    ),
    ("vsr >= 0", _set(["cc", 1, "vol_scan", "value"], -0.1), "cc[1].vol_scan.value"),
    ("X >= 1", _set(["defaults", "extreme_multiplier"], 0.5), "defaults.extreme_multiplier"),
    (
        "0 <= c <= 1",
        _set(["defaults", "extreme_cover_fraction"], 1.5),
        "defaults.extreme_cover_fraction",
    ),
    (
        "CC override of c",
        _set(["cc", 1, "extreme_cover_fraction"], -0.1),
        "cc[1].extreme_cover_fraction",
    ),
    (
        "weights non-negative",
        _set(["defaults", "delta_weights"], [1.0, 3.0, -6.0, 8.0, 6.0, 3.0, 1.0]),
        "defaults.delta_weights[2]",
    ),
    ("weights sum", _set(["defaults", "delta_weights"], [0.0] * 7), "defaults.delta_weights"),
    (
        "one weight per point",
        _set(["defaults", "delta_weights"], [1.0, 2.0]),
        "defaults.delta_weights",
    ),
    (
        "ratio >= 1",
        _set(["defaults", "ratio_by_account_class"], {"default": 0.9}),
        "defaults.ratio_by_account_class.default",
    ),
    (
        "default class",
        _set(["defaults", "ratio_by_account_class"], {"pro": 1.1}),
        "defaults.ratio_by_account_class.default",
    ),
    ("tier exists", _set([*SPREAD, "legs", 1, "tier"], "3"), "cc[0].intra_spread[0].legs[1].tier"),
    (
        "intra ratio > 0",
        _set([*SPREAD, "legs", 0, "ratio"], 0.0),
        "cc[0].intra_spread[0].legs[0].ratio",
    ),
    ("A and B legs", _set([*SPREAD, "legs", 1, "side"], "A"), "cc[0].intra_spread[0].legs"),
    ("side", _set([*SPREAD, "legs", 1, "side"], "C"), "cc[0].intra_spread[0].legs[1].side"),
    (
        "step on flat spread",
        _set([*SPREAD, "rate_per_step"], 10.0),
        "cc[0].intra_spread[0].rate_per_step",
    ),
    ("inter CC exists", _set([*INTER, "legs", 1, "cc"], "SOL-USD"), "inter_spread[0].legs[1].cc"),
    ("inter ratio > 0", _set([*INTER, "legs", 1, "ratio"], -12.0), "inter_spread[0].legs[1].ratio"),
    ("credit rate", _set([*INTER, "credit_rate"], 1.5), "inter_spread[0].credit_rate"),
    (
        "overlapping tiers",
        _set(["cc", 0, "tiers", 1, "min_dte"], 90),
        "cc[0].tiers[1].min_dte",
    ),
    ("unbounded middle tier", _drop(["cc", 0, "tiers", 0, "max_dte"]), "cc[0].tiers[0].max_dte"),
    ("unique CC ids", _set(["cc", 1, "id"], "BTC-USD"), "cc[1].id"),
    (
        "one CC per underlying and settlement",
        _set(
            ["cc", 1],
            {**copy.deepcopy(pack()["cc"][0]), "id": "BTC-USDC", "settlement_currency": "USDC"},
        ),
        "cc[1].settlement_currency",
    ),
    ("wpr method", _set(["cc", 0, "wpr_method"], "max"), "cc[0].wpr_method"),
    ("som method", _set(["cc", 0, "som", "method"], "net"), "cc[0].som.method"),
    (
        "contract CC exists",
        _set(["contract"], [{"id": "BTC-PERPETUAL", "cc": "BTC-BTC"}]),
        "contract[0].cc",
    ),
    ("schema", _set(["schema_version"], "2.0"), "schema_version"),
]


@pytest.mark.parametrize(("rule", "edit", "key"), CASES, ids=[c[0] for c in CASES])
def test_every_rule_names_the_key(rule: str, edit: Edit, key: str) -> None:
    data = pack()
    edit(data)
    with pytest.raises(ValidationError) as err:
        get_method("span").params_from_mapping(data)
    assert err.value.field == key, rule


def test_the_spec_file_keys_load() -> None:
    data = pack()
    data["cc"][0]["price_scan"] = {"mode": "per_contract", "value": 6000.0, "ref_multiplier": 1.0}
    data["cc"][0]["som"] = {"method": "gross", "rate": 250.0}
    data["cc"][0]["spot"] = {
        "window_days": 7,
        "rate_consumed_fraction": 0.002,
        "rate_outright_fraction": 0.006,
        "allow_inter": False,
    }
    data["cc"][0]["tiers"].append({"id": "P", "perpetual": True})
    data["contract"] = [
        {
            "id": "BTC_USDC-24DEC21-55000-C",
            "cc": "BTC-USD",
            "kind": "option",
            "style": "linear",
            "multiplier": 1.0,
            "expiry": "2021-12-24T08:00:00Z",
            "right": "C",
            "strike": 55000.0,
            "underlying_contract": "BTC_USDC-24DEC21",
        }
    ]
    parsed = params(data)
    assert parsed.cc[0].tier_ids == ("P", "1", "2")
    # per_contract with a multiplier of 1 coin moves every price by 6,000 USD per scan: the
    # DEC contracts (F = 50,000) as in fraction mode, the MAR future (F = 51,000) by 6,000
    # instead of 6,120, so its 3 short contracts lose 3 x 0.33 x 3 x 120 less in scenario 15
    r = run({"x": EXAMPLE}, data)
    assert r.statements[0].arrays.psr_unit == 6000.0
    assert r.statements[0].loss[0, 14] == pytest.approx(20828.20 - 356.40, abs=0.005)


def test_missing_cc_is_an_error_of_the_accounts_holding_it() -> None:
    inverse = Option(
        underlying="ETH",
        settlement=Settlement.INVERSE,
        option_type=OptionType.CALL,
        strike=4400.0,
        expiry_ms=DEC,
    )
    batch = get_method("span").compute(
        book({"ok": [(A, 1.0)], "bad": [(A, 1.0), (inverse, -1.0)]}),
        example_market(),
        params(),
    )
    assert batch.account.tolist() == ["ok"]
    assert "no span combined commodity" in batch.errors["bad"]
    assert "ETH settled in ETH" in batch.errors["bad"]


def test_contract_entries_assign_and_check_instruments() -> None:
    perp = Perpetual(underlying="BTC", settlement=Settlement.INVERSE)
    data = pack()
    data["contract"] = [{"id": "BTC-PERPETUAL", "cc": "BTC-USD", "kind": "perpetual"}]
    r = run({"x": [(perp, 1.0)]}, data)
    assert r.statements[0].arrays.cc.id == "BTC-USD"
    data["contract"] = [{"id": "BTC-PERPETUAL", "cc": "BTC-USD", "kind": "future"}]
    r = run({"x": [(perp, 1.0)]}, data)
    assert "[[contract]]" in r.errors["x"]


def test_dte_outside_every_tier_is_an_account_error() -> None:
    data = pack()
    data["cc"][0]["tiers"] = [{"id": "1", "min_dte": 40, "max_dte": 90}, {"id": "2", "min_dte": 91}]
    r = run({"x": [(A, 1.0)], "y": [(EXAMPLE[1][0], 1.0)]}, data)
    assert "no tier of span CC BTC-USD covers DTE 30.00" in r.errors["x"]
    assert r.book.accounts == ("y",)


def _quoted_market(mark_price: float) -> MarketSnapshot:
    base = example_market()
    quote = OptionQuote(
        instrument_name=C.name,
        instrument=C,
        timestamp_ms=base.valuation_ms,
        mark_price=mark_price,
        mark_iv=0.85,
        underlying_price=50_000.0,
        underlying_index="index_price",
    )
    return dataclasses.replace(base, quotes={C.name: quote})


def test_options_are_valued_at_their_mark_iv_and_a_missed_mark_is_noted() -> None:
    value = float(black76.price(50_000.0, 55_000.0, 30 / 365, 0.85, True))
    r = run({"x": [(C, -1.0)]}, market=_quoted_market(value))
    assert r.statements[0].arrays.value[0] == pytest.approx(value, rel=1e-12)
    assert not any("reprice" in n for n in r.notes)
    r = run({"x": [(C, -1.0)]}, market=_quoted_market(value + 1.0))
    assert r.statements[0].arrays.value[0] == pytest.approx(value, rel=1e-12)
    (note,) = [n for n in r.notes if "reprice" in n]
    assert C.name in note
    assert "1 option(s)" in note
