"""Per-instrument (column) requirement rates, computed once from the resolved table.

A position of signed quantity ``q`` in column ``c`` has size ``n = |q| * size[c]`` and requires

    IM = n * value[c] * (im[c] + im_step[c] * n) + fee[c] * |q|

(MM likewise), where ``im`` is ``im_long`` or ``im_short`` by the sign of ``q``. Options have
``size = value = 1``, ``im_step = 0`` and ``im_*`` the requirement per coin, so their
requirement is linear in ``|q|``; futures and perpetuals carry a size-dependent rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from portmargin.market import MarketSnapshot
from portmargin.methods.standard._params import (
    ParadexOptionRates,
    Profile,
    SizePrice,
    StandardParams,
    UnderlyingPrice,
)
from portmargin.pricing import black76
from portmargin.risk import InstrumentTable, Kind

__all__ = ["ColumnRates", "Group", "column_rates"]

FloatArray = NDArray[np.float64]


class Group(IntEnum):
    """Component a position's requirement is reported under."""

    NONE = 0
    OPTIONS_LONG = 1
    OPTIONS_SHORT = 2
    FUTURES = 3
    PERPETUALS = 4


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ColumnRates:
    """Requirement rates of ``m`` instruments, arrays of shape ``(m,)`` (module formula).

    Amounts are in the row currency of the profile: the settlement currency (Deribit) or USD
    (Paradex). ``unsupported`` maps a column index to the reason it cannot be margined.
    """

    group: NDArray[np.int8]
    size: FloatArray
    value: FloatArray
    im_long: FloatArray
    im_short: FloatArray
    mm_long: FloatArray
    mm_short: FloatArray
    im_step: FloatArray
    mm_step: FloatArray
    fee: FloatArray
    unsupported: dict[int, str]

    def requirements(
        self, cols: NDArray[np.intp], q: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """IM, MM and fee provision of positions ``(cols, q)``, each shape ``(p,)``, >= 0.

        IM and MM include the fee provision.
        """
        a = np.abs(q)
        side = 2 * cols + (q < 0)  # long and short rates interleaved per column: one gather
        im_rate = np.column_stack((self.im_long, self.im_short)).ravel()[side]
        mm_rate = np.column_stack((self.mm_long, self.mm_short)).ravel()[side]
        n = a * self.size[cols]
        notional = n * self.value[cols]
        fee = self.fee[cols] * a
        im = notional * (im_rate + self.im_step[cols] * n) + fee
        mm = notional * (mm_rate + self.mm_step[cols] * n) + fee
        return im, mm, fee


def column_rates(
    table: InstrumentTable, market: MarketSnapshot, params: StandardParams
) -> ColumnRates:
    """Rates of every column of ``table`` under ``params.profile``.

    Parameters
    ----------
    table
        Resolved instruments with complete market data.
    market
        Snapshot whose option quotes supply venue marks (and Deribit ``U``).
    params
        Method parameters.
    """
    m = len(table)
    kind = table.kind
    group = np.full(m, Group.NONE, dtype=np.int8)
    group[kind == Kind.FUTURE] = Group.FUTURES
    group[kind == Kind.PERPETUAL] = Group.PERPETUALS
    group[kind == Kind.OPTION] = Group.OPTIONS_LONG
    out = {n: np.zeros(m) for n in ("im_long", "im_short", "mm_long", "mm_short")}
    out |= {n: np.zeros(m) for n in ("im_step", "mm_step", "fee")}
    size, value = np.ones(m), np.zeros(m)
    unsupported: dict[int, str] = {}
    opt = np.flatnonzero(kind == Kind.OPTION)
    delta_one = np.flatnonzero((kind == Kind.FUTURE) | (kind == Kind.PERPETUAL))
    mark, underlying_price = _option_marks(table, market, opt)
    value[opt] = 1.0
    if params.profile is Profile.DERIBIT_SM:
        _deribit_options(table, params, opt, mark, underlying_price, out)
        _deribit_delta_one(table, params, delta_one, size, value, out)
    else:
        _paradex_options(table, params, opt, (mark, underlying_price), out, unsupported)
        _paradex_delta_one(table, params, delta_one, value, out)
    return ColumnRates(group=group, size=size, value=value, unsupported=unsupported, **out)


def _option_marks(
    table: InstrumentTable, market: MarketSnapshot, opt: NDArray[np.intp]
) -> tuple[FloatArray, FloatArray]:
    """Option marks in settlement currency per coin (venue quote, else Black-76 at the
    snapshot vol; coin for inverse) and ``U`` (the quote's ``underlying_price``, else the
    table forward), shape ``(len(opt),)``."""
    F, K = table.forward[opt], table.strike[opt]
    model = black76.price(F, K, table.tau[opt], table.sigma[opt], table.is_call[opt], table.df[opt])
    model = np.where(table.inverse[opt], model / F, model)
    quotes = [market.quotes.get(table.names[c]) for c in opt]
    venue_mark = np.array([np.nan if qt is None else qt.mark_price for qt in quotes])
    venue_u = np.array([np.nan if qt is None else qt.underlying_price for qt in quotes])
    has = np.isfinite(venue_mark)
    return np.where(has, venue_mark, model), np.where(has, venue_u, F)


def _deribit_options(
    table: InstrumentTable,
    params: StandardParams,
    opt: NDArray[np.intp],
    mark: FloatArray,
    forward_u: FloatArray,
    out: dict[str, FloatArray],
) -> None:
    fr = params.option_fractions
    assert fr is not None  # checked by StandardParams
    U = forward_u if params.sm_underlying is UnderlyingPrice.FORWARD else table.index[opt]
    K, call = table.strike[opt], table.is_call[opt]
    otm = np.where(call, np.maximum(K - U, 0.0), np.maximum(U - K, 0.0))
    scale = np.where(table.inverse[opt], 1.0, U)
    im_plain = np.maximum(fr.im_max_fraction - otm / U, fr.im_min_fraction) * scale + mark
    mm_call = fr.mm_fraction * scale + mark
    mm_put = np.maximum(fr.mm_fraction * scale, fr.mm_put_mark_fraction * mark) + mark
    out["im_short"][opt] = np.where(call, im_plain, np.maximum(im_plain, mm_put))
    out["mm_short"][opt] = np.where(call, mm_call, mm_put)


def _deribit_delta_one(
    table: InstrumentTable,
    params: StandardParams,
    cols: NDArray[np.intp],
    size: FloatArray,
    value: FloatArray,
    out: dict[str, FloatArray],
) -> None:
    rates = params.futures_rates
    assert rates is not None  # checked by StandardParams
    for c in cols:
        row = rates.lookup(table.names[c], str(table.underlying[c]), bool(table.inverse[c]))
        out["im_long"][c] = out["im_short"][c] = row.im_base
        out["mm_long"][c] = out["mm_short"][c] = row.mm_base
        out["im_step"][c], out["mm_step"][c] = row.im_step, row.mm_step
    inverse = table.inverse[cols]
    index = table.index[cols]
    by_mark = params.sm_inverse_size_price is SizePrice.MARK
    size[cols] = np.where(inverse & by_mark, index / table.forward[cols], 1.0)
    value[cols] = np.where(inverse, 1.0, index)


def _paradex_rate_arrays(
    rates: list[ParadexOptionRates | None],
) -> dict[str, FloatArray]:
    names = ("premium_multiplier", "long_itm", "short_itm", "short_otm", "short_put_cap")
    return {
        n: np.array([np.nan if r is None else getattr(r, n) for r in rates], dtype=np.float64)
        for n in names
    }


def _paradex_options(
    table: InstrumentTable,
    params: StandardParams,
    opt: NDArray[np.intp],
    marks: tuple[FloatArray, FloatArray],
    out: dict[str, FloatArray],
    unsupported: dict[int, str],
) -> None:
    mark, forward_u = marks
    S, K, call = table.index[opt], table.strike[opt], table.is_call[opt]
    mark_usd = np.where(table.inverse[opt], mark * forward_u, mark)
    tables = [params.paradex_option_table(str(table.underlying[c])) for c in opt]
    for c, t in zip(opt, tables, strict=True):
        if t is None:
            unsupported[int(c)] = (
                f"{table.names[c]}: no Paradex option table lists underlying "
                f"{table.underlying[c]!r}"
            )
    otm = np.where(call, np.maximum(K - S, 0.0), np.maximum(S - K, 0.0))
    for side in ("im", "mm"):
        r = _paradex_rate_arrays([None if t is None else getattr(t, f"{side}r") for t in tables])
        long = np.minimum(r["premium_multiplier"] * mark_usd, r["long_itm"] * S)
        short = np.maximum(r["short_itm"] * S - otm, r["short_otm"] * S)
        short = np.where(call, short, np.minimum(short, r["short_put_cap"] * K))
        out[f"{side}_long"][opt] = np.nan_to_num(long)
        out[f"{side}_short"][opt] = np.nan_to_num(short)
    fee = params.taker_fee_rate
    assert fee is not None  # checked by StandardParams
    out["fee"][opt] = fee * S


def _paradex_delta_one(
    table: InstrumentTable,
    params: StandardParams,
    cols: NDArray[np.intp],
    value: FloatArray,
    out: dict[str, FloatArray],
) -> None:
    perps, fee = params.paradex_perps, params.taker_fee_rate
    assert perps is not None  # checked by StandardParams
    assert fee is not None  # checked by StandardParams
    imf = np.array([perps.imf.get(str(table.underlying[c]), perps.default_imf) for c in cols])
    for side in ("long", "short"):
        out[f"im_{side}"][cols] = imf
        out[f"mm_{side}"][cols] = perps.mmf_factor * imf
    value[cols] = table.forward[cols]
    out["fee"][cols] = fee * table.forward[cols]
