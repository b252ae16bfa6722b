"""GTFS static adapter: validate a feed and hand its records to the transit writer.

The small tables (agency, stops, routes, trips, calendars, frequencies, transfers, feed_info)
are parsed when ``parse`` runs, so references can be checked and fatal problems are known
before anything is written. ``stop_times`` and ``shapes`` (the big ones) stream: their records
are lazy iterators, validated row by row while the writer stores them; problems found there
land in the same report, which the sync reads after writing.

Problem codes are stable (see ``docs/gtfs-validation.md``); "error" drops the record it concerns,
"warning" keeps it, and a fatal error rejects the whole version. Field rules follow the GTFS
Schedule reference (https://gtfs.org/schedule/reference/).
"""

from __future__ import annotations

import collections
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from providers.base import AdapterInfo, FeedFormatError, ImportResult, ValidationReport
from providers.gtfs.reader import FAST_BLOCK_BYTES, CsvFile, GtfsArchive, printable
from providers.gtfs.times import parse_time

try:  # the vectorised stop_times path; without pyarrow every row takes the row loop
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
except ImportError:  # pragma: no cover
    pa = None

# GTFS reference, "Dataset Files": required files and, per file, required fields.
REQUIRED_FILES = ("agency", "stops", "routes", "trips", "stop_times")
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "agency": ("agency_name", "agency_url", "agency_timezone"),
    "stops": ("stop_id",),
    "routes": ("route_id", "route_type"),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence"),
    "calendar": ("service_id", "monday", "tuesday", "wednesday", "thursday", "friday",
                 "saturday", "sunday", "start_date", "end_date"),
    "calendar_dates": ("service_id", "date", "exception_type"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
    "transfers": ("from_stop_id", "to_stop_id"),
    "shapes": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"),
    "feed_info": ("feed_publisher_name", "feed_publisher_url", "feed_lang"),
}
# Files whose missing required column rejects the feed (nothing usable can be built without).
CORE_FILES = {"agency", "stops", "routes", "trips", "stop_times", "calendar", "calendar_dates"}
KNOWN_FIELDS: dict[str, set[str]] = {
    "agency": {"agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang",
               "agency_phone", "agency_fare_url", "agency_email", "cemv_support"},
    "stops": {"stop_id", "stop_code", "stop_name", "tts_stop_name", "stop_desc", "stop_lat",
              "stop_lon", "zone_id", "stop_url", "location_type", "parent_station",
              "stop_timezone", "wheelchair_boarding", "level_id", "platform_code",
              "stop_access"},
    "routes": {"route_id", "agency_id", "route_short_name", "route_long_name", "route_desc",
               "route_type", "route_url", "route_color", "route_text_color", "route_sort_order",
               "continuous_pickup", "continuous_drop_off", "network_id", "cemv_support"},
    "trips": {"route_id", "service_id", "trip_id", "trip_headsign", "trip_short_name",
              "direction_id", "block_id", "shape_id", "wheelchair_accessible", "bikes_allowed",
              "cars_allowed"},
    "stop_times": {"trip_id", "arrival_time", "departure_time", "stop_id", "location_group_id",
                   "location_id", "stop_sequence", "stop_headsign", "start_pickup_drop_off_window",
                   "end_pickup_drop_off_window", "pickup_type", "drop_off_type",
                   "continuous_pickup", "continuous_drop_off", "shape_dist_traveled",
                   "timepoint", "pickup_booking_rule_id", "drop_off_booking_rule_id"},
}
KNOWN_FILES = {
    "agency", "stops", "routes", "trips", "stop_times", "calendar", "calendar_dates",
    "fare_attributes", "fare_rules", "timeframes", "rider_categories", "fare_media",
    "fare_products", "fare_leg_rules", "fare_leg_join_rules", "fare_transfer_rules", "areas",
    "stop_areas", "networks", "route_networks", "shapes", "frequencies", "transfers",
    "pathways", "levels", "location_groups", "location_group_stops", "booking_rules",
    "translations", "feed_info", "attributions",
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_COLOR = re.compile(r"^[0-9A-Fa-f]{6}$")
# Extended route types (Google's "Hierarchical Vehicle Type" list) are 100..1799.
_BASIC_ROUTE_TYPES = set(range(8)) | {11, 12}


def parse_date(value: str) -> date | None:
    """A GTFS ``YYYYMMDD`` date, or None."""
    value = value.strip()
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


class _Table:
    """Field access by name on the rows of one file, with typed, reporting parsers."""

    def __init__(self, csv_file: CsvFile, report: ValidationReport) -> None:
        self.file = csv_file
        self.report = report
        self.index = {name: i for i, name in enumerate(csv_file.header) if name}
        self.width = len(csv_file.header)
        self.line = 0
        self.row: list[str] = []

    def __iter__(self) -> Iterator[_Table]:
        width = self.width
        filename = self.file.name
        for line, row in self.file.rows:
            if len(row) != width:
                code = "extra_row_cells" if len(row) > width else "missing_row_cells"
                self.report.warning(code, f"Line {line} has {len(row)} cells; the header has "
                                    f"{width}.", file=filename, line=line)
                row = (row + [""] * width)[:width] if len(row) < width else row
            self.line, self.row = line, row
            yield self

    def get(self, name: str) -> str:
        """The stripped value of a field ('' when the column is absent)."""
        i = self.index.get(name)
        return self.row[i].strip() if i is not None else ""

    def opt(self, name: str) -> str | None:
        value = self.get(name)
        return value or None

    def problem(self, code: str, message: str, field: str | None = None, value: Any = None,
                severity: str = "error") -> None:
        self.report.add(code, severity, printable(message),  # type: ignore[arg-type]
                        file=self.file.name, line=self.line, field=field,
                        value=None if value is None else printable(str(value)))

    def required(self, name: str) -> str | None:
        value = self.get(name)
        if not value:
            self.problem("missing_required_field", f"{name} is required; the record is dropped.",
                         name)
            return None
        return value

    def integer(self, name: str, *, default: int | None = None, low: int | None = None,
                high: int | None = None, required: bool = False) -> tuple[bool, int | None]:
        """(ok, value): ok is False when the record must be dropped."""
        value = self.get(name)
        if not value:
            if required:
                self.problem("missing_required_field", f"{name} is required; the record is "
                             "dropped.", name)
                return False, None
            return True, default
        try:
            number = int(value)
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                as_float = None
            if as_float is None or not as_float.is_integer():
                self.problem("invalid_integer", f"{name} {value!r} is not an integer.", name,
                             value)
                return (not required), default
            number = int(as_float)
        if (low is not None and number < low) or (high is not None and number > high):
            self.problem("out_of_range", f"{name} {number} is outside {low}..{high}.", name,
                         value)
            return (not required), default
        return True, number

    def real(self, name: str, low: float, high: float, *, required: bool = False
             ) -> tuple[bool, float | None]:
        value = self.get(name)
        if not value:
            if required:
                self.problem("missing_required_field", f"{name} is required; the record is "
                             "dropped.", name)
                return False, None
            return True, None
        try:
            number = float(value)
        except ValueError:
            self.problem("invalid_float", f"{name} {value!r} is not a number.", name, value)
            return (not required), None
        if not low <= number <= high or number != number:
            self.problem("coordinate_out_of_range" if name.endswith(("_lat", "_lon"))
                         else "out_of_range", f"{name} {number} is outside {low}..{high}.",
                         name, value)
            return (not required), None
        return True, number

    def date(self, name: str, *, required: bool = True) -> tuple[bool, date | None]:
        value = self.get(name)
        if not value:
            if required:
                self.problem("missing_required_field", f"{name} is required; the record is "
                             "dropped.", name)
            return (not required), None
        parsed = parse_date(value)
        if parsed is None:
            self.problem("invalid_date", f"{name} {value!r} is not a YYYYMMDD date.", name,
                         value)
            return False, None
        return True, parsed


class GtfsAdapter:
    """GTFS Schedule zip (or folder) → transit records and a validation report."""

    info = AdapterInfo(format="gtfs", kind="transit", realtime=False,
                       title="GTFS Schedule (static timetables)",
                       media_types=("application/zip",))

    def __init__(self, *, fast: bool = True, block_bytes: int = FAST_BLOCK_BYTES) -> None:
        # fast: stop_times through the vectorised path (``_fast_stop_times``) where it applies;
        # False runs every row through the row-by-row path (tests compare the two).
        self.fast = fast and pa is not None
        self.block_bytes = block_bytes

    def parse(self, payload: bytes, config: Mapping[str, Any]) -> ImportResult:
        """Check the zip, parse the small tables now and stream stop_times and shapes."""
        archive = GtfsArchive(payload)
        report = ValidationReport()
        feed = _FeedParse(archive, report, fast=self.fast, block_bytes=self.block_bytes)
        records = feed.run()
        return ImportResult(records=records, report=report, meta=feed.meta)


class _FeedParse:
    """The state of one feed's parse: the ids seen so far, for the reference checks."""

    def __init__(self, archive: GtfsArchive, report: ValidationReport, *, fast: bool = False,
                 block_bytes: int = FAST_BLOCK_BYTES) -> None:
        self.archive = archive
        self.report = report
        self.fast = fast
        self.block_bytes = block_bytes
        self.meta: dict[str, Any] = {"realtime": False}
        # Files opened (``opened``) and being read (``ahead``) before their turn.
        self.opened: dict[str, CsvFile] = {}
        self.ahead: dict[str, _ReadAhead] = {}
        self.stop_ids: set[str] = set()
        self.trip_service: dict[str, str] = {}
        self.used_stops: set[str] = set()
        self.platform_ids: set[str] = set()

    # -- driver ---------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        report = self.report
        if not self.archive.members:
            raise FeedFormatError("The zip holds no GTFS .txt files.", code="no_gtfs_files")
        for name in sorted(set(self.archive.members) - KNOWN_FILES):
            report.warning("unknown_file", f"{name}.txt is not a GTFS file; it is ignored.",
                           file=f"{name}.txt")
        for name in self.archive.other_members:
            report.warning("unknown_file", f"{name} is not a GTFS .txt file; it is ignored.",
                           file=name)
        for name in REQUIRED_FILES:
            if not self.archive.has(name):
                report.add("missing_required_file", "error", f"{name}.txt is required but the "
                           "feed has no such file.", file=f"{name}.txt", fatal=True)
        if not self.archive.has("calendar") and not self.archive.has("calendar_dates"):
            report.add("missing_calendar", "error", "The feed has neither calendar.txt nor "
                       "calendar_dates.txt, so no trip ever runs.", file="calendar.txt",
                       fatal=True)
        if report.rejected:
            return {}
        if self.fast:
            self._read_ahead("stop_times", _FAST_FIELDS)
        records: dict[str, Any] = {}
        records["agency"] = self._eager("agency", self._agency)
        records["stops"] = self._eager("stops", self._stops, fast=self.fast)
        records["routes"] = self._eager("routes", self._routes)
        records["calendar"] = self._eager("calendar", self._calendar)
        records["calendar_dates"] = self._eager("calendar_dates", self._calendar_dates)
        self.services = {r[0] for r in records["calendar"]} | {
            r[0] for r in records["calendar_dates"]}
        self.frequency_rows = self._eager("frequencies", self._frequencies_raw)
        records["trips"] = (BatchRecords(self._trip_batches()) if self.fast
                            else self._eager("trips", self._trips))
        records["frequencies"] = [r for r in self.frequency_rows if r[0] in self.trip_service]
        records["transfers"] = self._eager("transfers", self._transfers)
        records["feed_info"] = self._eager("feed_info", self._feed_info)[:1]
        for name in ("agency", "stops", "routes", "trips"):
            if self.archive.has(name) and not (
                    self.trip_service if name == "trips" else records[name]):
                report.add("no_valid_records", "error", f"{name}.txt has no valid record.",
                           file=f"{name}.txt", fatal=True)
        if not records["calendar"] and not records["calendar_dates"]:
            report.add("no_valid_records", "error", "Neither calendar.txt nor "
                       "calendar_dates.txt has a valid record.", file="calendar.txt", fatal=True)
        self.meta["service_range"] = _service_range(records["calendar"],
                                                    records["calendar_dates"])
        self.meta["timezone"] = records["agency"][0][3] if records["agency"] else None
        if report.rejected:
            return records
        table = self._open("stop_times", fast=self.fast)
        records["stop_times"] = (iter(()) if table is None
                                 else BatchRecords(self._stop_time_batches(table)))
        records["shapes"] = BatchRecords(self._shape_batches())
        return records

    def _read_ahead(self, name: str, fields: tuple[str, ...]) -> None:
        """Start reading ``name``'s first blocks now (``_ReadAhead``), if it has the fast
        path's plain start. A file that cannot be opened is left alone here: it is reported
        when its turn comes."""
        if not self.archive.has(name):
            return
        try:
            csv_file = self.archive.open_blocks(name, self.report, self.block_bytes)
        except FeedFormatError:
            return
        if csv_file is not None:
            self.opened[name] = csv_file
            self.ahead[name] = _ReadAhead(_block_reader(_Table(csv_file, self.report), fields))

    def _open(self, name: str, *, fast: bool = False) -> _Table | None:
        if not self.archive.has(name):
            return None
        csv_file = self.opened.pop(name, None) or (
            self.archive.open_blocks(name, self.report, self.block_bytes) if fast else None
        ) or self.archive.open_table(name, self.report)
        if csv_file is None:
            if name in CORE_FILES:
                self.report.add("unreadable_file", "error", f"{name}.txt cannot be read.",
                                file=f"{name}.txt", fatal=True)
            return None
        table = _Table(csv_file, self.report)
        missing = [f for f in REQUIRED_FIELDS.get(name, ()) if f not in table.index]
        for field in missing:
            self.report.add("missing_required_column", "error",
                            f"{name}.txt has no {field} column.", file=f"{name}.txt",
                            field=field, fatal=name in CORE_FILES)
        if missing and name not in CORE_FILES:
            return None
        known = KNOWN_FIELDS.get(name)
        if known is not None:
            for field in table.index:
                if field not in known:
                    self.report.warning("unknown_column", f"{name}.txt has an unknown column "
                                        f"{field!r}; it is ignored.", file=f"{name}.txt",
                                        field=field)
        return None if missing else table

    def _eager(self, name: str, parse: Callable[[_Table], Iterator[tuple]], *,
               fast: bool = False) -> list[tuple]:
        table = self._open(name, fast=fast)
        return [] if table is None else list(parse(table))

    def _streamed(self, name: str, parse: Callable[[_Table], Iterator[tuple]]
                  ) -> Iterator[tuple]:
        table = self._open(name)
        return iter(()) if table is None else parse(table)

    # -- small tables ---------------------------------------------------------------------------

    def _agency(self, t: _Table) -> Iterator[tuple]:
        seen: set[str] = set()
        timezones: set[str] = set()
        for _ in t:
            name, url, tz = (t.required("agency_name"), t.required("agency_url"),
                             t.required("agency_timezone"))
            if not (name and url and tz):
                continue
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                t.problem("invalid_timezone", f"agency_timezone {tz!r} is not an IANA time "
                          "zone.", "agency_timezone", tz)
                continue
            agency_id = t.get("agency_id")
            if agency_id in seen:
                t.problem("duplicate_key", f"agency_id {agency_id!r} is defined twice.",
                          "agency_id", agency_id)
                continue
            seen.add(agency_id)
            timezones.add(tz)
            yield agency_id, name, url, tz, t.opt("agency_lang"), t.opt("agency_phone")
        if len(seen) > 1 and "" in seen:
            self.report.error("missing_agency_id", "agency_id is required when the feed has "
                              "several agencies.", file="agency.txt", field="agency_id")
        if len(timezones) > 1:
            self.report.warning("inconsistent_timezone", "Agencies of one feed must share one "
                                "agency_timezone.", file="agency.txt", field="agency_timezone")
        self.agency_ids = seen

    def _stops(self, t: _Table) -> Iterator[tuple]:
        # Clean blocks first (vectorised, nothing to report in them), then the row loop.
        rows = [row for batch in _fast_blocks(t, _STOP_FIELDS, self._fast_stop_block)
                for row in batch]
        for _ in t:
            stop_id = t.required("stop_id")
            if stop_id is None:
                continue
            if stop_id in self.stop_ids:
                t.problem("duplicate_key", f"stop_id {stop_id!r} is defined twice; the second "
                          "is dropped.", "stop_id", stop_id)
                continue
            _, location_type = t.integer("location_type", default=0, low=0, high=4)
            # stop_lat/stop_lon are required for stops, stations and entrances (types 0-2).
            needs_position = (location_type or 0) <= 2
            ok_lat, lat = t.real("stop_lat", -90, 90, required=needs_position)
            ok_lon, lon = t.real("stop_lon", -180, 180, required=needs_position)
            if not (ok_lat and ok_lon):
                continue
            if lat == 0 and lon == 0:
                t.problem("suspicious_coordinates", "The stop is at 0,0.", "stop_lat",
                          severity="warning")
            if needs_position and not t.get("stop_name"):
                t.problem("missing_stop_name", "stop_name is required for stops, stations and "
                          "entrances.", "stop_name", severity="warning")
            _, wheelchair = t.integer("wheelchair_boarding", low=0, high=2)
            self.stop_ids.add(stop_id)
            if not location_type:
                self.platform_ids.add(stop_id)
            rows.append((stop_id, t.opt("stop_code"), t.opt("stop_name"), t.opt("stop_desc"),
                         lat, lon, t.opt("zone_id"), location_type or 0,
                         t.opt("parent_station"), t.opt("stop_timezone"), wheelchair,
                         t.opt("platform_code"), t.line))
        _warn_stops_too_close(rows, self.report)
        for row in rows:
            parent = row[8]
            if parent is not None and parent not in self.stop_ids:
                self.report.warning("undefined_parent_station", f"parent_station {parent!r} of "
                                    f"stop {row[0]!r} is not defined; the link is dropped.",
                                    file="stops.txt", line=row[12], field="parent_station",
                                    value=parent)
                row = (*row[:8], None, *row[9:])
            yield row[:12]

    def _fast_stop_block(self, columns: dict[str, Any], n: int,
                         taken: tuple[int, bytes, int]) -> list[tuple] | None:
        """One block of stops as ``_stops`` rows (line numbers last), or None for the row loop.

        Taken only when the row loop would report nothing on any of its rows, and when each line
        is one row (no blank line, no quoted line end), so that line numbers are known.
        """
        start, block, lines = taken
        if not (n == lines if block.endswith(b"\n") else n == lines + 1):
            return None
        stop = _trim(columns["stop_id"])
        if n and (pc.min(pc.binary_length(stop)).as_py() == 0
                  or pc.count_distinct(stop).as_py() != n):
            return None
        ids = stop.to_pylist()
        if not self.stop_ids.isdisjoint(ids):
            return None
        kind = _fast_choice(columns.get("location_type"), n, ("0", "1", "2", "3", "4"))
        wheelchair = _fast_choice(columns.get("wheelchair_boarding"), n, ("0", "1", "2"))
        lat, lon = _fast_float(columns.get("stop_lat"), n), _fast_float(columns.get("stop_lon"), n)
        if kind is None or wheelchair is None or lat is None or lon is None:
            return None
        kind = pc.fill_null(kind, 0)
        positioned = pc.less_equal(kind, 2)  # stops, stations, entrances need a position
        has_lat, has_lon = pc.is_valid(lat), pc.is_valid(lon)
        name = columns.get("stop_name")
        named = (pc.greater(pc.binary_length(_trim(name)), 0) if name is not None
                 else pa.nulls(n, pa.bool_()).fill_null(False))
        problems = pc.or_(
            pc.and_(positioned, pc.invert(pc.and_(pc.and_(has_lat, has_lon), named))),
            pc.and_(pc.equal(pc.fill_null(lat, 1), 0), pc.equal(pc.fill_null(lon, 1), 0)))
        if (pc.any(problems).as_py()
                or pc.any(pc.or_(pc.less(lat, -90), pc.greater(lat, 90))).as_py()
                or pc.any(pc.or_(pc.less(lon, -180), pc.greater(lon, 180))).as_py()):
            return None
        texts = [_null_if_empty(columns[field]).to_pylist() if field in columns else [None] * n
                 for field in ("stop_code", "stop_name", "stop_desc", "zone_id",
                               "parent_station", "stop_timezone", "platform_code")]
        kinds = kind.to_pylist()
        self.stop_ids.update(ids)
        self.platform_ids.update(i for i, k in zip(ids, kinds, strict=True) if not k)
        return list(zip(ids, texts[0], texts[1], texts[2], lat.to_pylist(), lon.to_pylist(),
                        texts[3], kinds, texts[4], texts[5], wheelchair.to_pylist(), texts[6],
                        range(start, start + n), strict=True))

    def _routes(self, t: _Table) -> Iterator[tuple]:
        self.route_ids: set[str] = set()
        agencies = getattr(self, "agency_ids", set())
        names: set[tuple[str | None, str | None]] = set()
        for _ in t:
            route_id = t.required("route_id")
            ok, route_type = t.integer("route_type", required=True, low=0, high=1799)
            if route_id is None or not ok:
                continue
            if route_type not in _BASIC_ROUTE_TYPES and route_type < 100:
                t.problem("invalid_route_type", f"route_type {route_type} is not defined.",
                          "route_type", route_type)
                continue
            if route_id in self.route_ids:
                t.problem("duplicate_key", f"route_id {route_id!r} is defined twice.",
                          "route_id", route_id)
                continue
            agency_id = t.get("agency_id")
            if agency_id and agency_id not in agencies:
                t.problem("undefined_agency", f"agency_id {agency_id!r} is not in agency.txt; "
                          "the route is dropped.", "agency_id", agency_id)
                continue
            if not agency_id and len(agencies) > 1:
                t.problem("missing_required_field", "agency_id is required when the feed has "
                          "several agencies.", "agency_id")
                continue
            short, long_ = t.opt("route_short_name"), t.opt("route_long_name")
            if not short and not long_:
                t.problem("missing_route_name", "A route needs route_short_name or "
                          "route_long_name.", "route_short_name", severity="warning")
            colors = []
            for name in ("route_color", "route_text_color"):
                value = t.get(name)
                if value and not _COLOR.match(value):
                    t.problem("invalid_color", f"{name} {value!r} is not a hex colour.", name,
                              value, severity="warning")
                    value = ""
                colors.append(value.upper() or None)
            _, sort_order = t.integer("route_sort_order", low=0)
            if short and long_ and short == long_:
                t.problem("route_short_name_equals_long_name", "route_short_name and "
                          "route_long_name are the same.", "route_long_name", long_,
                          severity="warning")
            if (short, long_) in names:
                t.problem("duplicate_route_name", f"Another route is also named "
                          f"{short or ''} {long_ or ''}.", "route_long_name", long_,
                          severity="warning")
            names.add((short, long_))
            self.route_ids.add(route_id)
            yield (route_id, agency_id or (next(iter(agencies)) if agencies else ""), short,
                   long_, t.opt("route_desc"), route_type, t.opt("route_url"), colors[0],
                   colors[1], sort_order)

    def _calendar(self, t: _Table) -> Iterator[tuple]:
        seen: set[str] = set()
        for _ in t:
            service_id = t.required("service_id")
            if service_id is None:
                continue
            days = []
            for day in WEEKDAYS:
                value = t.get(day)
                if value not in ("0", "1"):
                    t.problem("invalid_weekday", f"{day} must be 0 or 1, not {value!r}.", day,
                              value)
                    break
                days.append(value == "1")
            if len(days) != 7:
                continue
            ok_start, start = t.date("start_date")
            ok_end, end = t.date("end_date")
            if not (ok_start and ok_end) or start is None or end is None:
                continue
            if end < start:
                t.problem("invalid_date_range", "end_date is before start_date.", "end_date")
                continue
            if service_id in seen:
                t.problem("duplicate_key", f"service_id {service_id!r} is defined twice in "
                          "calendar.txt.", "service_id", service_id)
                continue
            seen.add(service_id)
            yield (service_id, *days, start, end)

    def _calendar_dates(self, t: _Table) -> Iterator[tuple]:
        seen: set[tuple[str, date]] = set()
        for _ in t:
            service_id = t.required("service_id")
            ok_date, day = t.date("date")
            ok_type, exception = t.integer("exception_type", required=True, low=1, high=2)
            if service_id is None or not ok_date or day is None or not ok_type:
                continue
            if (service_id, day) in seen:
                t.problem("duplicate_key", f"service {service_id!r} has two exceptions on "
                          f"{day.isoformat()}.", "date", t.get("date"))
                continue
            seen.add((service_id, day))
            yield service_id, day, exception

    def _frequencies_raw(self, t: _Table) -> Iterator[tuple]:
        seen: set[tuple[str, int]] = set()
        for _ in t:
            trip_id = t.required("trip_id")
            start, end = parse_time(t.get("start_time")), parse_time(t.get("end_time"))
            ok, headway = t.integer("headway_secs", required=True, low=1)
            if trip_id is None or not ok or headway is None:
                continue
            if start is None or end is None:
                t.problem("invalid_time", "start_time and end_time must be H:MM:SS times.",
                          "start_time", t.get("start_time"))
                continue
            if end <= start:
                t.problem("invalid_time_range", "end_time is not after start_time.",
                          "end_time", t.get("end_time"))
                continue
            if (trip_id, start) in seen:
                t.problem("duplicate_key", f"trip {trip_id!r} has two frequencies starting at "
                          f"{t.get('start_time')}.", "start_time")
                continue
            seen.add((trip_id, start))
            _, exact = t.integer("exact_times", default=0, low=0, high=1)
            yield trip_id, start, end, headway, exact or 0

    def _trip_batches(self) -> list[Any]:
        """trips as batches: Arrow tables from the fast path, then a list of tuples."""
        t = self._open("trips", fast=self.fast)
        if t is None:
            return []
        frequency_trips = {r[0] for r in self.frequency_rows}
        route_set = pa.array(list(getattr(self, "route_ids", ())), pa.string()) if pa else None
        service_set = pa.array(list(self.services), pa.string()) if pa else None
        batches: list[Any] = list(_fast_blocks(t, _TRIP_FIELDS, lambda columns, n, _: (
            self._fast_trip_block(columns, n, route_set, service_set, frequency_trips))))
        rows = list(self._trips(t))
        if rows:
            batches.append(rows)
        return batches

    def _fast_trip_block(self, columns: dict[str, Any], n: int, route_set: Any,
                         service_set: Any, frequency_trips: set[str]) -> Any:
        """One block of trips as an Arrow table, or None when the row loop must take it."""
        trip, route, service = (_trim(columns[f]) for f in ("trip_id", "route_id",
                                                           "service_id"))
        # Route and service ids are never empty, so these also find empty references.
        if not (pc.all(pc.is_in(route, value_set=route_set)).as_py()
                and pc.all(pc.is_in(service, value_set=service_set)).as_py()):
            return None
        if n and (pc.min(pc.binary_length(trip)).as_py() == 0
                  or pc.count_distinct(trip).as_py() != n):
            return None
        if self.trip_service and pc.any(pc.is_in(trip, value_set=pa.array(
                list(self.trip_service), pa.string()))).as_py():
            return None
        small = [_fast_choice(columns.get(name), n, allowed) for name, allowed in (
            ("direction_id", ("0", "1")), ("wheelchair_accessible", ("0", "1", "2")),
            ("bikes_allowed", ("0", "1", "2")))]
        if any(column is None for column in small):
            return None
        texts = [_null_if_empty(columns[name]) if name in columns else pa.nulls(n, pa.string())
                 for name in ("trip_headsign", "trip_short_name", "block_id", "shape_id")]
        frequency_based = pc.is_in(trip, value_set=pa.array(list(frequency_trips), pa.string()))
        self.trip_service.update(zip(trip.to_pylist(), service.to_pylist(), strict=True))
        return pa.table([trip, route, service, texts[0], texts[1], small[0], texts[2],
                         texts[3], small[1], small[2], frequency_based], names=_TRIP_COLUMNS)

    def _trips(self, t: _Table) -> Iterator[tuple]:
        frequency_trips = {r[0] for r in self.frequency_rows}
        routes = getattr(self, "route_ids", set())
        for _ in t:
            trip_id, route_id, service_id = (t.required("trip_id"), t.required("route_id"),
                                             t.required("service_id"))
            if not (trip_id and route_id and service_id):
                continue
            if trip_id in self.trip_service:
                t.problem("duplicate_key", f"trip_id {trip_id!r} is defined twice.", "trip_id",
                          trip_id)
                continue
            if route_id not in routes:
                t.problem("undefined_route", f"route_id {route_id!r} is not in routes.txt; the "
                          "trip is dropped.", "route_id", route_id)
                continue
            if service_id not in self.services:
                t.problem("undefined_service", f"service_id {service_id!r} is in neither "
                          "calendar.txt nor calendar_dates.txt; the trip is dropped.",
                          "service_id", service_id)
                continue
            _, direction = t.integer("direction_id", low=0, high=1)
            _, wheelchair = t.integer("wheelchair_accessible", low=0, high=2)
            _, bikes = t.integer("bikes_allowed", low=0, high=2)
            self.trip_service[trip_id] = service_id
            yield (trip_id, route_id, service_id, t.opt("trip_headsign"),
                   t.opt("trip_short_name"), direction, t.opt("block_id"), t.opt("shape_id"),
                   wheelchair, bikes, trip_id in frequency_trips)
        for trip_id in sorted(frequency_trips - set(self.trip_service)):
            self.report.error("undefined_trip", f"frequencies.txt names trip {trip_id!r}, "
                              "which is not in trips.txt.", file="frequencies.txt",
                              field="trip_id", value=trip_id)

    def _transfers(self, t: _Table) -> Iterator[tuple]:
        for _ in t:
            from_stop, to_stop = t.required("from_stop_id"), t.required("to_stop_id")
            if not (from_stop and to_stop):
                continue
            missing = next((s for s in (from_stop, to_stop) if s not in self.stop_ids), None)
            if missing is not None:
                t.problem("undefined_stop", f"stop_id {missing!r} is not in stops.txt; the "
                          "transfer is dropped.", "from_stop_id", missing)
                continue
            _, kind = t.integer("transfer_type", default=0, low=0, high=5)
            _, min_time = t.integer("min_transfer_time", low=0)
            yield from_stop, to_stop, kind or 0, min_time

    def _feed_info(self, t: _Table) -> Iterator[tuple]:
        for _ in t:
            _, start = t.date("feed_start_date", required=False)
            _, end = t.date("feed_end_date", required=False)
            yield (t.opt("feed_publisher_name"), t.opt("feed_publisher_url"),
                   t.opt("feed_lang"), start, end, t.opt("feed_version"))

    # -- streamed tables ------------------------------------------------------------------------

    def _stop_time_batches(self, t: _Table) -> Iterator[Any]:
        """stop_times as batches: Arrow tables from the fast path, lists of tuples otherwise.

        The fast path takes the file's blocks while they are clean; from the first block that is
        not, every row goes through ``_stop_times`` with the state the fast path left.
        """
        st = _StopTimeState()
        if t.file.blocks is not None:
            yield from self._fast_stop_times(t, st)
        rows = self._stop_times(t, st)
        while batch := list(itertools.islice(rows, SLOW_BATCH_ROWS)):
            yield batch
        report = self.report
        if st.current is not None and not (st.first[1] and st.last[1]):
            _missing_endpoint(report, st.current)
        trips, used_stops, trips_with_times = (self.trip_service, self.used_stops,
                                               st.trips_with_times)
        unused_trips = len(trips) - len(trips_with_times)
        if unused_trips:
            example = next(iter(sorted(set(trips) - trips_with_times)))
            report.warning("trip_without_stop_times", f"{unused_trips} trip(s) have no stop "
                           f"times, e.g. {example!r}.", file="trips.txt", value=example)
        for stop_id in sorted(self.platform_ids - used_stops)[:50]:
            report.warning("unused_stop", f"Stop {stop_id!r} is served by no trip.",
                           file="stops.txt", field="stop_id", value=stop_id)

    def _stop_times(self, t: _Table, st: _StopTimeState) -> Iterator[tuple]:
        report = self.report
        trips, stops, used_stops = self.trip_service, self.stop_ids, self.used_stops
        seen_pairs = st.seen_pairs
        trips_with_times = st.trips_with_times
        fast_seqs = st.fast_seqs
        idx = t.index
        i_trip, i_stop, i_seq = idx["trip_id"], idx["stop_id"], idx["stop_sequence"]
        i_arr, i_dep = idx.get("arrival_time"), idx.get("departure_time")
        i_head, i_pick, i_drop = (idx.get("stop_headsign"), idx.get("pickup_type"),
                                  idx.get("drop_off_type"))
        i_dist, i_tp = idx.get("shape_dist_traveled"), idx.get("timepoint")
        # Per trip: (sequence, has a time) of its first and last stop, checked at the trip's end.
        current, first, last = st.current, st.first, st.last

        def close_trip() -> None:
            if current is not None and not (first[1] and last[1]):
                _missing_endpoint(report, current)

        width, filename = t.width, t.file.name
        times: dict[str, int | None] = {}  # a feed repeats its times; parse each text once
        small = dict(_SMALL_INTS)
        for line, row in t.file.rows:
            # _Table.__iter__ inlined: this loop runs once per stop time, the hottest in import.
            if len(row) != width:
                t.line = line
                report.warning("extra_row_cells" if len(row) > width else "missing_row_cells",
                               f"Line {line} has {len(row)} cells; the header has {width}.",
                               file=filename, line=line)
                row = (row + [""] * width)[:width] if len(row) < width else row
            trip_id = row[i_trip].strip()
            stop_id = row[i_stop].strip()
            if trip_id not in trips:
                t.line = line
                t.problem("undefined_trip" if trip_id else "missing_required_field",
                          f"trip_id {trip_id!r} is not in trips.txt; the stop time is dropped.",
                          "trip_id", trip_id)
                continue
            if stop_id not in stops:
                t.line = line
                t.problem("undefined_stop" if stop_id else "missing_required_field",
                          f"stop_id {stop_id!r} is not in stops.txt; the stop time is dropped.",
                          "stop_id", stop_id)
                continue
            try:
                sequence = int(row[i_seq])
            except ValueError:
                t.line = line
                t.problem("invalid_integer", f"stop_sequence {row[i_seq]!r} is not an integer.",
                          "stop_sequence", row[i_seq])
                continue
            if sequence < 0:
                t.line = line
                t.problem("negative_stop_sequence", f"stop_sequence {sequence} is negative.",
                          "stop_sequence", sequence)
                continue
            pair = (trip_id, sequence)
            if pair in seen_pairs or (
                    fast_seqs and trip_id in fast_seqs and sequence in fast_seqs[trip_id]):
                t.line = line
                t.problem("duplicate_stop_sequence", f"Trip {trip_id!r} has stop_sequence "
                          f"{sequence} twice; the second is dropped.", "stop_sequence", sequence)
                continue
            seen_pairs.add(pair)
            arr_text = row[i_arr].strip() if i_arr is not None else ""
            dep_text = row[i_dep].strip() if i_dep is not None else ""
            if arr_text:
                arrival = times.get(arr_text, -1)
                if arrival == -1:
                    arrival = times[arr_text] = parse_time(arr_text)
            else:
                arrival = None
            if dep_text == arr_text:
                departure = arrival
            elif dep_text:
                departure = times.get(dep_text, -1)
                if departure == -1:
                    departure = times[dep_text] = parse_time(dep_text)
            else:
                departure = None
            if (arr_text and arrival is None) or (dep_text and departure is None):
                t.line = line
                bad = arr_text if arr_text and arrival is None else dep_text
                t.problem("invalid_time", f"{bad!r} is not an H:MM:SS time.", "arrival_time"
                          if bad == arr_text else "departure_time", bad)
                continue
            # GTFS: both times are required together; a feed giving one means both.
            if arrival is None and departure is not None:
                t.line = line
                t.problem("missing_arrival_time", "arrival_time is empty; departure_time is "
                          "used.", "arrival_time", severity="warning")
                arrival = departure
            elif departure is None and arrival is not None:
                t.line = line
                t.problem("missing_departure_time", "departure_time is empty; arrival_time is "
                          "used.", "departure_time", severity="warning")
                departure = arrival
            if arrival is not None and departure is not None and departure < arrival:
                t.line = line
                t.problem("departure_before_arrival", "departure_time is before arrival_time.",
                          "departure_time", dep_text)
                continue
            has_time = departure is not None
            if trip_id != current:
                close_trip()
                current = trip_id
                first = last = (sequence, has_time)
            else:
                if sequence < first[0]:
                    first = (sequence, has_time)
                if sequence > last[0]:
                    last = (sequence, has_time)
            used_stops.add(stop_id)
            trips_with_times.add(trip_id)
            # Optional small integers: the common texts come from a table, others are parsed.
            pick = small.get(row[i_pick], _ABSENT) if i_pick is not None else None
            if pick is _ABSENT:
                pick = _small_int(row, i_pick)
            drop = small.get(row[i_drop], _ABSENT) if i_drop is not None else None
            if drop is _ABSENT:
                drop = _small_int(row, i_drop)
            point = small.get(row[i_tp], _ABSENT) if i_tp is not None else None
            if point is _ABSENT:
                point = _small_int(row, i_tp)
            yield (trip_id, sequence, stop_id, arrival, departure,
                   (row[i_head].strip() or None) if i_head is not None else None,
                   pick, drop, _float(row, i_dist) if i_dist is not None else None, point)
        st.current, st.first, st.last = current, first, last

    # -- stop_times, vectorised -----------------------------------------------------------------

    def _fast_stop_times(self, t: _Table, st: _StopTimeState) -> Iterator[Any]:
        """Clean blocks of stop_times checked column-wise with Arrow, as Arrow tables.

        A block is taken only when every row passes every check the row loop makes, with
        nothing to report (a trip's missing endpoint time aside, reported the same way at its
        end) and its trips in contiguous runs of rising sequences never seen before; then the
        loop would yield exactly these rows. The first block that does not qualify is given
        back, and it and everything after it go through ``_stop_times``.
        """
        yield from _fast_blocks(t, _FAST_FIELDS, lambda columns, n, _: self._fast_block(
            columns, n, st), self.ahead.pop("stop_times", None))

    def _fast_block(self, columns: dict[str, Any], n: int, st: _StopTimeState) -> Any:
        """One block's stop times as an Arrow table, or None when the row loop must take it."""
        if not n:
            return pa.table({name: pa.array([], pa.type_for_alias(kind))
                             for name, kind in _FAST_SCHEMA})
        trip = _trim(columns["trip_id"])
        stop = _trim(columns["stop_id"])
        # References: the block's distinct ids (a few hundred) looked up in the parse's sets.
        # Both dictionary-encoded: the writer takes its codes from them (no second hashing).
        encoded = _encode_runs(trip)
        names = encoded.dictionary.to_pylist()
        stop = pc.dictionary_encode(stop)
        stops_used = stop.dictionary.to_pylist()
        if not (self.trip_service.keys() >= set(names) and self.stop_ids.issuperset(stops_used)):
            return None
        seq = _fast_sequence(columns["stop_sequence"])
        if seq is None:
            return None
        arrival_text, departure_text = columns.get("arrival_time"), columns.get("departure_time")
        arrival = _fast_times(arrival_text, n)
        if (arrival_text is not None and departure_text is not None
                and pc.all(pc.equal(arrival_text, departure_text)).as_py()):
            departure = arrival  # the usual case: the row loop's dep_text == arr_text
        else:
            departure = _fast_times(departure_text, n)
        if arrival is None or departure is None:
            return None
        if not pc.all(pc.equal(pc.is_valid(arrival), pc.is_valid(departure))).as_py():
            return None  # only one of the two: a warning to report
        if pc.any(pc.less(departure, arrival)).as_py():
            return None
        ints = [_fast_small_int(columns.get(name), n)
                for name in ("pickup_type", "drop_off_type", "timepoint")]
        dist = _fast_float(columns.get("shape_dist_traveled"), n)
        if dist is None or any(i is None for i in ints):
            return None
        # Duplicate (trip, sequence) pairs: within the block and against earlier blocks.
        seqs = seq.to_numpy()
        codes = encoded.indices.to_numpy()
        in_order = _in_order(codes, seqs, len(names))
        if not _take_new_sequences(st.fast_seqs, codes, names, seqs, in_order=in_order):
            return None
        # Runs of rows of one trip (as the row loop sees them): the first and last stop of
        # each, by sequence, must have a time.
        has = pc.is_valid(departure).to_numpy(zero_copy_only=False)
        if in_order:  # a run per trip, in names' order, by rising sequence already
            lows = np.concatenate(([0], np.flatnonzero(codes[1:] != codes[:-1]) + 1))
            highs = np.append(lows[1:] - 1, n - 1)
            run_trips = names
        else:
            run_id = np.concatenate(([0], np.cumsum(codes[1:] != codes[:-1])))
            by_run = np.argsort((run_id.astype(np.int64) << 32) | seqs.astype(np.int64),
                                kind="stable")
            run_sorted = run_id[by_run]
            edges = np.flatnonzero(run_sorted[1:] != run_sorted[:-1])
            lows = by_run[np.concatenate(([0], edges + 1))]
            highs = by_run[np.append(edges, n - 1)]
            run_trips = [names[c] for c in codes[lows].tolist()]
        has_low, has_high = has[lows], has[highs]
        first = 0
        if run_trips[0] == st.current:  # only the first run can go on with the open trip
            low, high = (int(seqs[lows[0]]), bool(has_low[0])), (int(seqs[highs[0]]),
                                                                   bool(has_high[0]))
            st.first = min(st.first, low, key=lambda pair: pair[0])
            st.last = max(st.last, high, key=lambda pair: pair[0])
            first = 1
        if first < len(run_trips):
            if st.current is not None and not (st.first[1] and st.last[1]):
                _missing_endpoint(self.report, st.current)
            # Runs that end inside the block are checked now; the last one stays open.
            missing = ~(has_low & has_high)
            missing[:first] = False
            missing[-1] = False
            for i in np.flatnonzero(missing).tolist():
                _missing_endpoint(self.report, run_trips[i])
            st.current = run_trips[-1]
            st.first = (int(seqs[lows[-1]]), bool(has_low[-1]))
            st.last = (int(seqs[highs[-1]]), bool(has_high[-1]))
        st.trips_with_times.update(names)
        self.used_stops.update(stops_used)
        head = columns.get("stop_headsign")
        head = pa.nulls(n, pa.string()) if head is None else _null_if_empty(head)
        return pa.table([encoded, seq, stop, arrival, departure, head, ints[0], ints[1], dist,
                         ints[2]], names=[name for name, _ in _FAST_SCHEMA])


    def _shape_batches(self) -> Iterator[Any]:
        """shapes as batches: Arrow tables from the fast path, then lists of tuples."""
        t = self._open("shapes", fast=self.fast)
        if t is None:
            return
        taken: dict[str, range | frozenset[int]] = {}
        yield from _fast_blocks(t, _SHAPE_FIELDS,
                                lambda columns, n, _: _fast_shape_block(columns, n, taken))
        rows = self._shapes(t, taken)
        while batch := list(itertools.islice(rows, SLOW_BATCH_ROWS)):
            yield batch

    def _shapes(self, t: _Table, taken: Mapping[str, range | frozenset[int]]
                ) -> Iterator[tuple]:
        """The row loop; ``taken``: the points the fast path took before it (never repeated)."""
        seen: set[tuple[str, int]] = set()
        for _ in t:
            shape_id = t.required("shape_id")
            ok_seq, sequence = t.integer("shape_pt_sequence", required=True, low=0)
            ok_lat, lat = t.real("shape_pt_lat", -90, 90, required=True)
            ok_lon, lon = t.real("shape_pt_lon", -180, 180, required=True)
            if not (shape_id and ok_seq and ok_lat and ok_lon) or sequence is None:
                continue
            if (shape_id, sequence) in seen or (
                    shape_id in taken and sequence in taken[shape_id]):
                t.problem("duplicate_key", f"Shape {shape_id!r} has point {sequence} twice.",
                          "shape_pt_sequence", sequence)
                continue
            seen.add((shape_id, sequence))
            _, dist = t.real("shape_dist_traveled", 0, float("inf"))
            yield shape_id, sequence, lat, lon, dist


def _warn_stops_too_close(rows: list[tuple], report: ValidationReport) -> None:
    """Two separate stops (no parent station) within 2 m are almost always one stop twice.

    Reported for each stop with the earlier ones close to it, in file order. The pairs are
    found column-wise: the stops sorted by latitude, each paired with those less than 2 m
    further north, then measured (equirectangular distance at the later stop's latitude:
    exact enough at 2 m).
    """
    stops = [(i, row[4], row[5]) for i, row in enumerate(rows)
             if row[7] == 0 and row[8] is None and row[4] is not None and row[5] is not None]
    if len(stops) < 2:
        return
    position, lat, lon = (np.array(column) for column in zip(*stops, strict=True))
    by_lat = np.argsort(lat, kind="stable")
    sorted_lat = lat[by_lat]
    reach = np.searchsorted(sorted_lat, sorted_lat + 2.0 / 111_195.0, side="right")
    partners = reach - np.arange(len(stops)) - 1
    total = int(partners.sum())
    if not total:
        return
    first = np.repeat(np.arange(len(stops)), partners)
    second = first + 1 + np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners)
    a, b = by_lat[first], by_lat[second]
    later, earlier = np.maximum(a, b), np.minimum(a, b)
    dy = (lat[later] - lat[earlier]) * 111_195.0
    dx = (lon[later] - lon[earlier]) * 111_195.0 * np.cos(np.radians(lat[later]))
    close = dx * dx + dy * dy < 4.0
    for j, i in sorted(zip(later[close].tolist(), earlier[close].tolist(), strict=True)):
        row, other = rows[position[j]], rows[position[i]]
        report.warning("stops_too_close", f"Stops {other[0]!r} and {row[0]!r} are less than "
                       "2 m apart.", file="stops.txt", line=row[12], field="stop_id",
                       value=row[0])


