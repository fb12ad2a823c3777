"""The dashboard's snapshot page: vol smiles per underlying and the forwards table."""

from __future__ import annotations

import math
from dataclasses import dataclass

from portmargin.instruments import format_expiry
from portmargin.io.figures import Figure, smile_figure
from portmargin.service._desk import Desk
from portmargin.store import Store

__all__ = ["SnapshotPage", "snapshot_page"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardLine:
    """A forward of the snapshot: USD per coin, days to expiry, annualised log basis
    ``ln(F / S) / T`` (None at or past expiry)."""

    underlying: str
    expiry: str
    days: float
    index: float
    forward: float
    basis: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SmileChart:
    """The vol smiles of one underlying (a figure without traces: no vols)."""

    underlying: str
    figure: Figure


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotPage:
    """The snapshot page: id, label, valuation time, smiles and forwards."""

    snapshot_id: int
    label: str
    valuation_ms: int
    underlyings: tuple[str, ...]
    smiles: tuple[SmileChart, ...]
    forwards: tuple[ForwardLine, ...]


def snapshot_page(store: Store, desk: Desk) -> SnapshotPage:
    """The latest snapshot's vol smiles and forwards.

    Raises
    ------
    ValidationError
        No snapshot uploaded yet (field ``snapshot_id``).
    """
    snapshot_id, market = desk.market()
    row = store.snapshot(snapshot_id)
    forwards = []
    for u in market.underlyings:
        spot = market.index(u)
        for e in market.expiries(u):
            t = market.year_fraction(e)
            f = market.forward(u, e)
            forwards.append(
                ForwardLine(
                    underlying=u,
                    expiry=format_expiry(e),
                    days=t * 365.0,
                    index=spot,
                    forward=f,
                    basis=math.log(f / spot) / t if t > 0 else None,
                )
            )
    return SnapshotPage(
        snapshot_id=snapshot_id,
        label=row.label if row is not None else str(snapshot_id),
        valuation_ms=market.valuation_ms,
        underlyings=market.underlyings,
        smiles=tuple(
            SmileChart(underlying=u, figure=smile_figure(market, u)) for u in market.underlyings
        ),
        forwards=tuple(forwards),
    )
