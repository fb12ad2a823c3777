"""One portfolio through the batch path, read out in the shape of ``private/pme/simulate``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from portmargin.core import MarketDataError, ValidationError
from portmargin.instruments import Future, Option, Perpetual, parse_instrument
from portmargin.market import MarketSnapshot
from portmargin.methods.deribit_pm._batch import GroupRun, group_key, run_batch
from portmargin.methods.deribit_pm._params import DeribitPMParams, MarginInputs
from portmargin.risk import Book

__all__ = ["PmeMargins", "PmeSimulation", "RiskVector", "WorstCaseBucket", "simulate_pme"]

ACCOUNT = "portfolio"


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskVector:
    """Standard (27) and extended (8) P&L entries, settlement currency, > 0 a gain."""

    standard: tuple[float, ...]
    extended: tuple[float, ...]

    def to_dict(self) -> dict[str, list[float]]:
        """``{"standard": [...], "extended": [...]}``."""
        return {"standard": list(self.standard), "extended": list(self.extended)}


@dataclass(frozen=True, slots=True, kw_only=True)
class WorstCaseBucket:
    """Where the worst loss was found: ``index`` in its vector, 1-based ``bucket``."""

    index: int
    source: str
    bucket: int
    side: str

    def to_dict(self) -> dict[str, Any]:
        """Venue field names."""
        return {
            "index": self.index,
            "source": self.source,
            "bucket": self.bucket,
            "side": self.side,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PmeMargins:
    """``margins.<ccy>`` of a response, every amount in the settlement currency (>= 0)."""

    initial_margin: float
    maintenance_margin: float
    risk_matrix_margin: float
    open_orders_margin: float
    mmp_margin: float
    spot_margin: float
    worst_case: float
    worst_case_bucket: WorstCaseBucket
    worst_scenario: str
    roll_shock: float
    delta_shock: float
    correlation_contingency: float

    def to_dict(self) -> dict[str, Any]:
        """The venue's nesting (``initial_margin_details.risk_matrix_margin_details``)."""
        return {
            "initial_margin": self.initial_margin,
            "maintenance_margin": self.maintenance_margin,
            "initial_margin_details": {
                "risk_matrix_margin": self.risk_matrix_margin,
                "open_orders_margin": self.open_orders_margin,
                "mmp_margin": self.mmp_margin,
                "spot_margin": self.spot_margin,
                "risk_matrix_margin_details": {
                    "worst_case": self.worst_case,
                    "worst_case_bucket": self.worst_case_bucket.to_dict(),
                    "roll_shock": self.roll_shock,
                    "delta_shock": self.delta_shock,
                    "correlation_contingency": self.correlation_contingency,
                },
            },
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PmeSimulation:
    """The computed counterpart of a ``private/pme/simulate`` result.

    Attributes
    ----------
    initial_risk_vectors
        Instrument → vector of the position (size included).
    pre_aggregated_risk_vectors, aggregated_risk_vectors
        Key (``"btc_btc"``) → sum of the position vectors, before / after pnl_offset and the
        extended dampener.
    margins
        Lower-case settlement currency → :class:`PmeMargins`.
    """

    initial_risk_vectors: Mapping[str, RiskVector]
    pre_aggregated_risk_vectors: Mapping[str, RiskVector]
    aggregated_risk_vectors: Mapping[str, RiskVector]
    margins: Mapping[str, PmeMargins]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form with the venue's field names."""
        return {
            "initial_risk_vectors": {k: v.to_dict() for k, v in self.initial_risk_vectors.items()},
            "pre_aggregated_risk_vectors": {
                k: v.to_dict() for k, v in self.pre_aggregated_risk_vectors.items()
            },
            "aggregated_risk_vectors": {
                k: v.to_dict() for k, v in self.aggregated_risk_vectors.items()
            },
            "margins": {k: v.to_dict() for k, v in self.margins.items()},
        }


def _vector(values: np.ndarray[Any, Any], n_std: int) -> RiskVector:
    return RiskVector(
        standard=tuple(values[:n_std].tolist()), extended=tuple(values[n_std:].tolist())
    )


def _margins(g: GroupRun) -> PmeMargins:
    col = int(g.worst.column[0])
    grid = g.grid
    return PmeMargins(
        initial_margin=float(g.initial_margin[0]),
        maintenance_margin=float(g.maintenance_margin[0]),
        risk_matrix_margin=float(g.risk_matrix_margin[0]),
        open_orders_margin=float(g.open_orders_margin[0]),
        mmp_margin=float(g.mmp_margin[0]),
        spot_margin=float(g.spot_margin[0]),
        worst_case=float(g.worst.loss[0]),
        worst_case_bucket=WorstCaseBucket(
            index=int(grid.index[col]),
            source=grid.source[col],
            bucket=int(grid.bucket[col]),
            side=grid.side[col],
        ),
        worst_scenario=grid.labels[col],
        roll_shock=float(g.roll_shock[0]),
        delta_shock=float(g.delta_shock[0]),
        correlation_contingency=float(g.correlation_contingency[0]),
    )


def simulate_pme(
    positions: Mapping[str, float],
    market: MarketSnapshot,
    params: DeribitPMParams,
    inputs: Mapping[str, MarginInputs] | None = None,
) -> PmeSimulation:
    """Risk vectors and margins of one portfolio, computed by the batch path (one account).

    Parameters
    ----------
    positions
        Instrument name → signed size in base currency (coins), as ``portfolio.position``.
    market
        Market at the valuation time.
    params
        Parameter pack.
    inputs
        Lower-case settlement currency (``"btc"``) → venue inputs of that currency.

    Raises
    ------
    MarketDataError
        If an instrument lacks market data or the pack lacks its parameters.
    ValidationError
        If a name does not parse, or one settlement currency holds several underlyings (their
        combination into one ``margins.<ccy>`` entry is not published).
    """
    names = [n for n, q in positions.items() if q != 0]
    instruments = [parse_instrument(n) for n in names]
    book = Book.from_arrays(
        [ACCOUNT],
        instruments,
        np.zeros(len(names), dtype=np.intp),
        np.arange(len(names), dtype=np.intp),
        np.array([positions[n] for n in names], dtype=np.float64),
    )
    overrides = {
        (ACCOUNT, group_key(ccy, i.underlying)): inputs[ccy]
        for i in instruments
        if isinstance(i, Future | Perpetual | Option)
        and inputs
        and (ccy := i.settlement_currency.lower()) in inputs
    }
    run = run_batch(book, market, params, overrides)
    if run.errors:
        raise MarketDataError(f"insufficient market data: {run.errors[ACCOUNT]}")
    settlements = [g.settlement for g in run.groups]
    if len(set(settlements)) != len(settlements):
        keys = sorted(g.key for g in run.groups)
        raise ValidationError("positions", keys, "one underlying per settlement currency")
    initial: dict[str, RiskVector] = {}
    pre: dict[str, RiskVector] = {}
    agg: dict[str, RiskVector] = {}
    margins: dict[str, PmeMargins] = {}
    for g in run.groups:
        q = g.quantities.toarray()[0]
        for c, col in enumerate(g.columns.tolist()):
            initial[run.table.names[col]] = _vector(q[c] * g.pnl[c], g.grid.n_std)
        pre[g.key] = _vector(g.pre[0], g.grid.n_std)
        agg[g.key] = _vector(g.agg[0], g.grid.n_std)
        margins[g.settlement.lower()] = _margins(g)
    return PmeSimulation(
        initial_risk_vectors=MappingProxyType(initial),
        pre_aggregated_risk_vectors=MappingProxyType(pre),
        aggregated_risk_vectors=MappingProxyType(agg),
        margins=MappingProxyType(margins),
    )
