"""Plausibility checks of parsed Deribit rows (:class:`~portmargin.market.SanityRules`).

Row rules exclude a row with a reason naming the column; column rules (the unit of
``mark_iv``, the index against the forwards) raise :class:`DataFormatError`; the repricing
check returns warnings. Numeric checks run on arrays over all rows; reasons are formatted only
for the rows that fail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from portmargin.core import DataFormatError, ms_to_datetime, year_fraction
from portmargin.instruments import Settlement, format_expiry
from portmargin.io._deribit_rows import (
    ExcludedRow,
    FutureRow,
    OptionRow,
    exclude_failed,
    outside,
    ratio_gap,
)
from portmargin.market import SanityRules
from portmargin.pricing import black76

__all__ = [
    "check_index",
    "check_vol_column",
    "reference_index",
    "reprice_warnings",
    "screen_futures",
    "screen_option_forwards",
    "screen_option_values",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _day(ms: int) -> str:
    return ms_to_datetime(ms).date().isoformat()


def _name(row: OptionRow | FutureRow) -> str:
    return row.quote.instrument_name


def check_vol_column(options: Sequence[OptionRow], rules: SanityRules, source: str) -> None:
    """Raise unless the median ``mark_iv`` of all option rows is a plausible percentage.

    Raises
    ------
    DataFormatError
        If the median (as a fraction) is below ``rules.min_median_vol`` (the column holds
        fractions, not percent) or above ``rules.max_median_vol`` (multiplied by 100).
    """
    if not options:
        return
    median = float(np.median([row.quote.mark_iv for row in options]))
    if rules.min_median_vol <= median <= rules.max_median_vol:
        return
    if median < rules.min_median_vol:
        what = (
            f"below {rules.min_median_vol * 100:g} %: the column looks like fractions, "
            "Deribit gives percent (85.05 for 85.05 %)"
        )
    else:
        what = (
            f"above {rules.max_median_vol * 100:g} %: the column looks multiplied by 100 "
            "(Deribit gives 85.05 for 85.05 %)"
        )
    raise DataFormatError(
        source,
        f"implausible mark_iv column: median {median * 100:.6g} % over {len(options)} "
        f"option rows is {what}",
        column="mark_iv",
    )


def screen_option_values(
    options: Sequence[OptionRow],
    rules: SanityRules,
    columns: tuple[str, str],
    excluded: list[ExcludedRow],
) -> list[OptionRow]:
    """Exclude option rows with an impossible price, vol or mark; raise on an impossible time.

    ``columns`` names the timestamp and index columns of the source (CSV ``timestamp,
    index_price``; JSON ``creation_timestamp, estimated_delivery_price``).

    Raises
    ------
    DataFormatError
        If a row's timestamp is outside ``[rules.earliest_ms, rules.latest_ms]``: option rows
        set the valuation time, so an impossible one (a wrong unit, a corrupted cell) stops
        the load rather than moving every price to another time.
    """
    if not options:
        return []
    stamp_column, index_column = columns
    quotes = [row.quote for row in options]
    stamp = np.array([q.timestamp_ms for q in quotes], dtype=np.float64)
    forward = np.array([q.underlying_price for q in quotes])
    index = np.array([np.nan if r.index_price is None else r.index_price for r in options])
    vol = np.array([q.mark_iv for q in quotes])
    mark = np.array([q.mark_price for q in quotes])
    strike = np.array([q.instrument.strike for q in quotes])
    call = np.array([q.instrument.is_call for q in quotes], dtype=bool)
    inverse = np.array([q.instrument.settlement is Settlement.INVERSE for q in quotes])
    low, high = rules.min_price_usd, rules.max_price_usd
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        bound = np.where(
            call, np.where(inverse, 1.0, forward), strike / np.where(inverse, forward, 1)
        )
    unit = np.where(inverse, "coin", "USD per coin")

    def usd(name: str, values: FloatArray) -> Callable[[int], str]:
        return lambda i: (
            f"{name}: {float(values[i])!r} is outside the plausible range {low:g} to {high:g} USD"
        )

    def side(i: int) -> str:
        kind = "inverse" if inverse[i] else "linear"
        what = "call" if call[i] else "put"
        return (
            f"mark_price: {float(mark[i])!r} {unit[i]} is above {bound[i]:.8g} {unit[i]}, "
            f"the most an {kind} {what} can be worth at underlying_price "
            f"{float(forward[i])!r}"
        )

    late = np.flatnonzero(outside(stamp, rules.earliest_ms, rules.latest_ms))
    if late.size:
        row = options[int(late[0])]
        raise DataFormatError(
            row.source,
            f"{stamp_column}: {row.quote.timestamp_ms} ms is outside the plausible range "
            f"{_day(rules.earliest_ms)} to {_day(rules.latest_ms)} (epoch milliseconds "
            f"expected; {late.size} option row(s) affected)",
            row=row.row,
            column=stamp_column,
        )
    checks: list[tuple[BoolArray, str, Callable[[int], str]]] = [
        (outside(forward, low, high), "underlying_price", usd("underlying_price", forward)),
        (~np.isnan(index) & outside(index, low, high), index_column, usd(index_column, index)),
        (
            outside(vol, rules.min_vol, rules.max_vol),
            "mark_iv",
            lambda i: (
                f"mark_iv: {vol[i] * 100:.6g} % is outside the plausible range "
                f"{rules.min_vol * 100:g} % to {rules.max_vol * 100:g} %"
            ),
        ),
        (~(mark <= bound), "mark_price", side),
    ]
    return [options[i] for i in exclude_failed(options, checks, _name, excluded)]


def reference_index(options: Sequence[OptionRow], override: float | None) -> dict[str, float]:
    """Index per underlying to judge rows against: the index payload if given (none when the
    rows have several underlyings: the payload cannot be assigned), else the median of the
    rows' index observations (underlyings without any are left out)."""
    seen: dict[str, list[float]] = defaultdict(list)
    for row in options:
        if row.index_price is not None:
            seen[row.quote.instrument.underlying].append(row.index_price)
    if override is not None:
        underlyings = {row.quote.instrument.underlying for row in options}
        return dict.fromkeys(underlyings, override) if len(underlyings) == 1 else {}
    return {u: float(np.median(values)) for u, values in seen.items()}


