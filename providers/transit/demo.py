"""``mobihub demo`` step: a generated, clearly labelled demo transit network (no real feed copied).

A small grid city with two bus lines and one night line, running every day 2024-2035, built as
GTFS in memory and imported through the real sync, so the transit API has data to show.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from sqlalchemy.orm import Session

from providers.fetch import Payload
from providers.sync import import_payload

DEMO_PROVIDER = "demo-transit"
# Stops along two lines crossing at "Central" (coordinates near Brussels, invented names).
STOPS = [
    ("CENTRAL", "Central (demo)", 50.8466, 4.3528),
    ("NORTH", "North Gate (demo)", 50.8556, 4.3528),
    ("MUSEUM", "Museum Square (demo)", 50.8511, 4.3528),
    ("PARK", "Park Lane (demo)", 50.8421, 4.3528),
    ("SOUTH", "South Station (demo)", 50.8376, 4.3528),
    ("WEST", "West Market (demo)", 50.8466, 4.3400),
    ("CITYHALL", "City Hall (demo)", 50.8466, 4.3464),
    ("HARBOUR", "Harbour (demo)", 50.8466, 4.3592),
    ("EAST", "East End (demo)", 50.8466, 4.3656),
]
LINES = {
    "D1": ("D1", "North Gate - South Station (demo)", ["NORTH", "MUSEUM", "CENTRAL", "PARK",
                                                        "SOUTH"]),
    "D2": ("D2", "West Market - East End (demo)", ["WEST", "CITYHALL", "CENTRAL", "HARBOUR",
                                                    "EAST"]),
}


def _time(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def demo_gtfs() -> bytes:
    """The demo network as a GTFS zip (deterministic, so re-running the demo is a no-op)."""
    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone,agency_lang\n"
                      "DEMO,MobiHub Demo Transit (generated demo data),https://mobihub.eu/demo,"
                      "Europe/Brussels,en\n",
        "feed_info.txt": "feed_publisher_name,feed_publisher_url,feed_lang,feed_version\n"
                         "MobiHub (generated demo network - not a real agency),"
                         "https://mobihub.eu/demo,en,demo-1\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                        "start_date,end_date\nDAILY,1,1,1,1,1,1,1,20240101,20351231\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type,"
                      "route_color\n" + "".join(
                          f"{rid},DEMO,{short},{long_},3,{color}\n"
                          for (rid, (short, long_, _)), color in zip(
                              LINES.items(), ("1F77B4", "D62728"), strict=True)),
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n" + "".join(
            f"{sid},{name},{lat},{lon}\n" for sid, name, lat, lon in STOPS),
    }
    trips = ["route_id,service_id,trip_id,trip_headsign,direction_id\n"]
    times = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"]
    for rid, (_, _, stops) in LINES.items():
        for direction, sequence in ((0, stops), (1, list(reversed(stops)))):
            # Every 10 minutes from 05:00 to 24:50 (the last runs pass midnight: 24:xx times).
            for start in range(5 * 3600, 25 * 3600, 600):
                trip_id = f"{rid}-{direction}-{start // 60}"
                headsign = {s[0]: s[1] for s in STOPS}[sequence[-1]]
                trips.append(f"{rid},DAILY,{trip_id},{headsign},{direction}\n")
                for n, stop_id in enumerate(sequence, start=1):
                    at = _time(start + (n - 1) * 120)
                    times.append(f"{trip_id},{at},{at},{stop_id},{n}\n")
    files["trips.txt"] = "".join(trips)
    files["stop_times.txt"] = "".join(times)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            archive.writestr(info, content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def demo_transit(session: Session) -> Iterator[str]:
    """Import the generated demo network and say where to see it."""
    outcome = import_payload(session, provider=DEMO_PROVIDER, format_name="gtfs", config={},
                             payload=Payload(demo_gtfs(), "generated:demo-transit"))
    yield (f"transit: {outcome.message} (generated demo network 'MobiHub Demo Transit', "
           f"{outcome.counts.get('stops', 0)} stops, {outcome.counts.get('trips', 0)} trips)")
    yield ("transit: try GET /transit/v1/stops/demo-transit:CENTRAL/departures "
           "and GET /transit/v1/stops?lat=50.8466&lon=4.3528&radius=1000")
