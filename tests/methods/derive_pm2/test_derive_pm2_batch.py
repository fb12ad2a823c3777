"""The ``derive-pm2`` batch method against the per-account ``compute``, its errors and packs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from derive_pm2_support import mainnet_mapping
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.instruments import (
    Currency,
    Future,
    Instrument,
    Option,
    OptionType,
    Perpetual,
    Settlement,
    Spot,
)
from portmargin.io.params import load_params, read_pack
from portmargin.market import FutureQuote, MarketSnapshot, VolSmile
from portmargin.methods.derive_pm2 import (
    BaseRun,
    DeriveBatchRun,
    DeriveCollateralFeed,
    DeriveCollateralHolding,
    DeriveExpiryFeed,
    DeriveMarket,
    DeriveOptions,
    DeriveParams,
    DerivePM2,
    DerivePM2Params,
    DerivePortfolio,
    DeriveResult,
    compute,
    run_batch,
)
from portmargin.risk import Book

VALUATION_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC
DAY_MS = 86_400_000
RATE = 0.04
INDEX = {"ETH": 3_000.0, "BTC": 90_000.0, "WBTC": 89_950.0}
EXPIRIES_MS = {
    # 10 minutes (forward split fixed/variable), 3, 40 and 200 days
    "ETH": (VALUATION_MS + 600_000, VALUATION_MS + 3 * DAY_MS, VALUATION_MS + 40 * DAY_MS),
    "BTC": (VALUATION_MS + 1_200_000, VALUATION_MS + 200 * DAY_MS),
}
PERP_MARK = {"ETH": 3_004.5}  # BTC perp has no quote: priced at the index
METHOD = DerivePM2()


def _option(base: str, expiry_ms: int, strike: float, call: bool, quote: str = "USDC") -> Option:
    return Option(
        underlying=base,
        quote=quote,
        settlement=Settlement.LINEAR,
        option_type=OptionType.CALL if call else OptionType.PUT,
        strike=strike,
        expiry_ms=expiry_ms,
    )


def _perp(base: str) -> Perpetual:
    return Perpetual(underlying=base, quote="USDC", settlement=Settlement.LINEAR)


def _forward(base: str, i: int) -> float:
    return INDEX[base] * (1.0 + 0.004 * (i + 1))


def _snapshot() -> MarketSnapshot:
    forwards: dict[tuple[str, int], float] = {}
    smiles: dict[tuple[str, int], VolSmile] = {}
    for base, expiries in EXPIRIES_MS.items():
        for i, expiry in enumerate(expiries):
            fwd = _forward(base, i)
            forwards[base, expiry] = fwd
            smiles[base, expiry] = VolSmile(
                expiry_ms=expiry,
                forward=fwd,
                strikes=fwd * np.array([0.6, 0.85, 1.0, 1.2, 1.6]),
                vols=np.array([0.95, 0.7, 0.6, 0.65, 0.8]) + 0.05 * i,
            )
    quotes = {
        _perp(b).name: FutureQuote(
            instrument_name=_perp(b).name,
            instrument=_perp(b),
            timestamp_ms=VALUATION_MS,
            mark_price=mark,
        )
        for b, mark in PERP_MARK.items()
    }
    return MarketSnapshot(
        valuation_ms=VALUATION_MS,
        index_prices=INDEX,
        forwards=forwards,
        smiles=smiles,
        rates={"USDC": RATE},
        futures=quotes,
        allow_unlisted=True,
    )


MARKET = _snapshot()
OPTIONS: tuple[Option, ...] = tuple(
    _option(base, expiry, round(INDEX[base] * m, 2), call)
    for base, expiries in EXPIRIES_MS.items()
    for expiry in expiries
    for m in (0.7, 0.95, 1.0, 1.1, 1.45)
    for call in (True, False)
)
COLLATERAL = (Currency(code="ETH"), Currency(code="WBTC"))  # enabled in the mainnet pack
UNIVERSE: tuple[Instrument, ...] = (
    *OPTIONS,
    _perp("ETH"),
    _perp("BTC"),
    Currency(code="USDC"),
    *COLLATERAL,
)
PACKS = ("derive-pm2/mainnet", "derive-pm2/conformance-defaults", "mainnet, WBTC not cancelling")


def _params(pack: str) -> DerivePM2Params:
    """A bundled pack, or the mainnet pack with WBTC collateral not risk-cancelling."""
    if pack.startswith("derive-pm2/"):
        params = load_params(METHOD, pack)
        assert isinstance(params, DerivePM2Params)
        return params
    data = read_pack("derive-pm2/mainnet")
    for row in data["collaterals"]:
        row["is_risk_cancelling"] = row["name"] != "WBTC"
    return METHOD.params_from_mapping(data)


@dataclass(frozen=True)
class Account:
    """Drawn positions of one account: universe index → quantity."""

    positions: dict[int, float]


def _book(accounts: Sequence[Account]) -> Book:
    rows = [a for a, acc in enumerate(accounts) for _ in acc.positions]
    cols = [c for acc in accounts for c in acc.positions]
    qty = [q for acc in accounts for q in acc.positions.values()]
    return Book.from_arrays(
        [f"acct{a}" for a in range(len(accounts))],
        UNIVERSE,
        np.array(rows, dtype=np.intp),
        np.array(cols, dtype=np.intp),
        np.array(qty, dtype=np.float64),
    )


def _bases(positions: dict[int, float], params: DerivePM2Params) -> list[str]:
    """Base assets of an account's holdings, sorted (its batch rows, in order)."""
    out = set()
    for c in positions:
        inst = UNIVERSE[c]
        if isinstance(inst, Option | Perpetual):
            out.add(inst.underlying)
        elif isinstance(inst, Currency) and inst.code in params.collateral_base:
            out.add(params.collateral_base[inst.code])
    return sorted(out)


