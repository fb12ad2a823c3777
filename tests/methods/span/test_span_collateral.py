"""specs/span.md section 9: collateral scope. ``multi`` sums every CC in the account currency;
``segregated`` margins each settlement sub-account in its own currency, nothing converted.

The worked-example pack plus a coin-settled CC ``BTC-BTC`` (the BTC parameters) and an
inter spread ``BTC-BTC`` : ``ETH-USD`` 1 : 12 at 50 % across the two settlement currencies.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from span_support import (
    EXAMPLE,
    A,
    B,
    C,
    D,
    E,
    G,
    example_market,
    inverse_perpetual,
    pack,
    params,
    run,
)

from portmargin.core import ValidationError
from portmargin.instruments import Currency
from portmargin.io.report import (
    AccountReport,
    span_active_scenarios,
    span_statement_html,
    write_account_report,
)
from portmargin.methods import get_method, run_method
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book
from portmargin.testing import check_method

PERP = inverse_perpetual()
INDEX = 50_000.0


def two_currency_pack(**collateral: Any) -> dict[str, Any]:
    data = copy.deepcopy(pack())
    data["cc"].append(dict(data["cc"][0], id="BTC-BTC", settlement_currency="BTC"))
    data["inter_spread"].append(
        {
            "priority": 2,
            "credit_rate": 0.5,
            "legs": [
                {"cc": "BTC-BTC", "side": "A", "ratio": 1.0},
                {"cc": "ETH-USD", "side": "B", "ratio": 12.0},
            ],
        }
    )
    if collateral:
        data["collateral"] = collateral
    return data


HEDGED = {"y": [(PERP, 2.0), (E, -24.0)]}
"""Long 2 BTC inverse perpetual (coin delta +2), short 24 ETH DEC futures (delta -24)."""


def test_default_scope_is_multi_one_row_in_the_account_currency() -> None:
    assert params().collateral.segregated is False
    r = run(HEDGED, two_currency_pack())
    assert r.currency.tolist() == ["USD"]
    # by hand: ETH short 24 futures lose 24 x 720 = 17,280 at +1 PSR (scenario 11); the perp
    # loses 2 x 0.185625 = 0.37125 BTC in scenario 16 (span.md §11 check 4). The cross spread
    # forms n = min(2 / 1, 24 / 12) = 2: ETH credit 0.5 x 2 x 12 x 720 = 8,640 USD,
    # BTC credit 0.5 x 2 x 1 x min(0.37125 / 2, 0.12) = 0.12 BTC.
    # MM = (17,280 - 8,640) + (0.37125 - 0.12) x 50,000 = 8,640 + 12,562.5
    assert r.span_risk_mm[0] == pytest.approx(21_202.5, rel=1e-12)


def test_segregated_without_cross_currency_credit_by_hand() -> None:
    r = run(HEDGED, two_currency_pack(scope="segregated"))
    assert r.errors == {}
    assert r.currency.tolist() == ["USDC", "BTC"]  # the currency the positions settle in
    assert r.row_account.tolist() == [0, 0]
    # USDC sub-account: 24 x 720 = 17,280 USD (no credit); BTC: 0.37125 BTC, not converted
    assert r.span_risk_mm.tolist() == pytest.approx([17_280.0, 0.37125], rel=1e-12)
    assert r.span_risk_im.tolist() == pytest.approx([21_600.0, 0.4640625], rel=1e-12)
    assert r.inter_credit[0].tolist() == [0.0, 0.0]  # ETH-USD, BTC-BTC (no BTC-USD held)
    assert r.req_mm.tolist() == pytest.approx([17_280.0, 0.37125], rel=1e-12)
    assert any("segregated collateral scope" in n for n in r.notes)
    assert not any("converted at the index" in n for n in r.notes)


def test_segregated_with_cross_currency_credit_by_hand() -> None:
    r = run(HEDGED, two_currency_pack(scope="segregated", credit_across_currencies=True))
    # the same credits as in multi scope, each in its own CC: 17,280 - 8,640 USD and
    # 0.37125 - 0.12 BTC
    assert r.span_risk_mm.tolist() == pytest.approx([8_640.0, 0.25125], rel=1e-12)
    assert r.span_risk_im.tolist() == pytest.approx([10_800.0, 0.3140625], rel=1e-12)


def test_segregated_worked_example_row_is_the_spec_figures() -> None:
    accounts = {"x": [*EXAMPLE, (PERP, 2.0)]}
    r = run(accounts, two_currency_pack(scope="segregated"))
    usd, btc = (r.currency.tolist().index(c) for c in ("USDC", "BTC"))
    # span.md §11 totals, unchanged by the coin sub-account
    assert r.span_risk_mm[usd] == pytest.approx(23_714.31, abs=0.005)
    assert r.span_risk_im[usd] == pytest.approx(29_642.88, abs=0.005)
    assert r.nov[usd] == pytest.approx(-10_654.37, abs=0.005)
    assert r.req_mm[usd] == pytest.approx(34_368.68, abs=0.005)
    assert r.req_im[usd] == pytest.approx(40_297.25, abs=0.005)
    assert r.span_risk_mm[btc] == pytest.approx(0.37125, rel=1e-12)
    assert r.nov[btc] == 0.0


def test_an_account_without_positions_in_a_sub_account_gets_no_row_there() -> None:
    r = run({"usd": [(A, 1.0)], "btc": [(PERP, 1.0)]}, two_currency_pack(scope="segregated"))
    assert list(zip(r.row_account.tolist(), r.currency.tolist(), strict=True)) == [
        (0, "USDC"),
        (1, "BTC"),
    ]


def test_batch_rows_components_equity_and_statement() -> None:
    method = get_method("span")
    data = two_currency_pack(scope="segregated")
    pf = Portfolio.from_positions(
        "y",
        [
            Position(instrument=PERP, quantity=2.0),
            Position(instrument=E, quantity=-24.0),
            Position(instrument=C, quantity=-1.0),
            Position(instrument=Currency(code="USDC"), quantity=30_000.0),
            Position(instrument=Currency(code="BTC"), quantity=1.0),
        ],
    )
    p = method.params_from_mapping(data)
    batch = run_method(method, Book.from_portfolios([pf]), example_market(), p)
    assert batch.currency.tolist() == ["USDC", "BTC"]
    comp = batch.components
    # the CCs of the other sub-account are 0 in a row
    assert comp["span_risk_mm/BTC-BTC"].tolist() == [0.0, pytest.approx(0.37125)]
    assert comp["span_risk_mm/ETH-USD"][1] == 0.0
    assert comp["span_risk_mm/BTC-USD"][1] == 0.0
    assert comp["nov"][1] == 0.0
    assert comp["nov"][0] == pytest.approx(-2699.0118, abs=5e-5)
    # each row meets the equity of its own currency: 30,000 USDC less the short call's
    # value; 1 BTC (the perpetual's P&L is in the balance)
    assert batch.equity is not None
    assert batch.equity.tolist() == pytest.approx([30_000.0 - 2699.0118, 1.0], abs=5e-5)
    assert batch.worst_scenario is not None
    assert str(batch.worst_scenario[1]).startswith("BTC-BTC #16")
    active = span_active_scenarios([pf], example_market(), p)["y"]
    assert set(active) == {"USDC", "BTC"}
    assert set(active["USDC"]) == {"BTC-USD", "ETH-USD"}
    page = span_statement_html(batch, 1, active)
    assert "<th>BTC-BTC</th>" in page
    assert "ETH-USD" not in page
    assert "Sub-account totals (segregated)" in page
    assert "Segregated collateral: this row margins the BTC-settled CCs only" in page
    usd_page = span_statement_html(batch, 0, active)
    assert "<th>BTC-USD</th><th>ETH-USD</th>" in usd_page
    assert "BTC-BTC" not in usd_page


@pytest.mark.parametrize(
    ("collateral", "field", "fragment"),
    [
        ({"scope": "pooled"}, "collateral.scope", "segregated"),
        ({"scope": "multi", "credit_across_currencies": True}, "credit_across_currencies", "multi"),
        ({"credit_across_currencies": False}, "credit_across_currencies", "segregated"),
        ({"scope": "segregated", "credit_across_currencies": "yes"}, "credit_across", ""),
        ({"scope": "segregated", "cross": True}, "collateral.cross", "one of the keys"),
    ],
)
def test_bad_collateral_keys_are_named(
    collateral: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(ValidationError, match=field) as info:
        params(two_currency_pack(**collateral))
    assert fragment in str(info.value)


UNIVERSE = (A, B, C, D, E, G, PERP)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    quantities=st.lists(
        st.floats(-5.0, 5.0, allow_nan=False).map(lambda q: round(q, 2)),
        min_size=len(UNIVERSE),
        max_size=len(UNIVERSE),
    )
)
def test_scopes_agree_and_sub_accounts_stand_alone(quantities: list[float]) -> None:
    positions = [(i, q) for i, q in zip(UNIVERSE, quantities, strict=True) if q != 0.0]
    if not positions:
        return
    multi = run({"x": positions}, two_currency_pack())
    crossed = run(
        {"x": positions}, two_currency_pack(scope="segregated", credit_across_currencies=True)
    )
    # with the same credits, the segregated rows converted at the index add up to multi
    rate = np.where(crossed.currency == "BTC", INDEX, 1.0)
    assert float(crossed.span_risk_mm @ rate) == pytest.approx(
        multi.span_risk_mm[0], rel=1e-12, abs=1e-9
    )
    assert float(crossed.nov @ rate) == pytest.approx(multi.nov[0], rel=1e-12, abs=1e-9)
    # without cross credits, each sub-account's row is that of its positions alone
    seg = run({"x": positions}, two_currency_pack(scope="segregated"))
    for currency, mm, nov, req in zip(
        seg.currency.tolist(), seg.span_risk_mm, seg.nov, seg.req_mm, strict=True
    ):
        mine = [(i, q) for i, q in positions if (i is PERP) == (currency == "BTC")]
        alone = run({"x": mine}, two_currency_pack(scope="segregated"))
        assert alone.currency.tolist() == [currency]
        assert alone.span_risk_mm[0] == pytest.approx(mm, rel=1e-12, abs=1e-12)
        assert alone.nov[0] == pytest.approx(nov, rel=1e-12, abs=1e-12)
        assert alone.req_mm[0] == pytest.approx(req, rel=1e-12, abs=1e-12)
        assert mm >= 0.0
        assert req >= 0.0


def test_segregated_scope_passes_the_method_check() -> None:
    method = get_method("span")
    data = pack("span/btc-eth-2021-11", collateral={"scope": "segregated"})
    check_method(method, params=method.params_from_mapping(data), examples=5)


def test_account_report_of_a_segregated_account(tmp_path: Path) -> None:
    method = get_method("span")
    p = method.params_from_mapping(two_currency_pack(scope="segregated"))
    pf = Portfolio.from_positions(
        "y", [Position(instrument=PERP, quantity=2.0), Position(instrument=E, quantity=-24.0)]
    )
    batch = run_method(method, Book.from_portfolios([pf]), example_market(), p)
    index = write_account_report(
        AccountReport(batch=batch, portfolios=(pf,), market=example_market(), params=p), tmp_path
    )
    (page,) = (index.parent / "accounts").glob("*.html")
    text = page.read_text(encoding="utf-8")
    assert text.count("Sub-account totals (segregated)") == 2
    assert "17,280.00" in text
    assert "0.37" in text
