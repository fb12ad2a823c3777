"""Account states of the margin lifecycle and margin calls: the figures behind each account's
state (equity, IM, MM in USD, reduce-only, called out, time assessed) and the
``margin_calls`` table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ACCOUNT = 128
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STATE_COLUMNS = (
    ("equity_usd", sa.Double),
    ("initial_margin_usd", sa.Double),
    ("maintenance_margin_usd", sa.Double),
    ("reduce_only", sa.Boolean),
    ("called_out", sa.Boolean),
    ("assessed_ms", sa.BigInteger),
)


def _key(length: int | None = None) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    """Add the state figures to ``account_status`` and create ``margin_calls``."""
    for name, kind in _STATE_COLUMNS:
        op.add_column("account_status", sa.Column(name, kind, nullable=True))
    op.create_table(
        "margin_calls",
        sa.Column("call_id", _AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            _key(_ACCOUNT),
            sa.ForeignKey("accounts.account_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("issued_ms", sa.BigInteger, nullable=False),
        sa.Column("deadline_ms", sa.BigInteger, nullable=False),
        sa.Column("amount_usd", sa.Double, nullable=False),
        sa.Column("deposits_usd", sa.Double, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("closed_ms", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("snapshot_id", _AUTO_ID, sa.ForeignKey("snapshots.snapshot_id"), nullable=True),
        sa.UniqueConstraint("account_id", "method", "issued_ms", name="uq_margin_calls_issue"),
    )
    op.create_index("ix_margin_calls_status", "margin_calls", ["status", "account_id"])


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_table("margin_calls")
    with op.batch_alter_table("account_status") as batch:
        for name, _ in reversed(_STATE_COLUMNS):
            batch.drop_column(name)
