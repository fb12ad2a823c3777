"""OKX portfolio margin of every account of a book, as a :class:`MarginBatch` in USD."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.market import MarketSnapshot
from portmargin.methods.okx_pm._borrowing import borrowing_charge
from portmargin.methods.okx_pm._params import Mr4Form, OkxParams, RiskUnitGrouping
from portmargin.methods.okx_pm._spot_unit import check_spot_unit, split_spot
from portmargin.methods.okx_pm._unit import UnitMargin, unit_margin
from portmargin.methods.okx_pm._units import RiskUnit, risk_units
from portmargin.results import Contribution, MarginBatch
from portmargin.risk import (
    Book,
    ScenarioExplainer,
    group_totals,
    prepare_book,
    set_aside,
    worst_group,
)

__all__ = ["METHOD_NAME", "compute"]

METHOD_NAME = "okx-pm"

_SOURCES = {
    "mmr": "sum over risk units of Derivatives MMR + MR8",
    "derivatives_mmr": "max(max(MR1, MR2, MR6) + MR4 + MR3 + MR5 + MR9, MR7)",
    "mr1": "spot shock grid x IV down/same/up: max(0, -min P&L)",
    "mr2": "theta: option loss over mr2_horizon_days, market unchanged",
    "mr3": "vega term structure twist, no offset between expiries",
    "mr4": "basis: S (sum |delta_g| m_g - |sum delta_g| credit), m_g and credit per mr4_form",
    "mr5": "interest rate: |sum q rho| x mr5_rate_shift / 1%",
    "mr6": "extreme move: mr6_weight x max(0, -min P&L(+-move)), IV unchanged",
    "mr7": "minimum charge scaled incrementally by tier",
    "mr7_raw": "raw minimum charge: rates on notional and option mark",
    "mr8": "borrowing: input per account (USD), default 0",
    "mr9": "stablecoin depeg: mr9_rate x cross-currency hedged cash delta",
}

_ASSUMPTIONS = (
    "okx-pm: MR1 IV table not published: mr1_iv_points x max(DTE, 1)^-mr1_iv_power points",
    "okx-pm: MR2 theta, MR3 vega twist, MR4 formula, MR5 rho shift, MR6 weighting, MR7 raw "
    "charge and MR9 depeg are engine assumptions (specs/okx-pm.md section 6)",
    "okx-pm: MR7 tiers are the BTC/ETH table published before 2025-01-15, used for every unit",
    "okx-pm: MR8 borrowing is an input (0 for accounts without one)",
    "okx-pm: MR9 cash deltas of derivatives only (coin-margined count as USD)",
    "okx-pm: USDT and USDC valued at 1 USD",
)


def _notes(params: OkxParams, chosen: int) -> tuple[str, ...]:
    """The assumptions of a run with ``params``: the fixed ones, the risk-unit grouping (and
    how many accounts chose their own spot unit), the MR4 form and whether MR9 is off."""
    if params.risk_unit_grouping is RiskUnitGrouping.UNDERLYING:
        units = "okx-pm: merged risk units (one per underlying), spot-derivatives offset on"
    else:
        units = (
            "okx-pm: pre-merge risk units (one per underlying and margin currency, "
            "coin-margined = USD); spot and coin balances in the "
            f"{params.spot_margin_currency} unit unless the account chose another "
            f"(spot_unit: {chosen} account(s))"
        )
    mr4: tuple[str, ...] = ()
    if params.mr4_form is Mr4Form.MAX_FORWARD_MOVE:
        mr4 = (
            "okx-pm: MR4 pre-merge form, maximum forward price move per tier for every "
            "bucket (spot, perpetuals, each expiry) and for the net-delta credit",
        )
    mr9 = () if params.include_mr9 else ("okx-pm: MR9 off",)
    return (*_ASSUMPTIONS, units, *mr4, *mr9)


def _tierless(units: Iterable[RiskUnit], params: OkxParams) -> dict[str, str]:
    """Unit name → reason, for the units whose underlying some tier table does not cover."""
    reasons: dict[str, str] = {}
    for u in units:
        try:
            params.check_underlying(u.underlying)
        except ValidationError as exc:
            reasons[u.name] = f"okx-pm: no tier for {u.underlying!r}: {exc}"
    return reasons


def _components(
    units: Sequence[UnitMargin], mr8: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """Account totals of every component of :data:`_SOURCES`, USD, shape ``(n_accounts,)``:
    ``mr8`` as given, ``mmr`` including it, every other one the sum over ``units`` with one
    child per unit (``"mr1/BTC"``)."""
    n = mr8.size
    totals = group_totals(
        {
            name: [u.parts["derivatives_mmr" if name == "mmr" else name] for u in units]
            for name in _SOURCES
            if name != "mr8"
        },
        [u.unit for u in units],
        n,
    )
    out: dict[str, NDArray[np.float64]] = {}
    for name in _SOURCES:
        if name == "mr8":
            out[name] = mr8
            continue
        out[name] = totals[name] + mr8 if name == "mmr" else totals[name]
        out |= {f"{name}/{u.unit}": totals[f"{name}/{u.unit}"] for u in units}
    return out


def compute(
    book: Book,
    market: MarketSnapshot,
    params: OkxParams,
    *,
    borrowing: Mapping[str, float] | None = None,
    spot_unit: Mapping[str, str] | None = None,
) -> MarginBatch:
    """OKX PM MMR and IMR of every account of ``book``, one USD row per account.

    Per risk unit (``params.risk_unit_grouping``: one underlying with its futures,
    perpetuals, options, spot pairs and coin balances; or, pre-merge, one underlying and
    margin currency): ``Derivatives MMR = max(max(MR1, MR2, MR6) + MR4 + MR3 + MR5 + MR9,
    MR7)`` (MR9 = 0 when ``include_mr9`` is off); the account's
    ``MMR = sum over units + MR8`` and ``IMR = im_factor x MMR``. Components ``mmr``,
    ``derivatives_mmr``, ``mr1`` ... ``mr7``, ``mr9`` and ``mr7_raw`` are sums over units,
    each with one child per unit (``"mr1/BTC"``, pre-merge ``"mr1/BTC-USDT"``); ``mr8`` is
    the account's borrowing input; ``worst_scenario`` is the worst MR1 state of the unit with
    the largest MR1, and ``explain`` gives each position's USD P&L in that state.

    Parameters
    ----------
    book
        Accounts × instruments (coins of underlying; currency units for balances).
    market
        Index prices, forwards, vol smiles, marks (USD per coin) and rates.
    params
        An ``okx-pm`` pack.
    borrowing
        MR8 per account (margin on borrowed funds), USD, finite and >= 0; accounts not
        listed, and every account when None, get 0. Entries for accounts not in ``book``
        are ignored.
    spot_unit
        Pre-merge risk units only: account → margin currency of the unit its spot pairs
        and coin balances join, ``"USDT"``, ``"USDC"`` or ``"USD"`` (coin-margined), as
        chosen in OKX's spot-derivatives risk offset mode; accounts not listed, and every
        account when None, use the pack's ``spot_margin_currency``.

    Returns
    -------
    MarginBatch
        Rows of the computable accounts (currency ``"USD"``); accounts with instruments
        lacking market data or a tier are in ``errors``. ``notes`` lists the assumptions.

    Raises
    ------
    ValidationError
        If a ``borrowing`` value is not a finite number >= 0 (the field names the account);
        if a ``spot_unit`` account is not in ``book`` or its unit is not one of the three,
        or ``spot_unit`` is given with merged risk units.
    """
    check_spot_unit(book.accounts, spot_unit, params)
    default = params.spot_margin_currency
    prepared = prepare_book(book, market)
    table = prepared.table
    all_units = risk_units(table, params, np.full(len(table), default, dtype=object))
    tierless = _tierless(all_units, params)
    good, rejected = set_aside(
        prepared.book, [(u.columns, tierless[u.name]) for u in all_units if u.name in tierless]
    )
    mr8 = borrowing_charge(good.accounts, borrowing)
    errors = {**prepared.errors, **rejected}
    n = len(good.accounts)
    choice = np.full(n, default, dtype=object)
    if spot_unit:
        choice[:] = list(map(spot_unit.get, good.accounts, repeat(default)))
    split = split_spot(good.quantities, table, choice, default)
    columns = table.take(split.source)
    skip = {u.underlying for u in all_units if u.name in tierless}
    units = [
        unit_margin(split.quantities, columns, u, params)
        for u in risk_units(columns, params, split.spot_currency)
        if u.underlying not in skip
    ]
    components = _components(units, mr8)
    mmr = components["mmr"]
    worst, which = worst_group([u.parts["mr1"] for u in units], [u.worst for u in units], n)
    explainers = [
        ScenarioExplainer(
            quantities=split.quantities,
            pnl=u.mr1_pnl,
            names=[columns.names[c] for c in u.columns.tolist()],
            worst=u.mr1_worst,
            columns=u.columns,
        )
        for u in units
    ]

    def explain(i: int) -> tuple[Contribution, ...]:
        return () if worst[i] is None else explainers[int(which[i])](i)

    return MarginBatch(
        method=METHOD_NAME,
        params_version=params.version,
        account=np.array(good.accounts, dtype=object),
        currency=np.full(n, "USD", dtype=object),
        initial_margin=params.im_factor * mmr,
        maintenance_margin=mmr,
        components=components,
        sources=_SOURCES,
        worst_scenario=worst,
        errors=errors,
        explain=explain,
        notes=_notes(params, int(np.count_nonzero(choice != default))),
    )
