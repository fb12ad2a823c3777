"""Margin requirements of many accounts in USD: from any registered method, or from rates on
notional (the simple models of ``lifecycle.md`` examples)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError, require_non_negative
from portmargin.market import MarketSnapshot
from portmargin.methods import NO_INPUTS, AccountInputs, MarginMethod, run_method
from portmargin.results import MarginBatch
from portmargin.risk import STABLECOINS, Book, Kind, resolve_instruments

__all__ = [
    "Margining",
    "MethodMargining",
    "NotionalRates",
    "Requirements",
    "batch_requirements",
]


def _no_errors() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Requirements:
    """Initial and maintenance margin of every account of a book, USD.

    Attributes
    ----------
    accounts
        Account ids, shape ``(n,)`` (the book's rows).
    initial_margin, maintenance_margin
        Shape ``(n,)``, USD, >= 0; NaN exactly for the accounts in ``errors``.
    errors
        Account → reason its requirement could not be computed.
    """

    accounts: tuple[str, ...]
    initial_margin: NDArray[np.float64]
    maintenance_margin: NDArray[np.float64]
    errors: Mapping[str, str] = field(default_factory=_no_errors)

    def __post_init__(self) -> None:
        n = len(self.accounts)
        for name in ("initial_margin", "maintenance_margin"):
            values = np.asarray(getattr(self, name), dtype=np.float64)
            if values.shape != (n,):
                raise ValidationError(name, values.shape, f"shape ({n},)")
            object.__setattr__(self, name, values)


class Margining(Protocol):
    """Anything that gives every account of a book its IM and MM in USD at a market."""

    @property
    def name(self) -> str:
        """Label used in reports (method name or model description)."""
        ...

    def requirements(self, book: Book, market: MarketSnapshot) -> Requirements:
        """IM and MM of every account of ``book`` at ``market``, USD."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodMargining:
    """Requirements from a registered margin method through the batch engine.

    The rows the method reports for an account (one per currency or sub-account) are
    converted to USD at the market's index (stablecoins at 1) and summed.

    Attributes
    ----------
    method
        A registered :class:`~portmargin.methods.MarginMethod`.
    params
        Its parameters.
    inputs
        Per-account inputs the method declares.
    """

    method: MarginMethod
    params: Any
    inputs: AccountInputs = NO_INPUTS

    @property
    def name(self) -> str:
        """The method's name."""
        return self.method.name

    def requirements(self, book: Book, market: MarketSnapshot) -> Requirements:
        """IM and MM of every account of ``book`` at ``market`` (one batch run), USD."""
        batch = run_method(self.method, book, market, self.params, inputs=self.inputs)
        return batch_requirements(batch, book, market)


def batch_requirements(batch: MarginBatch, book: Book, market: MarketSnapshot) -> Requirements:
    """IM and MM of every account of ``book`` from a batch already run on it, USD.

    The batch's rows of an account (one per currency or sub-account) are converted at the
    market's index (stablecoins at 1) and summed; accounts in ``batch.errors`` get NaN.
    """
    rate = np.array(
        [1.0 if c in STABLECOINS else market.index(str(c)) for c in batch.currency.tolist()]
    )
    row_of = {a: k for k, a in enumerate(book.accounts)}
    rows = np.array([row_of[a] for a in batch.account.tolist()], dtype=np.intp)
    n = len(book.accounts)
    im = np.bincount(rows, weights=batch.initial_margin * rate, minlength=n).astype(np.float64)
    mm = np.bincount(rows, weights=batch.maintenance_margin * rate, minlength=n).astype(np.float64)
    errors = dict(batch.errors)
    if errors:
        bad = np.array([a in errors for a in book.accounts], dtype=bool)
        im[bad] = np.nan
        mm[bad] = np.nan
    return Requirements(
        accounts=book.accounts,
        initial_margin=im,
        maintenance_margin=mm,
        errors=MappingProxyType(errors),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NotionalRates:
    """Requirements as rates on notional, per underlying (``lifecycle.md`` §10 examples).

    ``MM = sum_i mm_rate[u_i] |q_i| P_i`` and ``IM = sum_i im_rate[u_i] |q_i| P_i`` over the
    futures, perpetuals and options of an account, with ``P_i`` the mark (futures and
    perpetuals) or the index (options: the underlying notional), USD per coin. Balances and
    spot pairs carry no requirement. An account holding a derivative of an underlying without
    a rate is an error.

    Attributes
    ----------
    mm_rates, im_rates
        Underlying → fraction of notional, >= 0, ``im_rates[u] >= mm_rates[u]``; the same keys.
    """

    mm_rates: Mapping[str, float]
    im_rates: Mapping[str, float]

    def __post_init__(self) -> None:
        if set(self.mm_rates) != set(self.im_rates):
            expected = f"the keys of mm_rates {sorted(self.mm_rates)}"
            raise ValidationError("im_rates", sorted(self.im_rates), expected)
        for u, mm in self.mm_rates.items():
            require_non_negative(f"mm_rates[{u!r}]", mm)
            if not require_non_negative(f"im_rates[{u!r}]", self.im_rates[u]) >= mm:
                raise ValidationError(f"im_rates[{u!r}]", self.im_rates[u], f">= mm_rates {mm:g}")
        object.__setattr__(self, "mm_rates", MappingProxyType(dict(self.mm_rates)))
        object.__setattr__(self, "im_rates", MappingProxyType(dict(self.im_rates)))

    @property
    def name(self) -> str:
        """E.g. ``"rates MM BTC 10% ETH 15%"``."""
        parts = " ".join(f"{u} {r:.4g}" for u, r in sorted(self.mm_rates.items()))
        return f"notional rates MM {parts}"

    def requirements(self, book: Book, market: MarketSnapshot) -> Requirements:
        """IM and MM of every account of ``book`` at ``market``, USD."""
        table = resolve_instruments(book.instruments, market)
        kind = table.kind
        margined = (kind == Kind.FUTURE) | (kind == Kind.PERPETUAL) | (kind == Kind.OPTION)
        price = np.where(kind == Kind.OPTION, table.index, table.forward)
        mm_rate = np.array([self.mm_rates.get(str(u), np.nan) for u in table.underlying])
        im_rate = np.array([self.im_rates.get(str(u), np.nan) for u in table.underlying])
        errors: dict[str, str] = {}
        unusable = margined & ~(np.isfinite(mm_rate) & np.isfinite(price))
        q = abs(book.quantities)
        if np.any(unusable):
            for row in np.flatnonzero(q @ unusable.astype(np.float64) > 0).tolist():
                cols = q.indices[q.indptr[row] : q.indptr[row + 1]]
                c = int(cols[unusable[cols]][0])
                name = table.names[c]
                reason = table.missing.get(name, f"no rate for underlying {table.underlying[c]}")
                errors[book.accounts[row]] = f"cannot margin {name}: {reason}"
        notional = np.where(margined & ~unusable, price, 0.0)
        mm = q @ (notional * np.nan_to_num(mm_rate))
        im = q @ (notional * np.nan_to_num(im_rate))
        if errors:
            bad = np.array([a in errors for a in book.accounts], dtype=bool)
            mm[bad] = np.nan
            im[bad] = np.nan
        return Requirements(
            accounts=book.accounts,
            initial_margin=np.asarray(im, dtype=np.float64),
            maintenance_margin=np.asarray(mm, dtype=np.float64),
            errors=MappingProxyType(errors),
        )