def check_index(
    options: Sequence[OptionRow], index: Mapping[str, float], rules: SanityRules, source: str
) -> None:
    """Raise if an underlying's index is far from the median forward of its option rows.

    Raises
    ------
    DataFormatError
        If the gap exceeds ``rules.max_basis`` (same ratio form as the row rule).
    """
    forwards: dict[str, list[float]] = defaultdict(list)
    for row in options:
        forwards[row.quote.instrument.underlying].append(row.quote.underlying_price)
    for underlying, values in sorted(forwards.items()):
        if underlying not in index:
            continue
        median = float(np.median(values))
        if ratio_gap(np.array([index[underlying]]), np.array([median]), rules.max_basis)[0]:
            raise DataFormatError(
                source,
                f"implausible {underlying} index {index[underlying]!r}: more than "
                f"{rules.max_basis:.0%} from the median forward {median:.8g} of its "
                f"{len(values)} option rows",
            )


def screen_option_forwards(
    options: Sequence[OptionRow],
    index: Mapping[str, float],
    rules: SanityRules,
    index_column: str,
    excluded: list[ExcludedRow],
) -> list[OptionRow]:
    """Exclude rows whose index observation strays from ``index`` by more than
    ``rules.max_index_spread``, whose forward strays from it by more than ``rules.max_basis``,
    or whose forward strays from the median forward of its expiry's rows by more than
    ``rules.max_forward_spread``."""
    if not options:
        return []
    ref = np.array([index.get(row.quote.instrument.underlying, np.nan) for row in options])
    known = ~np.isnan(ref)
    own = np.array([np.nan if r.index_price is None else r.index_price for r in options])
    forward = np.array([row.quote.underlying_price for row in options])
    expiry = np.array(
        [f"{r.quote.instrument.underlying}-{r.quote.instrument.expiry_ms}" for r in options]
    )
    groups, group_of = np.unique(expiry, return_inverse=True)
    peers = np.array([np.median(forward[group_of == g]) for g in range(groups.size)])[group_of]
    checks: list[tuple[BoolArray, str, Callable[[int], str]]] = [
        (
            known & ~np.isnan(own) & ratio_gap(own, ref, rules.max_index_spread),
            index_column,
            lambda i: (
                f"{index_column}: {float(own[i])!r} is more than "
                f"{rules.max_index_spread:.0%} from the "
                f"{options[i].quote.instrument.underlying} index {float(ref[i])!r} of the rows"
            ),
        ),
        (
            known & ratio_gap(forward, ref, rules.max_basis),
            "underlying_price",
            lambda i: (
                f"underlying_price: {float(forward[i])!r} is more than {rules.max_basis:.0%} from "
                f"the {options[i].quote.instrument.underlying} index {float(ref[i])!r}"
            ),
        ),
        (
            ratio_gap(forward, peers, rules.max_forward_spread),
            "underlying_price",
            lambda i: (
                f"underlying_price: {float(forward[i])!r} is more than "
                f"{rules.max_forward_spread:.0%} from the median {float(peers[i])!r} of "
                f"the rows of expiry {format_expiry(options[i].quote.instrument.expiry_ms)}"
            ),
        ),
    ]
    return [options[i] for i in exclude_failed(options, checks, _name, excluded)]


