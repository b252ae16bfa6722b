"""transit: trips stored in blocks (transit_trip_block) instead of a row per trip

Every reader of trips wants a version's trips whole (a departures board maps the patterns' trip
indexes to services and ids) or a few by id, and now reads them whole once per process
(``providers.transit.trips``). A row per trip, each with its primary-key entry, was the
import's largest cost on the server: NYC subway's 15,911 trips about 20 ms of CPU; packed,
the import's median is 15 ms shorter (30 A/B rounds). A block holds up to 65,536 trips in
trips.txt order as an Arrow IPC stream (zstd), so a trip's index (what the patterns hold) is its
position; NYC's trips are one row of 0.28 MB.

Every stored version's trips are converted with the import's own packing
(``providers.transit.trips.pack_trips``), so a converted version is stored as a new import
of the same feed would be; downgrading unpacks them into transit_trip again. On PostgreSQL
the new table gets the per-statement version key of migrations 0010 and 0012, and its
``trips`` column is stored ``EXTERNAL`` (out of line, not compressed again: zstd did that).

Revision ID: 0016_transit_trips_packed
Revises: 0015_pattern_matrices_lz4
Create Date: 2026-11-24 04:00:00.000000
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = '0016_transit_trips_packed'
down_revision: str | Sequence[str] | None = '0015_pattern_matrices_lz4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TRIP_FIELDS = ('trip_id', 'route_id', 'service_id', 'headsign', 'short_name', 'direction_id',
                'block_id', 'shape_id', 'wheelchair_accessible', 'bikes_allowed',
                'frequency_based')


def _migration_0010() -> object:
    path = Path(__file__).with_name('0010_transit_version_key.py')
    spec = importlib.util.spec_from_file_location('mobihub_migration_0010', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cascade(tables: Sequence[str]) -> str:
    """Migration 0010's cascade from feed_version, over ``tables``."""
    deletes = "\n".join(  # fixed table names
        f"    DELETE FROM {table} WHERE feed_version_id IN (SELECT id FROM gone);"  # noqa: S608
        for table in tables)
    return f"""
CREATE OR REPLACE FUNCTION feed_version_cascade_transit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{deletes}
    RETURN NULL;
END
$$
"""


def _keyed_per_statement(old: str, new: str) -> list[str]:
    return [new if table == old else table
            for table in _migration_0010().VERSION_KEYED_PER_STATEMENT]


def _version_key(table: str) -> None:
    """PostgreSQL: migration 0010's per-statement check of the table's feed_version key."""
    for event in ('INSERT', 'UPDATE'):
        op.execute(f'CREATE TRIGGER {table}_version_key_{event.lower()} AFTER {event} ON '
                   f'{table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION feed_version_key_check()')


def _create_version_keyed(table: str, columns: list[sa.Column], key: tuple[str, ...]) -> None:
    """A table of a version's records, keyed by the version and ``key``: its feed_version key
    declared on SQLite, checked once per statement on PostgreSQL (migrations 0010, 0012)."""
    postgresql = op.get_bind().dialect.name == 'postgresql'
    op.create_table(
        table, sa.Column('feed_version_id', _ID, nullable=False), *columns,
        *(() if postgresql else (sa.ForeignKeyConstraint(
            ['feed_version_id'], ['feed_version.id'],
            name=op.f(f'fk_{table}_feed_version_id_feed_version'), ondelete='CASCADE'),)),
        sa.PrimaryKeyConstraint('feed_version_id', *key, name=op.f(f'pk_{table}')))
    if postgresql:
        _version_key(table)


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == 'postgresql'
    _create_version_keyed('transit_trip_block', [
        sa.Column('block', sa.Integer(), nullable=False),
        sa.Column('trip_count', sa.Integer(), nullable=False),
        sa.Column('trips', sa.LargeBinary(), nullable=False)], ('block',))
    if postgresql:
        op.execute('ALTER TABLE transit_trip_block ALTER COLUMN trips SET STORAGE EXTERNAL, '
                   'ALTER COLUMN trips SET STATISTICS 0')
    _pack_every_version(bind)
    if postgresql:
        op.execute(_cascade(_keyed_per_statement('transit_trip', 'transit_trip_block')))
    op.drop_table('transit_trip')


def downgrade() -> None:
    bind = op.get_bind()
    text = [sa.Column(name, sa.Text(), nullable=name in ('headsign', 'short_name', 'block_id',
                                                          'shape_id'))
            for name in ('trip_id', 'route_id', 'service_id', 'headsign', 'short_name')]
    _create_version_keyed('transit_trip', [
        *text,
        sa.Column('direction_id', sa.SmallInteger(), nullable=True),
        sa.Column('block_id', sa.Text(), nullable=True),
        sa.Column('shape_id', sa.Text(), nullable=True),
        sa.Column('wheelchair_accessible', sa.SmallInteger(), nullable=True),
        sa.Column('bikes_allowed', sa.SmallInteger(), nullable=True),
        sa.Column('frequency_based', sa.Boolean(), nullable=False),
        sa.Column('trip_index', sa.Integer(), nullable=False),
        sa.Column('service_index', sa.Integer(), nullable=False)], ('trip_id',))
    _unpack_every_version(bind)
    if bind.dialect.name == 'postgresql':
        op.execute(_cascade(_migration_0010().VERSION_KEYED_PER_STATEMENT))
    op.drop_table('transit_trip_block')


def _pack_every_version(bind: sa.engine.Connection) -> None:
    import pyarrow as pa

    from providers.transit.trips import TRIP_SCHEMA, pack_trips

    block = sa.table('transit_trip_block', *(sa.column(name) for name in (
        'feed_version_id', 'block', 'trip_count', 'trips')))
    versions = bind.execute(sa.text(
        "SELECT DISTINCT feed_version_id FROM transit_trip ORDER BY feed_version_id")).scalars()
    for version in versions.all():
        rows = bind.execute(sa.text(
            f"SELECT {', '.join(_TRIP_FIELDS)} FROM transit_trip "  # noqa: S608
            "WHERE feed_version_id = :v ORDER BY trip_index"), {"v": version}).all()
        trips = pa.Table.from_pylist([{**r._mapping, 'frequency_based': bool(r.frequency_based)}
                                      for r in rows], schema=TRIP_SCHEMA)
        packed = pack_trips(trips).to_pylist()
        bind.execute(block.insert(), [{"feed_version_id": version, **row} for row in packed])


def _unpack_every_version(bind: sa.engine.Connection) -> None:
    from providers.transit.trips import VersionTrips, unpack_trips

    trip = sa.table('transit_trip', *(sa.column(name) for name in (
        'feed_version_id', *_TRIP_FIELDS, 'trip_index', 'service_index')))
    versions = bind.execute(sa.text(
        "SELECT DISTINCT feed_version_id FROM transit_trip_block "
        "ORDER BY feed_version_id")).scalars()
    for version in versions.all():
        trips = VersionTrips(unpack_trips(bind.execute(sa.text(
            "SELECT trips FROM transit_trip_block WHERE feed_version_id = :v ORDER BY block"),
            {"v": version}).scalars()))
        rows = trips.table.to_pylist()
        bind.execute(trip.insert(), [
            {"feed_version_id": version, **row, "trip_index": i,
             "service_index": int(trips.service_of[i])} for i, row in enumerate(rows)])
