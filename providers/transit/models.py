"""Canonical transit tables: GTFS records, each tied to the feed version it came from.

One row per GTFS record, except the big tables: stop_times.txt is stored as stop patterns with
packed time arrays (``TransitPattern``, ``TransitPatternStop``), shapes.txt
as one row per shape (``TransitShape``), see ``providers.transit.timetable``; trips.txt as
blocks of trips (``TransitTripBlock``), see ``providers.transit.trips``. Packed arrays are
LargeBinary (bytea / BLOB) of little-endian numpy dtypes, described on each model.

Every table carries ``feed_version_id`` (ON DELETE CASCADE), so pruning a version removes its
records and queries read only the feeds' active versions. GTFS identifiers are kept as text and
the public API prefixes them with the provider slug (``caltrain:70011``). Times of day are stored
as seconds after "noon minus 12h" of the service day, which may exceed 24:00:00 (GTFS reference,
stop_times.txt ``arrival_time``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import PER_STATEMENT_ON_POSTGRESQL, Base, BigIntPK, JSONDocument, UTCDateTime

# Tables of packed arrays: rows up to a page wide stay whole in it, uncompressed (migration
# 0011: the arrays do not compress, and moving them out of line cost every write and read).
PACKED_ROWS_INLINE = {"postgresql_with": {"toast_tuple_target": 8160}}


def _version_fk() -> sa.ForeignKey:
    # Checked once per statement on PostgreSQL (see app.db): an import inserts thousands of
    # rows of one version, and the per-row check was most of PostgreSQL's cost for them.
    return sa.ForeignKey("feed_version.id", ondelete="CASCADE",
                         info={PER_STATEMENT_ON_POSTGRESQL: True})


class TransitAgency(Base):
    """agency.txt."""

    __tablename__ = "transit_agency"

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    agency_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    url: Mapped[str | None] = mapped_column(sa.Text)
    timezone: Mapped[str] = mapped_column(sa.Text)
    lang: Mapped[str | None] = mapped_column(sa.Text)
    phone: Mapped[str | None] = mapped_column(sa.Text)


class TransitStop(Base):
    """stops.txt: stops, stations, entrances (``location_type``) with their parent station."""

    __tablename__ = "transit_stop"
    __table_args__ = (
        sa.UniqueConstraint("feed_version_id", "stop_id"),
        # stops-near: a bounding-box prefilter on latitude then longitude.
        sa.Index("ix_transit_stop_lat_lon", "lat", "lon"),
        sa.Index("ix_transit_stop_parent", "feed_version_id", "parent_station"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk())
    stop_id: Mapped[str] = mapped_column(sa.Text)
    code: Mapped[str | None] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    zone_id: Mapped[str | None] = mapped_column(sa.Text)
    location_type: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    parent_station: Mapped[str | None] = mapped_column(sa.Text)
    timezone: Mapped[str | None] = mapped_column(sa.Text)
    wheelchair_boarding: Mapped[int | None] = mapped_column(sa.SmallInteger)
    platform_code: Mapped[str | None] = mapped_column(sa.Text)


class TransitRoute(Base):
    """routes.txt."""

    __tablename__ = "transit_route"

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    route_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    agency_id: Mapped[str | None] = mapped_column(sa.Text)
    short_name: Mapped[str | None] = mapped_column(sa.Text)
    long_name: Mapped[str | None] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    route_type: Mapped[int] = mapped_column(sa.Integer)
    url: Mapped[str | None] = mapped_column(sa.Text)
    color: Mapped[str | None] = mapped_column(sa.Text)
    text_color: Mapped[str | None] = mapped_column(sa.Text)
    sort_order: Mapped[int | None] = mapped_column(sa.Integer)


class TransitTripBlock(Base):
    """trips.txt, packed: up to ``providers.transit.trips.TRIPS_PER_BLOCK`` trips of a version
    per row, in trips.txt order (``block`` 0 first), as an Arrow IPC stream with zstd-compressed
    buffers (``trips``; columns: ``providers.transit.trips.TRIP_SCHEMA``). A trip's index
    (what the patterns' ``trip_indexes`` hold) is its position in that order. Read whole per
    version, with ``providers.transit.trips.version_trips`` (migration 0016: one row per trip
    cost the import more than anything else on the server).

    On PostgreSQL ``trips`` is stored ``EXTERNAL``: out of line and not compressed again.
    """

    __tablename__ = "transit_trip_block"

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    block: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    trip_count: Mapped[int] = mapped_column(sa.Integer)
    trips: Mapped[bytes] = mapped_column(sa.LargeBinary)


class TransitPattern(Base):
    """A stop pattern: the trips sharing one sequence of pattern stops, and what their stop
    times say beyond the departures (``TransitPatternStop`` holds those).

    - ``trip_indexes``: little-endian int32 (``<i4``), the pattern's trips
      (trip indexes: ``TransitTripBlock``), ascending; ``stop_count``: its pattern stops.
    - ``dwell_secs``: ``<i4``, a trips x stops matrix (row-major, trips in ``trip_indexes``
      order, stops in ``position`` order) of each stop time's departure minus its arrival in
      seconds (0 where it has no time); NULL when every arrival equals its departure (the
      usual case); a single row (one value per stop) when every trip of the pattern has the
      same dwells.
    - ``shape_dist_traveled``: ``<f8`` matrix, NaN where not given; NULL when none is; a
      single row (one value per stop) when every trip of the pattern has the same values.
    - ``timepoints``: ``<i4`` matrix, ``-1`` where not given; NULL when none is; a single row
      when every trip has the same, as for the distances.

    On PostgreSQL the matrices of a row past the row target are stored lz4-compressed
    (migration 0015), the other packed arrays uncompressed (0008).
    """

    __tablename__ = "transit_pattern"
    __table_args__ = PACKED_ROWS_INLINE

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    pattern_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    stop_count: Mapped[int] = mapped_column(sa.Integer)
    trip_indexes: Mapped[bytes] = mapped_column(sa.LargeBinary)
    dwell_secs: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    shape_dist_traveled: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    timepoints: Mapped[bytes | None] = mapped_column(sa.LargeBinary)


class TransitPatternStop(Base):
    """One stop of a stop pattern, with the departures of every trip of the pattern there.

    stop_times.txt, stored compactly: trips with the same stops in the same order (same
    ``stop_sequence`` numbers, pickup/drop-off types and stop headsigns) share a pattern
    (``pattern_id``, numbered per version); ``position`` counts its stops from 0. A
    departures board reads the few rows of a stop (index on version and stop), binary-searches
    each row's sorted departures for its time window, keeps the trips whose service runs
    (their service indexes: ``providers.transit.trips.VersionTrips``, cached per version).
    HART's 438,421 stop times make 4,227 rows.

    - ``departure_secs``: little-endian int32 (``<i4``), sorted ascending, the departures here
      of the pattern's trips that have a time at this stop (seconds since noon minus 12h of
      the service day, may pass 24h);
    - ``trip_indexes``: ``<i4``, the trip (its index, ``TransitTripBlock``) of each departure
      (equal times in trip index order).
    """

    __tablename__ = "transit_pattern_stop"
    __table_args__ = (
        sa.Index("ix_transit_pattern_stop_stop", "feed_version_id", "stop_id"),
        PACKED_ROWS_INLINE,
    )

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    pattern_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    stop_id: Mapped[str] = mapped_column(sa.Text)
    stop_sequence: Mapped[int] = mapped_column(sa.Integer)
    pickup_type: Mapped[int | None] = mapped_column(sa.SmallInteger)
    drop_off_type: Mapped[int | None] = mapped_column(sa.SmallInteger)
    stop_headsign: Mapped[str | None] = mapped_column(sa.Text)
    departure_secs: Mapped[bytes] = mapped_column(sa.LargeBinary)
    trip_indexes: Mapped[bytes] = mapped_column(sa.LargeBinary)


class TransitCalendar(Base):
    """calendar.txt: the weekly pattern of a service within a date range."""

    __tablename__ = "transit_calendar"

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    service_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    monday: Mapped[bool] = mapped_column(sa.Boolean)
    tuesday: Mapped[bool] = mapped_column(sa.Boolean)
    wednesday: Mapped[bool] = mapped_column(sa.Boolean)
    thursday: Mapped[bool] = mapped_column(sa.Boolean)
    friday: Mapped[bool] = mapped_column(sa.Boolean)
    saturday: Mapped[bool] = mapped_column(sa.Boolean)
    sunday: Mapped[bool] = mapped_column(sa.Boolean)
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date] = mapped_column(sa.Date)


class TransitCalendarDate(Base):
    """calendar_dates.txt: service added (1) or removed (2) on one date."""

    __tablename__ = "transit_calendar_date"

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    service_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    date: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    exception_type: Mapped[int] = mapped_column(sa.SmallInteger)


class TransitFrequency(Base):
    """frequencies.txt: a trip repeated every ``headway_secs`` between two times."""

    __tablename__ = "transit_frequency"

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    trip_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    start_secs: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    end_secs: Mapped[int] = mapped_column(sa.Integer)
    headway_secs: Mapped[int] = mapped_column(sa.Integer)
    exact_times: Mapped[int] = mapped_column(sa.SmallInteger, default=0)


class TransitTransfer(Base):
    """transfers.txt."""

    __tablename__ = "transit_transfer"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), index=True)
    from_stop_id: Mapped[str] = mapped_column(sa.Text)
    to_stop_id: Mapped[str] = mapped_column(sa.Text)
    transfer_type: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    min_transfer_time: Mapped[int | None] = mapped_column(sa.Integer)


class TransitShape(Base):
    """shapes.txt: one row per shape, its points packed in ``shape_pt_sequence`` order.

    ``sequences``: little-endian int32 (``<i4``) shape_pt_sequence per point; ``points``:
    ``<f8`` pairs (lat, lon) per point; ``dist_traveled``: ``<f8`` per point, NaN when not
    given, NULL when no point has one. Read with ``providers.transit.timetable.shape_points``.
    """

    __tablename__ = "transit_shape"
    __table_args__ = PACKED_ROWS_INLINE

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    shape_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    point_count: Mapped[int] = mapped_column(sa.Integer)
    sequences: Mapped[bytes] = mapped_column(sa.LargeBinary)
    points: Mapped[bytes] = mapped_column(sa.LargeBinary)
    dist_traveled: Mapped[bytes | None] = mapped_column(sa.LargeBinary)


class TransitFeedInfo(Base):
    """feed_info.txt (at most one row)."""

    __tablename__ = "transit_feed_info"

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    publisher_name: Mapped[str | None] = mapped_column(sa.Text)
    publisher_url: Mapped[str | None] = mapped_column(sa.Text)
    lang: Mapped[str | None] = mapped_column(sa.Text)
    start_date: Mapped[date | None] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    version: Mapped[str | None] = mapped_column(sa.Text)


class TransitRealtimeUpdate(Base):
    """A GTFS-Realtime message as applied to the live store, kept while the store is embedded.

    The embedded store lives inside one process, so a ``mobihub feeds import`` of a GTFS-RT
    file would reach only the importing process's store. On the embedded store each applied
    message is also kept here until it expires (or a full dataset of the same kinds replaces
    it); a serving worker replays the unexpired ones when it starts and then follows the new
    ones (``providers.transit.live.RealtimeJournal``). With Redis every process writes the same
    store and nothing is kept. ``kinds``: the kinds it writes, sorted, comma-separated;
    ``writes``: what it wrote (``providers.transit.live.apply_update``).
    """

    __tablename__ = "transit_realtime_update"
    __table_args__ = (
        sa.Index("ix_transit_realtime_update_provider_kinds", "provider", "kinds"),
        # Ids never reused (migration 0013): the workers follow them upwards.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(sa.Text)
    kinds: Mapped[str] = mapped_column(sa.Text)
    full: Mapped[bool] = mapped_column(sa.Boolean)
    feed_timestamp: Mapped[int] = mapped_column(sa.BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    writes: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
