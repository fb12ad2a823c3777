"""The account report of a ``var`` result: the scenario P&L histogram with the method's VaR
and ES marked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from portmargin.analysis import compute_margin, sample_portfolios
from portmargin.data import demo_daily_paths
from portmargin.io import load_history
from portmargin.io._var_distribution import var_scenario_pnl
from portmargin.io.params import load_params
from portmargin.io.report import AccountReport, write_account_report
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.risk import var_es


def test_var_pages_mark_the_methods_var_and_es(
    demo_snapshot: MarketSnapshot, tmp_path: Path
) -> None:
    market = demo_snapshot.with_history(load_history(demo_daily_paths()).history)
    books = tuple(sample_portfolios(market)[:2])
    method = get_method("var")
    pack = load_params(method)
    batch = compute_margin(method, books, market, pack)
    assert not batch.errors
    pnl, weights = var_scenario_pnl(books, market, pack)
    index = write_account_report(
        AccountReport(batch=batch, portfolios=books, market=market, params=pack), tmp_path
    )
    for pf in books:
        i = batch.rows_of(pf.account)[0]
        var = float(batch.figures["risk_measures.var"][i])
        es = float(batch.figures["risk_measures.es"][i])
        # the vector drawn is the one the method measured: the same VaR and ES
        v, e = var_es(
            -pnl[pf.account][None, :], float(batch.figures["risk_measures.confidence"][i])
        )
        np.testing.assert_allclose([v[0], e[0]], [var, es], rtol=1e-9)
        assert weights.shape == pnl[pf.account].shape
        pages = [
            p
            for p in (index.parent / "accounts").glob("*.html")
            if f"Account {pf.account}<" in p.read_text(encoding="utf-8")
        ]
        assert len(pages) == 1
        page = pages[0].read_text(encoding="utf-8")
        assert "P&amp;L over the var scenarios" in page
        layout = re.search(r'"shapes":(\[.*?\])', page)
        assert layout is not None
        shapes = {s["name"]: s["x0"] for s in json.loads(layout.group(1))}
        assert shapes == {"VaR": -var, "ES": -es}
