"""PMRM_2 over a whole book: one run per base asset, every account at once.

Per base asset the options are priced once per valuation column (``unit_values``, shape
``(n_o, n_s + 3)``); each expiry's holdings of every account are the sparse product
``Q[:, cols_e] @ unit_values[cols_e]``, and the nonlinear per-expiry steps (static discount by
sign, ``-|x|`` for skews, basis contingency) run on those ``(accounts × columns)`` arrays.
Naked shorts per strike use a sparse option → (expiry, strike) group matrix. Loops run over
base assets and expiries only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import scipy.sparse as sp

from portmargin.market import MarketSnapshot
from portmargin.methods.derive_pm2._chain import Chain, IntArray, expiry_terms, forward_split
from portmargin.methods.derive_pm2._checks import BoolArray, FloatArray
from portmargin.methods.derive_pm2._loss import loss_factors
from portmargin.methods.derive_pm2._pack import CASH_ASSET, DerivePM2Params
from portmargin.methods.derive_pm2._params import DeriveParams
from portmargin.methods.derive_pm2._scenarios import (
    ScenarioColumns,
    basis_contingency,
    delta_one_pnl,
    expiry_pnl,
    scenario_columns,
    static_discounts,
    unit_values,
)
from portmargin.methods.derive_pm2._support import (
    ColumnRoles,
    Role,
    column_roles,
    set_aside_unsupported,
)
from portmargin.risk import Book, InstrumentTable, WorstLoss, prepare_book, worst_loss

__all__ = [
    "STABLE_PRICE",
    "BaseRun",
    "CollateralRun",
    "DeriveBatchRun",
    "Holdings",
    "Margins",
    "OptionRun",
    "margins",
    "run_batch",
]

STABLE_PRICE = 1.0
"""USD per unit of the cash asset: the snapshot carries no stablecoin price."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BaseRun:
    """Every account holding instruments of one base asset (one Derive manager).

    Amounts are USD (the cash asset); ``a`` accounts, ``n_s`` scenarios.

    Attributes
    ----------
    base
        Base asset, e.g. ``"ETH"``.
    spot, perp_price
        Index of the base and perp price (the perpetual's mark, else the index); USD. ``spot``
        is 0 when the base's rows hold collateral only (no charge uses it then).
    chain
        The base's options in the book, sorted by expiry (then book column).
    option_columns, perp_column, collateral_columns
        Book columns of the options ``(n_o,)`` (aligned with ``chain``), of the perpetual
        (-1 if none) and of the enabled collateral ``(n_c,)``.
    unit_values
        Value of one unit of each option per valuation column, shape ``(n_o, n_s + 3)``.
    discounts
        Static discount factors ``(pos, neg)`` per expiry, shapes ``(n_e,)``.
    accounts
        Book rows of the accounts, shape ``(a,)``.
    pnl
        Scenario P&L (> 0 a gain), shape ``(a, n_s)``.
    basis
        Basis contingency (<= 0), shape ``(a,)``.
    worst_case
        Worst loss (>= 0) of ``pnl`` against the basis contingency and its scenario index
        (-1: basis), shape ``(a,)`` each; ``min_span`` is minus the loss, ``worst`` the index.
    option_mtm, collateral_mtm, cash, equity
        MtM pieces, cash and ``equity = option_mtm + collateral_mtm + cash`` (perp value 0),
        shape ``(a,)``.
    naked
        Naked short amount summed over (expiry, strike), base units, shape ``(a,)``.
    im_components, mm_components
        Additive parts of the requirements by name (as in ``DeriveResult``), shape ``(a,)``.
    im_requirement, mm_requirement
        ``Req_IM`` and ``Req_MM`` (>= 0), shape ``(a,)``.
    """

    base: str
    spot: float
    perp_price: float
    chain: Chain
    option_columns: IntArray
    perp_column: int
    collateral_columns: IntArray
    unit_values: FloatArray
    discounts: tuple[FloatArray, FloatArray]
    accounts: IntArray
    pnl: FloatArray
    basis: FloatArray
    worst_case: WorstLoss
    option_mtm: FloatArray
    collateral_mtm: FloatArray
    cash: FloatArray
    equity: FloatArray
    naked: FloatArray
    im_components: Mapping[str, FloatArray]
    mm_components: Mapping[str, FloatArray]
    im_requirement: FloatArray
    mm_requirement: FloatArray

    @property
    def min_span(self) -> FloatArray:
        """``min(basis contingency, min scenario P&L)`` (<= 0), USD, shape ``(a,)``."""
        result: FloatArray = -self.worst_case.loss
        return result

    @property
    def worst(self) -> IntArray:
        """Scenario index of ``min_span`` (-1: the basis contingency), shape ``(a,)``."""
        return self.worst_case.column


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DeriveBatchRun:
    """Outcome of :func:`run_batch`.

    Attributes
    ----------
    book, table
        The accounts computed and their resolved instruments (aligned columns).
    params
        The parameters used.
    columns
        The valuation columns of ``params.margin``.
    groups
        One run per base asset, sorted by base.
    idle, idle_cash
        Book rows of accounts without base-asset holdings (empty or cash only) and their cash
        (USD), shape ``(k,)``; their requirements are 0.
    errors
        Accounts set aside → reason.
    """

    book: Book
    table: InstrumentTable
    params: DerivePM2Params
    columns: ScenarioColumns
    groups: tuple[BaseRun, ...]
    idle: IntArray
    idle_cash: FloatArray
    errors: Mapping[str, str]


