"""The docs example of ``private/pme/simulate`` through the loader and the self-check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deribit_pm_support import docs_example

from portmargin.analysis.deribit_check import check_deribit_pme, printed_tolerance
from portmargin.core import DataFormatError
from portmargin.io.deribit_pme import load_pme_simulate


@pytest.fixture(scope="module")
def example() -> Path:
    path = docs_example()
    if not path.is_file():
        pytest.skip(f"Deribit conformance example not found at {path}")
    return path


def test_docs_example_reproduced_to_printed_precision(example: Path) -> None:
    check = check_deribit_pme(load_pme_simulate(example))
    out = check.to_dict()
    assert out["ok"], out["mismatches"]
    assert check.compared == 2 * 35 + 35 + 14
    assert out["expected_im"] == "0.122861343"
    assert out["im"] == pytest.approx(0.122861343, abs=5e-10)
    assert out["mm"] == pytest.approx(0.050274504784, abs=5e-13)


def test_jsonrpc_envelope_is_accepted(example: Path, tmp_path: Path) -> None:
    wrapped = tmp_path / "reply.json"
    result = json.loads(example.read_text())
    wrapped.write_text(json.dumps({"jsonrpc": "2.0", "id": 7, "result": result}))
    assert check_deribit_pme(load_pme_simulate(wrapped)).ok


def _rewrite(example: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = example.read_text()
    assert text.count(old) == 1
    out = tmp_path / "perturbed.json"
    out.write_text(text.replace(old, new))
    return out


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (
            '"roll_shock": 0.00315725898',
            '"roll_shock": 0.00315725899',
            "margins.btc.initial_margin_details.risk_matrix_margin_details.roll_shock",
        ),
        ('"index": 1', '"index": 0', None),
        ('"initial_margin": 0.122861343', '"initial_margin": 0.122861342', None),
    ],
)
def test_perturbed_value_is_reported(
    example: Path, tmp_path: Path, old: str, new: str, path: str | None
) -> None:
    check = check_deribit_pme(load_pme_simulate(_rewrite(example, tmp_path, old, new)))
    assert not check.ok
    assert len(check.mismatches) == 1
    mismatch = check.mismatches[0]
    assert mismatch.expected == new.split(": ")[1]
    if path is not None:
        assert mismatch.path == path
        assert mismatch.computed == pytest.approx(0.00315725898, abs=1e-15)


def test_vector_entry_perturbed_at_full_precision(example: Path, tmp_path: Path) -> None:
    text = example.read_text().replace("-0.05991206933333334,", "-0.05991206933343334,", 1)
    path = tmp_path / "vector.json"
    path.write_text(text)
    check = check_deribit_pme(load_pme_simulate(path))
    assert [m.path for m in check.mismatches] == ["initial_risk_vectors.BTC-PERPETUAL.standard[0]"]
    assert check.mismatches[0].criterion == "relative"


def test_option_without_mark_iv_is_insufficient(example: Path, tmp_path: Path) -> None:
    doc = json.loads(example.read_text())
    doc["portfolio"]["position"]["BTC-28JUN24-70000-C"] = 1.0
    doc["ticker"]["BTC-28JUN24-70000-C"] = {"mark_price": 0.01, "underlying_price": 67371.75}
    path = tmp_path / "option.json"
    path.write_text(json.dumps(doc))
    check = check_deribit_pme(load_pme_simulate(path))
    assert not check.ok
    assert check.error is not None
    assert "insufficient market data" in check.error
    assert "BTC-28JUN24-70000-C" in check.error


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["model_params"]["general"].pop("mm_factor"), "model_params.general.mm_factor"),
        (lambda d: d["model_params"]["currency"]["btc"].update(bogus=1), "currency.btc.bogus"),
        (lambda d: d["portfolio"].update(position=[]), "portfolio.position"),
        (lambda d: d.update(ticker={"BTC-PERPETUAL": {"mark_price": "x"}}), "mark_price"),
    ],
)
def test_malformed_file_names_the_json_path(
    example: Path, tmp_path: Path, mutate: object, where: str
) -> None:
    doc = json.loads(example.read_text())
    assert callable(mutate)
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataFormatError, match=where.replace(".", r"\.")) as info:
        load_pme_simulate(path)
    assert "bad.json" in str(info.value)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{nope")
    with pytest.raises(DataFormatError, match="not valid JSON"):
        load_pme_simulate(path)


@pytest.mark.parametrize(
    ("text", "criterion", "tol"),
    [
        ("0", "zero", 1e-15),
        ("0.122861343", "absolute", 5e-10),
        ("1.8212e-05", "absolute", 5e-10),
        ("0.050274504784", "absolute", 5e-13),
        ("-0.05991206933333334", "relative", 1e-12),
        ("20000000", "absolute", 0.5),
    ],
)
def test_printed_precision_rule(text: str, criterion: str, tol: float) -> None:
    got = printed_tolerance(text)
    assert got[0] == criterion
    assert got[1] == pytest.approx(tol, rel=1e-12)