_ABSENT = object()
# The texts optional small integer fields hold almost always, with what _small_int makes of them.
_SMALL_INTS: dict[str, int | None] = {"": None, **{str(n): n for n in range(10)}}


def _small_int(row: list[str], i: int | None) -> int | None:
    if i is None:
        return None
    value = row[i].strip()
    return int(value) if value.isdigit() else None


def _float(row: list[str], i: int | None) -> float | None:
    if i is None:
        return None
    value = row[i].strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _service_range(calendar: list[tuple], calendar_dates: list[tuple]
                   ) -> tuple[date, date] | None:
    """First and last day any service runs (calendar ranges and added dates)."""
    days = [r[8] for r in calendar] + [r[9] for r in calendar]
    days += [r[1] for r in calendar_dates if r[2] == 1]
    return (min(days), max(days)) if days else None


_FAST_FIELDS = ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence",
                "stop_headsign", "pickup_type", "drop_off_type", "shape_dist_traveled",
                "timepoint")
_STOP_FIELDS = ("stop_id", "stop_code", "stop_name", "stop_desc", "stop_lat", "stop_lon",
                "zone_id", "location_type", "parent_station", "stop_timezone",
                "wheelchair_boarding", "platform_code")
_SHAPE_FIELDS = ("shape_id", "shape_pt_sequence", "shape_pt_lat", "shape_pt_lon",
                 "shape_dist_traveled")
