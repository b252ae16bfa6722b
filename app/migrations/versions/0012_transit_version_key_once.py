"""transit (PostgreSQL): the per-statement feed_version key check reads its rows once

The check of migration 0010 counted the distinct versions of the statement's rows (a sort of
every row's key) and then joined them to feed_version (a hash of every row's key): 21 ms of
server time for NYC subway's 15,911 trips. Every import's statement names one version, so
the check now takes the lowest and highest version of the rows in one pass; when they are the
same it locks that one version ``FOR KEY SHARE`` and is done (3 ms for the same trips). Rows
naming several versions (never an import; an operator's statement) take the old way. What
is refused, and the error it gets (SQLSTATE 23503, the key's message, the missing version
in the detail), are unchanged.

Revision ID: 0012_transit_version_key_once
Revises: 0011_transit_packed_rows_inline
Create Date: 2026-11-23 20:30:00.000000
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = '0012_transit_version_key_once'
down_revision: str | Sequence[str] | None = '0011_transit_packed_rows_inline'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK_READ_ONCE = """
CREATE OR REPLACE FUNCTION feed_version_key_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lowest bigint;
    highest bigint;
    wanted bigint;
    locked bigint;
    missing bigint;
BEGIN
    SELECT min(feed_version_id), max(feed_version_id) INTO lowest, highest FROM new_rows;
    IF lowest IS NULL THEN
        RETURN NULL;
    END IF;
    IF lowest = highest THEN
        PERFORM 1 FROM feed_version v WHERE v.id = lowest FOR KEY SHARE OF v;
        IF FOUND THEN
            RETURN NULL;
        END IF;
        missing := lowest;
    ELSE
        SELECT count(DISTINCT feed_version_id) INTO wanted FROM new_rows;
        SELECT count(*) INTO locked FROM (
            SELECT 1 FROM feed_version v
            WHERE v.id IN (SELECT feed_version_id FROM new_rows)
            FOR KEY SHARE OF v) AS versions;
        IF locked = wanted THEN
            RETURN NULL;
        END IF;
        SELECT min(n.feed_version_id) INTO missing FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM feed_version v WHERE v.id = n.feed_version_id);
    END IF;
    RAISE foreign_key_violation USING
        MESSAGE = format('insert or update on table "%s" violates foreign key '
                         '"fk_%s_feed_version_id_feed_version"', TG_TABLE_NAME,
                         TG_TABLE_NAME),
        DETAIL = format('Key (feed_version_id)=(%s) is not present in table '
                        '"feed_version".', missing),
        TABLE = TG_TABLE_NAME;
END
$$
"""


def _counted() -> str:
    """Migration 0010's function (the downgrade's), read from that migration itself."""
    path = Path(__file__).with_name('0010_transit_version_key.py')
    spec = importlib.util.spec_from_file_location('mobihub_migration_0010', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._CHECK.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION', 1)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_CHECK_READ_ONCE)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_counted())
