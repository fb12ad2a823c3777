"""``portmargin report`` run as a real process: sample books, many accounts, odd account ids."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from cli_support import run_cli as run
from portmargin.analysis import linear_twin, sample_portfolios
from portmargin.data import demo_chain_path
from portmargin.market import MarketSnapshot
from portmargin.methods import method_names

CHAIN = str(demo_chain_path())
REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*['\"]?(https?:)?//", re.IGNORECASE)
ROW = re.compile(
    r"<tr><td>\d+</td><td class='l'>(?:<a href='accounts/([^']+)'>)?([^<]*)(?:</a>)?</td>"
    r"<td>[^<]*</td><td>[^<]*</td><td[^>]*>([^<]*)</td>"
)


def _rows(index: Path) -> list[tuple[str, str, float]]:
    """(page file or "", account as shown, excess USD) per index line, in order."""
    text = index.read_text(encoding="utf-8")
    return [(page, account, float(x.replace(",", ""))) for page, account, x in ROW.findall(text)]


def _assert_offline(folder: Path) -> None:
    for page in folder.rglob("*.html"):
        assert not REMOTE_SCRIPT.search(page.read_text(encoding="utf-8")), page
    assert len(list(folder.rglob("plotly*.js"))) <= 1


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory, demo_snapshot: MarketSnapshot) -> Path:
    """The demo's sample books and their USDC twins as a positions file."""
    coin = sample_portfolios(demo_snapshot)
    path = tmp_path_factory.mktemp("samples") / "samples.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["account", "instrument", "quantity"])
        for book in (*coin, *(linear_twin(b) for b in coin)):
            for p in book.positions:
                w.writerow([book.account, p.instrument.name, repr(p.quantity)])
    return path


NO_GRID = {"var"}
"""Methods without a scenario grid in the report (var scenarios are dates, not a grid)."""


