"""The ``span`` method object and its clearing-statement result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import config_from_mapping
from portmargin.market import MarketSnapshot
from portmargin.methods._inputs import InputSpec
from portmargin.methods.span._arrays import SCENARIO_LABELS
from portmargin.methods.span._params import SpanParams
from portmargin.methods.span._run import SpanRun, run_span
from portmargin.results import Contribution, MarginBatch
from portmargin.risk import Book, row_entries

__all__ = ["METHOD_NAME", "SEGREGATED_TOTAL", "Span", "to_batch", "worst_labels"]

METHOD_NAME = "span"
SEGREGATED_TOTAL = (
    "sum of the CC risks of the row's settlement sub-account, in its currency (segregated "
    "scope: nothing converted)"
)
"""Source of ``span_risk_mm`` in a segregated-scope batch."""

_CC_SOURCES = {
    "": "CCRisk = max(scan_risk + intra_charge + spot_charge - inter_credit, som)",
    "scan_risk": "max(0, largest loss of the 16 weighted scenarios, lowest number on ties); "
    "the contributions are the positions' P&L in it",
    "scan_risk/time_risk": "(loss[1] + loss[2]) / 2",
    "scan_risk/price_risk": "mean loss of the active scenario and its pair (15/16: the "
    "active loss) minus time_risk",
    "scan_risk/vol_risk": "scan_risk - price_risk - time_risk",
    "intra_charge": "sum over intra spreads (ascending priority) of spreads formed x rate",
    "spot_charge": "spot-month deltas: rate_consumed x consumed + rate_outright x outright",
    "inter_credit": "sum over inter spreads of credit_rate x spreads x ratio x WPR, capped at "
    "scan_risk",
    "som": "short option minimum (rate x short option units)",
}


def worst_labels(run: SpanRun) -> NDArray[np.object_]:
    """Per row, the active scenario (``"BTC-USD #15 (extreme up, cover fraction)"``) of the
    row's CC with the largest scan risk in the row's currency (first CC on ties); ``None``
    when no CC of the row has scan risk."""
    r = run.row_account.size
    if not run.statements:
        return np.full(r, None, dtype=object)
    labels = np.array(SCENARIO_LABELS, dtype=object)
    mine = run.pool_of[:, None] == run.row_pool[None, :]
    scans = np.stack(
        [
            s.scan_risk[run.row_account] * rate
            for s, rate in zip(run.statements, run.to_row, strict=True)
        ]
    )
    scans = np.where(mine, scans, 0.0)
    which = np.argmax(scans, axis=0)
    per_cc = np.stack(
        [f"{s.arrays.cc.id} #" + labels[s.active[run.row_account]] for s in run.statements]
    )
    out: NDArray[np.object_] = per_cc[which, np.arange(r)]
    out[scans.max(axis=0) <= 0] = None
    return out


def to_batch(run: SpanRun, params: SpanParams) -> MarginBatch:
    """The clearing statement of every row as a :class:`MarginBatch`.

    Multi scope: one row per account in ``params.account_currency``, coin CCs converted at
    the index. Segregated scope: one row per account and settlement sub-account in which it
    holds a position, in the currency its positions settle in, nothing converted; the
    components of the CCs of other sub-accounts are 0 in that row. Components (every amount
    in the row's currency): ``span_risk_mm`` with one child per CC (its CC risk) holding
    ``scan_risk`` (children ``time_risk``, ``price_risk``, ``vol_risk``), ``intra_charge``,
    ``spot_charge``, ``inter_credit`` and ``som``; then ``span_risk_im``, ``nov`` (signed;
    child ``past_expiry``: the options past expiry at intrinsic value) and the cash-only
    ``req_mm`` and ``req_im``. ``worst_scenario`` is the active scenario of the row's CC
    with the largest scan risk (:func:`worst_labels`); ``explain`` gives each position of
    the row's CCs its P&L, in the row's currency, in the active scenario of its own CC.
    """
    segregated = params.collateral.segregated
    total = (
        SEGREGATED_TOTAL
        if segregated
        else f"sum of the CC risks in {params.account_currency} (coin CCs at the current index)"
    )
    acc = run.row_account
    components: dict[str, NDArray[np.float64]] = {"span_risk_mm": run.span_risk_mm}
    sources = {
        "span_risk_mm": total,
        "span_risk_im": "ratio(account class 'default') x span_risk_mm",
        "nov": "net option value sum q x V_0 (long > 0)",
        "nov/past_expiry": "options past expiry at intrinsic value on the index (part of nov)",
        "req_mm": "cash-only maintenance requirement max(span_risk_mm - nov, 0)",
        "req_im": "cash-only initial requirement max(span_risk_im - nov, 0)",
    }
    for k, s in enumerate(run.statements):
        rate = run.to_row[k]
        # the CC's amounts in its own rows, 0 in the rows of other sub-accounts
        factor = np.where(run.row_pool == run.pool_of[k], rate, 0.0)
        base = f"span_risk_mm/{s.arrays.cc.id}"
        values = {
            "": run.cc_risk[:, k],
            "scan_risk": s.scan_risk,
            "scan_risk/time_risk": s.time_risk,
            "scan_risk/price_risk": s.price_risk,
            "scan_risk/vol_risk": s.vol_risk,
            "intra_charge": s.intra_charge,
            "spot_charge": s.spot_charge,
            "inter_credit": run.inter_credit[:, k],
            "som": s.som,
        }
        unit = f"{s.arrays.cc.id}, {s.arrays.cc.settlement_currency} x {rate:.10g}"
        for name, amount in values.items():
            key = f"{base}/{name}" if name else base
            components[key] = amount[acc] * factor
            sources[key] = f"{_CC_SOURCES[name]} ({unit})"
    components["span_risk_im"] = run.span_risk_im
    components["nov"] = run.nov
    components["nov/past_expiry"] = run.past_expiry_value
    components["req_mm"] = run.req_mm
    components["req_im"] = run.req_im
    quantities = run.book.quantities.tocsr()
    cc_of = np.full(len(run.table), -1, dtype=np.intp)
    for k, s in enumerate(run.statements):
        cc_of[s.arrays.columns] = k
    position = np.zeros(len(run.table), dtype=np.intp)
    for s in run.statements:
        position[s.arrays.columns] = np.arange(s.arrays.columns.size)

    def explain(i: int) -> tuple[Contribution, ...]:
        cols, data = row_entries(quantities, int(acc[i]))
        out: list[Contribution] = []
        for col, qty in zip(cols.tolist(), data.tolist(), strict=True):
            k = int(cc_of[col])
            if k < 0 or run.pool_of[k] != run.row_pool[i]:
                continue
            s = run.statements[k]
            loss = s.arrays.risk[position[col], int(s.active[acc[i]])]
            pnl = -qty * float(loss) * float(run.to_row[k])
            out.append(Contribution(instrument=run.table.names[col], quantity=qty, pnl=pnl))
        return tuple(out)

    return MarginBatch(
        method=METHOD_NAME,
        params_version=params.version,
        account=np.array(run.book.accounts, dtype=object)[acc],
        currency=run.currency,
        initial_margin=run.span_risk_im,
        maintenance_margin=run.span_risk_mm,
        components=components,
        sources=sources,
        worst_scenario=worst_labels(run),
        errors=run.errors,
        explain=explain,
        notes=run.notes,
    )


class Span:
    """SPAN-style scenario margin (``specs/span.md``): 16 scenarios per combined commodity,
    intra-commodity spread and spot-month charges, inter-commodity credits, short option
    minimum; one row per account in the pack's account currency."""

    name: str = METHOD_NAME
    description: str = "SPAN-style margin: 16-scenario scan risk, spreads, credits, SOM"
    default_pack: str = "span/btc-eth-2021-11"
    account_inputs: tuple[InputSpec, ...] = ()

    def params_from_mapping(self, data: Mapping[str, Any]) -> SpanParams:
        """Parameters from a parsed pack; unknown keys raise naming their key path."""
        return config_from_mapping(SpanParams, data)

    def compute(self, book: Book, market: MarketSnapshot, params: SpanParams) -> MarginBatch:
        """Margin of every account of ``book`` (see :func:`to_batch`)."""
        return to_batch(run_span(book, market, params), params)
