"""Risk arrays: P&L per unit of every instrument under every scenario, priced once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.core import MarketDataError, ValidationError, require_finite, require_non_negative
from portmargin.pricing import black76, merton
from portmargin.risk._table import STABLECOINS, InstrumentTable, Kind
from portmargin.scenarios import ScenarioSet

__all__ = [
    "BLACK76",
    "Black76Model",
    "MertonJumps",
    "MertonModel",
    "RevaluationModel",
    "RiskArray",
    "build_risk_array",
    "unit_values",
]

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True, slots=True)
class Black76Model:
    """Revaluation of options with Black-76 on the shocked forward (the default)."""

    name: str = "black76"


BLACK76 = Black76Model()
"""The default revaluation model."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MertonJumps:
    """Jump parameters of one underlying (``pricing-conventions.md`` section 7).

    Attributes
    ----------
    intensity
        ``lambda``, jumps per year, >= 0.
    mean
        ``mu_J``, mean log jump ratio (e.g. -0.01).
    vol
        ``delta``, standard deviation of the log jump ratio, >= 0.
    """

    intensity: float
    mean: float
    vol: float

    def __post_init__(self) -> None:
        require_non_negative("intensity", self.intensity)
        require_finite("mean", self.mean)
        require_non_negative("vol", self.vol)


def _jump_table(jumps: Mapping[str, MertonJumps]) -> Mapping[str, MertonJumps]:
    if not isinstance(jumps, Mapping) or not jumps:
        raise ValidationError("jumps", jumps, "a non-empty mapping underlying -> MertonJumps")
    for key, value in jumps.items():
        if not isinstance(value, MertonJumps):
            raise ValidationError(f"jumps[{key!r}]", value, "MertonJumps")
    return MappingProxyType(dict(jumps))


@dataclass(frozen=True, slots=True, kw_only=True)
class MertonModel:
    """Revaluation of options with Merton (1976) jump diffusion.

    Options are valued with :func:`portmargin.pricing.merton.price`, the (shocked) implied
    vol of the instrument as the diffusion vol and the jumps of its underlying, both now and
    in every scenario, so a scenario's P&L is the change of the jump-diffusion value. The
    risk array's ``value`` and ``delta`` stay those of Black-76 at the mark.

    Attributes
    ----------
    jumps
        Underlying (``"BTC"``) → :class:`MertonJumps`. Revaluing an option on an underlying
        not listed raises.
    """

    jumps: Mapping[str, MertonJumps] = field(default_factory=lambda: MappingProxyType({}))
    name: str = "merton"

    def __post_init__(self) -> None:
        object.__setattr__(self, "jumps", _jump_table(self.jumps))

    def parameters(self, underlyings: NDArray[np.object_]) -> tuple[NDArray[np.float64], ...]:
        """``(lambda, mu_J, delta)`` of each row, shapes ``(n,)``.

        Raises
        ------
        MarketDataError
            If a row's underlying has no jump parameters.
        """
        rows = []
        for u in underlyings.tolist():
            if u not in self.jumps:
                raise MarketDataError(f"the Merton model has no jump parameters for {u}")
            j = self.jumps[u]
            rows.append((j.intensity, j.mean, j.vol))
        table = np.array(rows, dtype=np.float64).reshape(-1, 3)
        return table[:, 0], table[:, 1], table[:, 2]


