"""Bundled demo data (see README.md in this folder for origins)."""

from importlib.resources import files
from pathlib import Path

__all__ = ["DEMO_CHAIN", "demo_chain_path"]

DEMO_CHAIN = "deribit_btc_options_2020-05-21.csv"


def demo_chain_path() -> Path:
    """Path of the bundled Deribit BTC option chain (2020-05-21, 326 options)."""
    return Path(str(files(__package__).joinpath(DEMO_CHAIN)))