_SHAPE_COLUMNS = ["shape_id", "sequence", "lat", "lon", "dist_traveled"]
_TRIP_FIELDS = ("trip_id", "route_id", "service_id", "trip_headsign", "trip_short_name",
                "direction_id", "block_id", "shape_id", "wheelchair_accessible", "bikes_allowed")
_TRIP_COLUMNS = ["trip_id", "route_id", "service_id", "headsign", "short_name", "direction_id",
                 "block_id", "shape_id", "wheelchair_accessible", "bikes_allowed",
                 "frequency_based"]
_FAST_SCHEMA = [("trip_id", "string"), ("stop_sequence", "int32"), ("stop_id", "string"),
                ("arrival_secs", "int32"), ("departure_secs", "int32"),
                ("stop_headsign", "string"), ("pickup_type", "int16"),
                ("drop_off_type", "int16"), ("shape_dist_traveled", "float64"),
                ("timepoint", "int16")]
# What str.strip() strips: every character Python counts as whitespace.
# (tests/providers/gtfs/test_fast_stop_times.py checks it against str.isspace).
_PY_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003"
                  "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_FAST_TIME = r"^[0-9]{1,3}:[0-5][0-9]:[0-5][0-9]$"
# Texts made of these only are numbers to Arrow exactly when they are to float(), same value.
_FLOAT_BYTES = b"0123456789.+-eE"
# Bytes that may begin or end a value _trim would change: all but printable ASCII.
_UNPRINTABLE = np.ones(256, bool) if pa is not None else None
if _UNPRINTABLE is not None:
    _UNPRINTABLE[33:128] = False
