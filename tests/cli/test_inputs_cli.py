"""Per-account inputs on the command line: ``--inputs FILE`` and ``--input``, in ``margin``
(also with ``--add``), ``compare`` and ``methods``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cli_support import CHAIN, run_cli


@pytest.fixture
def positions(tmp_path: Path) -> Path:
    path = tmp_path / "positions.csv"
    path.write_text(
        "account,instrument,quantity\nalice,BTC-PERPETUAL,1\nbob,BTC-PERPETUAL,1\n",
        encoding="utf-8",
    )
    return path


def rows(stdout: str) -> dict[str, dict[str, Any]]:
    return {a["account"]: a for a in json.loads(stdout)["accounts"]}


def component(row: dict[str, Any], name: str) -> float:
    (amount,) = [c["amount"] for c in row["components"] if c["name"] == name]
    return float(amount)


def test_okx_borrowing_from_the_command_line(positions: Path) -> None:
    proc = run_cli(
        "margin", str(positions), "--market", CHAIN, "--method", "okx-pm", "--json",
        "--input", "alice:borrowing=1200", "--input", "ghost:borrowing=5",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = rows(proc.stdout)
    alice, bob = got["alice"], got["bob"]
    assert component(alice, "mr8") == 1200.0
    assert component(bob, "mr8") == 0.0
    assert alice["maintenance_margin"] == pytest.approx(bob["maintenance_margin"] + 1200.0)
    assert "inputs given for 1 account(s) not in the positions (not used): ghost" in proc.stderr


def test_deribit_inputs_file_and_assignment_override(positions: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.csv"
    inputs.write_text(
        "account,group,open_orders_margin,mmp_margin\n"
        "alice,btc_btc,0.001,0.06\n"
        "bob,btc_btc,,0.02\n",
        encoding="utf-8",
    )
    proc = run_cli(
        "margin", str(positions), "--market", CHAIN, "--method", "deribit-pm", "--json",
        "--inputs", str(inputs), "--input", "bob:mmp_margin@btc_btc=0.03",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = rows(proc.stdout)
    assert component(got["alice"], "open_orders_margin") == 0.001
    assert component(got["alice"], "mmp_margin") == 0.06
    assert component(got["bob"], "open_orders_margin") == 0.0
    assert component(got["bob"], "mmp_margin") == 0.03
    im = {a: float(r["initial_margin"]) for a, r in got.items()}
    assert im["alice"] - im["bob"] == pytest.approx(0.061 - 0.03, abs=1e-12)


def test_what_if_keeps_the_inputs(positions: Path) -> None:
    proc = run_cli(
        "margin", str(positions), "--market", CHAIN, "--method", "okx-pm", "--json",
        "--input", "alice:borrowing=1000", "--add", "BTC-PERPETUAL=-1", "--account", "alice",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (change,) = json.loads(proc.stdout)["what_if"]
    assert component(change["before"][0], "mr8") == 1000.0
    assert component(change["after"][0], "mr8") == 1000.0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--method", "okx-pm", "--input", "alice:mmp_margin=1"], "input: got 'mmp_margin'"),
        (["--method", "standard", "--input", "alice:borrowing=1"], "no input"),
        (["--method", "okx-pm", "--input", "alice:borrowing=-3"], r"borrowing\['alice'\]"),
        (["--method", "okx-pm", "--input", "borrowing=3"], "ACCOUNT:NAME=VALUE"),
        (["--method", "deribit-pm", "--input", "alice:mmp_margin@eth=1"], "<settlement>_<base>"),
    ],
)
def test_bad_inputs_are_one_line_errors(positions: Path, args: list[str], match: str) -> None:
    proc = run_cli("margin", str(positions), "--market", CHAIN, *args)
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith("error: ")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert re.search(match, proc.stderr), proc.stderr


def test_compare_gives_each_method_its_inputs(positions: Path) -> None:
    plain = run_cli("compare", str(positions), "--market", CHAIN, "--json")
    given = run_cli(
        "compare", str(positions), "--market", CHAIN, "--json",
        "--input", "alice:borrowing=700", "--input", "alice:mmp_margin@btc_btc=0.01",
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert given.returncode == 0, given.stderr

    def im(stdout: str) -> dict[tuple[str, str], float]:
        return {
            (a["account"], m["method"]): m["initial_margin_usd"]
            for a in json.loads(stdout)["accounts"]
            for m in a["methods"]
        }

    before, after = im(plain.stdout), im(given.stdout)
    assert after["alice", "okx-pm"] == pytest.approx(before["alice", "okx-pm"] + 1.3 * 700)
    assert after["alice", "deribit-pm"] > before["alice", "deribit-pm"]
    unchanged = [k for k in before if k[1] not in ("okx-pm", "deribit-pm") or k[0] == "bob"]
    assert all(after[k] == before[k] for k in unchanged)


def test_methods_lists_the_inputs() -> None:
    proc = run_cli("methods", "--json")
    assert proc.returncode == 0
    declared = {m["method"]: [i["name"] for i in m["inputs"]] for m in json.loads(proc.stdout)}
    assert declared["okx-pm"] == ["borrowing", "spot_unit"]
    assert declared["deribit-pm"] == ["open_orders_margin", "mmp_margin", "spot_margin"]
    assert declared["standard"] == []
    text = run_cli("methods").stdout
    assert "Per-account inputs" in text
    assert "borrowing" in text
