"""Errors raised by the store: every message names the entity and its id."""

from __future__ import annotations

from portmargin.core import PortmarginError

__all__ = ["Busy", "Conflict", "NotFound", "StoreError"]


class StoreError(PortmarginError):
    """The store cannot do what was asked (a database or migration problem, a bad state)."""


class NotFound(StoreError, LookupError):  # noqa: N818 - name fixed by the interface
    """An entity that must exist does not, e.g. ``account 'A' not found``.

    Parameters
    ----------
    entity
        Kind of entity (``"account"``, ``"api key"``, ``"job"``, ...).
    entity_id
        Its id as given.
    """

    def __init__(self, entity: str, entity_id: str) -> None:
        self.entity = entity
        self.entity_id = entity_id
        super().__init__(f"{entity} {entity_id!r} not found")


class Conflict(StoreError):  # noqa: N818 - name fixed by the interface
    """An entity that must not exist yet does, e.g. ``account 'A' already exists``.

    Parameters
    ----------
    entity
        Kind of entity.
    entity_id
        Its id as given.
    """

    def __init__(self, entity: str, entity_id: str) -> None:
        self.entity = entity
        self.entity_id = entity_id
        super().__init__(f"{entity} {entity_id!r} already exists")


class Busy(StoreError):  # noqa: N818 - name fixed by the interface
    """A write transaction begun with ``wait=False`` would have had to wait for another
    writer (see :meth:`Store.begin`)."""