SLOW_BATCH_ROWS = 10_000


def _trim(column: Any) -> Any:
    """``str.strip()`` column-wise; the column itself when no value needs it."""
    layout = _text_layout(column) if isinstance(column, pa.Array) else None
    if layout is not None:
        # Whitespace can only start or end a value at a byte outside printable ASCII ("!" to
        # DEL; a non-ASCII character's first and last bytes are 0x80 or above): when no
        # value's first or last byte is, trimming changes nothing and is skipped.
        # An empty value reads a neighbour's byte instead: at worst a needless trim.
        offsets, data = layout
        values = data[offsets[0]:offsets[-1]]
        if not len(values) or (values.min() > 32 and values.max() < 128):
            return column  # no whitespace byte at all (ids, as a rule): two quick passes
        if not (_UNPRINTABLE[data.take(offsets[:-1], mode="clip")].any()
                or _UNPRINTABLE[data.take(offsets[1:] - 1, mode="clip")].any()):
            return column
    return pc.utf8_trim(column, characters=_PY_WHITESPACE)


def _text_layout(column: Any) -> tuple[Any, Any] | None:
    """(byte offsets of the values, their bytes) of a string array without nulls, else None."""
    if column.null_count or column.type != pa.string():
        return None
    buffers = column.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[column.offset:column.offset + len(column)
                                                         + 1]
    data = (np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None
            else np.zeros(0, np.uint8))
    return offsets, data


