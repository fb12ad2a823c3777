"""The SPAN clearing statement of the account report: specs/span.md section 11 line by line."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from portmargin.analysis import compute_margin
from portmargin.core import ValidationError
from portmargin.io.params import load_params
from portmargin.io.report import (
    AccountReport,
    span_active_scenarios,
    span_statement_html,
    write_account_report,
)
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.results import MarginBatch

sys.path.insert(0, str(Path(__file__).parents[1] / "methods" / "span"))
from span_support import EXAMPLE, example_market, params

CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>")
PRINTED = {
    # span.md section 11, to its printed precision (USD)
    "span_risk_mm/BTC-USD/scan_risk": "20,828.20",
    "span_risk_mm/BTC-USD/scan_risk/time_risk": "-347.24",
    "span_risk_mm/BTC-USD/scan_risk/price_risk": "21,175.44",
    "span_risk_mm/BTC-USD/intra_charge": "405.60",
    "span_risk_mm/BTC-USD/inter_credit": "6,004.93",
    "span_risk_mm/BTC-USD/som": "1,500.00",
    "span_risk_mm/BTC-USD": "15,228.87",
    "span_risk_mm/ETH-USD/scan_risk": "16,649.80",
    "span_risk_mm/ETH-USD/scan_risk/time_risk": "62.72",
    "span_risk_mm/ETH-USD/scan_risk/price_risk": "16,328.73",
    "span_risk_mm/ETH-USD/scan_risk/vol_risk": "258.35",
    "span_risk_mm/ETH-USD/inter_credit": "8,164.36",
    "span_risk_mm/ETH-USD": "8,485.44",
    "span_risk_mm": "23,714.31",
    "span_risk_im": "29,642.88",
    "nov": "-10,654.37",
    "req_mm": "34,368.68",
    "req_im": "40,297.25",
}


@pytest.fixture(scope="module")
def example() -> tuple[MarginBatch, Portfolio]:
    pf = Portfolio.from_positions("x", [Position(instrument=i, quantity=q) for i, q in EXAMPLE])
    batch = compute_margin(get_method("span"), [pf], example_market(), params())
    return batch, pf


def _cells(page: str) -> list[list[str]]:
    """Cell texts of every table row."""
    return [CELL.findall(row) for row in re.findall(r"<tr>(.*?)</tr>", page)]


def test_statement_shows_the_worked_example(example: tuple[MarginBatch, Portfolio]) -> None:
    batch, pf = example
    active = span_active_scenarios([pf], example_market(), params())
    assert active == {
        "x": {
            "USD": {
                "BTC-USD": "15 (extreme up, cover fraction)",
                "ETH-USD": "14 (price -1, vol down)",
            }
        }
    }
    page = span_statement_html(batch, 0, active["x"])
    for name, printed in PRINTED.items():
        assert f"{float(batch.components[name][0]):,.2f}" == printed, name
    rows = {r[0]: r[1:] for r in _cells(page) if r}
    assert rows["Active scenario"] == [
        "15 (extreme up, cover fraction)",
        "14 (price -1, vol down)",
    ]
    assert rows["Scan risk"] == ["20,828.20", "16,649.80"]
    assert rows["time risk"] == ["-347.24", "62.72"]
    assert rows["price risk"] == ["21,175.44", "16,328.73"]
    assert rows["vol risk"] == ["0.00", "258.35"]
    assert rows["Intra-commodity spread charge"] == ["405.60", "0.00"]
    assert rows["Spot-month charge"] == ["0.00", "0.00"]
    assert rows["Inter-commodity spread credit"] == ["6,004.93", "8,164.36"]
    assert rows["Short option minimum"] == ["1,500.00", "0.00"]
    assert rows["<b>CC risk = max(scan + intra + spot - credit, SOM)</b>"] == [
        "15,228.87",
        "8,485.44",
    ]
    assert rows["SPANRisk MM (sum of CC risks)"] == ["23,714.31"]
    assert rows["SPANRisk IM (= initial margin)"] == ["29,642.88"]
    assert rows["Net option value NOV (long &gt; 0)"] == ["-10,654.37"]
    assert rows["Cash-only Req_MM = max(SPANRisk MM - NOV, 0)"] == ["34,368.68"]
    assert rows["Cash-only Req_IM = max(SPANRisk IM - NOV, 0)"] == ["40,297.25"]


def test_without_active_scenarios_the_held_ccs_are_listed(
    example: tuple[MarginBatch, Portfolio],
) -> None:
    batch, _ = example
    page = span_statement_html(batch, 0)
    assert "Active scenario" not in page
    assert "<th>BTC-USD</th><th>ETH-USD</th>" in page


def test_the_account_page_carries_the_statement(
    example: tuple[MarginBatch, Portfolio], tmp_path: Path
) -> None:
    batch, pf = example
    index = write_account_report(
        AccountReport(batch=batch, portfolios=(pf,), market=example_market(), params=params()),
        tmp_path,
    )
    pages = list((index.parent / "accounts").glob("*.html"))
    assert len(pages) == 1
    page = pages[0].read_text(encoding="utf-8")
    assert "<h2>SPAN statement</h2>" in page
    assert (
        span_statement_html(batch, 0, {"USD": {"BTC-USD": "x", "ETH-USD": "y"}}).split("</tr>", 2)[
            2
        ]
        in page
    )
    assert "15 (extreme up, cover fraction)" in page
    for printed in PRINTED.values():
        assert printed in page


def test_only_span_results_and_existing_rows(example: tuple[MarginBatch, Portfolio]) -> None:
    batch, pf = example
    with pytest.raises(ValidationError, match="row"):
        span_statement_html(batch, 1)
    std = get_method("standard")
    other = compute_margin(std, [pf], example_market(), load_params(std))
    with pytest.raises(ValidationError, match="span"):
        span_statement_html(other, 0)
    assert np.isfinite(batch.components["span_risk_mm"]).all()
