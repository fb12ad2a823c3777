"""The instruments a method is checked on: what the market lists, probed against the method."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from portmargin.core import ValidationError
from portmargin.instruments import (
    Currency,
    Future,
    Instrument,
    Option,
    Perpetual,
    Settlement,
    parse_instrument,
)
from portmargin.market import MarketSnapshot

__all__ = ["Universe", "candidates", "probe_universe"]

_UNPRICED_CODES = ("ETH", "SOL", "XRP", "DOGE", "ADA", "ZZZ")
"""Underlyings tried, in order, for an instrument the market has no data for."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Universe:
    """Instruments the method margins on the market, and the ones the checks need.

    Attributes
    ----------
    instruments
        Instruments the method computes when held alone (short 1 unit), in candidate order.
    options
        The options among them.
    unpriced
        An option on an underlying the market has no data for.
    collateral
        The settlement currency of the first option, as a balance.
    """

    instruments: tuple[Instrument, ...]
    options: tuple[Option, ...]
    unpriced: Option
    collateral: Currency


def candidates(market: MarketSnapshot) -> list[Instrument]:
    """Listed options, their USDC-settled twins, the futures the quotes name as underlying
    index, and the perpetuals (inverse and USDC-settled) of every underlying with a listed
    option, without repeats.

    Raises
    ------
    ValidationError
        If the market lists no option.
    """
    options = [q.instrument for q in market.quotes.values()]
    named = {q.underlying_index for q in market.quotes.values()}
    futures = [
        i
        for i in (parse_instrument(n) for n in sorted(named) if not n.startswith("SYN."))
        if isinstance(i, Future)
    ]
    linear = [
        dataclasses.replace(o, quote="USDC", settlement=Settlement.LINEAR)
        for o in options
        if isinstance(o, Option) and o.settlement is Settlement.INVERSE
    ]
    underlyings = sorted({o.underlying for o in options if isinstance(o, Option)})
    perps: list[Instrument] = [
        p
        for u in underlyings
        for p in (
            Perpetual(underlying=u),
            Perpetual(underlying=u, quote="USDC", settlement=Settlement.LINEAR),
        )
    ]
    if not any(isinstance(o, Option) for o in options):
        raise ValidationError("market", "no option quotes", "a market listing options")
    unique = {i.name: i for i in [*options, *linear, *futures, *perps]}
    return list(unique.values())


def probe_universe(
    method: str, market: MarketSnapshot, probed: Sequence[Instrument], errors: Mapping[str, str]
) -> Universe:
    """The instruments of ``probed`` that the method named ``method`` margins.

    ``probed`` are the :func:`candidates` of ``market``, each held short 1 unit by its own
    account named ``"probe <instrument>"``; ``errors`` are the method's errors on that book.
    The instruments whose account is not in ``errors`` form the universe.

    Raises
    ------
    ValidationError
        If the method margins none of the options of ``probed``.
    """
    kept = tuple(i for i in probed if f"probe {i.name}" not in errors)
    options = tuple(i for i in kept if isinstance(i, Option))
    if not options:
        raise ValidationError(
            "market",
            f"{len(probed)} listed instruments and USDC twins, no option margined by {method}"
            f" (first error: {next(iter(errors.values()), 'none')})",
            "a market listing options the method margins",
        )
    code = next(c for c in _UNPRICED_CODES if c not in market.index_prices)
    return Universe(
        instruments=kept,
        options=options,
        unpriced=dataclasses.replace(options[0], underlying=code),
        collateral=Currency(code=options[0].settlement_currency),
    )
