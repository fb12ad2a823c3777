"""The bundled demo data in a store: the 2020-05-21 BTC chain and ETH market as a snapshot,
and the sample accounts of :mod:`portmargin.analysis` with collateral."""

from __future__ import annotations

from dataclasses import dataclass

from portmargin.analysis import cross_asset_portfolio, sample_portfolios
from portmargin.data import demo_chain_path, demo_eth_market_path
from portmargin.service._market import parse_market
from portmargin.store import Store

__all__ = ["DEMO_COLLATERAL", "DemoLoad", "load_demo"]

DEMO_COLLATERAL = {"BTC": 3.0, "USDC": 20_000.0}
"""Balances added to every demo account (on top of coins an account already holds)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoLoad:
    """What :func:`load_demo` stored: the snapshot id and the account ids."""

    snapshot_id: int
    accounts: tuple[str, ...]


def load_demo(store: Store) -> DemoLoad:
    """Store the demo snapshot and accounts (positions and collateral) in one transaction.

    Raises
    ------
    Conflict
        A demo account already exists in ``store``.
    """
    parts = [
        ("deribit-csv", demo_chain_path().read_bytes()),
        ("market-file", demo_eth_market_path().read_bytes()),
    ]
    snapshot = parse_market(parts).snapshot
    portfolios = [*sample_portfolios(snapshot), cross_asset_portfolio(snapshot)]
    with store.begin() as tx:
        row = tx.add_snapshot(
            label="demo: Deribit BTC chain and ETH market, 2020-05-21",
            parts=parts,
            valuation_ms=snapshot.valuation_ms,
            underlyings=snapshot.underlyings,
        )
        for pf in portfolios:
            tx.create_account(pf.account, label=f"demo: {pf.account}")
            balances = dict(DEMO_COLLATERAL)
            for code, amount in pf.balances.items():
                balances[code] = balances.get(code, 0.0) + amount
            tx.set_collateral(pf.account, balances, replace=True)
        tx.upsert_positions(
            (pf.account, p.instrument.name, p.quantity)
            for pf in portfolios
            for p in pf.positions
            if not p.is_balance
        )
        tx.append_audit(key_id=None, action="load demo", target=None, status=None, detail={})
    return DemoLoad(snapshot_id=row.snapshot_id, accounts=tuple(pf.account for pf in portfolios))
