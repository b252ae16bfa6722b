"""Canonical transit tables: one row per GTFS record, each tied to the feed version it came from.

Every table carries ``feed_version_id`` (ON DELETE CASCADE), so pruning a version removes its
records and queries read only the feeds' active versions. GTFS identifiers are kept as text and
the public API prefixes them with the provider slug (``caltrain:70011``). Times of day are stored
as seconds after "noon minus 12h" of the service day, which may exceed 24:00:00 (GTFS reference,
stop_times.txt ``arrival_time``).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK


def _version_fk() -> sa.ForeignKey:
    return sa.ForeignKey("feed_version.id", ondelete="CASCADE")


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


class TransitTrip(Base):
    """trips.txt; ``frequency_based``: its stop_times are a template for frequencies.txt."""

    __tablename__ = "transit_trip"

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    trip_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    route_id: Mapped[str] = mapped_column(sa.Text)
    service_id: Mapped[str] = mapped_column(sa.Text)
    headsign: Mapped[str | None] = mapped_column(sa.Text)
    short_name: Mapped[str | None] = mapped_column(sa.Text)
    direction_id: Mapped[int | None] = mapped_column(sa.SmallInteger)
    block_id: Mapped[str | None] = mapped_column(sa.Text)
    shape_id: Mapped[str | None] = mapped_column(sa.Text)
    wheelchair_accessible: Mapped[int | None] = mapped_column(sa.SmallInteger)
    bikes_allowed: Mapped[int | None] = mapped_column(sa.SmallInteger)
    frequency_based: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class TransitStopTime(Base):
    """stop_times.txt; times in seconds since noon minus 12h of the service day (may pass 24h)."""

    __tablename__ = "transit_stop_time"
    __table_args__ = (
        # departures-at-stop: equality on version and stop, range on departure time.
        sa.Index("ix_transit_stop_time_departures", "feed_version_id", "stop_id",
                 "departure_secs"),
        # PostgreSQL: a partition per feed version, loaded by COPY into a fresh table whose
        # indexes are built after the load, then attached (providers/transit/store.py).
        {"postgresql_partition_by": "LIST (feed_version_id)"},
    )

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    trip_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    stop_sequence: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    stop_id: Mapped[str] = mapped_column(sa.Text)
    arrival_secs: Mapped[int | None] = mapped_column(sa.Integer)
    departure_secs: Mapped[int | None] = mapped_column(sa.Integer)
    stop_headsign: Mapped[str | None] = mapped_column(sa.Text)
    pickup_type: Mapped[int | None] = mapped_column(sa.SmallInteger)
    drop_off_type: Mapped[int | None] = mapped_column(sa.SmallInteger)
    shape_dist_traveled: Mapped[float | None] = mapped_column(sa.Float)
    timepoint: Mapped[int | None] = mapped_column(sa.SmallInteger)


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


class TransitShapePoint(Base):
    """shapes.txt: one point of a trip's path."""

    __tablename__ = "transit_shape_point"

    feed_version_id: Mapped[int] = mapped_column(BigIntPK, _version_fk(), primary_key=True)
    shape_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    sequence: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    dist_traveled: Mapped[float | None] = mapped_column(sa.Float)


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
