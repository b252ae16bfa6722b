"""transit: GTFS-Realtime messages kept for processes on the embedded live store

Revision ID: 0009_transit_realtime_journal
Revises: 0008_transit_patterns
Create Date: 2026-11-23 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009_transit_realtime_journal'
down_revision: str | Sequence[str] | None = '0008_transit_patterns'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('transit_realtime_update',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
              nullable=False),
    sa.Column('provider', sa.Text(), nullable=False),
    sa.Column('kinds', sa.Text(), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('feed_timestamp', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('writes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                               'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transit_realtime_update'))
    )
    with op.batch_alter_table('transit_realtime_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transit_realtime_update_expires_at'),
                              ['expires_at'], unique=False)
        batch_op.create_index('ix_transit_realtime_update_provider_kinds',
                              ['provider', 'kinds'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transit_realtime_update', schema=None) as batch_op:
        batch_op.drop_index('ix_transit_realtime_update_provider_kinds')
        batch_op.drop_index(batch_op.f('ix_transit_realtime_update_expires_at'))
    op.drop_table('transit_realtime_update')