def _reference(
    positions: dict[int, float], base: str, first: bool, params: DerivePM2Params
) -> DeriveResult:
    """The per-account ``compute`` on the venue inputs the snapshot maps to (spec mapping)."""
    held = [(UNIVERSE[c], q) for c, q in positions.items()]
    opts = [(i, q) for i, q in held if isinstance(i, Option) and i.underlying == base]
    perp = sum(q for i, q in held if isinstance(i, Perpetual) and i.underlying == base)
    cash = sum(q for i, q in held if isinstance(i, Currency) and i.code == "USDC")
    collateral = [
        (i.code, q)
        for i, q in held
        if isinstance(i, Currency) and params.collateral_base.get(i.code) == base
    ]
    portfolio = DerivePortfolio(
        cash=cash if first else 0.0,
        perp_position=perp,
        options=DeriveOptions(
            expiry_seconds=[(i.expiry_ms - VALUATION_MS) / 1000.0 for i, _ in opts],
            strike=[i.strike for i, _ in opts],
            is_call=np.array([i.is_call for i, _ in opts], dtype=bool),
            amount=[q for _, q in opts],
        ),
        collaterals=tuple(DeriveCollateralHolding(name=n, amount=q) for n, q in collateral),
    )
    feeds = []
    for expiry in EXPIRIES_MS[base]:
        strikes = sorted(
            {o.strike for o in OPTIONS if (o.underlying, o.expiry_ms) == (base, expiry)}
        )
        feeds.append(
            DeriveExpiryFeed(
                expiry_seconds=(expiry - VALUATION_MS) / 1000.0,
                forward=MARKET.forwards[base, expiry],
                rate=RATE,
                strikes=strikes,
                vols=MARKET.vol(base, expiry, strikes),
            )
        )
    market = DeriveMarket(
        spot_price=INDEX[base],
        perp_price=PERP_MARK.get(base, INDEX[base]),
        stable_price=1.0,
        expiries=tuple(feeds),
        collaterals=tuple(DeriveCollateralFeed(name=n, price=INDEX[n]) for n, _ in collateral),
    )
    return compute(portfolio, market, params.margin)


def _close(actual: Any, expected: Any, scale: float) -> None:
    """Relative 1e-12, plus 1e-12 of the account's notional for values that cancel to ~0."""
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * scale)


def _row(run: DeriveBatchRun, account: str, base: str) -> tuple[BaseRun, int]:
    a = run.book.accounts.index(account)
    group = next(g for g in run.groups if g.base == base)
    return group, int(np.flatnonzero(group.accounts == a)[0])


QUANTITY = st.floats(-25.0, 25.0, allow_nan=False).filter(lambda q: abs(q) > 1e-6)


