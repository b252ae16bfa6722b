"""metering: usage ledger and flush journal

Revision ID: 0005_metering
Revises: 0001_foundation
Create Date: 2026-11-22 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0005_metering'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('usage_ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('app_id', sa.BigInteger(), nullable=False),
    sa.Column('organisation_id', sa.BigInteger(), nullable=False),
    sa.Column('product', sa.String(length=32), nullable=False),
    sa.Column('status_class', sa.String(length=8), nullable=False),
    sa.Column('period_start', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('count_admitted', sa.BigInteger(), nullable=False),
    sa.Column('count_rejected', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_ledger')),
    sa.UniqueConstraint('app_id', 'product', 'status_class', 'period_start', name=op.f('uq_usage_ledger_app_id_product_status_class_period_start'))
    )
    with op.batch_alter_table('usage_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_usage_ledger_org_period', ['organisation_id', 'period_start'], unique=False)
        batch_op.create_index('ix_usage_ledger_app_period', ['app_id', 'period_start'], unique=False)

    op.create_table('usage_flush_claim',
    sa.Column('claim_key', sa.String(length=200), nullable=False),
    sa.Column('flush_id', sa.String(length=32), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('applied_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('claim_key', name=op.f('pk_usage_flush_claim'))
    )
    with op.batch_alter_table('usage_flush_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_flush_claim_applied_at'), ['applied_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('usage_flush_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_flush_claim_applied_at'))
    op.drop_table('usage_flush_claim')
    with op.batch_alter_table('usage_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_ledger_app_period')
        batch_op.drop_index('ix_usage_ledger_org_period')
    op.drop_table('usage_ledger')