def _digits_times(column: Any) -> Any:
    """``_fast_times`` straight from the bytes when every text is empty, H:MM:SS or HH:MM:SS.

    None when any is not (other lengths, spaces, three-digit hours): the text path decides.
    Each value's last eight bytes are read as one 64-bit word and checked and converted a
    byte lane at a time (SWAR), a few whole-array operations instead of a regex.
    """
    layout = _text_layout(column)
    if layout is None:
        return None
    offsets, data = layout
    lengths = np.diff(offsets)
    if (offsets[-1] - offsets[0] == 8 * len(lengths)) and lengths.max(initial=0) <= 8:
        # Every text eight bytes long (the usual case, HH:MM:SS throughout; none longer, so
        # none shorter): the words are the data itself, read in place.
        return _times_of_words(data[offsets[0]:offsets[-1]].view("<u8"), None)
    empty = lengths == 0
    long = lengths == 8
    if not np.all(empty | long | (lengths == 7)):
        return None
    full = ~empty
    ends = offsets[1:][full]
    if not len(ends):
        return pa.array(np.zeros(len(lengths), np.int32), mask=empty)
    # Words at every byte offset of the data (one "0" in front, for a first value of 7).
    padded = np.empty(len(data) + 1, np.uint8)
    padded[0] = 0x30
    padded[1:] = data
    words = np.ndarray((len(padded) - 7,), "<u8", padded, 0, (1,))[ends - 7]
    short = ~long[full]
    if short.any():  # "H:MM:SS": the byte before it becomes the hours' leading "0"
        words[short] = (words[short] & ~np.uint64(0xFF)) | np.uint64(0x30)
    return _times_of_words(words, (full, empty))