@st.composite
def accounts(draw: st.DrawFn, with_collateral: bool) -> list[Account]:
    """1-12 accounts of 0-8 positions (options, perps, USDC cash, enabled collateral)."""
    n_coll = len(COLLATERAL) if with_collateral else 0
    columns = st.integers(0, len(UNIVERSE) - 1 - (len(COLLATERAL) - n_coll))
    out = []
    for _ in range(draw(st.integers(1, 12))):
        cols = draw(st.lists(columns, max_size=8, unique=True))
        positions = {}
        for c in cols:
            q = draw(QUANTITY)
            if isinstance(UNIVERSE[c], Currency) and UNIVERSE[c].name != "USDC":
                q = abs(q)  # collateral balances are >= 0
            if isinstance(UNIVERSE[c], Currency) and UNIVERSE[c].name == "USDC":
                q *= 1_000.0
            positions[c] = q
        out.append(Account(positions=positions))
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), pack=st.sampled_from(PACKS))
def test_batch_equals_per_account_compute(data: st.DataObject, pack: str) -> None:
    params = _params(pack)
    drawn = data.draw(accounts(with_collateral=bool(params.collateral_base)))
    book = _book(drawn)
    run = run_batch(book, MARKET, params)
    batch = METHOD.compute(book, MARKET, params)
    assert not run.errors
    assert not batch.errors
    for a, account in enumerate(drawn):
        name = f"acct{a}"
        bases = _bases(account.positions, params)
        rows = batch.rows_of(name)
        assert len(rows) == max(len(bases), 1)
        if not bases:
            assert batch.initial_margin[rows[0]] == 0.0
            continue
        for k, (base, i) in enumerate(zip(bases, rows, strict=True)):
            ref = _reference(account.positions, base, k == 0, params)
            group, r = _row(run, name, base)
            notional = INDEX[base] * (1.0 + sum(abs(q) for q in account.positions.values()))
            assert batch.group[i] == base
            _close(batch.initial_margin[i], ref.im_requirement, notional)
            _close(batch.maintenance_margin[i], ref.mm_requirement, notional)
            _close(group.pnl[r], ref.pnl_array(), notional)
            _close(group.basis[r], ref.basis_contingency, notional)
            _close(group.min_span[r], ref.min_span, notional)
            _close(group.equity[r], ref.equity, notional)
            for c in ref.im_components:
                _close(batch.components[f"im/{c.name}"][i], c.amount, notional)
            for c in ref.mm_components:
                _close(batch.components[f"mm/{c.name}"][i], c.amount, notional)
            explained = sum(c.pnl for c in batch.explain(i)) if batch.explain else 0.0
            worst = group.pnl[r, group.worst[r]] if group.worst[r] >= 0 else group.basis[r]
            _close(explained, worst, notional)


def test_components_add_up_and_labels_name_scenarios() -> None:
    params = _params("derive-pm2/mainnet")
    rng = np.random.default_rng(7)
    drawn = [
        Account(positions={int(c): float(rng.normal(0, 5)) for c in rng.choice(24, 5)})
        for _ in range(40)
    ]
    batch = METHOD.compute(_book(drawn), MARKET, params)
    im = sum(v for k, v in batch.components.items() if k.startswith("im/"))
    mm = sum(v for k, v in batch.components.items() if k.startswith("mm/"))
    np.testing.assert_allclose(im, batch.initial_margin, rtol=1e-12)
    np.testing.assert_allclose(mm, batch.maintenance_margin, rtol=1e-12)
    assert np.all(batch.maintenance_margin <= batch.initial_margin)
    labels = {s.label for s in params.margin.scenarios} | {"basis"}
    assert set(batch.worst_scenario.tolist()) <= labels
    result = batch.result(0)
    assert result.params_version == "mainnet"
    assert [c.name for c in result.components] == ["im", "mm"]
    assert any("confidence" in note for note in result.notes)


def test_unsupported_instruments_set_the_account_aside() -> None:
    expiry = EXPIRIES_MS["BTC"][1]
    inverse = Option(
        underlying="BTC", option_type=OptionType.CALL, strike=90_000.0, expiry_ms=expiry
    )
    cases: dict[str, tuple[Instrument, float, str]] = {
        "inverse": (inverse, -1.0, "coin-settled (inverse) option"),
        "inverse_perp": (Perpetual(underlying="BTC"), 1.0, "coin-settled (inverse) perpetual"),
        "usdt_option": (
            _option("BTC", expiry, 90_000.0, True, quote="USDT"),
            1.0,
            "option settled in USDT",
        ),
        "future": (
            Future(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR, expiry_ms=expiry),
            1.0,
            "dated future",
        ),
        "spot": (Spot(base="ETH", quote="USDC"), 1.0, "spot pair"),
        "stable": (Currency(code="USDT"), 100.0, "not a collateral enabled"),
        "no_market": (_option("SOL", expiry, 150.0, True), 1.0, "SOL"),
        "negative_collateral": (Currency(code="WBTC"), -1.0, "negative WBTC balance"),
    }
    good = (OPTIONS[0], -2.0)
    instruments = [good[0], *(inst for inst, _, _ in cases.values())]
    names = ["good", *cases]
    book = Book.from_arrays(
        names,
        instruments,
        np.array([0, *range(1, len(names)), *range(1, len(names))], dtype=np.intp),
        np.array([0, *range(1, len(names)), *[0] * len(cases)], dtype=np.intp),
        np.array([good[1], *(q for _, q, _ in cases.values()), *[1.0] * len(cases)]),
    )
    batch = METHOD.compute(book, MARKET, _params("derive-pm2/mainnet"))
    assert set(batch.errors) == set(cases)
    for name, (inst, _, why) in cases.items():
        assert why in batch.errors[name]
        if name not in ("no_market", "negative_collateral"):
            assert inst.name in batch.errors[name]
            assert "USDC-settled (linear) options" in batch.errors[name]
    assert batch.account.tolist() == ["good"]
    assert batch.initial_margin[0] > 0


