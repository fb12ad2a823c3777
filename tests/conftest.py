"""Shared test fixtures: locations of the bundled data and of the shared reference folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from method_universe import LINEAR_ONLY, Universe, coin_books, usdc_books
from portmargin.data import demo_chain_path, demo_daily_paths
from portmargin.io import load_history
from portmargin.io.deribit import load_snapshot
from portmargin.market import MarketSnapshot

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The ``shared/`` reference folder beside the project (``PORTMARGIN_SHARED_DIR`` wins)."""
    return Path(os.environ.get("PORTMARGIN_SHARED_DIR", PROJECT_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def demo_snapshot() -> MarketSnapshot:
    """The bundled Deribit BTC chain of 2020-05-21 as a market snapshot, with the bundled
    BTC/ETH daily history attached (history-based methods such as var read it)."""
    snapshot = load_snapshot(demo_chain_path()).snapshot
    return snapshot.with_history(load_history(demo_daily_paths()).history)


@pytest.fixture(scope="session")
def coin_universe(demo_snapshot: MarketSnapshot) -> Universe:
    """The bundled chain's listed instruments (every method but derive-pm2 runs on it)."""
    return coin_books(demo_snapshot)


@pytest.fixture(scope="session")
def usdc_universe() -> Universe:
    """A hand-built USDC market (derive-pm2 margins USDC-settled books only)."""
    return usdc_books()


@pytest.fixture
def universe(name: str, coin_universe: Universe, usdc_universe: Universe) -> Universe:
    """The market and books of the method under test (parametrised as ``name``)."""
    return usdc_universe if name in LINEAR_ONLY else coin_universe
