"""Columnar margin results of many accounts: what a methodology's ``compute`` returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.results._result import Contribution, MarginComponent, MarginResult

__all__ = ["Explainer", "GroupRows", "MarginBatch"]

Explainer = Callable[[int], tuple[Contribution, ...]]
"""Row index → per-position P&L in that row's worst scenario."""


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class GroupRows:
    """The rows of one group of a batch (an aggregation key, a base asset): one per account
    holding it, in one currency.

    Attributes
    ----------
    account
        Account of each row, object array, shape ``(a,)``.
    currency
        Currency of every row.
    group
        Group label of every row (None: the currency identifies the row).
    initial_margin, maintenance_margin
        Shape ``(a,)``, >= 0, in ``currency``.
    components
        Component name → amounts, shape ``(a,)`` each.
    worst_scenario
        Worst-scenario label per row (None where not applicable), shape ``(a,)``.
    explain
        Row of the group → per-position contributions; None for none.
    """

    account: NDArray[np.object_]
    currency: str
    group: str | None
    initial_margin: NDArray[np.float64]
    maintenance_margin: NDArray[np.float64]
    components: Mapping[str, NDArray[np.float64]]
    worst_scenario: NDArray[np.object_]
    explain: Explainer | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class _DetailPart:
    """Rows of :meth:`MarginBatch.detail_arrow` of one kind; ``row`` is the result row."""

    row: NDArray[np.int64]
    kind: str
    name: pa.Array
    parent: pa.Array
    amount: pa.Array
    source: pa.Array
    quantity: pa.Array


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
    figures
        Further per-row figures a method reports, name → shape ``(r,)`` array (float64, or
        object for labels such as dates), e.g. ``"risk_measures.es"``. A dotted name groups
        figures (``--json`` nests ``risk_measures: {es: ...}``); :meth:`to_arrow` adds one
        column per name after ``margin_ratio``. Empty by default.
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
    figures: Mapping[str, NDArray[Any]] = field(default_factory=_empty)

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
        arrays.update({f"figures[{k!r}]": v for k, v in self.figures.items()})
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
        object.__setattr__(self, "figures", MappingProxyType(dict(self.figures)))

    def __len__(self) -> int:
        return len(self.account)

    def to_arrow(self, extra_errors: Mapping[str, str] | None = None) -> pa.Table:
        """One row per result row plus one per failed account, as a :class:`pyarrow.Table`.

        Columns: ``account``, ``status`` (``"ok"`` or ``"error"``), ``method``,
        ``params_version``, ``currency``, ``group``, ``initial_margin``,
        ``maintenance_margin``, ``worst_scenario``, ``equity``, ``excess``, ``margin_ratio``
        (amounts in the row's currency; null where not applicable, e.g. without equity), one
        column per entry of :attr:`figures` (null on error rows) and ``error`` (the reason, on
        error rows). Built from the arrays, no per-row objects.

        Parameters
        ----------
        extra_errors
            Failed accounts known outside the batch (e.g. bad rows of a positions file),
            listed after the batch's own errors.
        """
        errors = dict(self.errors)
        for account, reason in (extra_errors or {}).items():
            errors.setdefault(account, reason)
        r, e = len(self), len(errors)
        null_floats = pa.nulls(e, pa.float64())

        def amounts(values: NDArray[np.float64] | None) -> pa.Array:
            if values is None:
                return pa.nulls(r + e, pa.float64())
            ok = pa.array(np.asarray(values, dtype=np.float64), from_pandas=True)
            return pa.concat_arrays([ok, null_floats])

        def labels(values: NDArray[np.object_] | None, blank: str | None) -> pa.Array:
            ok = pa.array(
                np.full(r, blank, dtype=object) if values is None else values, pa.string()
            )
            if blank is not None:
                ok = ok.fill_null(blank)
            return pa.concat_arrays([ok, pa.nulls(e, pa.string())])

        def constant(value: str) -> pa.Array:
            return pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(r + e, dtype=np.int32)), pa.array([value])
            ).cast(pa.string())

        status = pa.DictionaryArray.from_arrays(
            pa.array(np.r_[np.zeros(r, np.int32), np.ones(e, np.int32)]),
            pa.array(["ok", "error"]),
        ).cast(pa.string())
        return pa.table(
            {
                "account": pa.array([*self.account.tolist(), *errors], pa.string()),
                "status": status,
                "method": constant(self.method),
                "params_version": constant(self.params_version),
                "currency": labels(self.currency, None),
                "group": labels(self.group, ""),
                "initial_margin": amounts(self.initial_margin),
                "maintenance_margin": amounts(self.maintenance_margin),
                "worst_scenario": labels(self.worst_scenario, None),
                "equity": amounts(self.equity),
                "excess": amounts(self.excess),
                "margin_ratio": amounts(self.margin_ratio),
                **{name: _figure_column(v, e) for name, v in self.figures.items()},
                "error": pa.concat_arrays(
                    [pa.nulls(r, pa.string()), pa.array(list(errors.values()), pa.string())]
                ),
            }
        )

    def component_order(self) -> list[tuple[str, int]]:
        """Component names depth-first (as :meth:`MarginResult.component_rows` walks them)
        with their depth (0 for top-level)."""
        children: dict[str, list[str]] = {}
        for name in self.components:
            children.setdefault(name.rpartition("/")[0], []).append(name)
        out: list[tuple[str, int]] = []

        def walk(parent: str, depth: int) -> None:
            for name in children.get(parent, ()):
                out.append((name, depth))
                walk(name, depth + 1)

        walk("", 0)
        return out

    def detail_arrow(self, contributions: bool = False) -> pa.Table:
        """The component trees (and optionally contributions) of every row, as a long table.

        Columns: ``account``, ``currency``, ``group``, ``kind`` (``"component"`` or
        ``"contribution"``), ``name`` (component name, or the instrument of a contribution),
        ``parent`` (path of the parent component, null at the top), ``amount`` (in the row's
        currency; a contribution's amount is its P&L in the worst scenario, > 0 gain),
        ``source`` (the rule of a component; the worst scenario of a contribution) and
        ``quantity`` (signed quantity held, contributions only). Components come row by row in
        depth-first order.

        Components are built from the component arrays without per-row Python (``r × c``
        table rows). Contributions call ``explain(i)`` once per result row, a Python step per
        row and per position held: about 0.1-0.3 ms per row with ``deribit-pm`` on a 2-core
        machine (minutes for a million rows), so only ask for them when needed.
        """
        order = self.component_order()
        r, c = len(self), len(order)
        names = [n for n, _ in order]
        which = pa.array(np.tile(np.arange(c, dtype=np.int32), r))

        def per_component(values: list[str | None]) -> pa.Array:
            return pa.DictionaryArray.from_arrays(which, pa.array(values, pa.string())).cast(
                pa.string()
            )

        amount = np.column_stack([self.components[n] for n in names]).ravel() if c else np.zeros(0)
        parts: list[_DetailPart] = [
            _DetailPart(
                row=np.repeat(np.arange(r, dtype=np.int64), c),
                kind="component",
                name=per_component([n.rpartition("/")[2] for n in names]),
                parent=per_component([n.rpartition("/")[0] or None for n in names]),
                amount=pa.array(amount, pa.float64()),
                source=per_component([self.sources.get(n, "") for n in names]),
                quantity=pa.nulls(r * c, pa.float64()),
            )
        ]
        if contributions and self.explain is not None:
            parts.append(self._contributions(self.explain))
        rows = pa.array(np.concatenate([p.row for p in parts]))
        group = pa.array(
            np.full(r, "", dtype=object) if self.group is None else self.group, pa.string()
        ).fill_null("")
        kind = pa.concat_arrays(
            [
                pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(len(p.row), dtype=np.int32)), pa.array([p.kind])
                ).cast(pa.string())
                for p in parts
            ]
        )
        return pa.table(
            {
                "account": pa.array(self.account, pa.string()).take(rows),
                "currency": pa.array(self.currency, pa.string()).take(rows),
                "group": group.take(rows),
                "kind": kind,
                "name": pa.concat_arrays([p.name for p in parts]),
                "parent": pa.concat_arrays([p.parent for p in parts]),
                "amount": pa.concat_arrays([p.amount for p in parts]),
                "source": pa.concat_arrays([p.source for p in parts]),
                "quantity": pa.concat_arrays([p.quantity for p in parts]),
            }
        )

    def _contributions(self, explain: Explainer) -> _DetailPart:
        """Contributions of every row via ``explain`` (one Python call per row)."""
        rows: list[int] = []
        names: list[str] = []
        qty: list[float] = []
        pnl: list[float] = []
        scenario: list[str | None] = []
        worst = [None] * len(self) if self.worst_scenario is None else self.worst_scenario.tolist()
        for i in range(len(self)):
            label = None if worst[i] is None else str(worst[i])
            for contribution in explain(i):
                rows.append(i)
                names.append(contribution.instrument)
                qty.append(contribution.quantity)
                pnl.append(contribution.pnl)
                scenario.append(label)
        return _DetailPart(
            row=np.array(rows, dtype=np.int64),
            kind="contribution",
            name=pa.array(names, pa.string()),
            parent=pa.nulls(len(rows), pa.string()),
            amount=pa.array(pnl, pa.float64()),
            source=pa.array(scenario, pa.string()),
            quantity=pa.array(qty, pa.float64()),
        )

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
            figures={name: v[idx] for name, v in self.figures.items()},
        )

    @classmethod
    def from_groups(
        cls,
        groups: Sequence[GroupRows],
        *,
        method: str,
        params_version: str,
        sources: Mapping[str, str],
        errors: Mapping[str, str] | None = None,
        notes: tuple[str, ...] = (),
    ) -> MarginBatch:
        """One batch of the rows of ``groups``, group after group.

        ``sources`` names the components (in display order) and their rules; a group without
        a component has 0 there. Row ``i`` is explained by its group's ``explain``.
        """
        sizes = np.array([len(g.account) for g in groups], dtype=np.intp)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)

        def cat(values: list[NDArray[Any]], dtype: type) -> NDArray[Any]:
            return np.concatenate(values) if values else np.zeros(0, dtype=dtype)

        def per_row(labels: list[str | None]) -> NDArray[np.object_]:
            return np.repeat(np.array(labels, dtype=object), sizes)

        def explain(i: int) -> tuple[Contribution, ...]:
            k = int(np.searchsorted(offsets, i, side="right") - 1)
            part = groups[k].explain
            return () if part is None else part(i - int(offsets[k]))

        return cls(
            method=method,
            params_version=params_version,
            account=cat([g.account for g in groups], object),
            currency=per_row([g.currency for g in groups]),
            initial_margin=cat([g.initial_margin for g in groups], np.float64),
            maintenance_margin=cat([g.maintenance_margin for g in groups], np.float64),
            components={
                name: cat(
                    [g.components.get(name, np.zeros(len(g.account))) for g in groups],
                    np.float64,
                )
                for name in sources
            },
            sources=sources,
            worst_scenario=cat([g.worst_scenario for g in groups], object),
            group=per_row([g.group for g in groups]),
            errors=errors or {},
            explain=explain,
            notes=notes,
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
            """The parts' arrays joined, NaN for parts without one; None if none has it."""
            if all(getattr(p, name) is None for p in parts):
                return None
            return np.concatenate(
                [
                    np.full(len(p), np.nan) if getattr(p, name) is None else getattr(p, name)
                    for p in parts
                ]
            )

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

        figure_names: list[str] = []
        for p in parts:
            figure_names.extend(n for n in p.figures if n not in figure_names)

        def figure(name: str) -> NDArray[Any]:
            """The parts' figure joined, NaN (numbers) or None (labels) where a part lacks it."""
            numeric = all(p.figures[name].dtype.kind in "fiub" for p in parts if name in p.figures)
            return np.concatenate(
                [
                    p.figures[name]
                    if name in p.figures
                    else (np.full(len(p), np.nan) if numeric else np.full(len(p), None, object))
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
            figures={name: figure(name) for name in figure_names},
        )


def _figure_column(values: NDArray[Any], errors: int) -> pa.Array:
    """A per-row figure as an Arrow column followed by ``errors`` nulls (numbers as float64,
    labels as strings)."""
    if values.dtype.kind in "fiub":
        ok = pa.array(np.asarray(values, dtype=np.float64), from_pandas=True)
        return pa.concat_arrays([ok, pa.nulls(errors, pa.float64())])
    labels = pa.array([None if v is None else str(v) for v in values.tolist()], pa.string())
    return pa.concat_arrays([labels, pa.nulls(errors, pa.string())])


def _optional(values: NDArray[np.float64] | None, i: int) -> float | None:
    """``values[i]`` as a float, None where ``values`` is None or the entry is NaN."""
    if values is None or not np.isfinite(values[i]):
        return None
    return float(values[i])
