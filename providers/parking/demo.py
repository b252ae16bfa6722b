"""``mobihub demo`` step: a generated, clearly labelled demo city with parking to show.

"Demo City (generated)" is not a real place: six facilities around a made-up centre, two
zones and one street segment, tariffs, and a day of availability replayed from the real
Dresden occupancy curves (../shared/data/parking/history, when present) or a synthetic curve.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from app.db import utcnow
from app.live import get_redis
from providers.fetch import Payload
from providers.models import Provider
from providers.parking.live import record_readings
from providers.parking.records import AvailabilityRecord
from providers.sync import import_payload

PROVIDER = "Demo City (generated)"
CENTRE = (50.9375, 6.9603)  # lat, lon of the made-up centre
HISTORY = Path(os.environ.get("MOBIHUB_TESTDATA") or Path(__file__).resolve().parents[3]
               / "shared" / "data") / "parking" / "history"
HOURLY = {"currency": "EUR", "timezone": "Europe/Berlin", "free_minutes": 15, "daily_max": 1800,
          "bands": [{"days": [0, 1, 2, 3, 4, 5], "start": "07:00", "end": "22:00",
                     "period_minutes": 60, "price": 250}]}
STREET = {"currency": "EUR", "timezone": "Europe/Berlin",
          "bands": [{"days": [0, 1, 2, 3, 4, 5], "start": "08:00", "end": "20:00",
                     "period_minutes": 15, "price": 50}]}
FACILITIES = [
    ("demo-p1", "Demo Garage Market (generated)", "garage", 420, 0.002, 0.001, True),
    ("demo-p2", "Demo Underground Cathedral (generated)", "underground", 300, -0.003, 0.002,
     False),
    ("demo-p3", "Demo Lot Riverside (generated)", "surface_lot", 120, 0.001, -0.004, False),
    ("demo-p4", "Demo Park+Ride North (generated)", "park_and_ride", 650, 0.03, 0.01, True),
    ("demo-p5", "Demo Garage Station (generated)", "garage", 510, -0.006, -0.003, True),
    ("demo-p6", "Demo Lot University (generated)", "surface_lot", 90, 0.008, 0.009, False),
]


def seed_demo_city(session: Session) -> Iterator[str]:
    """Import the demo city (idempotent: identical content is not imported twice)."""
    lat0, lon0 = CENTRE
    features = [{"type": "Feature", "id": sid, "geometry": {"type": "Point", "coordinates": [
        lon0 + dlon, lat0 + dlat]}, "properties": {
        "id": sid, "name": name, "kind": kind, "capacity": capacity, "ev": ev,
        "opening_hours": "24/7" if kind != "surface_lot" else "Mo-Sa 06:00-22:00",
        "tariff": HOURLY if kind != "park_and_ride" else None}}
        for sid, name, kind, capacity, dlat, dlon, ev in FACILITIES]
    mapping = {"fields": {"source_id": "id", "name": "name", "kind": "kind",
                          "capacity": "capacity", "ev_charging": "ev", "tariff": "tariff",
                          "opening_hours": "opening_hours"}}
    outcome = import_payload(session, provider=PROVIDER, payload=Payload(json.dumps(
        {"type": "FeatureCollection", "features": features}).encode(), "demo-city.geojson"),
        format_name="geojson", config={"mapping": mapping}, live=get_redis())
    yield f"parking: {PROVIDER}: facilities {outcome.status} ({outcome.message})"
    square = [[lon0 - 0.005, lat0 - 0.004], [lon0 + 0.005, lat0 - 0.004],
              [lon0 + 0.005, lat0 + 0.004], [lon0 - 0.005, lat0 + 0.004],
              [lon0 - 0.005, lat0 - 0.004]]
    rows = [
        ("zone-centre", "Demo Zone Centre (generated)", {"type": "Polygon",
                                                          "coordinates": [square]}, STREET),
        ("segment-1", "Demo Street, east side (generated)", {"type": "LineString", "coordinates": [
            [lon0 + 0.006, lat0], [lon0 + 0.006, lat0 + 0.001]]}, STREET),
    ]
    zones = [{"type": "Feature", "id": sid, "geometry": geometry,
              "properties": {"id": sid, "name": name, "tariff": tariff}}
             for sid, name, geometry, tariff in rows]
    zone_mapping = {"record_type": "zone", "fields": {
        "source_id": "id", "name": "name", "tariff": "tariff", "segment_width": {"const": 10}}}
    outcome = import_payload(session, provider=PROVIDER, payload=Payload(json.dumps(
        {"type": "FeatureCollection", "features": zones}).encode(), "demo-zones.geojson"),
        format_name="geojson-zones", config={"mapping": zone_mapping}, live=get_redis(),
        adapter=_geojson_adapter())
    yield f"parking: {PROVIDER}: zones {outcome.status}"
    provider_id = session.query(Provider.id).filter(Provider.name == PROVIDER).scalar()
    replayed = _replay(session, provider_id)
    yield (f"parking: replayed {replayed} availability readings (24 h, 15-minute steps); try "
           f"/parking/v1/facilities?lat={lat0}&lon={lon0}&radius=2000")


def _geojson_adapter() -> object:
    from providers.geojson.adapter import GeoJsonAdapter

    return GeoJsonAdapter()


def _curve(index: int) -> list[float]:
    """96 quarter-hour occupancy shares (0..1): a real Dresden day, else a synthetic one."""
    files = sorted(HISTORY.glob("dresden*.csv")) if HISTORY.is_dir() else []
    if files:
        with files[index % len(files)].open(encoding="utf-8") as handle:
            values = [float(row[1]) for row in csv.reader(handle) if len(row) == 2
                      and row[1].replace(".", "", 1).isdigit()][-96:]
        top = max(values) or 1.0
        if len(values) == 96:
            return [1 - v / top for v in values]  # the files count free spaces
    return [0.5 + 0.4 * math.sin((q / 96 - 0.3) * 2 * math.pi) for q in range(96)]


def _replay(session: Session, provider_id: int) -> int:
    now = utcnow().replace(second=0, microsecond=0)
    start = now - timedelta(minutes=15 * 95)
    readings = []
    for index, (sid, _, _, capacity, *_rest) in enumerate(FACILITIES):
        for step, share in enumerate(_curve(index)):
            occupied = max(0, min(capacity, round(capacity * share)))
            readings.append(AvailabilityRecord(
                source_id=sid, observed_at=start + timedelta(minutes=15 * step),
                free=capacity - occupied, occupied=occupied, capacity=capacity,
                status="full" if occupied == capacity else "open"))
    return len(readings) if record_readings(session, get_redis(), provider_id, readings,
                                            now) else 0
