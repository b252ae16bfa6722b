"""transit (SQLite): the kept real-time messages' ids are never reused

A full dataset replaces the kept message of its kinds (deleted, then the new one inserted).
SQLite gives a new row the largest id in the table plus one, so when the replaced message had
the largest id the new one got that same id again; a serving worker already past it
(``RealtimeJournal`` follows the ids upwards) then never applied it, and a CLI importing the
same provider's feed every minute reached the server once. ``AUTOINCREMENT`` makes SQLite hand
out ids larger than any it ever gave (the table is rebuilt; its rows keep their ids).
PostgreSQL's sequences never reuse an id: nothing to change there.

Revision ID: 0013_realtime_ids_never_reused
Revises: 0012_transit_version_key_once
Create Date: 2026-11-23 23:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013_realtime_ids_never_reused'
down_revision: str | Sequence[str] | None = '0012_transit_version_key_once'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table('transit_realtime_update', recreate='always',
                              table_kwargs={'sqlite_autoincrement': autoincrement}):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
