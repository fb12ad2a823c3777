"""``portmargin demo`` shows a hedge suggestion for the market-maker book and a liquidation
cascade under three margin models."""

from __future__ import annotations

import re

import pytest

from cli_support import run_cli as run


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The demo's terminal output and its report page."""
    folder = tmp_path_factory.mktemp("demo")
    proc = run("demo", "--out", str(folder / "report"), cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, (folder / "report" / "index.html").read_text(encoding="utf-8")


def test_demo_has_the_market_maker_hedge(demo: tuple[str, str]) -> None:
    stdout, text = demo
    assert "Hedge suggestion for the market-maker book" in stdout
    section = re.search(r"<h2>Hedge suggestion for the market-maker book</h2>(.*?)</table>", text)
    assert section is not None
    rows = re.findall(
        r"<tr><td>([a-z-]+)</td><td>([^<]+)</td><td>([^<]+)</td><td>[^<]*</td>"
        r"<td>([0-9,]+)</td><td>([0-9,]+)</td></tr>",
        section.group(1),
    )
    assert {r[0] for r in rows} == {"standard", "deribit-pm", "span"}
    assert any(r[1] == "largest IM reduction, two legs" for r in rows)
    for _, _, trade, before, after in rows:
        im0, im1 = float(before.replace(",", "")), float(after.replace(",", ""))
        assert im1 <= im0
        assert (im1 == im0) == (trade == "no trade")


def test_demo_runs_a_cascade_under_three_margin_models(demo: tuple[str, str]) -> None:
    stdout, text = demo
    assert "Liquidation cascade: 2,000 leveraged perpetual accounts" in stdout
    section = re.search(r"<h2>Liquidation cascade[^<]*</h2>(.*?)</table>", text, re.S)
    assert section is not None
    assert "<div id='cascade'" in section.group(1)
    cells = dict(re.findall(r"<tr><td>([a-z_]+)</td>((?:<td>[^<]*</td>)+)</tr>", section.group(1)))
    rounds = re.findall(r"<td>([^<]*)</td>", cells["rounds"])
    assert len(rounds) == 3
    assert all(int(r) >= 1 for r in rounds)
    bankrupt = [int(b) for b in re.findall(r"<td>([^<]*)</td>", cells["accounts_bankrupt"])]
    # the flat 4 % margin lets far more accounts go bankrupt than the static 12 % one
    assert bankrupt[0] > bankrupt[1]