@pytest.mark.parametrize("method", [m for m in method_names() if m not in NO_GRID])
def test_report_on_sample_books(method: str, sample_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    proc = run("report", str(sample_file), "--market", CHAIN, "--method", method, "--out", str(out))
    index = out / "index.html"
    assert proc.stdout.strip() == str(index)
    assert proc.returncode == (1 if method == "derive-pm2" else 0), proc.stderr  # coin books
    rows = _rows(index)
    excess = [x for _, _, x in rows]
    assert excess == sorted(excess)  # the most at risk first
    pages = {p.name for p in (out / "accounts").glob("*.html")}
    assert pages == {page for page, _, _ in rows}
    assert len(pages) == len(rows) >= 7
    _assert_offline(out)
    text = index.read_text(encoding="utf-8")
    for line in proc.stderr.splitlines():
        account = line.removeprefix("error: account ").partition(":")[0]
        assert f"<td class='l'>{account}</td>" in text
    heatmaps = marked = 0
    for page in pages:
        html_text = (out / "accounts" / page).read_text(encoding="utf-8")
        heatmaps += html_text.count("Plotly.newPlot(")
        marked += html_text.count('"name": "worst scenario"')
    assert heatmaps >= len(pages)
    assert marked >= len(pages) - 1  # a perfectly hedged book may lose in no scenario


@pytest.fixture(scope="module")
def many_file(tmp_path_factory: pytest.TempPathFactory, demo_snapshot: MarketSnapshot) -> Path:
    """60 random accounts, a bad one and odd ids (two of which sanitise alike)."""
    names = sorted(q.instrument.name for q in demo_snapshot.quotes.values())
    rng = np.random.default_rng(3)
    odd = ["../x", "a b", "a_b", "Ünïcödé 账户", "<b>bold</b>", "x" * 200]
    accounts = [f"acct{k:03d}" for k in range(60)] + odd
    path = tmp_path_factory.mktemp("many") / "many.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["account", "instrument", "quantity"])
        for a in accounts:
            for i in rng.choice(len(names), size=4, replace=False):
                w.writerow([a, names[i], round(float(rng.normal(0, 2)), 1) or 0.5])
            w.writerow([a, "BTC-PERPETUAL", round(float(rng.normal(0, 2)), 1) or 0.5])
        w.writerow(["broken", "BTC-26JUN20-9000-Q", "1"])
        w.writerow(["no-market", "ETH-26JUN20-200-C", "-1"])
    return path


@pytest.mark.parametrize("method", ["deribit-pm", "paradex-pm"])
def test_report_on_many_accounts_with_a_page_cap(
    method: str, many_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    proc = run(
        "report",
        str(many_file),
        "--market",
        CHAIN,
        "--method",
        method,
        "--out",
        str(out),
        "--pages",
        "10",
    )
    assert proc.returncode == 1  # broken and no-market
    index = out / "index.html"
    assert proc.stdout.strip() == str(index)
    rows = _rows(index)
    assert len(rows) == 66
    excess = [x for _, _, x in rows]
    assert excess == sorted(excess)  # the most at risk first
    paged = [page for page, _, _ in rows if page]
    assert paged == [page for page, _, _ in rows[:10]]
    assert {p.name for p in (out / "accounts").glob("*.html")} == set(paged)
    text = index.read_text(encoding="utf-8")
    assert "56 account(s) have no page" in text
    assert "Accounts that could not be computed (2)" in text
    assert re.search(r"<td class='l'>broken</td><td class='l'>[^<]*row \d+", text)
    assert re.search(r"<td class='l'>no-market</td><td class='l'>[^<]*ETH", text)
    shown = {account for _, account, _ in rows}
    for odd in ("../x", "a b", "a_b", "Ünïcödé 账户", "&lt;b&gt;bold&lt;/b&gt;", "x" * 200):
        assert odd in shown
    assert "<b>bold</b>" not in text
    assert [p for p in out.rglob("*") if p.is_file() and out not in p.resolve().parents] == []
    _assert_offline(out)


def test_every_odd_name_gets_its_own_page(many_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    proc = run("report", str(many_file), "--market", CHAIN, "--method", "okx-pm", "--out", str(out))
    assert proc.returncode == 1
    rows = _rows(out / "index.html")
    pages = sorted(p.name for p in (out / "accounts").glob("*.html"))
    assert len(pages) == len(rows) == 66
    assert len({p.lower() for p in pages}) == 66
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*\.html", p) for p in pages)
    assert sorted(out.iterdir()) == [out / "accounts", out / "index.html", out / "plotly.min.js"]
    by_account = {account: page for page, account, _ in rows}
    for account in ("../x", "a b", "a_b", "Ünïcödé 账户"):
        page = (out / "accounts" / by_account[account]).read_text(encoding="utf-8")
        assert f"<h1>Account {account}</h1>" in page
        assert "<a href='../index.html'>" in page


def test_default_out_folder_and_one_account(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text(
        "account,instrument,quantity\nme,BTC-26JUN20-10000-C,-1\nme,BTC-PERPETUAL,0.5\n",
        encoding="utf-8",
    )
    proc = run("report", str(path), "--market", CHAIN, "--method", "deribit-pm", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    index = tmp_path / "portmargin-report" / "index.html"
    assert Path(proc.stdout.strip()) in (index, Path("portmargin-report/index.html"))
    assert index.is_file()
    ((page, account, excess),) = _rows(index)
    assert account == "me"
    assert excess < 0  # a short call and no collateral: under-margined
    html_text = (index.parent / "accounts" / page).read_text(encoding="utf-8")
    assert "BTC-26JUN20-10000-C" in html_text
    assert '"name": "worst scenario"' in html_text


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--method", "nope"], "method"),
        (["--pages", "-1"], "--pages"),
    ],
)
def test_bad_options(args: list[str], fragment: str, sample_file: Path, tmp_path: Path) -> None:
    base = ["report", str(sample_file), "--market", CHAIN, "--out", str(tmp_path / "r")]
    if "--method" not in args:
        base += ["--method", "standard"]
    proc = run(*base, *args)
    assert proc.returncode == 2
    assert fragment in proc.stderr