def test_empty_cash_only_and_flat_accounts_need_nothing() -> None:
    usdc = UNIVERSE.index(Currency(code="USDC"))
    book = Book.from_arrays(
        ["empty", "cash", "flat", "short"],
        UNIVERSE,
        np.array([1, 2, 2, 3], dtype=np.intp),
        np.array([usdc, 0, 0, 0], dtype=np.intp),
        np.array([5_000.0, 3.0, -3.0, -1.0]),
    )
    params = _params("derive-pm2/mainnet")
    run = run_batch(book, MARKET, params)
    batch = METHOD.compute(book, MARKET, params)
    for name in ("empty", "cash", "flat"):
        (i,) = batch.rows_of(name)
        assert batch.initial_margin[i] == 0.0
        assert batch.maintenance_margin[i] == 0.0
        assert batch.group[i] is None
        assert batch.worst_scenario[i] is None
        assert batch.explain is not None
        assert batch.explain(i) == ()
    assert run.idle_cash.tolist() == [0.0, 5_000.0, 0.0]
    (short,) = batch.rows_of("short")
    assert batch.initial_margin[short] > 0


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d.update(foo=1.0), "foo"),
        (lambda d: d["scenarios"][2].update(foo=1.0), "scenarios[2].foo"),
        (lambda d: d["collaterals"][0].update(foo=1.0), "collaterals[0].foo"),
        (lambda d: d.pop("vol_range_up"), "vol_range_up"),
        (lambda d: d.update(im_factor=0.1), "im_factor"),
        (lambda d: d["scenarios"][-1].update(spot_shock=1.1), "scenarios[32].spot_shock"),
        (lambda d: d["scenarios"][0].update(vol_shock="Sideways"), "scenarios[0].vol_shock"),
        (lambda d: d["collaterals"][0].update(mm_haircut=1.5), "collaterals[0].mm_haircut"),
        (lambda d: d["collaterals"][1].update(name="ETH"), "collaterals[1].name"),
        (lambda d: d["collaterals"][0].update(name="USDC"), "collaterals[0].name"),
    ],
)
def test_bad_pack_keys_and_values_are_named(edit: Any, path: str) -> None:
    data = read_pack("derive-pm2/mainnet")
    edit(data)
    with pytest.raises(ValidationError) as info:
        METHOD.params_from_mapping(data)
    assert info.value.field == path


def test_conformance_defaults_pack_is_the_venue_default(default_params: DeriveParams) -> None:
    params = _params("derive-pm2/conformance-defaults")
    assert params.version == "conformance-defaults"
    assert params.margin == default_params
    assert not params.collateral_base


def test_mainnet_pack_is_the_mainnet_script() -> None:
    params = _params(METHOD.default_pack)
    assert params.version == "mainnet"
    assert len(params.margin.scenarios) == 33
    expected = DeriveParams.from_mapping(mainnet_mapping()).to_mapping()
    actual = params.margin.to_mapping()
    assert actual.keys() == expected.keys()
    for block in expected.keys() - {"Scenarios"}:
        assert actual[block] == pytest.approx(expected[block], rel=1e-15)
    for got, want in zip(actual["Scenarios"], expected["Scenarios"], strict=True):
        assert got["VolShockDirection"].lower() == want["VolShockDirection"].lower()
        assert got["SpotShock"] == pytest.approx(want["SpotShock"], rel=1e-15)
        assert got["DampeningFactor"] == pytest.approx(want["DampeningFactor"], rel=1e-15)
    assert params.collateral_base["WEETH"] == "ETH"
    assert DerivePM2Params.from_mapping(params.to_mapping()) == params
