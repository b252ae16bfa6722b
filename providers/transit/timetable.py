"""Compact timetables: trips grouped into stop patterns, stop times packed as little-endian arrays.

A GTFS feed repeats the same few stop sequences thousands of times (HART: 13,217 trips over 124
patterns), so storing one SQL row per stop time (and indexing each) costs far more than the
timetable holds. As trip planners do (OpenTripPlanner's TripPattern/TripTimes, MOTIS), trips
with the same stops in the same order, with the same stop_sequence numbers, pickup/drop-off
types and stop headsigns share a *pattern*; per pattern stop, the departures of all its trips
are one sorted array, and per trip, its arrival and departure times are two arrays (one value
per pattern stop).

The builders here take the adapter's batches (Arrow tables or lists of tuples, the record
shapes of ``providers.transit.records``) and keep only numpy columns (ints, dictionary-encoded
ids: about 35 bytes per stop time), never a Python object per stop time. Packed formats (all
little-endian, documented on the models in ``providers.transit.models``):

- times: ``<i4`` seconds since "noon minus 12h" of the service day; ``-1`` is "no time";
- trip and service indexes: ``<i4``;
- ``shape_dist_traveled`` and shape coordinates: ``<f8``, NaN is "no value";
- timepoints: ``<i4``, ``-1`` is "not given".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

TIME = np.dtype("<i4")
INDEX = np.dtype("<i4")
REAL = np.dtype("<f8")
SMALL = np.dtype("<i4")
NO_TIME = -1


def unpack_times(data: bytes | None) -> list[int | None]:
    """A packed time array as Python values (None for "no time")."""
    if not data:
        return []
    return [None if v < 0 else v for v in np.frombuffer(data, TIME).tolist()]


def unpack_reals(data: bytes | None, n: int) -> list[float | None]:
    """A packed float array (None for NaN); ``n`` Nones when the array was not stored."""
    if data is None:
        return [None] * n
    return [None if v != v else v for v in np.frombuffer(data, REAL).tolist()]


def unpack_small(data: bytes | None, n: int) -> list[int | None]:
    """A packed small-integer array (None for -1); ``n`` Nones when it was not stored."""
    if data is None:
        return [None] * n
    return [None if v < 0 else v for v in np.frombuffer(data, SMALL).tolist()]


class _Codes:
    """Strings to dense integer codes, growing as new strings are seen (``-1`` is null)."""

    def __init__(self, known: Sequence[str] = (), *, grow: bool = True) -> None:
        self.index = {value: i for i, value in enumerate(known)}
        self.values = list(known)
        self.grow = grow

    def code(self, value: str | None) -> int:
        if value is None:
            return -1
        found = self.index.get(value)
        if found is None:
            if not self.grow:
                return -1
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found

    def column(self, column: Any) -> np.ndarray:
        """Codes of an Arrow string column (dictionary-encoded first: few distinct values)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if column.null_count == len(column):
            return np.full(len(column), -1, np.int32)
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        lookup = np.array([self.code(v) for v in encoded.dictionary.to_pylist()] + [-1],
                          np.int32)
        indices = pc.fill_null(encoded.indices, len(lookup) - 1)
        return lookup[np.asarray(indices)]


def _ints(column: Any, fill: int, dtype: Any) -> np.ndarray:
    import pyarrow.compute as pc

    if column.null_count:
        column = pc.fill_null(column, fill)
    return np.asarray(column).astype(dtype, copy=False)


@dataclass
class PatternStop:
    """One stop of a pattern with its departures (sorted), as stored in transit_pattern_stop."""

    pattern_id: int
    position: int
    stop_id: str
    stop_sequence: int
    pickup_type: int | None
    drop_off_type: int | None
    stop_headsign: str | None
    departure_secs: bytes
    trip_indexes: bytes
    service_indexes: bytes


@dataclass
class TripTimes:
    """A trip's pattern and packed times (one value per pattern stop)."""

    pattern_id: int
    arrival_secs: bytes
    departure_secs: bytes
    shape_dist_traveled: bytes | None
    timepoints: bytes | None