def _times_of_words(words: Any, gaps: tuple[Any, Any] | None) -> Any:
    """Seconds of ``HH:MM:SS`` words (``_digits_times``), None when one is anything else.

    ``gaps``: when some texts are empty, (the texts that have a word, the empty ones: null).
    """
    # Digits become 0-9 and colons 0; a lane past its limit (9, 5 for the tens of minutes
    # and seconds, 0 for a colon) sets its high bit when its limit complement is added (no
    # lane carries into the next unless its own high bit was set already).
    lanes = words ^ _TIME_PATTERN
    if ((lanes | (lanes + _TIME_LIMITS)) & _HIGH_BITS).any():
        return None
    pairs = lanes * np.uint64(10) + (lanes >> np.uint64(8))  # tens * 10 + units, per lane
    secs = ((pairs & np.uint64(0xFF)) * np.uint64(3600)
            + ((pairs >> np.uint64(24)) & np.uint64(0xFF)) * np.uint64(60)
            + ((pairs >> np.uint64(48)) & np.uint64(0xFF))).astype(np.int32)
    if gaps is None:
        return pa.array(secs)
    full, empty = gaps
    every = np.zeros(len(full), np.int32)
    every[full] = secs
    return pa.array(every, mask=empty)


# "HH:MM:SS" as a little-endian word; per lane, what takes 9 (a digit), 5 (a tens of minutes
# or seconds) or 0 (a colon) to 0x7F; and every lane's high bit.
_TIME_PATTERN = np.frombuffer(b"00:00:00", "<u8")[0]
_TIME_LIMITS = np.frombuffer(bytes([0x76, 0x76, 0x7F, 0x7A, 0x76, 0x7F, 0x7A, 0x76]), "<u8")[0]
_HIGH_BITS = np.uint64(0x8080808080808080)


def _fast_times(column: Any, n: int) -> Any:
    """Seconds of ``H:MM:SS`` texts (null when empty); None when one is anything else."""
    if column is None:
        return pa.nulls(n, pa.int32())
    quick = _digits_times(column)
    if quick is not None:
        return quick
    encoded = pc.dictionary_encode(_trim(column))
    texts = encoded.dictionary
    empty = pc.equal(pc.binary_length(texts), 0)
    if not pc.all(pc.or_(empty, pc.match_substring_regex(texts, _FAST_TIME))).as_py():
        return None
    texts = pc.if_else(empty, "0:00:00", texts)
    hours, minutes, seconds = (pc.cast(pc.utf8_slice_codeunits(texts, a, b), pa.int32())
                               for a, b in ((0, -6), (-5, -3), (-2, 1 << 30)))
    secs = pc.add(pc.add(pc.multiply(hours, 3600), pc.multiply(minutes, 60)), seconds)
    secs = pc.if_else(empty, pa.scalar(None, pa.int32()), secs)
    return pc.take(secs, encoded.indices)


