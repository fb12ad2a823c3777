"""Bundled demo data (see README.md in this folder for origins)."""

from importlib.resources import files
from pathlib import Path

__all__ = [
    "DEMO_CHAIN",
    "DEMO_DAILY",
    "DEMO_ETH_MARKET",
    "demo_chain_path",
    "demo_daily_path",
    "demo_daily_paths",
    "demo_eth_market_path",
    "demo_market_paths",
]

DEMO_CHAIN = "deribit_btc_options_2020-05-21.csv"

DEMO_ETH_MARKET = "eth_market_2020-05-21.csv"
"""Market file of ETH at the bundled chain's valuation time (index observed, marks derived)."""

DEMO_DAILY = {"BTC": "btc_usd_daily.csv", "ETH": "eth_usd_daily.csv"}
"""File of the bundled daily USD closes, per underlying (Yahoo Finance export)."""


def demo_chain_path() -> Path:
    """Path of the bundled Deribit BTC option chain (2020-05-21, 326 options)."""
    return Path(str(files(__package__).joinpath(DEMO_CHAIN)))


def demo_eth_market_path() -> Path:
    """Path of the bundled ETH market file of 2020-05-21 (:mod:`portmargin.io.market_file`).

    ETH index = the Yahoo ETH-USD close of that day; ETH-PERPETUAL marked at the index and
    ETH futures of the chain's three future expiries (26JUN20, 25SEP20, 25DEC20) marked with
    the BTC basis of the same expiry: derived, not observed (see README.md).
    """
    return Path(str(files(__package__).joinpath(DEMO_ETH_MARKET)))


def demo_market_paths() -> tuple[Path, ...]:
    """The default market of the CLI: the BTC chain and the ETH market file of 2020-05-21,
    to be loaded and merged (``portmargin.io.load_markets``)."""
    return demo_chain_path(), demo_eth_market_path()


def demo_daily_path(underlying: str) -> Path:
    """Path of the bundled daily history of ``underlying`` (``"BTC"`` or ``"ETH"``, in USD).

    Raises
    ------
    KeyError
        No daily file is bundled for ``underlying``.
    """
    try:
        name = DEMO_DAILY[underlying]
    except KeyError:
        raise KeyError(
            f"no bundled daily history for {underlying!r}; available: {sorted(DEMO_DAILY)}"
        ) from None
    return Path(str(files(__package__).joinpath(name)))


def demo_daily_paths() -> dict[str, Path]:
    """Underlying → path of every bundled daily history (BTC-USD and ETH-USD)."""
    return {u: demo_daily_path(u) for u in DEMO_DAILY}
