"""Canonical parking tables: facilities and zones per feed version, and availability history.

Facilities and zones carry ``feed_version_id`` (ON DELETE CASCADE) so a superseded version
prunes cleanly and queries read only active versions. Availability history belongs to the
provider (it outlives static versions) and is keyed by the facility's source id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, JSONDocument, UTCDateTime


class ParkingFacility(Base):
    """A parking facility (APDS v4 ``Place``) from one feed version."""

    __tablename__ = "parking_facility"
    __table_args__ = (
        sa.UniqueConstraint("feed_version_id", "source_id"),
        sa.Index("ix_parking_facility_lat_lon", "lat", "lon"),
        # Near searches probe the grid cells around the point (providers/parking/grid.py);
        # lat and lon in the index test the box, and with the version the candidates come
        # from the index alone, without reading the rows (SQLite: p99 2.9 -> 0.4 ms).
        sa.Index("ix_parking_facility_cell", "cell", "lat", "lon", "feed_version_id"),
        sa.Index("ix_parking_facility_provider_source", "provider_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    feed_version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feed_version.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(32), default="other")
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    cell: Mapped[int] = mapped_column(sa.BigInteger)  # grid.point_cell(lat, lon)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    address: Mapped[str | None] = mapped_column(sa.Text)
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    capacity_by_category: Mapped[dict[str, int]] = mapped_column(JSONDocument, default=dict)
    max_height_cm: Mapped[int | None] = mapped_column(sa.Integer)
    opening_hours: Mapped[str | None] = mapped_column(sa.Text)
    opening_times: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    payment_methods: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    operator: Mapped[str | None] = mapped_column(sa.Text)
    url: Mapped[str | None] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    ev_charging: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    tariff: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)


class ParkingZone(Base):
    """A parking zone from one feed version: an area or a street segment, rules and tariff."""

    __tablename__ = "parking_zone"
    __table_args__ = (
        sa.UniqueConstraint("feed_version_id", "source_id"),
        sa.Index("ix_parking_zone_bbox", "min_lat", "min_lon"),
        # Point lookups probe the grid cells a zone there can be stored in (grid.py); the
        # reach box in the index tests the point without reading the row.
        sa.Index("ix_parking_zone_cell", "cell", "reach_min_lat", "reach_max_lat",
                 "reach_min_lon", "reach_max_lon"),
        sa.Index("ix_parking_zone_provider_source", "provider_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    feed_version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feed_version.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(32), default="area")
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    min_lat: Mapped[float] = mapped_column(sa.Float)
    min_lon: Mapped[float] = mapped_column(sa.Float)
    max_lat: Mapped[float] = mapped_column(sa.Float)
    max_lon: Mapped[float] = mapped_column(sa.Float)
    # The box outside which no point matches the zone (grid.zone_reach): the bounds, widened
    # for a street segment by half its width. A zone-at-point lookup tests it first.
    reach_min_lat: Mapped[float] = mapped_column(sa.Float)
    reach_min_lon: Mapped[float] = mapped_column(sa.Float)
    reach_max_lat: Mapped[float] = mapped_column(sa.Float)
    reach_max_lon: Mapped[float] = mapped_column(sa.Float)
    cell: Mapped[int] = mapped_column(sa.BigInteger)  # grid.zone_cell(bounds)
    # Zones wider than the lookup window are few; they are found by this flag, not the index.
    large: Mapped[bool] = mapped_column(sa.Boolean, default=False, index=True)
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    tariff: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class ParkingAvailabilityReading(Base):
    """One availability reading, kept for charts; the newest is also in the live store."""

    __tablename__ = "parking_availability"
    __table_args__ = (sa.UniqueConstraint("provider_id", "source_id", "observed_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(sa.String(200))
    free: Mapped[int | None] = mapped_column(sa.Integer)
    occupied: Mapped[int | None] = mapped_column(sa.Integer)
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16), default="unknown")
    trend: Mapped[str] = mapped_column(sa.String(16), default="unknown")
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