def _fast_sequence(column: Any) -> Any:
    """Texts of one to nine ASCII digits (a sequence number) as int32; None when one is not.

    Checked on the bytes: one pass over them, instead of Arrow's per-value ``ascii_is_decimal``.
    """
    layout = _text_layout(column)
    if layout is None:
        if not (pc.all(pc.ascii_is_decimal(column)).as_py() is not False
                and (pc.max(pc.binary_length(column)).as_py() or 0) <= 9):
            return None
    else:
        offsets, data = layout
        lengths = np.diff(offsets)
        if len(lengths) and (lengths.min() < 1 or lengths.max() > 9):
            return None
        if np.any(data[offsets[0]:offsets[-1]] - np.uint8(48) > 9):
            return None
    return pc.cast(column, pa.int32())


def _fast_small_int(column: Any, n: int) -> Any:
    """``_small_int`` column-wise: digits as numbers, other ASCII as null; None otherwise."""
    if column is None:
        return pa.nulls(n, pa.int16())
    layout = _text_layout(column)
    if layout is not None and len(layout[0]) > 1 and layout[0][-1] - layout[0][0] <= n:
        # The usual case: every text one character (or none); a digit is its value, any
        # other character (a space) null, as _small_int makes of it.
        offsets, data = layout
        if offsets[-1] - offsets[0] == n:  # one character each: the bytes in a row
            values = data[offsets[0]:offsets[-1]].astype(np.int16) - 48
            bad = (values < 0) | (values > 9)
            return pa.array(values, mask=bad if bad.any() else None)
        if np.all(np.diff(offsets) <= 1):
            one = np.diff(offsets) == 1
            values = np.full(len(one), -1, np.int16)
            values[one] = data[offsets[:-1][one]].astype(np.int16) - 48
            bad = (values < 0) | (values > 9)
            return pa.array(values, mask=bad)
    text = _trim(column)
    digits = pc.ascii_is_decimal(text)
    if not pc.all(pc.or_(pc.invert(digits), pc.less_equal(pc.binary_length(text), 4))
                  ).as_py():
        return None
    if not pc.all(pc.string_is_ascii(text)).as_py():
        return None  # str.isdigit() knows other digits
    text = pc.if_else(digits, text, pa.scalar(None, pa.string()))
    return pc.cast(text, pa.int16())


def _fast_float(column: Any, n: int) -> Any:
    """``_float`` column-wise (empty is null); None when a text needs the row loop."""
    if column is None:
        return pa.nulls(n, pa.float64())
    text = _trim(column)
    buffer = text.buffers()[2]
    if buffer is not None:
        offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)
        lo, hi = int(offsets[text.offset]), int(offsets[text.offset + len(text)])
        if memoryview(buffer)[lo:hi].tobytes().translate(None, _FLOAT_BYTES):
            return None
    return pc.cast(_empty_as_null(text), pa.float64())


def _fast_blocks(t: _Table, fields: tuple[str, ...],
                 check: Callable[[dict[str, Any], int, tuple[int, bytes, int]], Any],
                 ahead: _ReadAhead | None = None) -> Iterator[Any]:
    """The file's clean blocks parsed by Arrow, each turned into a batch by ``check``.

    ``check`` gets the block's columns (those of ``fields`` the file has, as text), its row
    count and the block (first line, bytes, lines), and returns a batch (an Arrow table, or a
    list of tuples), or None when the block holds anything the row loop
    would report or treat specially. That block and those read after it are given back
    (``ByteBlocks.give_back``) and the iteration stops: the row loop reads on from it. ``check``
    changes the parse's state only once it has decided to take the block. ``ahead``: the
    file's reader, started already (``_ReadAhead``); else one starts here.
    """
    blocks = t.file.blocks
    if blocks is None:
        return
    names = _column_names(t)
    # The blocks are inflated and parsed (both without the GIL) on the reader's thread while
    # they are checked here.
    reader = ahead if ahead is not None else _ReadAhead(_block_reader(t, fields))
    try:
        while (got := reader.take()) is not None:
            taken, table = got
            batch = None
            if table is not None:
                try:
                    columns = {f: _one_array(table.column(names[t.index[f]]))
                               for f in fields if f in t.index}
                    batch = check(columns, table.num_rows, taken)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    batch = None
            if batch is None:  # the row loop reads on from this block (and those read after)
                for block in reversed([taken, *(later[0] for later in reader.stop())]):
                    blocks.give_back(*block)
                return
            if len(batch):
                yield batch
    finally:
        reader.close()


def _column_names(t: _Table) -> list[str]:
    return [f"c{i}" for i in range(t.width)]


def _block_reader(t: _Table, fields: tuple[str, ...]
                  ) -> Callable[[], tuple[tuple[int, bytes, int], Any] | None]:
    """A function that reads the file's next block (``ByteBlocks.next_block``) and parses it
    with Arrow: (the block, its table of the ``fields`` the file has, as text, or None when
    Arrow cannot read it), or None when no clean block is left."""
    blocks = t.file.blocks
    if blocks is None:
        raise ValueError(f"{t.file.name} was not opened for the fast path")
    names = _column_names(t)
    used = sorted({t.index[f] for f in fields if f in t.index})
    plain = pacsv.ParseOptions(quote_char=False, newlines_in_values=False,
                               ignore_empty_lines=True)
    # Quoted fields read exactly as csv.reader reads them (a quote inside an unquoted field is
    # text, "" inside a quoted one is a quote, text after the closing quote is kept).
    quoted = pacsv.ParseOptions(quote_char='"', double_quote=True, newlines_in_values=True,
                                ignore_empty_lines=True)
    convert_options = pacsv.ConvertOptions(
        include_columns=[names[i] for i in used],
        column_types={names[i]: pa.string() for i in used}, strings_can_be_null=False,
        check_utf8=False)

    def read(block: bytes) -> Any:
        try:
            return pacsv.read_csv(
                pa.py_buffer(block),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False,
                                               block_size=len(block) + 1),
                parse_options=quoted if b'"' in block else plain,
                convert_options=convert_options)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # Arrow cannot read this block: the row loop reads it and reports why

    def fetch() -> tuple[tuple[int, bytes, int], Any] | None:
        taken = blocks.next_block()
        return None if taken is None else (taken, read(taken[1]))

    return fetch


# Blocks a file's reader keeps read ahead of its consumer at most (2 MiB each, and their
# Arrow columns).
READ_AHEAD_BLOCKS = 6
# How long a reader with ``READ_AHEAD_BLOCKS`` waiting waits for its consumer before it pauses
# (the next ``take`` resumes it).
READ_AHEAD_IDLE_SECONDS = 1.0


