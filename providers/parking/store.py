"""Stores a static parking import: facilities and zones under the new feed version.

Readings that come inside a static payload (GeoJSON or CSV with free-space fields) are stored
as live availability too, once the version is known to be accepted.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from shapely.geometry import shape
from sqlalchemy.orm import Session

from providers.base import ImportResult
from providers.models import Feed, FeedVersion
from providers.parking.grid import point_cell, zone_cell, zone_reach
from providers.parking.live import record_readings
from providers.parking.models import ParkingFacility, ParkingZone
from providers.parking.records import AvailabilityRecord, FacilityRecord, ZoneRecord

# Zones whose bounding box is taller than this are looked up by the ``large`` flag, so the
# index on ``min_lat`` can serve a point lookup with a window of this size.
ZONE_WINDOW_DEG = 0.05
_BATCH = 1000


class ParkingFeedWriter:
    """Writes facilities and zones of one accepted parking payload."""

    def write(self, session: Session, feed: Feed, version: FeedVersion | None,
              result: ImportResult, context: Any) -> dict[str, int]:
        """Insert the records under ``version``; refuse an import with nothing in it."""
        assert version is not None  # static writers always get a version  # noqa: S101
        report = result.report
        readings: list[AvailabilityRecord] = []
        facilities = 0
        batch: list[dict[str, Any]] = []
        seen: set[str] = set()
        for record in result.records.get("facilities", []):
            if not _first(record, seen, report):
                continue
            row = _facility_row(record)
            row.update(feed_version_id=version.id, provider_id=feed.provider_id)
            batch.append(row)
            if record.availability is not None:
                readings.append(record.availability)
            if len(batch) >= _BATCH:
                facilities += _flush(session, ParkingFacility, batch)
        facilities += _flush(session, ParkingFacility, batch)

        zones = 0
        seen = set()
        for record in result.records.get("zones", []):
            if not _first(record, seen, report):
                continue
            row = _zone_row(record, report)
            if row is None:
                continue
            row.update(feed_version_id=version.id, provider_id=feed.provider_id)
            batch.append(row)
            if len(batch) >= _BATCH:
                zones += _flush(session, ParkingZone, batch)
        zones += _flush(session, ParkingZone, batch)

        readings.extend(result.records.get("availability", []))
        # A publisher's empty list imports as an empty version; a file whose records were all
        # unusable does not replace the data served now.
        if facilities == 0 and zones == 0 and not result.meta.get("empty_by_publisher"):
            report.add("no_records", "error",
                       "The feed holds no usable facilities or zones; nothing replaces the data "
                       "served now.", fatal=True)
        applied = 0
        if not report.rejected:
            applied = record_readings(session, context.live, feed.provider_id, readings,
                                      context.now)
        return {"facilities": facilities, "availability": applied, "zones": zones}


def _first(record: FacilityRecord | ZoneRecord, seen: set[str], report: Any) -> bool:
    if record.source_id in seen:
        report.error("duplicate_id", f"Id {record.source_id!r} appears twice; the first one "
                     "is kept.", field="source_id", value=record.source_id)
        return False
    seen.add(record.source_id)
    return True


def _flush(session: Session, model: type, batch: list[dict[str, Any]]) -> int:
    if not batch:
        return 0
    session.execute(sa.insert(model), batch)
    count = len(batch)
    batch.clear()
    return count


def _facility_row(record: FacilityRecord) -> dict[str, Any]:
    row = asdict(record)
    row.pop("availability")
    row["name"] = (row["name"] or record.source_id)[:300]
    row["cell"] = point_cell(record.lat, record.lon)
    return row


def _zone_row(record: ZoneRecord, report: Any) -> dict[str, Any] | None:
    try:
        geometry = shape(record.geometry)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        report.error("invalid_geometry", f"Zone {record.source_id!r}: {exc}",
                     value=record.source_id)
        return None
    if geometry.is_empty:
        report.error("invalid_geometry", f"Zone {record.source_id!r} has an empty geometry.",
                     value=record.source_id)
        return None
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    row = asdict(record)
    row["name"] = (row["name"] or record.source_id)[:300]
    reach = zone_reach(min_lat, min_lon, max_lat, max_lon,
                       polygon=geometry.geom_type.endswith("Polygon"), rules=record.rules)
    row.update(zip(("reach_min_lat", "reach_min_lon", "reach_max_lat", "reach_max_lon"), reach,
                   strict=True))
    row.update(min_lat=min_lat, min_lon=min_lon, max_lat=max_lat, max_lon=max_lon,
               large=(max_lat - min_lat) > ZONE_WINDOW_DEG,
               cell=zone_cell(min_lat, min_lon, max_lat, max_lon))
    return row
