"""accounts: users, memberships, apps, API keys, products, plans, subscriptions, OAuth2

Revision ID: 0004_accounts
Revises: 0001_foundation
Create Date: 2026-11-22 22:12:50.149561
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import app.db

revision: str = '0004_accounts'
down_revision: str | Sequence[str] | None = '0001_foundation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('oauth_signing_key',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('private_jwk', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('public_jwk', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'retiring', 'retired')", name=op.f('ck_oauth_signing_key_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_signing_key')),
    sa.UniqueConstraint('kid', name=op.f('uq_oauth_signing_key_kid'))
    )
    op.create_table('plan',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('requests_per_second', sa.Integer(), nullable=False),
    sa.Column('burst', sa.Integer(), nullable=False),
    sa.Column('monthly_quota', sa.BigInteger(), nullable=True),
    sa.Column('price_per_1000_calls_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan')),
    sa.UniqueConstraint('slug', name=op.f('uq_plan_slug'))
    )
    op.create_table('product',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product')),
    sa.UniqueConstraint('slug', name=op.f('uq_product_slug'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('email_verified', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    op.create_table('app',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('environment', sa.String(length=8), nullable=False),
    sa.Column('client_type', sa.String(length=16), nullable=False),
    sa.Column('redirect_uris', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("client_type IN ('confidential', 'public')", name=op.f('ck_app_client_type')),
    sa.CheckConstraint("environment IN ('live', 'test')", name=op.f('ck_app_environment')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_app_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_app_organisation_id_name'))
    )
    with op.batch_alter_table('app', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('membership',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('owner', 'admin', 'developer', 'billing')", name=op.f('ck_membership_role')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_membership_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_membership_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership')),
    sa.UniqueConstraint('organisation_id', 'user_id', name=op.f('uq_membership_organisation_id_user_id'))
    )
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_user_id'), ['user_id'], unique=False)

    op.create_table('api_key',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('app_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('environment', sa.String(length=8), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replaces_key_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['app.id'], name=op.f('fk_api_key_app_id_app'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_id', name=op.f('uq_api_key_key_id'))
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_app_id'), ['app_id'], unique=False)

    op.create_table('oauth_client',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('app_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=True),
    sa.Column('token_endpoint_auth_method', sa.String(length=32), nullable=False),
    sa.Column('grant_types', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['app.id'], name=op.f('fk_oauth_client_app_id_app'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_client')),
    sa.UniqueConstraint('client_id', name=op.f('uq_oauth_client_client_id'))
    )
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_client_app_id'), ['app_id'], unique=False)

    op.create_table('subscription',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('app_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['app.id'], name=op.f('fk_subscription_app_id_app'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_subscription_plan_id_plan'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_subscription_product_id_product'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription')),
    sa.UniqueConstraint('app_id', 'product_id', name=op.f('uq_subscription_app_id_product_id'))
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_app_id'), ['app_id'], unique=False)

    op.create_table('oauth_authorization_code',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=True),
    sa.Column('code_challenge_method', sa.String(length=8), nullable=True),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['oauth_client.client_id'], name=op.f('fk_oauth_authorization_code_client_id_oauth_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_oauth_authorization_code_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_authorization_code')),
    sa.UniqueConstraint('code_sha256', name=op.f('uq_oauth_authorization_code_code_sha256'))
    )
    with op.batch_alter_table('oauth_authorization_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_authorization_code_client_id'), ['client_id'], unique=False)

    op.create_table('oauth_refresh_token',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('issued_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['oauth_client.client_id'], name=op.f('fk_oauth_refresh_token_client_id_oauth_client'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_oauth_refresh_token_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_refresh_token')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_oauth_refresh_token_token_sha256'))
    )
    with op.batch_alter_table('oauth_refresh_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_refresh_token_client_id'), ['client_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('oauth_refresh_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_refresh_token_client_id'))

    op.drop_table('oauth_refresh_token')
    with op.batch_alter_table('oauth_authorization_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_authorization_code_client_id'))

    op.drop_table('oauth_authorization_code')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_app_id'))

    op.drop_table('subscription')
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_client_app_id'))

    op.drop_table('oauth_client')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_app_id'))

    op.drop_table('api_key')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_user_id'))
        batch_op.drop_index(batch_op.f('ix_membership_organisation_id'))

    op.drop_table('membership')
    with op.batch_alter_table('app', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_organisation_id'))

    op.drop_table('app')
    op.drop_table('user_account')
    op.drop_table('product')
    op.drop_table('plan')
    op.drop_table('oauth_signing_key')
