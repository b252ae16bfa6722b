"""transit (PostgreSQL): the patterns' per-trip matrices are compressed with lz4

A pattern's dwell times, distances and timepoints are trips x stops matrices of mostly equal
values (NYC subway: 441,376 dwell cells, 97% of them 0; 1.8 MB as stored). Stored as they were
(0008: ``EXTERNAL``, uncompressed, since pglz barely shrinks the packed arrays and costs the
import its time), every row past the 8 kB row target went out of line into the TOAST table,
a chunk and an index entry at a time, all of it through the WAL. lz4 shrinks them about
tenfold, fast: NYC's patterns' COPY 7.8 -> 2.9 ms of server time, their table 2.0 -> 0.3 MB;
HART's 7.6 -> 3.9 ms. Only values in rows over the row target (``toast_tuple_target``, 0011)
are compressed; the small ones stay as they are.

lz4 needs PostgreSQL 14 or later built with it; elsewhere the columns stay as they were.

Revision ID: 0015_pattern_matrices_lz4
Revises: 0014_trip_index_unindexed
Create Date: 2026-11-24 00:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_pattern_matrices_lz4'
down_revision: str | Sequence[str] | None = '0014_trip_index_unindexed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MATRICES = ('dwell_secs', 'shape_dist_traveled', 'timepoints')


def lz4_available(bind: sa.Connection) -> bool:
    """PostgreSQL offers lz4 as a TOAST compression (14+, built with lz4)."""
    choices = bind.exec_driver_sql(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'").scalar()
    return bool(choices) and 'lz4' in choices


def _set(storage: str, compression: str) -> None:
    op.execute('ALTER TABLE transit_pattern ' + ', '.join(
        f'ALTER COLUMN {column} SET STORAGE {storage}, '
        f'ALTER COLUMN {column} SET COMPRESSION {compression}' for column in MATRICES))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql' or not lz4_available(bind):
        return
    _set('EXTENDED', 'lz4')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql' or not lz4_available(bind):
        return
    _set('EXTERNAL', 'DEFAULT')