class TimetableBuilder:
    """Collects stop_times batches as numpy columns, then groups them into patterns."""

    def __init__(self, trip_ids: Sequence[str], trip_services: Sequence[int]) -> None:
        # trip_services: each trip's service index (see ``service_indexes``).
        self.trips = _Codes(trip_ids, grow=False)
        self.trip_services = np.asarray(trip_services, INDEX)
        self.stops = _Codes()
        self.headsigns = _Codes()
        self.columns: list[list[np.ndarray]] = [[] for _ in range(10)]
        self.count = 0

    def add(self, batch: Any) -> None:
        """One batch of stop_times records: an Arrow table or a list of tuples."""
        if isinstance(batch, list):
            if not batch:
                return
            trip, seq, stop, arr, dep, head, pick, drop, dist, point = zip(*batch, strict=True)
            columns = [
                np.fromiter(map(self.trips.code, trip), np.int32, len(batch)),
                np.asarray(seq, np.int32),
                np.fromiter(map(self.stops.code, stop), np.int32, len(batch)),
                np.array([NO_TIME if v is None else v for v in arr], np.int32),
                np.array([NO_TIME if v is None else v for v in dep], np.int32),
                np.fromiter(map(self.headsigns.code, head), np.int32, len(batch)),
                np.array([-1 if v is None else v for v in pick], np.int32),
                np.array([-1 if v is None else v for v in drop], np.int32),
                np.array([np.nan if v is None else v for v in dist], np.float64),
                np.array([-1 if v is None else v for v in point], np.int32),
            ]
        else:
            if not batch.num_rows:
                return
            c = batch.columns
            columns = [self.trips.column(c[0]), _ints(c[1], 0, np.int32),
                       self.stops.column(c[2]), _ints(c[3], NO_TIME, np.int32),
                       _ints(c[4], NO_TIME, np.int32), self.headsigns.column(c[5]),
                       _ints(c[6], -1, np.int32), _ints(c[7], -1, np.int32),
                       _ints(c[8], np.nan, np.float64), _ints(c[9], -1, np.int32)]
        for store, column in zip(self.columns, columns, strict=True):
            store.append(column)
        self.count += len(columns[0])

    def build(self) -> tuple[list[PatternStop], dict[int, TripTimes]]:
        """The pattern stops and, per trip index, its times (trips without stop times: none)."""
        if not self.count:
            return [], {}
        trip, seq, stop, arr, dep, head, pick, drop, dist, point = (
            np.concatenate(c) for c in self.columns)
        self.columns = []
        order = np.lexsort((seq, trip))
        trip, seq, stop, arr, dep, head, pick, drop, dist, point = (
            a[order] for a in (trip, seq, stop, arr, dep, head, pick, drop, dist, point))
        n = len(trip)
        edges = np.flatnonzero(trip[1:] != trip[:-1]) + 1
        starts = np.concatenate(([0], edges))
        ends = np.append(edges, n)
        # A pattern is the exact byte string of its rows' (stop, sequence, types, headsign).
        signature = np.empty((n, 5), np.int32)
        signature[:, 0], signature[:, 1], signature[:, 2] = stop, seq, head
        signature[:, 3], signature[:, 4] = pick, drop
        raw = signature.tobytes()
        width = signature.itemsize * 5
        patterns: dict[bytes, int] = {}
        run_pattern = np.empty(len(starts), np.int32)
        rep_start: list[int] = []
        rep_length: list[int] = []
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            key = raw[s * width:e * width]
            found = patterns.get(key)
            if found is None:
                found = patterns[key] = len(rep_start)
                rep_start.append(s)
                rep_length.append(e - s)
            run_pattern[i] = found
        del raw, patterns, signature
        lengths = np.asarray(rep_length, np.int64)
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        total = int(lengths.sum())
        # The pattern stops: the rows of each pattern's first trip.
        position = np.arange(total) - np.repeat(offsets, lengths)
        rep_rows = np.repeat(np.asarray(rep_start, np.int64), lengths) + position
        pattern_of = np.repeat(np.arange(len(rep_start)), lengths)
        # Every row's pattern stop, and the departures sorted per pattern stop.
        run_lengths = ends - starts
        row_run = np.repeat(np.arange(len(starts)), run_lengths)
        row_ps = offsets[run_pattern[row_run]] + (np.arange(n) - starts[row_run])
        timed = np.flatnonzero(dep != NO_TIME)
        by_departure = timed[np.lexsort((trip[timed], dep[timed], row_ps[timed]))]
        dep_sorted = dep[by_departure].astype(TIME, copy=False).tobytes()
        trips_sorted = trip[by_departure].astype(INDEX, copy=False)
        services_sorted = self.trip_services[trips_sorted].astype(INDEX, copy=False).tobytes()
        trips_sorted = trips_sorted.tobytes()
        counts = np.bincount(row_ps[by_departure], minlength=total)
        bounds = np.concatenate(([0], np.cumsum(counts))) * 4
        stop_names = self.stops.values
        head_names = self.headsigns.values
        pattern_stops = []
        columns = zip(pattern_of.tolist(), position.tolist(), stop[rep_rows].tolist(),
                      seq[rep_rows].tolist(), pick[rep_rows].tolist(), drop[rep_rows].tolist(),
                      head[rep_rows].tolist(), bounds[:-1].tolist(), bounds[1:].tolist(),
                      strict=True)
        for p, pos, s, q, pu, do, h, low, high in columns:
            pattern_stops.append(PatternStop(
                p, pos, stop_names[s], q, None if pu < 0 else pu,
                None if do < 0 else do, None if h < 0 else head_names[h],
                dep_sorted[low:high], trips_sorted[low:high], services_sorted[low:high]))
        # Per trip: its times in pattern order (optional columns only when the trip has any).
        arr_raw = arr.astype(TIME, copy=False).tobytes()
        dep_raw = dep.astype(TIME, copy=False).tobytes()
        has_dist = np.add.reduceat(~np.isnan(dist), starts) > 0
        has_point = np.add.reduceat(point >= 0, starts) > 0
        dist_raw = dist.astype(REAL, copy=False).tobytes()
        point_raw = point.astype(SMALL, copy=False).tobytes()
        trips: dict[int, TripTimes] = {}
        for t, p, s, e, d, tp in zip(trip[starts].tolist(), run_pattern.tolist(),
                                     starts.tolist(), ends.tolist(), has_dist.tolist(),
                                     has_point.tolist(), strict=True):
            trips[t] = TripTimes(p, arr_raw[s * 4:e * 4], dep_raw[s * 4:e * 4],
                                 dist_raw[s * 8:e * 8] if d else None,
                                 point_raw[s * 4:e * 4] if tp else None)
        return pattern_stops, trips


