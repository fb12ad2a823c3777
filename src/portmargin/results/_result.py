"""Typed margin results that explain themselves: components, worst scenario, contributions."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portmargin.core import ValidationError, require_non_empty

__all__ = ["Contribution", "MarginComponent", "MarginResult"]


def _amount(field_name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(field_name, value, "a finite amount")
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginComponent:
    """One named part of a margin requirement.

    Attributes
    ----------
    name
        Component name (``worst_case``, ``roll_shock``, ``position:BTC-PERPETUAL``, ...).
    amount
        Amount in ``currency``; requirements are >= 0, diagnostic P&L may be signed.
    currency
        Currency of ``amount``.
    source
        The rule or scenario that produced it (e.g. ``"scenario -16% vol same"``).
    children
        Sub-components (their amounts need not add up to the parent's; ``source`` says how
        the parent combines them).
    """

    name: str
    amount: float
    currency: str
    source: str = ""
    children: tuple[MarginComponent, ...] = ()

    def __post_init__(self) -> None:
        require_non_empty("name", self.name)
        object.__setattr__(self, "amount", _amount(f"amount of {self.name}", self.amount))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready), children nested."""
        out: dict[str, Any] = {"name": self.name, "amount": self.amount, "currency": self.currency}
        if self.source:
            out["source"] = self.source
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MarginComponent:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=data["name"],
            amount=data["amount"],
            currency=data["currency"],
            source=data.get("source", ""),
            children=tuple(cls.from_dict(c) for c in data.get("children", ())),
        )

    def walk(self, depth: int = 0) -> list[tuple[int, MarginComponent]]:
        """This component and its descendants with their depth, depth-first."""
        out = [(depth, self)]
        for child in self.children:
            out.extend(child.walk(depth + 1))
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Contribution:
    """P&L of one position in the worst scenario.

    Attributes
    ----------
    instrument
        Venue name.
    quantity
        Signed quantity held.
    pnl
        Scenario P&L of the position in the result's currency (> 0 gain).
    figures
        Further figures of the position a method reports, name → amount in the result's
        currency (e.g. ``"euler_es"``); empty by default.
    """

    instrument: str
    quantity: float
    pnl: float
    figures: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (``figures`` only when there are some)."""
        out: dict[str, Any] = {
            "instrument": self.instrument,
            "quantity": self.quantity,
            "pnl": self.pnl,
        }
        if self.figures:
            out["figures"] = dict(self.figures)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginResult:
    """Margin of one account in one currency under one method.

    Attributes
    ----------
    account
        Account id.
    method
        Registered method name.
    currency
        Currency of every amount.
    initial_margin, maintenance_margin
        Requirements, >= 0.
    components
        Top-level components (trees).
    worst_scenario
        Label of the scenario that set the requirement, or None when none did.
    group
        Which of the account's books in ``currency`` this row margins (e.g. ``"usdc_eth"``);
        empty when the currency identifies it.
    contributions
        Per-position P&L in the worst scenario.
    params_version
        Version of the parameter pack used.
    notes
        Assumptions and warnings of the run.
    equity, excess, margin_ratio
        The account's equity in ``currency``, equity minus the IM of all its rows in
        ``currency``, and their MM over equity; None when not valued (or, for the ratio,
        when equity is <= 0).
    """

    account: str
    method: str
    currency: str
    initial_margin: float
    maintenance_margin: float
    components: tuple[MarginComponent, ...] = ()
    worst_scenario: str | None = None
    group: str = ""
    contributions: tuple[Contribution, ...] = ()
    params_version: str = ""
    notes: tuple[str, ...] = field(default=())
    equity: float | None = None
    excess: float | None = None
    margin_ratio: float | None = None

    def __post_init__(self) -> None:
        require_non_empty("account", self.account)
        for name in ("initial_margin", "maintenance_margin"):
            value = _amount(name, getattr(self, name))
            if value < 0:
                raise ValidationError(name, value, "a requirement >= 0")
            object.__setattr__(self, name, value)
        for name in ("equity", "excess", "margin_ratio"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _amount(name, getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready); :meth:`from_dict` restores an equal result."""
        return {
            "account": self.account,
            "method": self.method,
            "currency": self.currency,
            "initial_margin": self.initial_margin,
            "maintenance_margin": self.maintenance_margin,
            "worst_scenario": self.worst_scenario,
            "group": self.group,
            "components": [c.to_dict() for c in self.components],
            "contributions": [c.to_dict() for c in self.contributions],
            "params_version": self.params_version,
            "notes": list(self.notes),
            "equity": self.equity,
            "excess": self.excess,
            "margin_ratio": self.margin_ratio,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MarginResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            account=data["account"],
            method=data["method"],
            currency=data["currency"],
            initial_margin=data["initial_margin"],
            maintenance_margin=data["maintenance_margin"],
            worst_scenario=data.get("worst_scenario"),
            group=data.get("group", ""),
            components=tuple(MarginComponent.from_dict(c) for c in data.get("components", ())),
            contributions=tuple(Contribution(**c) for c in data.get("contributions", ())),
            params_version=data.get("params_version", ""),
            notes=tuple(data.get("notes", ())),
            equity=data.get("equity"),
            excess=data.get("excess"),
            margin_ratio=data.get("margin_ratio"),
        )

    def component_rows(self) -> list[tuple[int, MarginComponent]]:
        """Every component with its depth, depth-first."""
        return [row for c in self.components for row in c.walk()]

    def __rich__(self) -> Any:
        """A Rich table of the requirements and component tree."""
        from rich.table import Table

        title = (
            f"{self.account} · {self.method} · IM {self.initial_margin:.8g} "
            f"MM {self.maintenance_margin:.8g} {self.currency}"
        )
        table = Table(title=title, title_justify="left")
        table.add_column("component")
        table.add_column("amount", justify="right")
        table.add_column("source")
        for depth, c in self.component_rows():
            table.add_row("  " * depth + c.name, f"{c.amount:.8g}", c.source)
        if self.worst_scenario:
            table.caption = f"worst scenario: {self.worst_scenario}"
        return table

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='padding-left:{1 + 1.2 * d}em'>{html.escape(c.name)}</td>"
            f"<td style='text-align:right'>{c.amount:.8g}</td><td>{html.escape(c.source)}</td></tr>"
            for d, c in self.component_rows()
        )
        head = (
            f"<b>{html.escape(self.account)}</b> · {html.escape(self.method)}: "
            f"IM {self.initial_margin:.8g}, MM {self.maintenance_margin:.8g} "
            f"{html.escape(self.currency)}"
        )
        worst = (
            f"<br>worst scenario: {html.escape(self.worst_scenario)}" if self.worst_scenario else ""
        )
        return f"<div>{head}{worst}<table>{rows}</table></div>"
