"""``check_method``: the invariants every margin method satisfies, runnable on any method."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.data import demo_chain_path, demo_daily_paths
from portmargin.instruments import Instrument
from portmargin.io import load_history
from portmargin.io.deribit import load_snapshot
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import AccountInputs, InputSpec, MarginMethod, run_method
from portmargin.results import MarginBatch
from portmargin.risk import Book
from portmargin.testing._universe import Universe, candidates, probe_universe

__all__ = ["PROPERTIES", "MethodCheckError", "check_method"]

T = TypeVar("T")

Spec = list[tuple[str, list[tuple[Instrument, float]]]]
"""A book as ``[(account, [(instrument, quantity), ...]), ...]``."""

PROPERTIES = (
    "reports its name and params version",
    "every listed short option needs IM > 0 and MM > 0",
    "empty and flat accounts need nothing",
    "bad accounts are set aside, the others computed",
    "declares its per-account inputs and refuses undeclared ones",
    "every account is in the rows or in the errors",
    "margin is finite, >= 0, and MM <= IM",
    "an account gets the same alone, in any batch, in any order",
    "a short option needs IM > 0 and MM > 0 at any size",
)
"""Properties :func:`check_method` checks, in the order it checks them."""

_RTOL, _ATOL = 1e-10, 1e-12
"""Tolerance of 'the same' between an account's numbers in different batches."""


class MethodCheckError(AssertionError):
    """A margin method broke one of :data:`PROPERTIES`.

    Attributes
    ----------
    method
        The method's ``name``.
    property
        The property that failed (one of :data:`PROPERTIES`).
    example
        The book that shows it, as ``account: [(instrument, quantity), ...]`` (the smallest
        one found when the property is checked on generated books).
    """

    def __init__(self, method: str, prop: str, detail: str, example: str) -> None:
        self.method = method
        self.property = prop
        self.example = example
        super().__init__(f"{method}: {prop!r} failed: {detail}\nexample: {example}")


def _describe(spec: Spec) -> str:
    return "; ".join(
        f"{account}: [{', '.join(f'({i.name}, {q:g})' for i, q in positions)}]"
        for account, positions in spec
    )


def _book(spec: Spec) -> Book:
    """A book keeping every account of ``spec``, also those without positions."""
    instruments: dict[str, Instrument] = {}
    rows: list[int] = []
    cols: list[int] = []
    qty: list[float] = []
    column: dict[str, int] = {}
    for a, (_, positions) in enumerate(spec):
        for inst, q in positions:
            c = column.setdefault(inst.name, len(column))
            instruments.setdefault(inst.name, inst)
            rows.append(a)
            cols.append(c)
            qty.append(q)
    return Book.from_arrays(
        [a for a, _ in spec],
        list(instruments.values()),
        np.array(rows, dtype=np.intp),
        np.array(cols, dtype=np.intp),
        np.array(qty, dtype=np.float64),
    )


def _total(batch: MarginBatch, account: str, attr: str) -> float:
    values = getattr(batch, attr)
    return float(sum(values[i] for i in batch.rows_of(account)))


def _per_account(batch: MarginBatch) -> dict[str, Any]:
    """Account → its rows' (IM, MM, equity, excess) by (currency, group), or its error."""
    out: dict[str, Any] = dict(batch.errors)
    fields = [batch.initial_margin, batch.maintenance_margin]
    if batch.equity is not None and batch.excess is not None:
        fields += [batch.equity, batch.excess]
    for i, account in enumerate(batch.account.tolist()):
        group = None if batch.group is None else batch.group[i]
        key = (str(batch.currency[i]), group)
        out.setdefault(account, {})[key] = tuple(float(f[i]) for f in fields)
    return out


def _differences(left: dict[str, Any], right: dict[str, Any]) -> str | None:
    """What differs between two :func:`_per_account` maps of the same accounts, or None."""
    if set(left) != set(right):
        return f"accounts {sorted(left)} against {sorted(right)}"
    for account, a in left.items():
        b = right[account]
        if isinstance(a, str) or isinstance(b, str):
            if a != b:
                return f"account {account!r}: {a!r} against {b!r}"
            continue
        if set(a) != set(b):
            return f"account {account!r}: rows {sorted(a, key=str)} against {sorted(b, key=str)}"
        for key, values in a.items():
            if not np.allclose(values, b[key], rtol=_RTOL, atol=_ATOL):
                return f"account {account!r} row {key}: {values} against {b[key]}"
    return None


