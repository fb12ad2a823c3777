"""Initial schema: accounts, positions, collateral, snapshots, params, results, statuses,
API keys, the append-only audit log, idempotency records and jobs.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ACCOUNT = 128
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key(length: int | None = None) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _account_column(*, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(
        "account_id",
        _key(_ACCOUNT),
        sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


_SQLITE_APPEND_ONLY = """
CREATE TRIGGER audit_log_no_{verb} BEFORE {VERB} ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {VERB} refused'); END
"""
_PG_APPEND_ONLY = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$
"""


def upgrade() -> None:
    """Create every table, index and the audit log's append-only triggers."""
    op.create_table(
        "accounts",
        sa.Column("account_id", _key(_ACCOUNT), primary_key=True),
        sa.Column("currency", sa.Text, nullable=True),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "positions",
        _account_column(primary_key=True),
        sa.Column("instrument", _key(), primary_key=True),
        sa.Column("quantity", sa.Double, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "collateral",
        _account_column(primary_key=True),
        sa.Column("currency", _key(), primary_key=True),
        sa.Column("amount", sa.Double, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("snapshot_id", _AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("valuation_ms", sa.BigInteger, nullable=False),
        sa.Column("underlyings", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "snapshot_parts",
        sa.Column(
            "snapshot_id",
            _AUTO_ID,
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
    op.create_table(
        "params_in_use",
        sa.Column("method", sa.Text, primary_key=True),
        sa.Column("pack", sa.Text, nullable=False),
        sa.Column("overrides", sa.Text, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "margin_results",
        sa.Column("result_id", _AUTO_ID, primary_key=True, autoincrement=True),
        _account_column(),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("snapshot_id", _AUTO_ID, sa.ForeignKey("snapshots.snapshot_id"), nullable=True),
        sa.Column("computed_ms", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("initial_margin", sa.Double, nullable=False),
        sa.Column("maintenance_margin", sa.Double, nullable=False),
        sa.Column("equity", sa.Double, nullable=False),
        sa.Column("excess", sa.Double, nullable=False),
        sa.Column("margin_ratio", sa.Double, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_margin_results_account_method_time",
        "margin_results",
        ["account_id", "method", "computed_ms"],
    )
    op.create_table(
        "account_status",
        _account_column(primary_key=True),
        sa.Column("method", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("since_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "status_changes",
        sa.Column("change_id", _AUTO_ID, primary_key=True, autoincrement=True),
        _account_column(),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("old_status", sa.Text, nullable=True),
        sa.Column("new_status", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("equity", sa.Double, nullable=False),
        sa.Column("initial_margin", sa.Double, nullable=False),
        sa.Column("maintenance_margin", sa.Double, nullable=False),
        sa.Column("snapshot_id", _AUTO_ID, sa.ForeignKey("snapshots.snapshot_id"), nullable=True),
    )
    op.create_index("ix_status_changes_account", "status_changes", ["account_id", "change_id"])
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("all_accounts", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("revoked_ms", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "api_key_accounts",
        sa.Column(
            "key_id",
            sa.Text,
            sa.ForeignKey("api_keys.key_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("account_id", _key(_ACCOUNT), primary_key=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("audit_id", _AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("key_id", sa.Text, nullable=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=True),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "idempotency",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("idem_key", sa.Text, primary_key=True),
        sa.Column("request_sha256", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "jobs",
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
    _append_only_audit_log()


def _append_only_audit_log() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ("update", "delete"):
            op.execute(_SQLITE_APPEND_ONLY.format(verb=verb, VERB=verb.upper()))


def downgrade() -> None:
    """Drop everything :func:`upgrade` created."""
    for table in (
        "jobs",
        "idempotency",
        "audit_log",
        "api_key_accounts",
        "api_keys",
        "status_changes",
        "account_status",
        "margin_results",
        "params_in_use",
        "snapshot_parts",
        "snapshots",
        "collateral",
        "positions",
        "accounts",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_append_only()")
