"""transit: no index on the trips' trip index

The departures board named the trips it shows by trip index (what the patterns hold) and
fetched them through a unique index on (feed_version_id, trip_index). It now maps indexes to
trip ids once per version (in-process, with the services it already cached per trip) and
fetches them by primary key. The index cost every import an index entry per trip: on
PostgreSQL a third of the trips' COPY (NYC subway's 15,911 trips: 110 -> 72 ms of server time
on a 2-core machine), written while stop_times is still being parsed.

Revision ID: 0014_trip_index_unindexed
Revises: 0013_realtime_ids_never_reused
Create Date: 2026-11-24 00:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0014_trip_index_unindexed'
down_revision: str | Sequence[str] | None = '0013_realtime_ids_never_reused'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_transit_trip_index', table_name='transit_trip')


def downgrade() -> None:
    op.create_index('ix_transit_trip_index', 'transit_trip', ['feed_version_id', 'trip_index'],
                    unique=True)
