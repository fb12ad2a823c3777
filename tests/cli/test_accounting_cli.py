"""The CLI accounts for every account: no numpy warning, per-account errors, exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from portmargin.data import demo_chain_path


def test_overflowing_account_is_an_error_and_the_rest_computed(tmp_path: Path) -> None:
    positions = tmp_path / "positions.csv"
    positions.write_text(
        "account,instrument,quantity\n"
        "flat,BTC-PERPETUAL,1\n"
        "flat,BTC-PERPETUAL,-1\n"
        "coll,BTC,2.5\n"
        "zero,BTC-26JUN20-9000-C,0\n"
        "big,BTC-PERPETUAL,1e300\n"
        "ok,BTC-26JUN20-9000-C,-1\n"
    )
    command = [sys.executable, "-m", "portmargin", "margin", str(positions)]
    for method in ("standard", "deribit-pm", "paradex-pm", "okx-pm"):
        proc = subprocess.run(
            [*command, "--market", str(demo_chain_path()), "--method", method, "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        assert "Warning" not in proc.stderr
        out = json.loads(proc.stdout)
        status = {a["account"]: a["status"] for a in out["accounts"]}
        assert status == {
            "flat": "ok",
            "coll": "ok",
            "zero": "ok",
            "ok": "ok",
            "big": "error",
        }, method
        assert [e["account"] for e in out["errors"]] == ["big"]