class _ReadAhead:
    """A big file's blocks read (inflated and parsed by Arrow) on a thread of their own, in
    order, at most ``most`` ahead of the consumer (``take``).

    stop_times' reader starts before the feed's small tables are parsed, on the other core.
    Until its consumer first takes a block, it reads ``most`` blocks and pauses (its thread
    ends), so a feed rejected before the file is read leaves no thread behind; a ``take``
    resumes it. From then on it reads without waiting for the consumer to ask for
    each block, as long as fewer than ``most`` are waiting: a reader that only read the next
    block when asked sat idle while the consumer checked one (NYC subway: 20 ms of gaps).
    A read that fails hands its error over in its turn. The consumer ends it with ``stop``
    (the blocks read and not taken, to give back) or ``close``.
    """

    def __init__(self, fetch: Callable[[], Any], most: int = READ_AHEAD_BLOCKS,
                 idle: float = READ_AHEAD_IDLE_SECONDS) -> None:
        self.fetch = fetch
        self.most, self.idle = most, idle
        self._read: collections.deque[tuple[Any, BaseException | None]] = collections.deque()
        self._changed = threading.Condition()
        self._claimed = self._stopping = self._ended = False
        self._running = True
        self._thread = self._start()

    def _start(self) -> threading.Thread:
        # Not a daemon: a process ending meanwhile waits for the block being read rather than
        # stopping it inside Arrow or the inflater.
        thread = threading.Thread(target=self._run, name="gtfs-read-ahead")
        thread.start()
        return thread

    def _run(self) -> None:
        changed = self._changed
        while True:
            with changed:
                while len(self._read) >= self.most and self._claimed and not self._stopping:
                    if not changed.wait(self.idle):
                        break
                # Stopped; or full and unclaimed, or no block taken for ``idle`` seconds: a
                # consumer gone without ``close`` (its generator not collected yet, say) must
                # not leave a thread waiting for ever (the process would wait for it at exit).
                if self._stopping or len(self._read) >= self.most:
                    self._running = False
                    return
            try:
                got, error = self.fetch(), None
            except BaseException as exc:  # raised again by ``take``, in its turn
                got, error = None, exc
            with changed:
                self._read.append((got, error))
                self._ended = got is None or error is not None
                changed.notify_all()
                if self._ended:
                    self._running = False
                    return

    def take(self) -> Any:
        """The next block (waiting for it), or None at the end of the file."""
        with self._changed:
            self._claimed = True
            if not self._running and not self._ended and not self._stopping:
                self._running = True  # paused: resumed
                self._thread = self._start()
            while not self._read:
                self._changed.wait()
            got, error = self._read.popleft()
            self._changed.notify_all()
        if error is not None:
            raise error
        return got

    def stop(self) -> list[Any]:
        """End the reading after the block being read; return the blocks read and not taken,
        in order (a failed read among them raises its error)."""
        self.close()
        left, self._read = list(self._read), collections.deque()
        blocks = []
        for got, error in left:
            if error is not None:
                raise error
            if got is None:
                break
            blocks.append(got)
        return blocks

    def close(self) -> None:
        """End the reading after the block being read (and wait for it)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            thread = self._thread
        thread.join()


def _encode_runs(column: Any) -> Any:
    """``pc.dictionary_encode`` of a column whose equal values come in runs (stop_times' trip
    ids, each trip's rows together): only the runs' first values are hashed, a thirtieth of
    them on NYC subway, and the codes repeated over each run."""
    runs = pc.run_end_encode(column)
    heads = pc.dictionary_encode(runs.values)
    lengths = np.diff(runs.run_ends.to_numpy(), prepend=0)
    return pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(heads.indices.to_numpy(), lengths)), heads.dictionary)


def _one_array(column: Any) -> Any:
    """A chunked column as one array (without a copy when it is one chunk, as it is here)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _in_order(codes: Any, seqs: Any, n_names: int) -> bool:
    """Whether the rows come by (id, sequence) with no pair twice, each id's rows together by
    rising sequence (the usual block), and the codes run 0, 1, … ``n_names - 1`` (each of the
    ``n_names`` ids in the order first seen): then nothing needs sorting, and the groups of
    rows are the ids in code order."""
    if not len(codes):
        return n_names == 0
    key = (codes.astype(np.int64) << 32) | seqs.astype(np.int64)
    return bool(codes[0] == 0 and np.all(key[1:] > key[:-1])
                and np.count_nonzero(codes[1:] != codes[:-1]) + 1 == n_names)


def _take_new_sequences(taken: dict[str, range | frozenset[int]], codes: Any, names: list[str],
                        seqs: Any, *, in_order: bool | None = None) -> bool:
    """Record a block's (id, sequence) pairs in ``taken``; False (nothing recorded) on a repeat.

    ``codes`` index ``names`` (the ids, in the order first seen); a repeat is a pair twice in
    the block or one an earlier block took. Per id, ``taken`` keeps a range while its sequences
    are consecutive. ``in_order``: ``_in_order(codes, seqs, len(names))``, if the caller has it.
    """
    n = len(seqs)
    if not n:
        return True
    if in_order is None:
        in_order = _in_order(codes, seqs, len(names))
    if in_order:  # no sort, no repeat within the block, one group per id in names' order
        codes_sorted, seqs_sorted = codes, seqs
        starts = np.concatenate(([0], np.flatnonzero(codes[1:] != codes[:-1]) + 1))
        keys = names
    else:
        # Sorted by (id, sequence), stably: one key, so a merge sort's single pass when the
        # block is nearly in order.
        order = np.argsort((codes.astype(np.int64) << 32) | seqs.astype(np.int64),
                           kind="stable")
        codes_sorted, seqs_sorted = codes[order], seqs[order]
        same = codes_sorted[1:] == codes_sorted[:-1]
        if np.any(same & (seqs_sorted[1:] == seqs_sorted[:-1])):
            return False
        starts = np.concatenate(([0], np.flatnonzero(~same) + 1))
        keys = [names[c] for c in codes_sorted[starts].tolist()]
    ends = np.append(starts[1:], n)
    lows, highs = seqs_sorted[starts], seqs_sorted[ends - 1]
    # Ids earlier blocks took too: usually just the one that spans the block boundary. (Looked
    # up one by one: ``taken.keys() & keys`` would copy every id taken so far, block after block.)
    again = np.flatnonzero(np.fromiter(map(taken.__contains__, keys), bool, len(keys)))
    befores = [(i, taken[keys[i]]) for i in again.tolist()]
    for i, before in befores:
        g0, g1 = starts[i], ends[i]
        if isinstance(before, range):
            if (highs[i] >= before.start and lows[i] < before.stop
                    and np.any((seqs_sorted[g0:g1] >= before.start)
                               & (seqs_sorted[g0:g1] < before.stop))):
                return False
        elif not before.isdisjoint(seqs_sorted[g0:g1].tolist()):
            return False
    # Every id as a range first (in C), then the few that are not one put right.
    taken.update(zip(keys, map(range, lows.tolist(), (highs + 1).tolist()), strict=True))
    consecutive = highs - lows == ends - starts - 1
    scattered = ~consecutive
    scattered[again] = False
    for i in np.flatnonzero(scattered).tolist():
        taken[keys[i]] = frozenset(seqs_sorted[starts[i]:ends[i]].tolist())
    for i, before in befores:
        lo, hi = int(lows[i]), int(highs[i])
        if consecutive[i] and isinstance(before, range) and before.stop == lo:
            taken[keys[i]] = range(before.start, hi + 1)
        else:
            taken[keys[i]] = frozenset(before) | frozenset(seqs_sorted[starts[i]:ends[i]].tolist())
    return True


def _null_if_empty(text: Any) -> Any:
    """Trimmed text with empty values as null (``_Table.opt`` column-wise)."""
    return _empty_as_null(_trim(text))


def _empty_as_null(text: Any) -> Any:
    """The texts with the empty ones null.

    A text array without nulls gets a validity bitmap over its own buffers (no copy of the
    texts, as ``if_else`` makes); the array itself when none is empty.
    """
    layout = _text_layout(text) if text.offset == 0 else None
    if layout is None:
        return pc.if_else(pc.equal(pc.binary_length(text), 0), pa.scalar(None, pa.string()),
                          text)
    present = np.diff(layout[0]) != 0
    if present.all():
        return text
    _, offsets, data = text.buffers()
    return pa.Array.from_buffers(pa.string(), len(text), [
        pa.py_buffer(np.packbits(present, bitorder="little")), offsets, data])


def _fast_choice(column: Any, n: int, allowed: tuple[str, ...]) -> Any:
    """An optional small integer limited to ``allowed`` texts (empty is null); None otherwise."""
    if column is None:
        return pa.nulls(n, pa.int16())
    text = _trim(column)
    if not pc.all(pc.is_in(text, value_set=pa.array(("", *allowed)))).as_py():
        return None
    return pc.cast(_empty_as_null(text), pa.int16())


def _fast_shape_block(columns: dict[str, Any], n: int,
                      taken: dict[str, range | frozenset[int]]) -> Any:
    """One block of shapes as an Arrow table, or None when the row loop must take it."""
    shape = _trim(columns["shape_id"])
    if n and pc.min(pc.binary_length(shape)).as_py() == 0:
        return None
    seq = _fast_sequence(_trim(columns["shape_pt_sequence"]))
    if seq is None:
        return None
    lat, lon = _fast_float(columns["shape_pt_lat"], n), _fast_float(columns["shape_pt_lon"], n)
    dist = _fast_float(columns.get("shape_dist_traveled"), n)
    if lat is None or lon is None or dist is None or lat.null_count or lon.null_count:
        return None
    if n and not (pc.min(lat).as_py() >= -90 and pc.max(lat).as_py() <= 90
                  and pc.min(lon).as_py() >= -180 and pc.max(lon).as_py() <= 180):
        return None
    if dist.null_count < n and pc.min(dist).as_py() < 0:
        return None
    encoded = pc.dictionary_encode(shape)
    if not _take_new_sequences(taken, encoded.indices.to_numpy(),
                               encoded.dictionary.to_pylist(), seq.to_numpy()):
        return None
    return pa.table([encoded, seq, lat, lon, dist], names=_SHAPE_COLUMNS)


def _missing_endpoint(report: ValidationReport, trip_id: str) -> None:
    report.error("missing_endpoint_time", f"Trip {trip_id!r} has no time at its first or last "
                 "stop.", file="stop_times.txt", field="arrival_time", value=trip_id)


class _StopTimeState:
    """Where the stop_times parse stands, handed from the fast path to the row loop."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.first: tuple[int, bool] = (0, True)
        self.last: tuple[int, bool] = (0, True)
        self.seen_pairs: set[tuple[str, int]] = set()
        self.trips_with_times: set[str] = set()
        # Sequences per trip taken by the fast path (a range when consecutive).
        self.fast_seqs: dict[str, range | frozenset[int]] = {}


class BatchRecords:
    """Records in batches: tuples when iterated; ``batches()`` for bulk writers.

    A batch is an Arrow table (a fast path; columns as in ``RECORD_TABLES``) or a list of
    tuples. Built from an iterator it is single use, like the iterator it stands for; built
    from a list (the eager trips) it can be read again.
    """

    def __init__(self, batches: Iterable[Any]) -> None:
        self._batches = batches

    def batches(self) -> Iterator[Any]:
        return iter(self._batches)

    def __iter__(self) -> Iterator[tuple]:
        for batch in self.batches():
            if isinstance(batch, list):
                yield from batch
            else:
                yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


# The name the stop_times tests know it by.
StopTimeRecords = BatchRecords
