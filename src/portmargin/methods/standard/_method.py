"""The ``standard`` method: position-by-position IM and MM summed per account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError, config_from_mapping
from portmargin.market import MarketSnapshot
from portmargin.methods._inputs import InputSpec
from portmargin.methods.standard._aggregate import Positions, RowSums, explainer, row_sums
from portmargin.methods.standard._params import Profile, StandardParams
from portmargin.methods.standard._rates import ColumnRates, Group, column_rates
from portmargin.results import MarginBatch
from portmargin.risk import Book, prepare_book

__all__ = ["StandardMargin"]

_GROUPS = (Group.OPTIONS_SHORT, Group.OPTIONS_LONG, Group.FUTURES, Group.PERPETUALS)

_SOURCES = {
    Profile.DERIBIT_SM: {
        "options_short": "Deribit SM short option: max(im_max - OTM/U, im_min) + mark per coin "
        "(puts: at least MM); MM mm + mark (puts: max(mm, mm_put_mark * mark) + mark)",
        "options_long": "Deribit SM long option: 0 (premium paid)",
        "futures": "Deribit SM future: (base + n * step) * notional at index, n = |size| coins",
        "perpetuals": "Deribit SM perpetual: (base + n * step) * notional at index",
    },
    Profile.PARADEX_CROSS: {
        "options_short": "Paradex short option: max(short_itm * S - OTM, short_otm * S) "
        "(puts capped at short_put_cap * K) per coin",
        "options_long": "Paradex long option: min(premium_multiplier * mark, long_itm * S)",
        "futures": "Paradex future: IMF * |q| * mark (MMR: mmf_factor * IMF * |q| * mark)",
        "perpetuals": "Paradex perpetual: IMF * |q| * mark (MMR: mmf_factor * IMF * |q| * mark)",
        "fee_provision": "Paradex fee provision: taker_fee_rate * position value",
    },
}


class StandardMargin:
    """Standard margin: each position margined on its own, requirements summed.

    Profiles (``StandardParams.profile``):

    - ``deribit-sm``: one row per account and settlement currency in which it holds entries;
      amounts in that currency (coin for inverse products, USDC for linear ones).
    - ``paradex-cross``: one ``"USD"`` row per account (including accounts without positions).

    Currency balances and spot pairs carry no requirement. ``MarginBatch.explain(i)`` lists
    each position of row ``i`` as ``Contribution(instrument, quantity, pnl=-IM)``: ``pnl`` is
    minus the position's IM in the row currency (there is no scenario). ``worst_scenario`` is
    None.
    """

    name = "standard"
    description = "Position-by-position standard margin (Deribit SM, Paradex cross)"
    default_pack = "standard/deribit-sm-2024"
    account_inputs: tuple[InputSpec, ...] = ()

    def params_from_mapping(self, data: Mapping[str, Any]) -> StandardParams:
        """Parameters from a parsed pack; unknown keys raise ``ValidationError`` naming them."""
        return config_from_mapping(StandardParams, data)

    def compute(self, book: Book, market: MarketSnapshot, params: Any) -> MarginBatch:
        """IM and MM of every account of ``book``.

        Parameters
        ----------
        book
            Signed quantities, accounts × instruments (coins of underlying; > 0 long).
        market
            Index, forwards, vols and venue quotes (option marks) at valuation time.
        params
            A :class:`StandardParams`.

        Returns
        -------
        MarginBatch
            Requirements >= 0 per row; components ``initial_margin`` and
            ``maintenance_margin`` with children per kind. Accounts holding an instrument
            without market data, or one the profile cannot margin, are in ``errors``.
        """
        if not isinstance(params, StandardParams):
            raise ValidationError("params", type(params).__name__, "a StandardParams")
        prepared = prepare_book(book, market)
        good = prepared.book
        rates = column_rates(prepared.table, market, params)
        accounts = np.array(good.accounts, dtype=object)
        errors = dict(prepared.errors)
        positions = Positions.of(good)
        keep = _drop_unsupported(rates, positions, accounts, errors)
        positions = positions.select(keep[positions.account])
        deribit = params.profile is Profile.DERIBIT_SM
        ccy = prepared.table.settlement_currency if deribit else None
        rows = row_sums(accounts, positions, ccy, keep)
        im, mm, fee = rates.requirements(positions.column, positions.quantity)
        components = _components(rows, rates, positions, (im, mm, fee), with_fee=not deribit)
        return MarginBatch(
            method=self.name,
            params_version=params.version,
            account=rows.account,
            currency=rows.currency,
            initial_margin=components["initial_margin"],
            maintenance_margin=components["maintenance_margin"],
            components=components,
            sources=_sources(params.profile),
            errors=errors,
            explain=explainer(rows, prepared.table.names, positions, im),
            notes=_notes(params),
        )


def _drop_unsupported(
    rates: ColumnRates,
    positions: Positions,
    accounts: NDArray[np.object_],
    errors: dict[str, str],
) -> NDArray[np.bool_]:
    """Accounts to compute; holders of unsupported columns are added to ``errors``."""
    keep = np.ones(len(accounts), dtype=bool)
    if not rates.unsupported:
        return keep
    bad = np.zeros(len(rates.group), dtype=bool)
    bad[list(rates.unsupported)] = True
    hit = np.flatnonzero(bad[positions.column])
    for a, c in zip(positions.account[hit], positions.column[hit], strict=True):
        errors.setdefault(str(accounts[a]), rates.unsupported[int(c)])
    keep[positions.account[hit]] = False
    return keep


def _components(
    rows: RowSums,
    rates: ColumnRates,
    positions: Positions,
    amounts: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
    *,
    with_fee: bool,
) -> dict[str, NDArray[np.float64]]:
    im, mm, fee = amounts
    group = rates.group[positions.column].astype(np.intp)
    group[(group == Group.OPTIONS_LONG) & (positions.quantity < 0)] = Group.OPTIONS_SHORT
    out: dict[str, NDArray[np.float64]] = {}
    for side, total in (("initial_margin", im), ("maintenance_margin", mm)):
        split = rows.by_group(total - fee, group, len(Group))
        out[side] = rows.total(total)
        out |= {f"{side}/{g.name.lower()}": split[:, g] for g in _GROUPS}
        if with_fee:
            out[f"{side}/fee_provision"] = rows.total(fee)
    return out


def _sources(profile: Profile) -> dict[str, str]:
    out: dict[str, str] = {}
    for side, label in (("initial_margin", "IM"), ("maintenance_margin", "MM")):
        out[side] = f"sum of position {label} (no netting across instruments)"
        out |= {f"{side}/{k}": v for k, v in _SOURCES[profile].items()}
    return out


def _notes(params: StandardParams) -> tuple[str, ...]:
    notes = [f"standard margin, profile {params.profile.value}: sum of position requirements"]
    if params.sm_underlying is not None and params.sm_inverse_size_price is not None:
        notes.append(
            f"option U = {params.sm_underlying.value} (quote underlying_price when quoted); "
            f"inverse futures size at {params.sm_inverse_size_price.value}"
        )
    else:
        notes.append("option marks are part of account value: short options carry no + mark")
    notes.append("positions only: open orders are not margined")
    notes.append("contributions: pnl = -IM of the position in the row currency")
    return tuple(notes)