def service_indexes(services: Iterable[str]) -> tuple[list[str], dict[str, int]]:
    """A version's service ids in index order (sorted) and the index of each."""
    ordered = sorted(set(services))
    return ordered, {s: i for i, s in enumerate(ordered)}


class ShapeBuilder:
    """Collects shapes.txt points as numpy columns, then packs each shape into one row."""

    def __init__(self) -> None:
        self.shapes = _Codes()
        self.columns: list[list[np.ndarray]] = [[] for _ in range(5)]
        self.count = 0

    def add(self, batch: Any) -> None:
        """One batch of shape records (shape_id, sequence, lat, lon, dist_traveled)."""
        if isinstance(batch, list):
            if not batch:
                return
            shape, seq, lat, lon, dist = zip(*batch, strict=True)
            columns = [np.fromiter(map(self.shapes.code, shape), np.int32, len(batch)),
                       np.asarray(seq, np.int32), np.asarray(lat, np.float64),
                       np.asarray(lon, np.float64),
                       np.array([np.nan if v is None else v for v in dist], np.float64)]
        else:
            if not batch.num_rows:
                return
            c = batch.columns
            columns = [self.shapes.column(c[0]), _ints(c[1], 0, np.int32),
                       _ints(c[2], np.nan, np.float64), _ints(c[3], np.nan, np.float64),
                       _ints(c[4], np.nan, np.float64)]
        for store, column in zip(self.columns, columns, strict=True):
            store.append(column)
        self.count += len(columns[0])

    def build(self) -> list[tuple[str, int, bytes, bytes, bytes | None]]:
        """Per shape: (shape_id, point count, sequences, points as lat/lon pairs, distances or
        None when the shape has none), its points in sequence order."""
        if not self.count:
            return []
        shape, seq, lat, lon, dist = (np.concatenate(c) for c in self.columns)
        self.columns = []
        order = np.lexsort((seq, shape))
        shape, seq, lat, lon, dist = (a[order] for a in (shape, seq, lat, lon, dist))
        n = len(shape)
        edges = np.flatnonzero(shape[1:] != shape[:-1]) + 1
        starts = np.concatenate(([0], edges))
        ends = np.append(edges, n)
        seq_raw = seq.astype(INDEX, copy=False).tobytes()
        points_raw = np.column_stack((lat, lon)).astype(REAL, copy=False).tobytes()
        dist_raw = dist.astype(REAL, copy=False).tobytes()
        has_dist = np.add.reduceat(~np.isnan(dist), starts) > 0
        names = self.shapes.values
        return [(names[c], e - s, seq_raw[s * 4:e * 4], points_raw[s * 16:e * 16],
                 dist_raw[s * 8:e * 8] if d else None)
                for c, s, e, d in zip(shape[starts].tolist(), starts.tolist(), ends.tolist(),
                                      has_dist.tolist(), strict=True)]


