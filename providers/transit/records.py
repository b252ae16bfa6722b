"""The record shapes a transit adapter hands to the transit writer: one tuple per row.

Each key is a GTFS file name (``stops`` for stops.txt), so import counts read like the feed.
In ``RECORD_TABLES`` the fields name the columns of the canonical table the writer fills
(``providers.transit.models``), except the trips' (packed in blocks of trips with those
columns: ``providers.transit.trips``); the ``PACKED_RECORDS`` are not stored row for row but
packed (``providers.transit.timetable``): stop_times into stop patterns and the trips' time
arrays, shapes into one row per shape.
"""

from __future__ import annotations

RECORD_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "agency": ("transit_agency", ("agency_id", "name", "url", "timezone", "lang", "phone")),
    "stops": ("transit_stop", (
        "stop_id", "code", "name", "description", "lat", "lon", "zone_id", "location_type",
        "parent_station", "timezone", "wheelchair_boarding", "platform_code")),
    "routes": ("transit_route", (
        "route_id", "agency_id", "short_name", "long_name", "description", "route_type", "url",
        "color", "text_color", "sort_order")),
    "calendar": ("transit_calendar", (
        "service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
        "sunday", "start_date", "end_date")),
    "calendar_dates": ("transit_calendar_date", ("service_id", "date", "exception_type")),
    "trips": ("transit_trip_block", (
        "trip_id", "route_id", "service_id", "headsign", "short_name", "direction_id",
        "block_id", "shape_id", "wheelchair_accessible", "bikes_allowed", "frequency_based")),
    "frequencies": ("transit_frequency", (
        "trip_id", "start_secs", "end_secs", "headway_secs", "exact_times")),
    "transfers": ("transit_transfer", (
        "from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time")),
    "feed_info": ("transit_feed_info", (
        "publisher_name", "publisher_url", "lang", "start_date", "end_date", "version")),
}

PACKED_RECORDS: dict[str, tuple[str, ...]] = {
    "stop_times": ("trip_id", "stop_sequence", "stop_id", "arrival_secs", "departure_secs",
                   "stop_headsign", "pickup_type", "drop_off_type", "shape_dist_traveled",
                   "timepoint"),
    "shapes": ("shape_id", "sequence", "lat", "lon", "dist_traveled"),
}

# The order a writer stores them in (references first; big streamed tables last).
WRITE_ORDER = ("agency", "stops", "routes", "calendar", "calendar_dates", "trips", "frequencies",
               "transfers", "feed_info", "stop_times", "shapes")
