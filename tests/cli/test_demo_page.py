"""``portmargin demo`` end to end offline: the SPAN statement, the scenario P&L sections, and
the page drawn by a headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cli_support import run_cli as run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    proc = run("demo", "--out", str(out / "report"), cwd=out)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return out / "report" / "index.html"


def test_demo_page_has_the_new_sections(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]*\bsrc=", text) is None
    assert "SPAN statement: btc-calls-vs-eth-perp" in text
    for line in ("Active scenario", "Inter-commodity spread credit", "SPANRisk MM", "Req_IM"):
        assert line in text
    assert "Scenario P&amp;L: btc-calls-vs-eth-perp (FHS 1 day)" in text
    assert "diversification benefit" in text
    assert "Short tail: short-otm-puts" in text
    assert "Merton jump diffusion" in text
    ratio = re.search(r"<td>Merton / Black-76</td><td>([0-9.]+)x</td><td>([0-9.]+)x</td>", text)
    assert ratio is not None
    assert float(ratio.group(2)) > 1.0  # jumps raise the ES of short far-OTM puts
    assert "var MM (USD, with add-on)" in text
    # the var method's figures of the bundled data (FHS 1-day ES 99 %, USD)
    assert "<td>BTC positions alone</td><td>2,084</td><td>2,468</td>" in text
    assert "<td>ETH positions alone</td><td>2,585</td><td>3,722</td>" in text
    assert "<td>whole book</td><td>2,128</td><td>2,726</td>" in text
    assert re.search(r"<td>Black-76</td><td>1,612</td><td>3,681</td>", text)
    assert re.search(r"<td>Merton jump diffusion [^<]*</td><td>1,696</td><td>3,792</td>", text)
    assert "Diversification benefit by underlying" in text
    total = re.search(r"<tr><td>total</td><td>6,190.35</td><td>2,726.31</td><td>([0-9,.]+)", text)
    assert total is not None
    assert total.group(1) == "3,464.04"  # benefit B, shared between BTC and ETH
    assert text.count('"name":"VaR"') >= 2
    assert text.count('"name":"ES"') >= 2


def test_every_method_has_a_column_or_an_error_text(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    header = re.search(r"<h2>Margin by method \(USD at index\)</h2><table><tr>(.*?)</tr>", text)
    assert header is not None
    assert "<th>span</th>" in header.group(1)
    errors = re.search(r"<h2>Books a method cannot margin.*?</h2>(.*?)</table>", text)
    assert errors is not None
    assert "<td>btc-calls-vs-eth-perp</td><td>deribit-pm</td><td>parameter pack" in errors.group(1)
    assert "<td>derive-pm2</td><td>BTC-" in errors.group(1)


@pytest.mark.skipif(CHROMIUM is None, reason="needs a chromium binary")
def test_headless_browser_draws_every_figure(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    figures = text.count('class="plotly-graph-div"')
    assert figures >= 6
    proc = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=20000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert dom.count('class="main-svg"') >= figures
    assert "Short tail: short-otm-puts" in dom
    assert re.search(r'class="shape-group"', dom)