RevaluationModel = Black76Model | MertonModel
"""How options are repriced in every scenario."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RiskArray:
    """Scenario P&L per unit held, in each instrument's settlement currency.

    Attributes
    ----------
    table
        The instruments (rows).
    scenarios
        The scenario set (columns).
    pnl
        Shape ``(n_instruments, n_scenarios)``: P&L of one unit (one coin of underlying, or one
        unit of a currency balance) in the row's settlement currency; > 0 is a gain.
    value
        Shape ``(n_instruments,)``: value of one unit now, settlement currency (options: model
        value at the snapshot's vol; futures, perpetuals: 0; spot pairs: index in quote
        currency; balances: 1 unit).
    delta
        Shape ``(n_instruments,)``: coin delta of one unit (coins of underlying): inverse
        options their net transaction delta ``N(d1) - V_coin`` (put ``N(d1) - 1 - V_coin``),
        linear options ``N(d1)`` (put ``N(d1) - 1``), futures, perpetuals and spot 1,
        stablecoin balances 0, coin balances 1.
    coin_settled
        Shape ``(n_instruments,)``: True where the settlement currency is the coin itself
        (its USD price moves with the scenario's spot shock), False for stablecoins.
    model
        The revaluation model of the options.
    """

    table: InstrumentTable
    scenarios: ScenarioSet
    pnl: NDArray[np.float64]
    value: NDArray[np.float64]
    delta: NDArray[np.float64]
    coin_settled: NDArray[np.bool_]
    model: RevaluationModel = BLACK76

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_instruments, n_scenarios)``."""
        return (len(self.table), len(self.scenarios))

    def pnl_usd(self) -> NDArray[np.float64]:
        """P&L per unit converted to USD at each scenario's price of the settlement currency.

        ``pnl * S * (1 + m)`` for coin-settled rows (``S`` the index, ``m`` the scenario's spot
        shock of the row's underlying), ``pnl`` for stablecoin-settled rows, and ``S * m`` per
        coin for coin balances (their USD value moves with the coin); shape
        ``(n_instruments, n_scenarios)``.
        """
        m = _spot_moves(self.table, self.scenarios)
        index = self.table.index[:, None]
        rate = np.where(self.coin_settled[:, None], index * (1.0 + m), 1.0)
        result: NDArray[np.float64] = self.pnl * rate
        coin_balance = self.coin_settled & (self.table.kind == Kind.CURRENCY)
        result[coin_balance] = index[coin_balance] * m[coin_balance]
        return result


def _stable(table: InstrumentTable) -> NDArray[np.bool_]:
    return np.isin(table.underlying, sorted(STABLECOINS))


def _spot_moves(table: InstrumentTable, scenarios: ScenarioSet) -> NDArray[np.float64]:
    """Relative move of each row's underlying, ``(n, s)``; stablecoin rows do not move."""
    moves = np.zeros((len(table), len(scenarios)))
    moving = ~_stable(table)
    if moving.any():
        moves[moving] = scenarios.spot_shocks(table.underlying[moving])
    return moves


def unit_values(table: InstrumentTable) -> NDArray[np.float64]:
    """Value of one unit of every row of ``table`` now, in its settlement currency.

    Options: Black-76 value at the row's vol, discounted, in coin for inverse options;
    futures and perpetuals: 0 (their P&L is settled into balances); spot pairs: the index in
    the quote currency; currency balances: 1. Shape ``(n_instruments,)``; rows listed in
    ``table.missing`` are NaN.
    """
    kind = table.kind
    value = np.zeros(len(table))
    spot_rows = kind == Kind.SPOT
    value[spot_rows] = table.forward[spot_rows]
    value[kind == Kind.CURRENCY] = 1.0
    usable = table.usable
    opt = (kind == Kind.OPTION) & usable
    if np.any(opt):
        F, K, T = table.forward[opt], table.strike[opt], table.tau[opt]
        base = black76.price(F, K, T, table.sigma[opt], table.is_call[opt], table.df[opt])
        value[opt] = np.where(table.inverse[opt], base / F, base)
    value[~usable] = np.nan
    return value


def build_risk_array(
    table: InstrumentTable, scenarios: ScenarioSet, model: RevaluationModel = BLACK76
) -> RiskArray:
    """Price every instrument of ``table`` under every scenario of ``scenarios``.

    Each row moves by the shocks of its own underlying (a keyed set moves BTC and ETH
    jointly; stablecoin balances never move). Options are repriced with ``model`` (Black-76
    by default, or :class:`MertonModel`) on the shocked forward ``F (1 + m)`` with the vol of
    the set's law and the time to expiry reduced by the scenario's time shift (intrinsic value
    at or after expiry; the discount factor is aged at an unchanged rate, ``D ** (T' / T)``);
    inverse options are valued in coin on the shocked forward. Futures and
    perpetuals move by the scenario's delta-one shock ``m1``: inverse P&L ``1 - 1 / (1 + m1)``
    coin per coin, linear ``P m1`` in the quote currency; spot pairs ``S m1`` in the quote
    currency; currency balances have no P&L in their own currency.

    Raises
    ------
    MarketDataError
        If a row of ``table`` is listed in ``table.missing`` (resolve and drop those first),
        a moving underlying has no shock in ``scenarios``, or ``model`` has no jumps for it.
    """
    if table.missing:
        name, reason = next(iter(table.missing.items()))
        raise MarketDataError(f"cannot price {name}: {reason}")
    if not isinstance(model, Black76Model | MertonModel):
        raise ValidationError("model", model, "Black76Model or MertonModel")
    n, s = len(table), len(scenarios)
    stable = _stable(table)
    m1 = np.zeros((n, s))
    if (~stable).any():
        m1[~stable] = scenarios.delta_one_shocks(table.underlying[~stable])
    pnl = np.zeros((n, s))
    value = unit_values(table)
    delta = np.zeros(n)
    kind = table.kind
    linear = ~table.inverse

    d1_rows = np.isin(kind, (Kind.FUTURE, Kind.PERPETUAL, Kind.SPOT))
    inv_d1 = d1_rows & table.inverse
    lin_d1 = d1_rows & linear
    pnl[inv_d1] = 1.0 - 1.0 / (1.0 + m1[inv_d1])
    pnl[lin_d1] = table.forward[lin_d1, None] * m1[lin_d1]
    delta[d1_rows] = 1.0
    cash = kind == Kind.CURRENCY
    delta[cash & ~stable] = 1.0

    opt = np.flatnonzero(kind == Kind.OPTION)
    if opt.size:
        _price_options(table, scenarios, model, opt, value[opt], pnl, delta)

    return RiskArray(
        table=table,
        scenarios=scenarios,
        pnl=pnl,
        value=value,
        delta=delta,
        coin_settled=(table.settlement_currency == table.underlying) & ~stable,
        model=model,
    )


def _price_options(
    table: InstrumentTable,
    scenarios: ScenarioSet,
    model: RevaluationModel,
    rows: NDArray[np.intp],
    base_settle: NDArray[np.float64],
    pnl: NDArray[np.float64],
    delta: NDArray[np.float64],
) -> None:
    """Fill ``pnl`` and ``delta`` of the option ``rows``; ``base_settle`` is their unit value
    now in the settlement currency (from :func:`unit_values`)."""
    F = table.forward[rows]
    K = table.strike[rows]
    T = table.tau[rows]
    sig = table.sigma[rows]
    call = table.is_call[rows]
    D = table.df[rows]
    inverse = table.inverse[rows]

    base = np.where(inverse, base_settle * F, base_settle)
    g = black76.greeks(F, K, T, sig, call, D)
    delta[rows] = np.where(inverse, g["delta"] - base / F, g["delta"])

    underlying = table.underlying[rows]
    m = scenarios.spot_shocks(underlying)
    shift = scenarios.column("time_shift_days") / DAYS_PER_YEAR
    F_s = F[:, None] * (1.0 + m)
    T_s = np.maximum(T[:, None] - shift[None, :], 0.0)
    vol_shocks = scenarios.vol_shocks(underlying)
    table_s = scenarios.table
    sig_s = scenarios.vol_law.shocked_vols(sig, T * DAYS_PER_YEAR, vol_shocks, table_s.up_state)
    if table_s.skew is not None:
        k = np.log(K / F)
        for i, law in enumerate(scenarios.skew_laws):  # skew scenarios: tilted, not shocked
            sig_s[:, table_s.skew == i] = law.shocked_vols(sig, k, T)[:, None]
    D_s = np.where(T[:, None] > 0, D[:, None] ** (T_s / np.where(T > 0, T, 1.0)[:, None]), 1.0)
    if isinstance(model, MertonModel):
        lam, mu, dj = (p[:, None] for p in model.parameters(underlying))
        now = merton.price(F, K, T, sig, call, lam[:, 0], mu[:, 0], dj[:, 0], D)
        base_settle = np.where(inverse, now / F, now)
        shocked = merton.price(F_s, K[:, None], T_s, sig_s, call[:, None], lam, mu, dj, D_s)
    else:
        shocked = black76.price(F_s, K[:, None], T_s, sig_s, call[:, None], D_s)
    shocked_settle = np.where(inverse[:, None], shocked / F_s, shocked)
    pnl[rows] = shocked_settle - base_settle[:, None]