def _column(q: sp.csr_array, col: int) -> FloatArray:
    """Dense column ``col`` of ``q`` (zeros when ``col`` is -1), shape ``(rows,)``."""
    if col < 0:
        return np.zeros(q.shape[0])
    return np.asarray(q[:, [col]].toarray()[:, 0], dtype=np.float64)


def _chain(
    table: InstrumentTable, cols: IntArray, market: MarketSnapshot
) -> tuple[Chain, IntArray]:
    """The options ``cols`` as a :class:`Chain` sorted by expiry, and the sorted columns."""
    cols = cols[np.argsort(table.expiry_ms[cols], kind="stable")]
    expiries, first, index = np.unique(
        table.expiry_ms[cols], return_index=True, return_inverse=True
    )
    seconds = (expiries - market.valuation_ms) / 1000.0
    rate = np.full(seconds.shape, market.rates.get(CASH_ASSET, 0.0))
    tau, floored, discount = expiry_terms(seconds, rate)
    fixed, variable = forward_split(table.forward[cols][first], seconds)
    chain = Chain(
        expiry_index=index.astype(np.intp).reshape(-1),
        strike=table.strike[cols],
        is_call=table.is_call[cols],
        vol=table.sigma[cols],
        seconds=seconds,
        tau=tau,
        rate=floored,
        discount=discount,
        fixed=fixed,
        variable=variable,
    )
    return chain, cols