class _Checker:
    """The properties of one method on one market with one parameter set."""

    def __init__(
        self, method: MarginMethod, market: MarketSnapshot, params: Any, examples: int
    ) -> None:
        self.method = method
        self.market = market
        self.params = params
        self.examples = examples
        probed = candidates(market)
        spec: Spec = [(f"probe {i.name}", [(i, -1.0)]) for i in probed]
        errors = self.compute(PROPERTIES[1], spec).errors
        self.universe: Universe = probe_universe(method.name, market, probed, errors)

    def fail(self, prop: str, detail: str, spec: Spec) -> MethodCheckError:
        return MethodCheckError(self.method.name, prop, detail, _describe(spec))

    def compute(self, prop: str, spec: Spec) -> MarginBatch:
        """``method.compute`` on ``spec``; an exception is a failure of ``prop``."""
        try:
            return self.method.compute(_book(spec), self.market, self.params)
        except Exception as exc:  # the method must report bad accounts, not raise
            raise self.fail(prop, f"compute raised {type(exc).__name__}: {exc}", spec) from exc

    def run(self, prop: str, spec: Spec, book: Book | None = None) -> MarginBatch:
        """:func:`~portmargin.methods.run_method` on ``spec`` (or on ``book``)."""
        try:
            return run_method(self.method, book or _book(spec), self.market, self.params)
        except Exception as exc:
            raise self.fail(prop, f"run raised {type(exc).__name__}: {exc}", spec) from exc

    def generated(
        self, prop: str, strategy: st.SearchStrategy[T], test: Callable[[T], None]
    ) -> None:
        """Check ``test`` on ``examples`` values of ``strategy``; the failure raised is the
        one of the smallest value found."""

        @settings(
            max_examples=self.examples,
            deadline=None,
            database=None,
            derandomize=True,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def check(value: T) -> None:
            test(value)

        check()

    # --- fixed books -------------------------------------------------------------------

    def listed_short_options(self) -> None:
        name_prop, prop = PROPERTIES[0], PROPERTIES[1]
        spec: Spec = [(f"short {o.name}", [(o, -1.0)]) for o in self.universe.options]
        batch = self.compute(prop, spec)
        if batch.method != self.method.name or not batch.params_version:
            raise self.fail(
                name_prop,
                f"method {batch.method!r}, params_version {batch.params_version!r}",
                spec[:1],
            )
        for account, positions in spec:
            if account in batch.errors:
                raise self.fail(prop, f"error {batch.errors[account]!r}", [(account, positions)])
            im = _total(batch, account, "initial_margin")
            mm = _total(batch, account, "maintenance_margin")
            if not (im > 0 and mm > 0):
                raise self.fail(prop, f"IM {im!r}, MM {mm!r}", [(account, positions)])

    def empty_and_flat(self) -> None:
        prop = PROPERTIES[2]
        option = self.universe.options[0]
        spec: Spec = [("empty", []), ("flat", [(option, 3.0), (option, -3.0)])]
        batch = self.compute(prop, spec)
        for account in ("empty", "flat"):
            im = _total(batch, account, "initial_margin")
            mm = _total(batch, account, "maintenance_margin")
            if account in batch.errors or im != 0.0 or mm != 0.0:
                reason = batch.errors.get(account, f"IM {im!r}, MM {mm!r}")
                raise self.fail(prop, f"account {account!r}: {reason}", spec)

    def bad_accounts(self) -> None:
        prop = PROPERTIES[3]
        bad = self.universe.unpriced
        spec: Spec = [("good", [(self.universe.options[0], -1.0)]), ("bad", [(bad, -1.0)])]
        batch = self.compute(prop, spec)
        reason = batch.errors.get("bad", "")
        if bad.underlying not in reason and bad.name not in reason:
            detail = f"account 'bad' not in errors with a reason naming {bad.underlying}"
            raise self.fail(prop, f"{detail}; errors {dict(batch.errors)}", spec)
        if "good" in batch.errors or not _total(batch, "good", "initial_margin") > 0:
            detail = batch.errors.get("good", "IM not > 0")
            raise self.fail(prop, f"account 'good': {detail}", spec)

    def accounted_for(self) -> None:
        prop = PROPERTIES[5]
        option = self.universe.options[0]
        spec: Spec = [
            ("empty", []),
            ("flat", [(option, 3.0), (option, -3.0)]),
            ("collateral", [(self.universe.collateral, 2.5)]),
            ("good", [(option, -1.0), (self.universe.collateral, 1.0)]),
            ("bad", [(self.universe.unpriced, -1.0)]),
        ]
        batch = self.run(prop, spec)
        with_rows = set(batch.account.tolist())
        wanted = {a for a, _ in spec}
        if with_rows | set(batch.errors) != wanted or with_rows & set(batch.errors):
            detail = f"rows for {sorted(with_rows)}, errors for {sorted(batch.errors)}"
            raise self.fail(prop, detail, spec)

    def declared_inputs(self) -> None:
        """Declarations are :class:`InputSpec` with distinct names; an undeclared input is a
        ``ValidationError``; inputs of an account outside the book change nothing."""
        prop = PROPERTIES[4]
        spec: Spec = [("good", [(self.universe.options[0], -1.0)])]
        declared = getattr(self.method, "account_inputs", None)
        names = [d.name for d in declared] if isinstance(declared, tuple) else []
        if not isinstance(declared, tuple) or not all(isinstance(d, InputSpec) for d in declared):
            raise self.fail(prop, f"account_inputs {declared!r} is not a tuple of InputSpec", spec)
        if len(set(names)) != len(names):
            raise self.fail(prop, f"input names repeat: {names}", spec)
        stray = InputSpec(name="undeclared_" + "_".join(names), description="x", default="0")
        try:
            run_method(
                self.method,
                _book(spec),
                self.market,
                self.params,
                inputs=AccountInputs.of([stray], **{stray.name: {"good": 1.0}}),
            )
        except ValidationError:
            pass
        else:
            raise self.fail(prop, f"an undeclared input {stray.name!r} was accepted", spec)
        base = _per_account(self.run(prop, spec))
        for d in declared:
            value = d.choices[0] if d.choices else d.minimum
            key = ("elsewhere", "btc_btc") if d.group else "elsewhere"
            elsewhere = AccountInputs.of(declared, **{d.name: {key: value}})
            try:
                got = run_method(
                    self.method, _book(spec), self.market, self.params, inputs=elsewhere
                )
            except Exception as exc:
                raise self.fail(prop, f"run raised {type(exc).__name__}: {exc}", spec) from exc
            diff = _differences(base, _per_account(got))
            if diff is not None:
                raise self.fail(prop, f"input {d.name} of another account changed {diff}", spec)

    # --- generated books ---------------------------------------------------------------

    def books(self, max_accounts: int) -> st.SearchStrategy[Spec]:
        """Books of 1 to ``max_accounts`` accounts holding 0 to 6 positions of the universe,
        quantities multiples of 0.1 in [-5, 5] (repeats summed)."""
        instruments = self.universe.instruments
        quantity = st.integers(-50, 50).filter(bool).map(lambda k: k / 10)
        position = st.tuples(st.sampled_from(instruments), quantity)
        accounts = st.lists(st.lists(position, max_size=6), min_size=1, max_size=max_accounts)
        return accounts.map(lambda books: [(f"acc{k}", p) for k, p in enumerate(books)])

    def non_negative(self, spec: Spec) -> None:
        prop = PROPERTIES[6]
        batch = self.compute(prop, spec)
        if batch.errors:
            raise self.fail(prop, f"errors {dict(batch.errors)}", spec)
        im, mm = batch.initial_margin, batch.maintenance_margin
        bad = ~np.isfinite(im) | (im < 0) | ~np.isfinite(mm) | (mm < 0)
        bad |= mm > im * (1 + 1e-12) + 1e-12
        for name, values in batch.components.items():
            if not np.all(np.isfinite(values)):
                raise self.fail(prop, f"component {name!r} not finite: {values}", spec)
        if np.any(bad):
            i = int(np.argmax(bad))
            detail = f"account {batch.account[i]!r}: IM {im[i]!r}, MM {mm[i]!r}"
            raise self.fail(prop, detail, spec)

    def independent(self, drawn: tuple[Spec, int]) -> None:
        prop = PROPERTIES[7]
        spec: Spec = [
            *drawn[0],
            ("bad", [(self.universe.unpriced, -1.0), (self.universe.options[0], -1.0)]),
            ("collateral", [(self.universe.collateral, 1.5)]),
        ]
        book = _book(spec)
        before = book.quantities.copy()
        whole = _per_account(self.run(prop, spec, book))
        if (book.quantities != before).nnz or not np.array_equal(
            book.quantities.indices, before.indices
        ):
            raise self.fail(prop, "the caller's book was changed", spec)
        rng = np.random.default_rng(drawn[1])
        shuffled = [spec[k] for k in rng.permutation(len(spec))]
        shuffled = [
            (a, [positions[k] for k in rng.permutation(len(positions))])
            for a, positions in shuffled
        ]
        found = _differences(whole, _per_account(self.run(prop, shuffled)))
        if found:
            raise self.fail(prop, f"accounts and positions reordered: {found}", spec)
        for account, positions in spec:
            alone = _per_account(self.run(prop, [(account, positions)]))
            found = _differences({account: whole[account]}, alone)
            if found:
                raise self.fail(prop, f"alone against in the batch: {found}", spec)

    def shorts(self, spec: Spec) -> None:
        prop = PROPERTIES[8]
        batch = self.compute(prop, spec)
        for account, positions in spec:
            im = _total(batch, account, "initial_margin")
            mm = _total(batch, account, "maintenance_margin")
            if account in batch.errors or not (im > 0 and mm > 0):
                detail = batch.errors.get(account, f"IM {im!r}, MM {mm!r}")
                raise self.fail(prop, detail, [(account, positions)])

    def short_books(self) -> st.SearchStrategy[Spec]:
        """1 to 4 accounts, each short one distinct option of 1e-3 to 1e3 units."""
        options = st.lists(st.sampled_from(self.universe.options), min_size=1, max_size=4)
        size = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)

        def build(picked: Sequence[Any]) -> st.SearchStrategy[Spec]:
            unique = list({o.name: o for o in picked}.values())
            sizes = st.lists(size, min_size=len(unique), max_size=len(unique))
            return sizes.map(
                lambda qs: [(f"short {o.name}", [(o, -q)]) for o, q in zip(unique, qs, strict=True)]
            )

        return options.flatmap(build)


