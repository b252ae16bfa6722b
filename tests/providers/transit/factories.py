"""Small GTFS feeds written by hand for behaviour tests, and helpers to import them for real."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from providers.fetch import FetchPolicy, Payload
from providers.sync import ImportOutcome, import_feed, import_payload

# A tiny network in New York time: station A with platform A1, stop B, one bus route.
#  - WEEK runs Monday to Friday in 2024 except Wednesday 2024-07-03 (calendar_dates removes it);
#  - HOLIDAY runs only on 2024-07-03 (calendar_dates adds it);
#  - T_NIGHT leaves A1 at 24:30:00, i.e. 00:30 the next calendar day;
#  - T_FREQ is a frequencies.txt template run every 15 minutes from 10:00 to 11:00.
BASE_FEED: dict[str, str] = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
                  "AG,Test Transit,https://example.org,America/New_York\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
                 "A,Alpha Station,40.7500,-73.9900,1,\n"
                 "A1,Alpha Platform 1,40.7501,-73.9901,0,A\n"
                 "B,Bravo,40.7600,-73.9800,0,\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
                  "R1,AG,1,Alpha - Bravo,3\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                    "start_date,end_date\n"
                    "WEEK,1,1,1,1,1,0,0,20240101,20241231\n",
    "calendar_dates.txt": "service_id,date,exception_type\n"
                          "WEEK,20240703,2\n"
                          "HOLIDAY,20240703,1\n",
    "trips.txt": "route_id,service_id,trip_id,trip_headsign\n"
                 "R1,WEEK,T1,Bravo\n"
                 "R1,WEEK,T_NIGHT,Bravo night\n"
                 "R1,HOLIDAY,T_HOL,Bravo holiday\n"
                 "R1,WEEK,T_FREQ,Bravo shuttle\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "T1,08:00:00,08:00:00,A1,1\n"
                      "T1,08:30:00,08:30:00,B,2\n"
                      "T_NIGHT,24:30:00,24:30:00,A1,1\n"
                      "T_NIGHT,25:00:00,25:00:00,B,2\n"
                      "T_HOL,09:00:00,09:00:00,A1,1\n"
                      "T_HOL,09:30:00,09:30:00,B,2\n"
                      "T_FREQ,00:00:00,00:00:00,A1,1\n"
                      "T_FREQ,00:10:00,00:10:00,B,2\n",
    "frequencies.txt": "trip_id,start_time,end_time,headway_secs\n"
                       "T_FREQ,10:00:00,11:00:00,900\n",
}


# Overrides of the base feed for the Sundays of 2024's clock changes in New York, 2024-03-10
# (02:00 EST -> 03:00 EDT) and 2024-11-03 (02:00 EDT -> 01:00 EST): T_DST leaves A1 at
# 01:30:00, B at 08:00:00 and is back at A1 at 08:30:00.
CLOCK_CHANGE_FEED = {
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                    "start_date,end_date\n"
                    "SUN,0,0,0,0,0,0,1,20240101,20241231\n",
    "calendar_dates.txt": None,
    "frequencies.txt": None,
    "trips.txt": "route_id,service_id,trip_id,trip_headsign\nR1,SUN,T_DST,Bravo\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "T_DST,01:30:00,01:30:00,A1,1\n"
                      "T_DST,08:00:00,08:00:00,B,2\n"
                      "T_DST,08:30:00,08:30:00,A1,3\n",
}


def gtfs_zip(overrides: dict[str, str | bytes | None] | None = None) -> bytes:
    """The base feed as a zip; ``overrides`` replace files (None removes one)."""
    files: dict[str, str | bytes | None] = {**BASE_FEED, **(overrides or {})}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            if content is not None:
                archive.writestr(name, content)
    return buffer.getvalue()


def import_gtfs_bytes(session: Any, content: bytes, provider: str = "testtransit",
                      live: Any = None) -> ImportOutcome:
    """Import GTFS bytes through the real sync, as an upload would."""
    return import_payload(session, provider=provider, format_name="gtfs",
                          payload=Payload(content, f"{provider}.zip"), config={}, live=live)


def import_file(session: Any, path: Path, provider: str, format_name: str = "gtfs",
                live: Any = None) -> ImportOutcome:
    """Import a real file or folder through the real sync."""
    return import_feed(session, provider=provider, source=str(path), format_name=format_name,
                       policy=FetchPolicy(), live=live)
