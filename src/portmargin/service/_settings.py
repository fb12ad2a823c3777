"""Settings of the margin service."""

from __future__ import annotations

from dataclasses import dataclass

from portmargin.core import ValidationError
from portmargin.methods import get_method

__all__ = ["ServiceSettings"]

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSettings:
    """How the service runs.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of the store; None for the default (``PORTMARGIN_DATABASE_URL`` or a
        SQLite file in the user's data directory).
    max_body_bytes
        Largest request body accepted, bytes (default 10 MiB); larger ones get 413.
    default_method
        Method used when a request names none.
    demo
        Whether the store was filled with the bundled demo data.
    key_cache_seconds
        How long a verified API key is trusted without verifying its secret again (its
        revocation is still checked on every request).
    """

    database_url: str | None = None
    max_body_bytes: int = 10 * MIB
    default_method: str = "deribit-pm"
    demo: bool = False
    key_cache_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1:
            raise ValidationError("max_body_bytes", self.max_body_bytes, "a size > 0 bytes")
        if not self.key_cache_seconds >= 0:
            raise ValidationError("key_cache_seconds", self.key_cache_seconds, "seconds >= 0")
        get_method(self.default_method)
