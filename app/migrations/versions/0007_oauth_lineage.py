"""oauth: refresh token lineage (family_id) for reuse detection

Existing refresh tokens each start their own lineage. Signing keys stored before sealing are
encrypted by the application on first use (app/oauth/keystore.py), because the migration does
not hold the secret they are sealed with.

Revision ID: 0007_oauth_lineage
Revises: 0004_accounts
Create Date: 2026-11-23 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_oauth_lineage'
down_revision: str | Sequence[str] | None = '0004_accounts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('oauth_refresh_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('family_id', sa.String(length=32), nullable=True))
    op.execute("UPDATE oauth_refresh_token SET family_id = substr(token_sha256, 1, 32)")
    with op.batch_alter_table('oauth_refresh_token', schema=None) as batch_op:
        batch_op.alter_column('family_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index(batch_op.f('ix_oauth_refresh_token_family_id'), ['family_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('oauth_refresh_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_refresh_token_family_id'))
        batch_op.drop_column('family_id')