def check_method(
    method: MarginMethod,
    market: MarketSnapshot | None = None,
    params: Any = None,
    *,
    examples: int = 10,
) -> None:
    """Check that ``method`` satisfies every property of :data:`PROPERTIES`.

    Any object implementing :class:`~portmargin.methods.MarginMethod` can be checked,
    registered or not, in the package or outside it. The books are built from the
    instruments of ``market`` that the method margins: its listed options, their
    USDC-settled twins, the futures its quotes name and the perpetuals, each held short alone
    by one account first; the instruments whose account is not an error are used. Fixed books
    check the listed short options, empty and flat accounts, bad accounts, accounting and the
    per-account inputs the method declares;
    books generated with hypothesis (``examples`` each, derandomised, so runs repeat) check
    the margin bounds, independence from the other accounts and their order, and short options
    of any size. A failure is reported with the smallest book hypothesis finds.

    ``portmargin.testing`` needs hypothesis (in the ``test`` extra:
    ``pip install 'portmargin[test]'``); importing it without hypothesis raises ImportError.

    Parameters
    ----------
    method
        The method to check.
    market
        Market the books are margined on; default the bundled Deribit BTC chain of
        2020-05-21 (:func:`portmargin.data.demo_chain_path`).
    params
        The method's parameters; default its bundled pack ``method.default_pack``.
    examples
        Generated books per generated property (> 0).

    Raises
    ------
    MethodCheckError
        Naming the first property that fails, why, and the book that shows it.
    ValidationError
        If ``examples`` is not > 0, or the market lists no option the method margins.
    """
    if examples <= 0:
        raise ValidationError("examples", examples, "an integer > 0")
    snapshot = (
        market
        if market is not None
        else load_snapshot(demo_chain_path()).snapshot.with_history(
            load_history(demo_daily_paths()).history
        )
    )
    checker = _Checker(
        method, snapshot, params if params is not None else load_params(method), examples
    )
    checker.listed_short_options()
    checker.empty_and_flat()
    checker.bad_accounts()
    checker.declared_inputs()
    checker.accounted_for()
    checker.generated(PROPERTIES[6], checker.books(4), checker.non_negative)
    drawn = st.tuples(checker.books(3), st.integers(0, 2**32 - 1))
    checker.generated(PROPERTIES[7], drawn, checker.independent)
    checker.generated(PROPERTIES[8], checker.short_books(), checker.shorts)