def _naked(q_options: sp.csc_array, chain: Chain) -> FloatArray:
    """``sum over strikes of max(0, -net amount)`` per account and expiry, shape ``(a, n_e)``.

    Calls and puts at one (expiry, strike) net out. Groups are summed in (expiry, strike)
    order.
    """
    n_a, n_o, n_e = q_options.shape[0], chain.strike.shape[0], chain.seconds.shape[0]
    if n_o == 0:
        return np.zeros((n_a, n_e))
    keys = np.column_stack([chain.expiry_index.astype(np.float64), chain.strike])
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    member = sp.csr_array((np.ones(n_o), (np.arange(n_o), group)), shape=(n_o, first.shape[0]))
    net = sp.csr_array(q_options @ member)
    net.sort_indices()
    short = sp.csr_array((np.maximum(0.0, -net.data), net.indices, net.indptr), shape=net.shape)
    expiry_of = sp.csr_array(
        (np.ones(first.shape[0]), (np.arange(first.shape[0]), chain.expiry_index[first])),
        shape=(first.shape[0], n_e),
    )
    return np.asarray(sp.csr_array(short @ expiry_of).toarray(), dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _Inputs:
    """What every base-asset run reads: the computable book and its resolved columns."""

    book: Book
    table: InstrumentTable
    market: MarketSnapshot
    params: DerivePM2Params
    roles: ColumnRoles
    columns: ScenarioColumns
    cash: FloatArray


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class OptionRun:
    """Option part of a base run, USD; ``a`` accounts, ``n_e`` expiries, ``n_s`` scenarios.

    Attributes
    ----------
    unit_values
        Value of one unit of each option per valuation column, shape ``(n_o, n_s + 3)``.
    discounts
        Static discount factors ``(pos, neg)`` per expiry, shapes ``(n_e,)``.
    pnl
        Scenario P&L of the options (> 0 a gain), shape ``(a, n_s)``.
    mtm, basis, naked
        Per account and expiry ``(a, n_e)``: ``MtM_e``, basis contingency (<= 0) and naked
        short amount (base units).
    """

    unit_values: FloatArray
    discounts: tuple[FloatArray, FloatArray]
    pnl: FloatArray
    mtm: FloatArray
    basis: FloatArray
    naked: FloatArray


def _options(
    chain: Chain, q_opt: sp.csc_array, margin: DeriveParams, sc: ScenarioColumns
) -> OptionRun:
    """Scenario P&L, MtM, basis contingency and naked shorts of the options of ``chain``
    held in the rows of ``q_opt`` (shape ``(a, n_o)``, columns aligned with ``chain``)."""
    values = unit_values(chain, sc)
    pos, neg = static_discounts(chain.tau, chain.rate, chain.discount, margin)
    n_a, n_e = q_opt.shape[0], chain.seconds.shape[0]
    bounds = np.searchsorted(chain.expiry_index, np.arange(n_e + 1))
    pnl = np.zeros((n_a, sc.n_scenarios))
    mtm = np.zeros((n_a, n_e))
    basis = np.zeros((n_a, n_e))
    for e in range(n_e):
        lo, hi = int(bounds[e]), int(bounds[e + 1])
        held = np.asarray(q_opt[:, lo:hi] @ values[lo:hi])  # (a, n_s + 3), before discount
        mtm[:, e] = held[:, sc.mtm]
        basis[:, e] = basis_contingency(
            held[:, sc.up_column], held[:, sc.down_column], held[:, sc.mtm], chain.tau[e], margin
        )
        pnl += expiry_pnl(held[:, : sc.n_scenarios], mtm[:, e, None], (pos[e], neg[e]), sc)
    return OptionRun(
        unit_values=values,
        discounts=(pos, neg),
        pnl=pnl,
        mtm=mtm,
        basis=basis,
        naked=_naked(q_opt, chain),
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CollateralRun:
    """Collateral part of a base run, USD per account ``(a,)``."""

    value: FloatArray
    risk_cancelling: FloatArray
    mm: FloatArray
    im: FloatArray


def _collateral(run: _Inputs, cols: IntArray, q: sp.csr_array) -> CollateralRun:
    """Value (amount × price / stable price), risk-cancelling value and haircut charges."""
    enabled = {c.name: c for c in run.params.margin.collaterals}
    settings = [enabled[run.book.instruments[int(c)].name] for c in cols]
    price = run.table.index[cols] / STABLE_PRICE  # USD value of one unit
    rc = np.array([s.is_risk_cancelling for s in settings], dtype=bool)
    mm_cut = np.array([s.mm_haircut for s in settings], dtype=np.float64)
    im_cut = np.array([s.im_haircut for s in settings], dtype=np.float64)
    q_coll = sp.csr_array(q[:, cols])
    return CollateralRun(
        value=np.asarray(q_coll @ price, dtype=np.float64),
        risk_cancelling=np.asarray(q_coll @ np.where(rc, price, 0.0), dtype=np.float64),
        mm=np.asarray(q_coll @ (price * mm_cut), dtype=np.float64),
        im=np.asarray(q_coll @ (price * im_cut), dtype=np.float64),
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Holdings:
    """What the PMRM_2 formulas read for ``a`` accounts of one base asset; amounts in USD.

    Attributes
    ----------
    chain
        The options, sorted by expiry.
    options
        Signed option amounts (> 0 long), shape ``(a, n_o)``, columns aligned with ``chain``.
    perp
        Perpetual position, base units, shape ``(a,)``.
    perp_price, spot
        Perp price and spot price of the base, USD.
    perp_value
        MtM of the perpetual (unrealised P&L and funding), shape ``(a,)``.
    collateral
        Collateral value, risk-cancelling value and haircut charges, shape ``(a,)`` each.
    cash
        Cash balance, shape ``(a,)``.
    stable_price
        USD per unit of the cash asset.
    confidence
        Low-confidence charge added to the IM requirement (>= 0), shape ``(a,)``.
    """

    chain: Chain
    options: sp.csc_array
    perp: FloatArray
    perp_price: float
    spot: float
    perp_value: FloatArray
    collateral: CollateralRun
    cash: FloatArray
    stable_price: float
    confidence: FloatArray


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Margins:
    """PMRM_2 outcome of :class:`Holdings`; USD per account ``(a,)`` unless stated.

    Attributes
    ----------
    options
        Option P&L, MtM, basis contingency and naked shorts per expiry.
    pnl
        Scenario P&L (> 0 a gain), shape ``(a, n_s)``.
    basis
        Basis contingency (<= 0).
    worst_case
        Worst loss (>= 0) of ``pnl`` against ``basis`` and its scenario index (-1: basis).
    option_mtm, naked, equity
        ``Σ MtM_e``, naked shorts summed over expiries (base units) and
        ``perp_value + option_mtm + collateral value + cash``.
    im_loss_factor, mm_loss_factor
        Multipliers of the worst loss.
    im_components, mm_components
        Additive parts of the requirements by name.
    im_requirement, mm_requirement
        ``Req_IM`` and ``Req_MM`` (>= 0).
    """

    options: OptionRun
    pnl: FloatArray
    basis: FloatArray
    worst_case: WorstLoss
    option_mtm: FloatArray
    naked: FloatArray
    equity: FloatArray
    im_loss_factor: float
    mm_loss_factor: float
    im_components: Mapping[str, FloatArray]
    mm_components: Mapping[str, FloatArray]
    im_requirement: FloatArray
    mm_requirement: FloatArray


def margins(h: Holdings, margin: DeriveParams, sc: ScenarioColumns) -> Margins:
    """PMRM_2 scenario P&L, worst loss, contingencies and requirements of every account.

    Scenario P&L = perp + options + risk-cancelling collateral; ``min_span`` is the worst of
    it and the basis contingency; ``Req_MM = -min_span·f_MM + perp, option and collateral MM
    charges`` and ``Req_IM = -min_span·f_IM + MM charges + IM charges + confidence``.
    """
    opt = _options(h.chain, h.options, margin, sc)
    coll = h.collateral
    pnl = (
        delta_one_pnl(h.perp[:, None], h.perp_price, sc)
        + opt.pnl
        + delta_one_pnl(coll.risk_cancelling[:, None], 1.0, sc)
    )
    basis = opt.basis.sum(axis=1)
    worst = worst_loss(pnl, baseline=basis)
    min_span = -worst.loss
    f_im, f_mm = loss_factors(h.stable_price, margin)
    naked = opt.naked.sum(axis=1)
    option_mtm = opt.mtm.sum(axis=1)

    perp_notional = np.abs(h.perp) * h.spot
    naked_notional = naked * h.spot
    mm_parts = {
        "perp_mm": perp_notional * margin.mm_perp_percent,
        "option_mm": naked_notional * margin.mm_option_percent,
        "collateral_mm": coll.mm,
    }
    im_parts = {
        "perp_im": perp_notional * margin.im_perp_percent,
        "option_im": naked_notional * margin.im_option_percent,
        "collateral_im": coll.im,
        "confidence": h.confidence,
    }
    mm_cont = mm_parts["perp_mm"] + mm_parts["option_mm"] + mm_parts["collateral_mm"]
    im_cont = im_parts["perp_im"] + im_parts["option_im"] + im_parts["collateral_im"]
    im_cont = im_cont + im_parts["confidence"]
    return Margins(
        options=opt,
        pnl=pnl,
        basis=basis,
        worst_case=worst,
        option_mtm=option_mtm,
        naked=naked,
        equity=h.perp_value + option_mtm + coll.value + h.cash,
        im_loss_factor=f_im,
        mm_loss_factor=f_mm,
        im_components=MappingProxyType({"scenario_loss": -min_span * f_im, **mm_parts, **im_parts}),
        mm_components=MappingProxyType({"scenario_loss": -min_span * f_mm, **mm_parts}),
        im_requirement=-min_span * f_im + im_cont + mm_cont,
        mm_requirement=-min_span * f_mm + mm_cont,
    )


def _base_run(run: _Inputs, base: str, assigned: BoolArray) -> BaseRun | None:
    """The run of one base asset, or None when no account holds any of its instruments.

    ``assigned`` marks accounts whose cash already went to an earlier base (updated here).
    """
    table, roles = run.table, run.roles
    in_base = roles.base == base
    option_cols = np.flatnonzero(in_base & (roles.role == Role.OPTION))
    perp = np.flatnonzero(in_base & (roles.role == Role.PERP))
    coll_cols = np.flatnonzero(in_base & (roles.role == Role.COLLATERAL))
    derivatives = np.concatenate([option_cols, perp])
    accounts = np.flatnonzero(run.book.holders(np.concatenate([derivatives, coll_cols])))
    if accounts.size == 0:
        return None
    q = sp.csr_array(run.book.quantities[accounts])
    chain, option_cols = _chain(table, option_cols, run.market)
    coll = _collateral(run, coll_cols, q)
    perp_col = int(perp[0]) if perp.size else -1
    cash = np.where(assigned[accounts], 0.0, run.cash[accounts])
    assigned[accounts] = True
    h = Holdings(
        chain=chain,
        options=sp.csc_array(q[:, option_cols]),
        perp=_column(q, perp_col),
        perp_price=float(table.forward[perp_col]) if perp_col >= 0 else 0.0,
        spot=float(table.index[derivatives[0]]) if derivatives.size else 0.0,
        perp_value=np.zeros(accounts.size),
        collateral=coll,
        cash=cash,
        stable_price=STABLE_PRICE,
        confidence=np.zeros(accounts.size),  # every confidence is 1
    )
    m = margins(h, run.params.margin, run.columns)
    return BaseRun(
        base=base,
        spot=h.spot,
        perp_price=h.perp_price,
        chain=chain,
        option_columns=option_cols,
        perp_column=perp_col,
        collateral_columns=coll_cols,
        unit_values=m.options.unit_values,
        discounts=m.options.discounts,
        accounts=accounts,
        pnl=m.pnl,
        basis=m.basis,
        worst_case=m.worst_case,
        option_mtm=m.option_mtm,
        collateral_mtm=coll.value,
        cash=cash,
        equity=m.equity,
        naked=m.naked,
        im_components=m.im_components,
        mm_components=m.mm_components,
        im_requirement=m.im_requirement,
        mm_requirement=m.mm_requirement,
    )


def run_batch(book: Book, market: MarketSnapshot, params: DerivePM2Params) -> DeriveBatchRun:
    """Derive PMRM_2 requirements of every account of ``book``, one row per base asset.

    Accounts holding an unsupported instrument (see ``SUPPORTED``), a negative collateral
    balance or an instrument without market data are set aside in ``errors``; the rest is
    computed. The ``USDC`` balance is the cash of the account's first base-asset row.
    """
    supported, errors = set_aside_unsupported(book, column_roles(book.instruments, params))
    prepared = prepare_book(supported, market)
    errors.update(prepared.errors)
    good = prepared.book
    roles = column_roles(good.instruments, params)
    cash_cols = np.flatnonzero(roles.role == Role.CASH)
    inputs = _Inputs(
        book=good,
        table=prepared.table,
        market=market,
        params=params,
        roles=roles,
        columns=scenario_columns(params.margin),
        cash=_column(good.quantities, int(cash_cols[0]) if cash_cols.size else -1),
    )
    assigned = np.zeros(len(good.accounts), dtype=bool)
    bases = sorted({str(b) for b in roles.base.tolist() if b is not None})
    runs = (_base_run(inputs, base, assigned) for base in bases)
    groups = tuple(g for g in runs if g is not None)
    idle = np.flatnonzero(~assigned)
    return DeriveBatchRun(
        book=good,
        table=prepared.table,
        params=params,
        columns=inputs.columns,
        groups=groups,
        idle=idle,
        idle_cash=inputs.cash[idle],
        errors=MappingProxyType(errors),
    )
