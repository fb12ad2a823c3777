"""Migrations, connection settings and URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from portmargin.core import ValidationError
from portmargin.store import DATABASE_URL_ENV, Store, default_database_url, metadata
from portmargin.store._engine import current_revision, head_revision


def _engine(store: Store) -> sa.Engine:
    return store._engine


def test_migrations_create_every_table(store: Store) -> None:
    names = set(sa.inspect(_engine(store)).get_table_names())
    assert names == {*metadata.tables, "alembic_version"}


def test_migrated_schema_matches_metadata(store: Store) -> None:
    with _engine(store).connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), metadata)
    assert diff == []


def test_open_again_keeps_data_and_revision(store_url: str) -> None:
    with Store.open(store_url) as s, s.begin() as tx:
        tx.create_account("A")
    with Store.open(store_url) as s:
        assert s.account("A") is not None
        with _engine(s).connect() as c:
            assert current_revision(c) == head_revision()
        assert s.check_integrity() == []


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'a.db'}") as s, _engine(s).connect() as c:
        pragma = {
            p: c.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 10000,
    }
    assert s.dialect == "sqlite"


def test_sqlite_synchronous_level(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with Store.open(url, sqlite_synchronous="normal") as s, _engine(s).connect() as c:
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    with pytest.raises(ValidationError, match="sqlite_synchronous: got 'sometimes'"):
        Store.open(f"sqlite:///{tmp_path / 'a.db'}", sqlite_synchronous="sometimes")


def test_bad_urls() -> None:
    with pytest.raises(ValidationError, match="database_url: got 'not a url'"):
        Store.open("not a url")
    with pytest.raises(ValidationError, match="an SQLite or PostgreSQL URL"):
        Store.open("mysql+pymysql://u@localhost/db")


def test_url_password_masked(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'a.db'}") as s:
        assert repr(s) == f"Store('sqlite:///{tmp_path / 'a.db'}')"
    from portmargin.store._engine import create_engine

    engine = create_engine("postgresql+psycopg://user:secret@localhost/db")
    assert "secret" not in Store(engine).url
    assert "secret" not in repr(Store(engine))


def test_default_url_from_env_or_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "sqlite:///elsewhere.db")
    assert default_database_url() == "sqlite:///elsewhere.db"
    monkeypatch.delenv(DATABASE_URL_ENV)
    monkeypatch.setattr("platformdirs.user_data_dir", lambda name: str(tmp_path / "data" / name))
    url = default_database_url()
    assert url == f"sqlite:///{tmp_path / 'data' / 'portmargin' / 'portmargin.db'}"
    assert (tmp_path / "data" / "portmargin").is_dir()
    with Store.open() as s, s.begin() as tx:
        tx.create_account("A")
    assert (tmp_path / "data" / "portmargin" / "portmargin.db").is_file()
