"""Shared fixtures for the Derive PMRM_2 tests.

The venue's conformance cases are read in place from ``<project root>/../shared/conformance``
(override: environment variable ``PORTMARGIN_CONFORMANCE_DIR``, pointing at the folder that
contains ``derive_pm2/``). When the folder is absent the tests that need it are skipped with a
message naming where it was looked for.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from derive_pm2_support import mainnet_mapping

from portmargin.io.derive_case import load_derive_case
from portmargin.methods.derive_pm2 import DeriveCase, DeriveParams

ENV_VAR = "PORTMARGIN_CONFORMANCE_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PARAMS_CASE = "test_12_risk_cancelling_naked_short_call"
"""The case whose parameter set is the venue's conformance default."""


def conformance_root() -> Path:
    """The conformance folder: ``$PORTMARGIN_CONFORMANCE_DIR`` or ``../shared/conformance``."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return PROJECT_ROOT.parent / "shared" / "conformance"


def derive_dir() -> Path:
    """Folder of the Derive PMRM_2 cases."""
    return conformance_root() / "derive_pm2"


def _case_number(path: Path) -> int:
    match = re.match(r"test_(\d+)_", path.name)
    return int(match.group(1)) if match else 0


def derive_case_files() -> list[Path]:
    """All case files, ordered by case number (empty when the folder is absent)."""
    folder = derive_dir()
    if not folder.is_dir():
        return []
    return sorted(folder.glob("test_*.json"), key=lambda p: (_case_number(p), p.name))


def missing_reason() -> str:
    """Skip message naming where the cases were looked for."""
    return (
        f"Derive PMRM_2 conformance cases not found: looked in {derive_dir()} "
        f"(set {ENV_VAR} to the folder containing derive_pm2/)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``derive_case_file`` with one case file per test (id = file stem)."""
    if "derive_case_file" not in metafunc.fixturenames:
        return
    files = derive_case_files()
    if files:
        metafunc.parametrize("derive_case_file", files, ids=[p.stem for p in files])
    else:
        metafunc.parametrize(
            "derive_case_file",
            [pytest.param(None, marks=pytest.mark.skip(reason=missing_reason()))],
            ids=["conformance-folder-missing"],
        )


def load_named_case(name: str) -> DeriveCase:
    """Load one case by file stem, skipping the test when the folder is absent."""
    path = derive_dir() / f"{name}.json"
    if not path.is_file():
        pytest.skip(missing_reason())
    return load_derive_case(path)


@pytest.fixture(scope="session")
def default_case() -> DeriveCase:
    """The case carrying the conformance default parameters."""
    return load_named_case(DEFAULT_PARAMS_CASE)


@pytest.fixture(scope="session")
def default_params(default_case: DeriveCase) -> DeriveParams:
    """The conformance default PMRM_2 parameter set (31 scenarios)."""
    assert default_case.params is not None
    return default_case.params


@pytest.fixture
def mainnet() -> dict[str, Any]:
    """A fresh copy of :func:`mainnet_mapping` (safe to mutate)."""
    return mainnet_mapping()