def screen_futures(
    futures: Sequence[FutureRow],
    index: Mapping[str, float],
    rules: SanityRules,
    stamp_column: str,
    excluded: list[ExcludedRow],
) -> list[FutureRow]:
    """Exclude future and perpetual rows with an impossible timestamp or mark, or a mark more
    than ``rules.max_basis`` from the index of their underlying."""
    if not futures:
        return []
    stamp = np.array([row.quote.timestamp_ms for row in futures], dtype=np.float64)
    mark = np.array([row.quote.mark_price for row in futures])
    ref = np.array([index.get(row.quote.instrument.underlying, np.nan) for row in futures])
    low, high = rules.min_price_usd, rules.max_price_usd
    checks: list[tuple[BoolArray, str, Callable[[int], str]]] = [
        (
            outside(stamp, rules.earliest_ms, rules.latest_ms),
            stamp_column,
            lambda i: (
                f"{stamp_column}: {int(stamp[i])} ms is outside the plausible range "
                f"{_day(rules.earliest_ms)} to {_day(rules.latest_ms)} "
                "(epoch milliseconds expected)"
            ),
        ),
        (
            outside(mark, low, high),
            "mark_price",
            lambda i: (
                f"mark_price: {float(mark[i])!r} is outside the plausible range "
                f"{low:g} to {high:g} USD"
            ),
        ),
        (
            ~np.isnan(ref) & ratio_gap(mark, ref, rules.max_basis),
            "mark_price",
            lambda i: (
                f"mark_price: {float(mark[i])!r} is more than {rules.max_basis:.0%} from the "
                f"{futures[i].quote.instrument.underlying} index {float(ref[i])!r}"
            ),
        ),
    ]
    return [futures[i] for i in exclude_failed(futures, checks, _name, excluded)]


def reprice_warnings(options: Sequence[OptionRow], rules: SanityRules) -> tuple[str, ...]:
    """Warnings for marks that Black-76 on the row's own vol and forward does not reproduce.

    Each option is valued at its own timestamp (discount factor 1, as Deribit marks); the
    tolerance is ``max(reprice_abs_tolerance * u, reprice_rel_tolerance * mark)`` with ``u``
    1 coin (inverse) or the forward (linear). Rows must have passed the value rules and be
    live at their own timestamp.
    """
    if not options:
        return ()
    quotes = [row.quote for row in options]
    forward = np.array([q.underlying_price for q in quotes])
    strike = np.array([q.instrument.strike for q in quotes])
    vol = np.array([q.mark_iv for q in quotes])
    call = np.array([q.instrument.is_call for q in quotes], dtype=bool)
    inverse = np.array([q.instrument.settlement is Settlement.INVERSE for q in quotes])
    mark = np.array([q.mark_price for q in quotes])
    tau = year_fraction(
        np.array([q.timestamp_ms for q in quotes], dtype=np.int64),
        np.array([q.instrument.expiry_ms for q in quotes], dtype=np.int64),
    )
    usd = black76.price(forward, strike, tau, vol, call)
    model = np.where(inverse, usd / forward, usd)
    tolerance = np.maximum(
        rules.reprice_abs_tolerance * np.where(inverse, 1.0, forward),
        rules.reprice_rel_tolerance * mark,
    )
    diff = model - mark
    return tuple(
        f"{quotes[i].instrument_name}: mark_price {mark[i]:.8g} is {diff[i]:+.3g} from the "
        f"Black-76 price {model[i]:.8g} at its own mark_iv {vol[i] * 100:.4g} % and "
        f"underlying_price {forward[i]:.8g} (tolerance {tolerance[i]:.3g})"
        for i in np.flatnonzero(np.abs(diff) > tolerance).tolist()
    )
