"""transit (PostgreSQL): packed rows kept whole in their page, not compressed on the way in

A row wider than ``toast_tuple_target`` (2 kB by default) has its wide values compressed and,
if still too wide, moved out of line into the TOAST table. The packed arrays of
``transit_pattern_stop`` (NYC subway: 4,509 rows, 1.8 MB each of departures and trips, up to
6 kB a row) are sorted integers that pglz cannot shrink: every wide row paid a failed
compression, then a second write to the TOAST table and its index, and every departures read
of such a row a second lookup. With the target at its maximum (8,160 bytes, what fits in an
8 kB page) rows stay whole in their page: copying NYC's pattern stops into a fresh table took
17-38 ms against 41-67 ms before. Rows wider than a page are still compressed and moved out
of line. The same for the other tables of packed arrays, patterns and shapes.

SQLite stores rows of any size as they are: nothing to change there.

Revision ID: 0011_transit_packed_rows_inline
Revises: 0010_transit_version_key
Create Date: 2026-11-23 15:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0011_transit_packed_rows_inline'
down_revision: str | Sequence[str] | None = '0010_transit_version_key'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PACKED_TABLES = ('transit_pattern_stop', 'transit_pattern', 'transit_shape')


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in PACKED_TABLES:
        op.execute(f'ALTER TABLE {table} SET (toast_tuple_target = 8160)')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in PACKED_TABLES:
        op.execute(f'ALTER TABLE {table} RESET (toast_tuple_target)')
