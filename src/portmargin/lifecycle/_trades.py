"""Trades of the liquidation engine on holdings columns: slice sizes, execution prices, the
cash they realise into the settlement-currency balance, slippage and penalties (§6).

Quantities are in the holdings' units: coins for linear products and options; for inverse
futures and perpetuals coins at the reference price (``N / reference`` for a USD face value
``N``, see :class:`~portmargin.lifecycle.Holdings`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.instruments import Currency, Future, Option, Perpetual
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._params import LiquidationParams
from portmargin.market import MarketSnapshot
from portmargin.risk import STABLECOINS, Book, Kind, resolve_instruments, unit_values

__all__ = [
    "Columns",
    "Trades",
    "columns_of",
    "notional_usd",
    "price_trades",
    "slice_size",
    "trade_cash",
    "value_at_mark",
    "with_settlement_columns",
]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Columns:
    """What trading needs to know of each column of a holdings book, shape ``(n_columns,)``.

    Attributes
    ----------
    names, underlyings
        Instrument names and underlying coins.
    delta_one, option, inverse
        Masks: futures and perpetuals, options, coin-settled products.
    tradable
        Futures, perpetuals and options with a usable mark (listed in the market, priced,
        mark > 0); liquidation of the other derivatives is suspended.
    mark
        Price per unit in the settlement currency: futures and perpetuals their mark (USD per
        coin), options their model value (quote currency, or coin for inverse options).
    forward
        Price of the underlying driving the column, USD per coin.
    reference
        Holdings reference price of futures and perpetuals (NaN elsewhere).
    settle_column
        Column of the settlement-currency balance (-1 for balances themselves).
    usd_rate
        USD per unit of the settlement currency.
    """

    names: tuple[str, ...]
    underlyings: tuple[str, ...]
    delta_one: NDArray[np.bool_]
    option: NDArray[np.bool_]
    inverse: NDArray[np.bool_]
    tradable: NDArray[np.bool_]
    mark: NDArray[np.float64]
    forward: NDArray[np.float64]
    reference: NDArray[np.float64]
    settle_column: NDArray[np.intp]
    usd_rate: NDArray[np.float64]


def with_settlement_columns(holdings: Holdings) -> Holdings:
    """``holdings`` with a balance column for every settlement currency of its derivatives
    (added at the end, empty), so trades can realise P&L into it."""
    book = holdings.book
    names = {i.name for i in book.instruments}
    needed = {
        i.settlement_currency
        for i in book.instruments
        if isinstance(i, Future | Perpetual | Option)
    }
    extra = tuple(Currency(code=c) for c in sorted(needed - names))
    if not extra:
        return holdings
    q = book.quantities.tocoo()
    new_book = Book.from_arrays(
        book.accounts,
        (*book.instruments, *extra),
        q.row.astype(np.intp),
        q.col.astype(np.intp),
        q.data,
    )
    reference = np.concatenate([holdings.reference, np.full(len(extra), np.nan)])
    return Holdings(book=new_book, reference=reference)


def columns_of(holdings: Holdings, market: MarketSnapshot) -> Columns:
    """Trading view of the columns of ``holdings`` (which must hold a balance column for every
    settlement currency: :func:`with_settlement_columns`) at ``market``."""
    book = holdings.book
    table = resolve_instruments(book.instruments, market)
    kind = table.kind
    delta_one = (kind == Kind.FUTURE) | (kind == Kind.PERPETUAL)
    option = kind == Kind.OPTION
    usable = table.usable & ~table.unlisted
    value = unit_values(table)
    mark = np.where(option, value, np.where(delta_one, table.forward, np.nan))
    with np.errstate(invalid="ignore"):
        tradable = (delta_one | option) & usable & np.isfinite(mark) & (mark > 0)
    column = {inst.name: k for k, inst in enumerate(book.instruments)}
    settle = [str(c) for c in table.settlement_currency.tolist()]
    settle_column = np.array(
        [-1 if kind[k] == Kind.CURRENCY else column.get(c, -1) for k, c in enumerate(settle)],
        dtype=np.intp,
    )
    rate = np.array(
        [1.0 if c in STABLECOINS else _index(market, c) for c in settle], dtype=np.float64
    )
    return Columns(
        names=table.names,
        underlyings=tuple(str(u) for u in table.underlying.tolist()),
        delta_one=delta_one,
        option=option,
        inverse=np.asarray(table.inverse, dtype=bool),
        tradable=tradable & (settle_column >= 0),
        mark=mark,
        forward=np.asarray(table.forward, dtype=np.float64),
        reference=np.asarray(holdings.reference, dtype=np.float64),
        settle_column=settle_column,
        usd_rate=rate,
    )


def _index(market: MarketSnapshot, currency: str) -> float:
    """USD per unit of a coin (NaN without an index: its holders are valuation errors)."""
    return float(market.index_prices.get(currency, np.nan))


def slice_size(cols: Columns, column: NDArray[np.intp], slice_usd: float) -> NDArray[np.float64]:
    """Units of one slice of ``slice_usd`` USD notional in each of ``column``: linear
    ``slice / mark``, inverse ``slice / reference`` (a face value of ``slice`` USD), options
    ``slice / forward``."""
    price = np.where(
        cols.option[column],
        cols.forward[column],
        np.where(
            cols.inverse[column], cols.reference[column], cols.mark[column] * cols.usd_rate[column]
        ),
    )
    result: NDArray[np.float64] = slice_usd / price
    return result


def notional_usd(
    cols: Columns, column: NDArray[np.intp], units: NDArray[np.float64]
) -> NDArray[np.float64]:
    """USD notional of ``|units|`` of each of ``column`` (see :func:`slice_size`)."""
    price = np.where(
        cols.option[column],
        cols.forward[column],
        np.where(
            cols.inverse[column], cols.reference[column], cols.mark[column] * cols.usd_rate[column]
        ),
    )
    result: NDArray[np.float64] = np.abs(units) * price
    return result


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Trades:
    """Trades of ``k`` slices, aligned arrays of shape ``(k,)``.

    Attributes
    ----------
    column
        Column traded.
    delta
        Signed change of the position, holdings units (< 0 sells).
    price
        Execution price per unit, settlement currency (USD per coin for futures and
        perpetuals, the option's price in its settlement currency).
    cash
        Change of the settlement-currency balance, settlement currency: the P&L realised from
        the reference price (futures, perpetuals) or the premium paid or received (options).
    notional_usd
        USD notional of the slice.
    slippage_usd
        Equity lost against the mark, USD, >= 0.
    penalty
        Penalty due, settlement currency, >= 0 (before the cap at positive equity).
    penalty_usd
        The same in USD.
    """

    column: NDArray[np.intp]
    delta: NDArray[np.float64]
    price: NDArray[np.float64]
    cash: NDArray[np.float64]
    notional_usd: NDArray[np.float64]
    slippage_usd: NDArray[np.float64]
    penalty: NDArray[np.float64]
    penalty_usd: NDArray[np.float64]

    @property
    def cost_usd(self) -> NDArray[np.float64]:
        """Slippage plus penalty, USD: the equity the slice costs."""
        result: NDArray[np.float64] = self.slippage_usd + self.penalty_usd
        return result


def trade_cash(
    cols: Columns, column: NDArray[np.intp], delta: NDArray[np.float64], price: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Settlement-currency cash of trading ``delta`` units at ``price``.

    Linear futures and perpetuals ``delta (reference - price)``; inverse ones
    ``delta (reference / price - 1)`` coin (face value ``delta reference`` USD bought at
    ``price``); options ``-delta price`` (premium).
    """
    ref = cols.reference[column]
    with np.errstate(invalid="ignore", divide="ignore"):
        cash = np.where(
            cols.option[column],
            -delta * price,
            np.where(cols.inverse[column], delta * (ref / price - 1.0), delta * (ref - price)),
        )
    result: NDArray[np.float64] = cash
    return result


def value_at_mark(
    cols: Columns, column: NDArray[np.intp], delta: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Settlement-currency value at the mark of ``delta`` units held from the reference:
    linear ``delta (mark - reference)``, inverse ``delta (1 - reference / mark)``, options
    ``delta mark``."""
    ref, mark = cols.reference[column], cols.mark[column]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(
            cols.option[column],
            delta * mark,
            np.where(cols.inverse[column], delta * (1.0 - ref / mark), delta * (mark - ref)),
        )
    result: NDArray[np.float64] = value
    return result


def price_trades(
    cols: Columns,
    column: NDArray[np.intp],
    delta: NDArray[np.float64],
    slippage: NDArray[np.float64],
    params: LiquidationParams,
) -> Trades:
    """Execution, cash, slippage and penalty of trading ``delta`` units of each ``column``
    with slippage fraction ``slippage`` (sells at ``mark (1 - s)``, buys at ``mark (1 + s)``).

    Penalty (§6): futures and perpetuals ``pen |x| m F`` in the settlement currency (inverse:
    the USD face over the mark, coin); options ``|x| min(pen F, cap mark)`` (inverse options
    ``min(pen, cap mark_coin)`` coin per coin).
    """
    mark = cols.mark[column]
    price = mark * (1.0 + np.sign(delta) * slippage)
    cash = trade_cash(cols, column, delta, price)
    loss = -(value_at_mark(cols, column, delta) + cash)
    rate = cols.usd_rate[column]
    size = np.abs(delta)
    ref = cols.reference[column]
    pen = params.penalty
    with np.errstate(invalid="ignore", divide="ignore"):
        forward_settle = np.where(cols.inverse[column], 1.0, cols.forward[column])
        penalty = np.where(
            cols.option[column],
            size * np.minimum(pen * forward_settle, params.option_penalty_cap * mark),
            np.where(cols.inverse[column], pen * size * ref / mark, pen * size * mark),
        )
    return Trades(
        column=column,
        delta=delta,
        price=price,
        cash=cash,
        notional_usd=notional_usd(cols, column, delta),
        slippage_usd=np.maximum(loss, 0.0) * rate,
        penalty=penalty,
        penalty_usd=penalty * rate,
    )
