"""Columnar margin results of many accounts: what a methodology's ``compute`` returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.results._result import Contribution, MarginComponent, MarginResult

__all__ = ["Explainer", "MarginBatch"]

Explainer = Callable[[int], tuple[Contribution, ...]]
"""Row index → per-position P&L in that row's worst scenario."""


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MarginBatch:
    """Margin of ``r`` (account, currency) rows, stored as arrays.

    One account may have several rows (one per settlement currency or base asset, as the
    method defines). Accounts that could not be computed are in ``errors`` with the reason.

    Attributes
    ----------
    method, params_version
        Method name and parameter-pack version.
    account, currency
        Row labels, object arrays of shape ``(r,)``.
    initial_margin, maintenance_margin
        Requirements per row, shape ``(r,)``, >= 0, in the row's currency.
    components
        Component name → amounts, shape ``(r,)`` each. A name ``"a/b"`` is a child of ``"a"``;
        order is display order.
    sources
        Component name → the rule that produced it.
    worst_scenario
        Label of the worst scenario per row (None where not applicable), shape ``(r,)``.
    group
        Label of the book each row margins when an account has several rows in one currency
        (e.g. Deribit's aggregation key ``"usdc_eth"``), shape ``(r,)``; None when the
        currency identifies the row.
    errors
        Account → reason, for accounts left out.
    explain
        Optional callable giving the per-position contributions of a row.
    notes
        Assumptions and warnings that apply to the whole batch.
    equity
        Equity of the account in the row's currency, shape ``(r,)``, or None when not valued
        (see :func:`portmargin.methods.run_method`). Rows of one account in one currency
        share that currency's equity.
    excess
        ``equity`` minus the initial margin of every row of the account in that currency,
        shape ``(r,)``, in the row's currency (< 0: the account is under-margined); None
        when ``equity`` is.
    margin_ratio
        Maintenance margin of every row of the account in that currency divided by
        ``equity``, shape ``(r,)``; NaN where equity is <= 0 (the ratio is undefined: the
        account is insolvent or holds nothing); None when ``equity`` is.
    """

    method: str
    params_version: str
    account: NDArray[np.object_]
    currency: NDArray[np.object_]
    initial_margin: NDArray[np.float64]
    maintenance_margin: NDArray[np.float64]
    components: Mapping[str, NDArray[np.float64]]
    sources: Mapping[str, str] = field(default_factory=_empty)
    worst_scenario: NDArray[np.object_] | None = None
    group: NDArray[np.object_] | None = None
    errors: Mapping[str, str] = field(default_factory=_empty)
    explain: Explainer | None = None
    notes: tuple[str, ...] = ()
    equity: NDArray[np.float64] | None = None
    excess: NDArray[np.float64] | None = None
    margin_ratio: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        r = len(self.account)
        arrays = {
            "currency": self.currency,
            "initial_margin": self.initial_margin,
            "maintenance_margin": self.maintenance_margin,
            **{f"components[{k!r}]": v for k, v in self.components.items()},
        }
        if self.worst_scenario is not None:
            arrays["worst_scenario"] = self.worst_scenario
        if self.group is not None:
            arrays["group"] = self.group
        funds = (self.equity, self.excess, self.margin_ratio)
        if any(a is not None for a in funds) and any(a is None for a in funds):
            raise ValidationError(
                "equity, excess, margin_ratio", "some None", "all three arrays or none"
            )
        for name, fund in zip(("equity", "excess", "margin_ratio"), funds, strict=True):
            if fund is not None:
                arrays[name] = fund
        for name, arr in arrays.items():
            if len(arr) != r:
                raise ValidationError(name, len(arr), f"{r} rows like 'account'")
        for name in ("initial_margin", "maintenance_margin"):
            values = getattr(self, name)
            bad = ~np.isfinite(values) | (values < 0)
            if np.any(bad):
                i = int(np.argmax(bad))
                raise ValidationError(
                    f"{name} of account {self.account[i]!r}",
                    float(values[i]),
                    "a finite amount >= 0",
                )
        object.__setattr__(self, "components", MappingProxyType(dict(self.components)))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "errors", MappingProxyType(dict(self.errors)))

    def __len__(self) -> int:
        return len(self.account)

    def result(self, i: int) -> MarginResult:
        """Materialise row ``i`` as a :class:`MarginResult` with its component tree."""
        ccy = str(self.currency[i])
        children: dict[str, list[str]] = {}
        roots: list[str] = []
        for name in self.components:
            parent, _, _ = name.rpartition("/")
            (children.setdefault(parent, []) if parent else roots).append(name)

        def build(name: str) -> MarginComponent:
            return MarginComponent(
                name=name.rpartition("/")[2],
                amount=float(self.components[name][i]),
                currency=ccy,
                source=self.sources.get(name, ""),
                children=tuple(build(c) for c in children.get(name, ())),
            )

        worst = None if self.worst_scenario is None else self.worst_scenario[i]
        return MarginResult(
            account=str(self.account[i]),
            method=self.method,
            currency=ccy,
            initial_margin=float(self.initial_margin[i]),
            maintenance_margin=float(self.maintenance_margin[i]),
            components=tuple(build(r) for r in roots),
            worst_scenario=None if worst is None else str(worst),
            group="" if self.group is None or self.group[i] is None else str(self.group[i]),
            contributions=() if self.explain is None else self.explain(i),
            params_version=self.params_version,
            notes=self.notes,
            equity=_optional(self.equity, i),
            excess=_optional(self.excess, i),
            margin_ratio=_optional(self.margin_ratio, i),
        )

    def results(self) -> list[MarginResult]:
        """Every row as a :class:`MarginResult`."""
        return [self.result(i) for i in range(len(self))]

    def rows_of(self, account: str) -> list[int]:
        """Row indices of one account."""
        return [int(i) for i in np.flatnonzero(self.account == account)]

    def rows_by_account(self) -> dict[str, list[int]]:
        """Row indices of every account, in one pass."""
        rows: dict[str, list[int]] = {}
        for i, account in enumerate(self.account.tolist()):
            rows.setdefault(str(account), []).append(i)
        return rows

    def take(self, rows: NDArray[np.intp], errors: Mapping[str, str] | None = None) -> MarginBatch:
        """The batch restricted to ``rows`` (row indices, shape ``(k,)``, in that order).

        ``errors`` replaces the batch's errors (default: kept as they are).
        """
        idx = np.asarray(rows, dtype=np.intp)
        explain = self.explain

        def explain_taken(i: int) -> tuple[Contribution, ...]:
            return () if explain is None else explain(int(idx[i]))

        def pick(values: NDArray[Any] | None) -> NDArray[Any] | None:
            return None if values is None else values[idx]

        return MarginBatch(
            method=self.method,
            params_version=self.params_version,
            account=self.account[idx],
            currency=self.currency[idx],
            initial_margin=self.initial_margin[idx],
            maintenance_margin=self.maintenance_margin[idx],
            components={name: v[idx] for name, v in self.components.items()},
            sources=self.sources,
            worst_scenario=pick(self.worst_scenario),
            group=pick(self.group),
            errors=self.errors if errors is None else errors,
            explain=explain_taken,
            notes=self.notes,
            equity=pick(self.equity),
            excess=pick(self.excess),
            margin_ratio=pick(self.margin_ratio),
        )

    @classmethod
    def concat(cls, parts: Sequence[MarginBatch]) -> MarginBatch:
        """Join batches of one method (rows appended; components missing in a part are 0)."""
        if not parts:
            raise ValidationError("parts", parts, "at least one MarginBatch")
        first = parts[0]
        names: list[str] = []
        for p in parts:
            names.extend(n for n in p.components if n not in names)
        sizes = [len(p) for p in parts]
        offsets = np.cumsum([0, *sizes])

        def explain(i: int) -> tuple[Contribution, ...]:
            k = int(np.searchsorted(offsets, i, side="right") - 1)
            part = parts[k]
            return () if part.explain is None else part.explain(i - int(offsets[k]))

        def amounts(name: str) -> NDArray[np.float64] | None:
            if any(getattr(p, name) is None for p in parts):
                return None
            return np.concatenate([getattr(p, name) for p in parts])

        def column(name: str) -> NDArray[np.object_] | None:
            if all(getattr(p, name) is None for p in parts):
                return None
            return np.concatenate(
                [
                    getattr(p, name)
                    if getattr(p, name) is not None
                    else np.full(len(p), None, dtype=object)
                    for p in parts
                ]
            )

        errors: dict[str, str] = {}
        sources: dict[str, str] = {}
        for p in parts:
            errors.update(p.errors)
            sources.update(p.sources)
        return cls(
            method=first.method,
            params_version=first.params_version,
            account=np.concatenate([p.account for p in parts]),
            currency=np.concatenate([p.currency for p in parts]),
            initial_margin=np.concatenate([p.initial_margin for p in parts]),
            maintenance_margin=np.concatenate([p.maintenance_margin for p in parts]),
            components={
                n: np.concatenate([p.components.get(n, np.zeros(len(p))) for p in parts])
                for n in names
            },
            sources=sources,
            worst_scenario=column("worst_scenario"),
            group=column("group"),
            errors=errors,
            explain=explain,
            notes=tuple(dict.fromkeys(n for p in parts for n in p.notes)),
            equity=amounts("equity"),
            excess=amounts("excess"),
            margin_ratio=amounts("margin_ratio"),
        )


def _optional(values: NDArray[np.float64] | None, i: int) -> float | None:
    """``values[i]`` as a float, None where ``values`` is None or the entry is NaN."""
    if values is None or not np.isfinite(values[i]):
        return None
    return float(values[i])
