"""Where the store lives by default: ``PORTMARGIN_DATABASE_URL``, else an SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["DATABASE_URL_ENV", "default_database_url"]

DATABASE_URL_ENV = "PORTMARGIN_DATABASE_URL"
"""Environment variable holding the database URL (SQLAlchemy form)."""


def default_database_url() -> str:
    """The database URL to use when none is given.

    Returns
    -------
    str
        The value of ``PORTMARGIN_DATABASE_URL`` if set and non-empty, else
        ``sqlite:///<user data dir>/portmargin.db`` (the directory is created).
    """
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        return url
    directory = Path(platformdirs.user_data_dir("portmargin"))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'portmargin.db'}"
