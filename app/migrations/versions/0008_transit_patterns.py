"""transit: stop_times as stop patterns with packed times, shapes as one row per shape

Every stored feed version is converted: its stop_times rows are grouped into patterns
(transit_pattern, transit_pattern_stop) and each trip gets its index; its shape points become one
transit_shape row per shape. Then transit_stop_time (on PostgreSQL with its per-version
partitions transit_stop_time_v{N}) and transit_shape_point are dropped. The packing is the
import's own (providers/transit/timetable.py), so a converted version is stored exactly as a
new import of the same feed would be. Downgrading recreates the old tables empty: re-import
the feeds afterwards.

Revision ID: 0008_transit_patterns
Revises: 0002_transit
Create Date: 2026-11-23 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_transit_patterns'
down_revision: str | Sequence[str] | None = '0002_transit'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TRIP_COLUMNS = (('trip_index', sa.Integer()), ('service_index', sa.Integer()))
_FETCH_ROWS = 10_000
_PACKED_COLUMNS = {
    'transit_pattern_stop': ('departure_secs', 'trip_indexes'),
    'transit_pattern': ('trip_indexes', 'dwell_secs', 'shape_dist_traveled', 'timepoints'),
    'transit_shape': ('sequences', 'points', 'dist_traveled')}


def upgrade() -> None:
    with op.batch_alter_table('transit_trip', schema=None) as batch_op:
        for name, kind in _TRIP_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    op.create_table('transit_pattern_stop',
    sa.Column('feed_version_id', _ID, nullable=False),
    sa.Column('pattern_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('stop_id', sa.Text(), nullable=False),
    sa.Column('stop_sequence', sa.Integer(), nullable=False),
    sa.Column('pickup_type', sa.SmallInteger(), nullable=True),
    sa.Column('drop_off_type', sa.SmallInteger(), nullable=True),
    sa.Column('stop_headsign', sa.Text(), nullable=True),
    sa.Column('departure_secs', sa.LargeBinary(), nullable=False),
    sa.Column('trip_indexes', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['feed_version_id'], ['feed_version.id'], name=op.f('fk_transit_pattern_stop_feed_version_id_feed_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feed_version_id', 'pattern_id', 'position', name=op.f('pk_transit_pattern_stop'))
    )
    with op.batch_alter_table('transit_pattern_stop', schema=None) as batch_op:
        batch_op.create_index('ix_transit_pattern_stop_stop', ['feed_version_id', 'stop_id'], unique=False)
    op.create_table('transit_pattern',
    sa.Column('feed_version_id', _ID, nullable=False),
    sa.Column('pattern_id', sa.Integer(), nullable=False),
    sa.Column('stop_count', sa.Integer(), nullable=False),
    sa.Column('trip_indexes', sa.LargeBinary(), nullable=False),
    sa.Column('dwell_secs', sa.LargeBinary(), nullable=True),
    sa.Column('shape_dist_traveled', sa.LargeBinary(), nullable=True),
    sa.Column('timepoints', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['feed_version_id'], ['feed_version.id'], name=op.f('fk_transit_pattern_feed_version_id_feed_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feed_version_id', 'pattern_id', name=op.f('pk_transit_pattern'))
    )
    op.create_table('transit_shape',
    sa.Column('feed_version_id', _ID, nullable=False),
    sa.Column('shape_id', sa.Text(), nullable=False),
    sa.Column('point_count', sa.Integer(), nullable=False),
    sa.Column('sequences', sa.LargeBinary(), nullable=False),
    sa.Column('points', sa.LargeBinary(), nullable=False),
    sa.Column('dist_traveled', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['feed_version_id'], ['feed_version.id'], name=op.f('fk_transit_shape_feed_version_id_feed_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feed_version_id', 'shape_id', name=op.f('pk_transit_shape'))
    )

    if op.get_bind().dialect.name == 'postgresql':
        # The packed arrays are little-endian integers and floats: pglz barely shrinks them
        # and costs the import its time; EXTERNAL stores them out of line, uncompressed. No
        # query filters on them, so ANALYZE need not sample them (STATISTICS 0).
        for table, columns in _PACKED_COLUMNS.items():
            for column in columns:
                op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL')
                op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS 0')

    _convert(op.get_bind())

    with op.batch_alter_table('transit_trip', schema=None) as batch_op:
        batch_op.alter_column('trip_index', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('service_index', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_transit_trip_index', ['feed_version_id', 'trip_index'], unique=True)
    with op.batch_alter_table('transit_stop_time', schema=None) as batch_op:
        batch_op.drop_index('ix_transit_stop_time_departures')
    # PostgreSQL drops the partitions (transit_stop_time_v{N}) with their parent; a detached
    # one left over by an interrupted prune is dropped by name.
    op.drop_table('transit_stop_time')
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for name in bind.execute(sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename LIKE :pattern"), {"pattern": "transit\\_stop\\_time\\_v%"}
                ).scalars().all():
            op.execute(sa.text(f'DROP TABLE "{name}"'))
    op.drop_table('transit_shape_point')


def _convert(bind: sa.engine.Connection) -> None:
    """Pack every stored version's stop_times and shape points into the new tables."""
    from providers.transit.timetable import ShapeBuilder, TimetableBuilder, service_indexes

    trip = sa.table('transit_trip', sa.column('feed_version_id'), sa.column('trip_id'),
                    *(sa.column(name) for name, _ in _TRIP_COLUMNS))
    pattern = sa.table('transit_pattern', *(sa.column(name) for name in (
        'feed_version_id', 'pattern_id', 'stop_count', 'trip_indexes', 'dwell_secs',
        'shape_dist_traveled', 'timepoints')))
    pattern_stop = sa.table('transit_pattern_stop', *(sa.column(name) for name in (
        'feed_version_id', 'pattern_id', 'position', 'stop_id', 'stop_sequence', 'pickup_type',
        'drop_off_type', 'stop_headsign', 'departure_secs', 'trip_indexes')))
    shape = sa.table('transit_shape', *(sa.column(name) for name in (
        'feed_version_id', 'shape_id', 'point_count', 'sequences', 'points', 'dist_traveled')))
    versions = bind.execute(sa.text(
        "SELECT DISTINCT feed_version_id FROM transit_trip ORDER BY feed_version_id")).scalars()
    for version in versions.all():
        trips = bind.execute(sa.text(
            "SELECT trip_id, service_id FROM transit_trip WHERE feed_version_id = :v "
            "ORDER BY trip_id"), {"v": version}).all()
        _, service_index = service_indexes(s for _, s in trips)
        builder = TimetableBuilder([t for t, _ in trips])
        result = bind.execute(sa.text(
            "SELECT trip_id, stop_sequence, stop_id, arrival_secs, departure_secs, "
            "stop_headsign, pickup_type, drop_off_type, shape_dist_traveled, timepoint "
            "FROM transit_stop_time WHERE feed_version_id = :v"), {"v": version})
        while rows := result.fetchmany(_FETCH_ROWS):
            builder.add([tuple(r) for r in rows])
        pattern_stops, patterns = builder.build()
        for table, rows in ((pattern_stop, pattern_stops), (pattern, patterns)):
            if rows.num_rows:
                bind.execute(table.insert(), [
                    {"feed_version_id": version, **row} for row in rows.to_pylist()])
        update = (trip.update()
                  .where(trip.c.feed_version_id == sa.bindparam('v'),
                         trip.c.trip_id == sa.bindparam('t'))
                  .values({name: sa.bindparam(f'new_{name}') for name, _ in _TRIP_COLUMNS}))
        params = [{"v": version, "t": trip_id, "new_trip_index": index,
                   "new_service_index": service_index[service_id]}
                  for index, (trip_id, service_id) in enumerate(trips)]
        if params:
            bind.execute(update, params)
    versions = bind.execute(sa.text(
        "SELECT DISTINCT feed_version_id FROM transit_shape_point ORDER BY feed_version_id"))
    for version in versions.scalars().all():
        shapes = ShapeBuilder()
        result = bind.execute(sa.text(
            "SELECT shape_id, sequence, lat, lon, dist_traveled FROM transit_shape_point "
            "WHERE feed_version_id = :v"), {"v": version})
        while rows := result.fetchmany(_FETCH_ROWS):
            shapes.add([tuple(r) for r in rows])
        packed = shapes.build()
        if packed.num_rows:
            bind.execute(shape.insert(), [
                {"feed_version_id": version, **row} for row in packed.to_pylist()])


