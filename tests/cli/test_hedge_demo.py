"""``portmargin demo`` shows a hedge suggestion for the market-maker book."""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import run_cli as run


def test_demo_has_the_market_maker_hedge(tmp_path: Path) -> None:
    proc = run("demo", "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Hedge suggestion for the market-maker book" in proc.stdout
    text = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
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
