"""foundation: organisations, providers, feeds and feed versions

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-22 22:05:54.298215
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import app.db

revision: str = '0001_foundation'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('organisation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('slug', name=op.f('uq_organisation_slug'))
    )
    op.create_table('provider',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_provider_organisation_id_organisation'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider')),
    sa.UniqueConstraint('slug', name=op.f('uq_provider_slug'))
    )
    with op.batch_alter_table('provider', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('feed',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('format', sa.String(length=32), nullable=False),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('active_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_feed_provider_id_provider'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed')),
    sa.UniqueConstraint('provider_id', 'format', name=op.f('uq_feed_provider_id_format'))
    )
    op.create_table('feed_version',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feed_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('content_bytes', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('fetched_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('service_start', sa.Date(), nullable=True),
    sa.Column('service_end', sa.Date(), nullable=True),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('warning_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feed.id'], name=op.f('fk_feed_version_feed_id_feed'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_version'))
    )
    with op.batch_alter_table('feed_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_version_feed_id'), ['feed_id'], unique=False)
        batch_op.create_index('ix_feed_version_feed_sha', ['feed_id', 'content_sha256'], unique=False)

    # feed and feed_version reference each other: the second foreign key comes once both exist.
    with op.batch_alter_table('feed', schema=None) as batch_op:
        batch_op.create_foreign_key(op.f('fk_feed_active_version_id_feed_version'), 'feed_version', ['active_version_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('feed_version', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_version_feed_sha')
        batch_op.drop_index(batch_op.f('ix_feed_version_feed_id'))

    with op.batch_alter_table('feed', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_feed_active_version_id_feed_version'), type_='foreignkey')
    op.drop_table('feed_version')
    op.drop_table('feed')
    with op.batch_alter_table('provider', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_organisation_id'))

    op.drop_table('provider')
    op.drop_table('organisation')
