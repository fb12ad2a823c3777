"""Monte Carlo VaR/ES of one BTC/ETH book: Merton estimation, paths, Black-76 risk array."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import PortmarginError, datetime_to_ms
from portmargin.data import demo_daily_paths
from portmargin.instruments import (
    Future,
    Instrument,
    Option,
    OptionType,
    Perpetual,
    Settlement,
)
from portmargin.io import load_history
from portmargin.market import MarketSnapshot, PriceHistory, VolSmile
from portmargin.risk import Book, build_risk_array, resolve_instruments
from portmargin.scenarios import MC_SEED, estimate_merton, mc_scenarios

__all__ = ["McBench", "mc_bench_book", "run_mc_bench"]

AS_OF = dt.date(2021, 11, 24)
"""Last close used; the market is valued at 00:00 UTC the next day."""

_HISTORY_START = {"BTC": "2017-01-01", "ETH": "2017-01-01"}
_VOLS = {"BTC": 0.65, "ETH": 0.85}
_EXPIRY_DAYS = (8, 36, 120)
_CONFIDENCE = 0.99


@dataclass(frozen=True, slots=True, kw_only=True)
class McBench:
    """Measured Monte Carlo VaR/ES run of one book.

    Attributes
    ----------
    paths
        Scenarios drawn.
    positions
        Positions of the book (options, futures and perpetuals on BTC and ETH).
    stages
        Wall seconds per stage: ``read`` (daily files), ``estimate`` (Merton fit),
        ``simulate`` (paths), ``risk_array`` (scenario set and Black-76 revaluation of every
        instrument), ``aggregate`` (book P&L in USD, VaR and ES).
    seconds
        Sum of the stages, s.
    var, es
        1-day 99 % VaR and ES of the book, USD (loss > 0).
    """

    paths: int
    positions: int
    stages: dict[str, float]
    seconds: float
    var: float
    es: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def _market(history: PriceHistory) -> MarketSnapshot:
    """Flat-vol model market at the last closes: forwards equal to the index (zero rates)."""
    valuation = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    closes = history.closes[history.dates == np.datetime64(AS_OF)][0]
    spots = {u: float(closes[history.column(u)]) for u in ("BTC", "ETH")}
    expiries = [datetime_to_ms(valuation + dt.timedelta(days=d, hours=8)) for d in _EXPIRY_DAYS]
    smiles = {
        (u, e): VolSmile(
            expiry_ms=e,
            forward=s,
            strikes=np.array([0.25 * s, s, 4.0 * s]),
            vols=np.full(3, _VOLS[u]),
        )
        for u, s in spots.items()
        for e in expiries
    }
    return MarketSnapshot(
        valuation_ms=datetime_to_ms(valuation),
        index_prices=spots,
        forwards={key: smile.forward for key, smile in smiles.items()},
        smiles=smiles,
        allow_unlisted=True,
    )


def mc_bench_book(
    market: MarketSnapshot, positions: int, rng: np.random.Generator
) -> tuple[Book, list[Instrument]]:
    """One account with ``positions`` distinct random BTC/ETH instruments (options, futures,
    perpetuals), alternating BTC and ETH.

    Strikes 0.6 to 1.4 times the index (rounded to 100 USD for BTC, 10 USD for ETH), the
    snapshot's expiries, inverse and linear (USDC) settlement, quantities normal with a 1-coin
    scale (BTC) or 10-coin scale (ETH), rounded to 0.1.
    """
    chosen: dict[str, tuple[Instrument, float]] = {}
    while len(chosen) < positions:
        u = ("BTC", "ETH")[len(chosen) % 2]
        spot = market.index(u)
        expiry = market.expiries(u)[int(rng.integers(len(market.expiries(u))))]
        settlement = Settlement.INVERSE if rng.random() < 0.5 else Settlement.LINEAR
        quote = "USD" if settlement is Settlement.INVERSE else "USDC"
        kind = rng.random()
        inst: Instrument
        if kind < 0.7:
            step = 100.0 if u == "BTC" else 10.0
            inst = Option(
                underlying=u,
                quote=quote,
                settlement=settlement,
                option_type=OptionType.CALL if rng.random() < 0.5 else OptionType.PUT,
                strike=step * round(spot * rng.uniform(0.6, 1.4) / step),
                expiry_ms=expiry,
            )
        elif kind < 0.9:
            inst = Future(underlying=u, quote=quote, settlement=settlement, expiry_ms=expiry)
        else:
            inst = Perpetual(underlying=u, quote=quote, settlement=settlement)
        scale = 1.0 if u == "BTC" else 10.0
        chosen.setdefault(inst.name, (inst, round(float(rng.normal(0.0, scale)), 1) or 0.1))
    book = Book.from_arrays(
        ["book"],
        [inst for inst, _ in chosen.values()],
        np.zeros(positions, dtype=np.intp),
        np.arange(positions, dtype=np.intp),
        np.array([q for _, q in chosen.values()]),
    )
    return book, list(book.instruments)


def _var_es(losses: NDArray[np.float64], alpha: float) -> tuple[float, float]:
    """Equal-weight VaR and ES of ``var-margin.md`` section 5 (partial sort of the tail)."""
    a = losses.size * (1.0 - alpha)
    k = int(np.floor(a + 1e-9))
    tail = -np.sort(-np.partition(losses, losses.size - k - 1)[losses.size - k - 1 :])
    return float(tail[k]), float((tail[:k].sum() + (a - k) * tail[k]) / a)


def run_mc_bench(paths: int = 100_000, positions: int = 50) -> McBench:
    """Time the Monte Carlo VaR/ES of one book on the bundled BTC/ETH history.

    Stages: read the daily files, estimate the Merton model (``var-margin.md`` 3.4, 2017-01-01
    to 2021-11-24, with common jumps), draw ``paths`` 1-day paths (seed ``MC_SEED``), build
    the keyed scenario set and the Black-76 risk array of the book's instruments on a flat-vol
    model market at the last closes, then the book's USD P&L per path and its 99 % VaR/ES.

    Raises
    ------
    PortmarginError
        If sizes are not > 0 or ``paths`` leaves no tail scenario at 99 %.
    """
    if positions <= 0 or paths < 100:
        raise PortmarginError("the MC benchmark needs positions > 0 and paths >= 100")
    stages: dict[str, float] = {}
    start = time.perf_counter()
    history = load_history(demo_daily_paths()).history
    stages["read"] = time.perf_counter() - start

    start = time.perf_counter()
    est = estimate_merton(history, as_of=AS_OF, history_start=_HISTORY_START)
    stages["estimate"] = time.perf_counter() - start

    start = time.perf_counter()
    rng = np.random.Generator(np.random.PCG64(MC_SEED))
    mc = mc_scenarios(est.params(common_jumps=True), horizon_days=1, paths=paths, rng=rng)
    stages["simulate"] = time.perf_counter() - start

    market = _market(history)
    book, instruments = mc_bench_book(market, positions, np.random.default_rng(20211124))
    start = time.perf_counter()
    scenario_set = mc.to_scenario_set(name="mc 1d")
    risk = build_risk_array(resolve_instruments(instruments, market), scenario_set)
    stages["risk_array"] = time.perf_counter() - start

    start = time.perf_counter()
    book_pnl = book.quantities @ risk.pnl_usd()
    var, es = _var_es(-np.asarray(book_pnl).ravel(), _CONFIDENCE)
    stages["aggregate"] = time.perf_counter() - start
    return McBench(
        paths=paths,
        positions=int(book.quantities.nnz),
        stages=stages,
        seconds=sum(stages.values()),
        var=var,
        es=es,
    )
