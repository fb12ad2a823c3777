"""The schema as SQLAlchemy Core tables (the migrations create exactly this).

All timestamps are integer epoch milliseconds UTC (``*_ms`` columns). Text keys that are
ordered by (account ids, instruments, currencies) use the byte-wise ``"C"`` collation on
PostgreSQL, so both backends sort them the same way as SQLite's ``BINARY`` does. A market
snapshot is a ``snapshots`` row plus one ``snapshot_parts`` row per uploaded payload.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "ACCOUNT_ID_MAX",
    "AutoId",
    "Key",
    "account_status",
    "accounts",
    "api_key_accounts",
    "api_keys",
    "audit_log",
    "collateral",
    "idempotency",
    "jobs",
    "margin_calls",
    "margin_results",
    "metadata",
    "params_in_use",
    "positions",
    "snapshot_parts",
    "snapshots",
    "status_changes",
]

ACCOUNT_ID_MAX = 128
"""Longest account id accepted (characters)."""


def Key(length: int | None = None) -> sa.types.TypeEngine[str]:  # noqa: N802 - a type factory
    """A text key type compared byte-wise on both backends (``COLLATE "C"`` on PostgreSQL)."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""Auto-incremented surrogate key: BIGSERIAL on PostgreSQL, the rowid on SQLite."""

metadata = sa.MetaData()


def _account_fk() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.account_id", ondelete="CASCADE")


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", Key(ACCOUNT_ID_MAX), primary_key=True),
    sa.Column("currency", sa.Text, nullable=True),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

positions = sa.Table(
    "positions",
    metadata,
    sa.Column("account_id", Key(ACCOUNT_ID_MAX), _account_fk(), primary_key=True),
    sa.Column("instrument", Key(), primary_key=True),
    sa.Column("quantity", sa.Double, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

collateral = sa.Table(
    "collateral",
    metadata,
    sa.Column("account_id", Key(ACCOUNT_ID_MAX), _account_fk(), primary_key=True),
    sa.Column("currency", Key(), primary_key=True),
    sa.Column("amount", sa.Double, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("snapshot_id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("valuation_ms", sa.BigInteger, nullable=False),
    sa.Column("underlyings", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

snapshot_parts = sa.Table(
    "snapshot_parts",
    metadata,
    sa.Column(
        "snapshot_id",
        AutoId,
        sa.ForeignKey("snapshots.snapshot_id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("part", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("encoding", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
)

params_in_use = sa.Table(
    "params_in_use",
    metadata,
    sa.Column("method", sa.Text, primary_key=True),
    sa.Column("pack", sa.Text, nullable=False),
    sa.Column("overrides", sa.Text, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)

margin_results = sa.Table(
    "margin_results",
    metadata,
    sa.Column("result_id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("account_id", Key(ACCOUNT_ID_MAX), _account_fk(), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("snapshot_id", AutoId, sa.ForeignKey("snapshots.snapshot_id"), nullable=True),
    sa.Column("computed_ms", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("initial_margin", sa.Double, nullable=False),
    sa.Column("maintenance_margin", sa.Double, nullable=False),
    sa.Column("equity", sa.Double, nullable=False),
    sa.Column("excess", sa.Double, nullable=False),
    sa.Column("margin_ratio", sa.Double, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("ix_margin_results_account_method_time", "account_id", "method", "computed_ms"),
)

account_status = sa.Table(
    "account_status",
    metadata,
    sa.Column("account_id", Key(ACCOUNT_ID_MAX), _account_fk(), primary_key=True),
    sa.Column("method", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("since_ms", sa.BigInteger, nullable=False),
    sa.Column("equity_usd", sa.Double, nullable=True),
    sa.Column("initial_margin_usd", sa.Double, nullable=True),
    sa.Column("maintenance_margin_usd", sa.Double, nullable=True),
    sa.Column("reduce_only", sa.Boolean, nullable=True),
    sa.Column("called_out", sa.Boolean, nullable=True),
    sa.Column("assessed_ms", sa.BigInteger, nullable=True),
)

status_changes = sa.Table(
    "status_changes",
    metadata,
    sa.Column("change_id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("account_id", Key(ACCOUNT_ID_MAX), _account_fk(), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("old_status", sa.Text, nullable=True),
    sa.Column("new_status", sa.Text, nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("equity", sa.Double, nullable=False),
    sa.Column("initial_margin", sa.Double, nullable=False),
    sa.Column("maintenance_margin", sa.Double, nullable=False),
    sa.Column("snapshot_id", AutoId, sa.ForeignKey("snapshots.snapshot_id"), nullable=True),
    sa.Index("ix_status_changes_account", "account_id", "change_id"),
)

margin_calls = sa.Table(
    "margin_calls",
    metadata,
    sa.Column("call_id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("account_id", Key(ACCOUNT_ID_MAX), _account_fk(), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("issued_ms", sa.BigInteger, nullable=False),
    sa.Column("deadline_ms", sa.BigInteger, nullable=False),
    sa.Column("amount_usd", sa.Double, nullable=False),
    sa.Column("deposits_usd", sa.Double, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("closed_ms", sa.BigInteger, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("snapshot_id", AutoId, sa.ForeignKey("snapshots.snapshot_id"), nullable=True),
    sa.UniqueConstraint("account_id", "method", "issued_ms", name="uq_margin_calls_issue"),
    sa.Index("ix_margin_calls_status", "status", "account_id"),
)
"""Margin calls per (account, method); at most one ``open`` per pair (``lifecycle.md`` §5)."""

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("all_accounts", sa.Boolean, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("revoked_ms", sa.BigInteger, nullable=True),
)

api_key_accounts = sa.Table(
    "api_key_accounts",
    metadata,
    sa.Column(
        "key_id",
        sa.Text,
        sa.ForeignKey("api_keys.key_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("account_id", Key(ACCOUNT_ID_MAX), primary_key=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("key_id", sa.Text, nullable=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=True),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
)

idempotency = sa.Table(
    "idempotency",
    metadata,
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("idem_key", sa.Text, primary_key=True),
    sa.Column("request_sha256", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("job_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("started_ms", sa.BigInteger, nullable=True),
    sa.Column("finished_ms", sa.BigInteger, nullable=True),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("done", sa.Integer, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)
