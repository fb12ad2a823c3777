"""Which instruments of a book Derive PMRM_2 margins, and in which base-asset manager."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.instruments import Currency, Future, Instrument, Option, Perpetual, Settlement
from portmargin.methods.derive_pm2._pack import CASH_ASSET, DerivePM2Params
from portmargin.risk import Book, set_aside

__all__ = ["SUPPORTED", "ColumnRoles", "Role", "column_roles", "set_aside_unsupported"]

SUPPORTED = (
    f"derive-pm2 supports {CASH_ASSET}-settled (linear) options and perpetuals, the "
    f"{CASH_ASSET} cash balance and the collateral enabled in the parameter pack"
)
"""What the batch method supports, quoted in error messages."""


class Role(IntEnum):
    """Role of a book column; ``UNSUPPORTED`` sets the account holding it aside."""

    UNSUPPORTED = -1
    CASH = 0
    OPTION = 1
    PERP = 2
    COLLATERAL = 3


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ColumnRoles:
    """Role and base asset of each book column, shape ``(n_instruments,)``.

    Attributes
    ----------
    role
        :class:`Role` codes, int8.
    base
        Base asset (manager) of options, perpetuals and collateral; None for cash and
        unsupported columns.
    reasons
        Column → why it is unsupported (names the instrument and what is supported).
    """

    role: NDArray[np.int8]
    base: NDArray[np.object_]
    reasons: Mapping[int, str]


def _linear_usdc(inst: Option | Perpetual) -> bool:
    return inst.settlement is Settlement.LINEAR and inst.quote == CASH_ASSET


def _classify(inst: Instrument, params: DerivePM2Params) -> tuple[Role, str | None, str]:
    """``(role, base, reason)`` of one instrument (reason empty when supported)."""
    if isinstance(inst, Currency):
        if inst.code == CASH_ASSET:
            return Role.CASH, None, ""
        base = params.collateral_base.get(inst.code)
        if base is not None:
            return Role.COLLATERAL, base, ""
        enabled = ", ".join(params.collateral_base) or "none"
        why = f"{inst.code}: balance of a currency that is not a collateral enabled in pack"
        return Role.UNSUPPORTED, None, f"{why} {params.version} (enabled: {enabled})"
    if isinstance(inst, Option | Perpetual) and _linear_usdc(inst):
        role = Role.OPTION if isinstance(inst, Option) else Role.PERP
        return role, inst.underlying, ""
    if isinstance(inst, Option | Perpetual):
        kind = "option" if isinstance(inst, Option) else "perpetual"
        if inst.settlement is Settlement.INVERSE:
            return Role.UNSUPPORTED, None, f"{inst.name}: coin-settled (inverse) {kind}"
        return Role.UNSUPPORTED, None, f"{inst.name}: {kind} settled in {inst.quote}"
    if isinstance(inst, Future):
        return Role.UNSUPPORTED, None, f"{inst.name}: dated future"
    return Role.UNSUPPORTED, None, f"{inst.name}: spot pair"


def column_roles(instruments: Sequence[Instrument], params: DerivePM2Params) -> ColumnRoles:
    """Classify every column of a book (one pass over the instruments, not the accounts)."""
    found = [_classify(inst, params) for inst in instruments]
    return ColumnRoles(
        role=np.array([r for r, _, _ in found], dtype=np.int8),
        base=np.array([b for _, b, _ in found], dtype=object),
        reasons=MappingProxyType(
            {c: f"{why}; {SUPPORTED}" for c, (_, _, why) in enumerate(found) if why}
        ),
    )


def set_aside_unsupported(book: Book, roles: ColumnRoles) -> tuple[Book, dict[str, str]]:
    """Take out accounts holding an unsupported instrument (first reason wins) or a negative
    collateral balance; return the remaining book and account → reason."""
    kept, errors = set_aside(
        book, [(np.array([col], dtype=np.intp), why) for col, why in roles.reasons.items()]
    )
    colls = np.flatnonzero(roles.role == Role.COLLATERAL)
    short = kept.quantities[:, colls].tocsr()
    short.data = (short.data < 0).astype(np.float64)
    short.eliminate_zeros()
    rows = np.flatnonzero(np.diff(short.indptr) > 0)
    if rows.size == 0:
        return kept, errors
    first = colls[short.indices[short.indptr[rows]]]
    for r, c in zip(rows.tolist(), first.tolist(), strict=True):
        name = kept.instruments[c].name
        errors[kept.accounts[r]] = f"negative {name} balance: collateral amounts must be >= 0"
    keep = np.ones(len(kept.accounts), dtype=bool)
    keep[rows] = False
    return kept.select_accounts(keep), errors