def unpack_shape(sequences: bytes, points: bytes, dist_traveled: bytes | None
                 ) -> list[tuple[int, float, float, float | None]]:
    """A stored shape's points: (sequence, lat, lon, dist_traveled or None), in order."""
    seqs = np.frombuffer(sequences, INDEX).tolist()
    coords = np.frombuffer(points, REAL).reshape(-1, 2).tolist()
    dists = unpack_reals(dist_traveled, len(seqs))
    return [(s, lat, lon, d) for s, (lat, lon), d in zip(seqs, coords, dists, strict=True)]


# --- reading ----------------------------------------------------------------------------------


class StopTime(NamedTuple):
    """One stop time of a trip, unpacked from its pattern and its time arrays."""

    stop_sequence: int
    stop_id: str
    arrival_secs: int | None
    departure_secs: int | None
    stop_headsign: str | None
    pickup_type: int | None
    drop_off_type: int | None
    shape_dist_traveled: float | None
    timepoint: int | None


def trip_stop_times(session: Session, version_id: int, trip_ids: Iterable[str]
                    ) -> dict[str, list[StopTime]]:
    """The stop times of some trips of a version, in stop_sequence order (two queries per 500
    trips: the trips' times, then their patterns). Trips without stop times map to []."""
    from providers.transit.models import TransitPatternStop, TransitTrip

    found: dict[str, list[StopTime]] = {}
    wanted = sorted(set(trip_ids))
    for start in range(0, len(wanted), 500):
        trips = session.execute(
            sa.select(TransitTrip.trip_id, TransitTrip.pattern_id, TransitTrip.arrival_secs,
                      TransitTrip.departure_secs, TransitTrip.shape_dist_traveled,
                      TransitTrip.timepoints)
            .where(TransitTrip.feed_version_id == version_id,
                   TransitTrip.trip_id.in_(wanted[start:start + 500]))).all()
        pattern_ids = sorted({t.pattern_id for t in trips if t.pattern_id is not None})
        stops: dict[int, list[Any]] = {}
        if pattern_ids:
            ps = TransitPatternStop
            for row in session.execute(
                    sa.select(ps.pattern_id, ps.stop_sequence, ps.stop_id, ps.stop_headsign,
                              ps.pickup_type, ps.drop_off_type)
                    .where(ps.feed_version_id == version_id, ps.pattern_id.in_(pattern_ids))
                    .order_by(ps.pattern_id, ps.position)):
                stops.setdefault(row.pattern_id, []).append(row)
        for t in trips:
            pattern = stops.get(t.pattern_id, []) if t.pattern_id is not None else []
            n = len(pattern)
            found[t.trip_id] = [
                StopTime(p.stop_sequence, p.stop_id, arr, dep, p.stop_headsign, p.pickup_type,
                         p.drop_off_type, dist, point)
                for p, arr, dep, dist, point in zip(
                    pattern, unpack_times(t.arrival_secs), unpack_times(t.departure_secs),
                    unpack_reals(t.shape_dist_traveled, n), unpack_small(t.timepoints, n),
                    strict=True)]
    return found


def shape_points(session: Session, version_id: int, shape_id: str
                 ) -> list[tuple[int, float, float, float | None]] | None:
    """A shape's points (sequence, lat, lon, dist_traveled or None) in order; None if unknown."""
    from providers.transit.models import TransitShape

    row = session.execute(
        sa.select(TransitShape.sequences, TransitShape.points, TransitShape.dist_traveled)
        .where(TransitShape.feed_version_id == version_id,
               TransitShape.shape_id == shape_id)).first()
    return None if row is None else unpack_shape(*row)
