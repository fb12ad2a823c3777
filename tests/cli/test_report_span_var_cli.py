"""``portmargin report`` on the default market: the SPAN statement on span pages, the scenario
P&L histogram on var pages, drawn by a headless browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cli_support import run_cli as run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
POSITIONS = """account,instrument,quantity
alice,BTC-26JUN20-10000-C,5
alice,ETH-PERPETUAL,-20
bob,BTC-26JUN20-6000-P,-10
"""


def _report(tmp_path: Path, method: str) -> dict[str, str]:
    (tmp_path / "pos.csv").write_text(POSITIONS, encoding="utf-8")
    out = tmp_path / method
    proc = run("report", str(tmp_path / "pos.csv"), "--method", method, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    pages = {}
    for p in (out / "accounts").glob("*.html"):
        text = p.read_text(encoding="utf-8")
        match = re.search(r"<h1>Account (\w+)</h1>", text)
        assert match is not None
        pages[match.group(1)] = str(p)
    return pages


def test_span_pages_carry_the_statement(tmp_path: Path) -> None:
    pages = _report(tmp_path, "span")
    alice = Path(pages["alice"]).read_text(encoding="utf-8")
    assert "<h2>SPAN statement</h2>" in alice
    assert "<th>BTC-BTC</th><th>ETH-ETH</th>" in alice
    for line in ("Active scenario", "Inter-commodity spread credit", "Cash-only Req_MM"):
        assert line in alice
    bob = Path(pages["bob"]).read_text(encoding="utf-8")
    assert "<th>BTC-BTC</th></tr>" in bob
    assert "Short option minimum" in bob


def test_var_pages_draw_the_distribution(tmp_path: Path) -> None:
    pages = _report(tmp_path, "var")
    for account in ("alice", "bob"):
        text = Path(pages[account]).read_text(encoding="utf-8")
        assert "P&amp;L over the var scenarios" in text
        shapes = re.search(r'"shapes":(\[.*?\])', text)
        assert shapes is not None
        assert [s["name"] for s in json.loads(shapes.group(1))] == ["VaR", "ES"]
    alice = Path(pages["alice"]).read_text(encoding="utf-8")
    groups = re.search(r"<h2>Diversification by underlying</h2><table>(.*?)</table>", alice)
    assert groups is not None
    rows = re.findall(r"<tr><td>(\w+)</td>((?:<td>[-0-9,.]+</td>)+)</tr>", groups.group(1))
    cells = {
        u: [float(x.replace(",", "")) for x in re.findall(r"<td>([^<]+)</td>", v)] for u, v in rows
    }
    assert set(cells) == {"BTC", "ETH", "total"}
    for k in range(5):  # alone, Euler share, benefit share, offset, add-on add up
        assert cells["BTC"][k] + cells["ETH"][k] == pytest.approx(cells["total"][k], abs=0.02)
    assert cells["total"][2] > 0  # the ETH short hedges the calls: a benefit
    if CHROMIUM is None:
        pytest.skip("needs a chromium binary to draw the page")
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=20000",
            "--dump-dom",
            Path(pages["bob"]).as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ">VaR 99%: " in proc.stdout
    assert ">ES 99%: " in proc.stdout