def downgrade() -> None:
    op.create_table('transit_shape_point',
    sa.Column('feed_version_id', _ID, nullable=False),
    sa.Column('shape_id', sa.Text(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('dist_traveled', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['feed_version_id'], ['feed_version.id'], name=op.f('fk_transit_shape_point_feed_version_id_feed_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feed_version_id', 'shape_id', 'sequence', name=op.f('pk_transit_shape_point'))
    )
    op.create_table('transit_stop_time',
    sa.Column('feed_version_id', _ID, nullable=False),
    sa.Column('trip_id', sa.Text(), nullable=False),
    sa.Column('stop_sequence', sa.Integer(), nullable=False),
    sa.Column('stop_id', sa.Text(), nullable=False),
    sa.Column('arrival_secs', sa.Integer(), nullable=True),
    sa.Column('departure_secs', sa.Integer(), nullable=True),
    sa.Column('stop_headsign', sa.Text(), nullable=True),
    sa.Column('pickup_type', sa.SmallInteger(), nullable=True),
    sa.Column('drop_off_type', sa.SmallInteger(), nullable=True),
    sa.Column('shape_dist_traveled', sa.Float(), nullable=True),
    sa.Column('timepoint', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['feed_version_id'], ['feed_version.id'], name=op.f('fk_transit_stop_time_feed_version_id_feed_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feed_version_id', 'trip_id', 'stop_sequence', name=op.f('pk_transit_stop_time')),
    postgresql_partition_by='LIST (feed_version_id)',
    )
    with op.batch_alter_table('transit_stop_time', schema=None) as batch_op:
        batch_op.create_index('ix_transit_stop_time_departures', ['feed_version_id', 'stop_id', 'departure_secs'], unique=False)
    op.drop_table('transit_shape')
    op.drop_table('transit_pattern')
    with op.batch_alter_table('transit_pattern_stop', schema=None) as batch_op:
        batch_op.drop_index('ix_transit_pattern_stop_stop')
    op.drop_table('transit_pattern_stop')
    with op.batch_alter_table('transit_trip', schema=None) as batch_op:
        batch_op.drop_index('ix_transit_trip_index')
        for name, _ in reversed(_TRIP_COLUMNS):
            batch_op.drop_column(name)
