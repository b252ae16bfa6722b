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

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

TIME = np.dtype("<i4")
INDEX = np.dtype("<i4")
REAL = np.dtype("<f8")
SMALL = np.dtype("<i4")
NO_TIME = -1


def unpack_reals(data: bytes | None, n: int) -> list[float | None]:
    """A packed float array (None for NaN); ``n`` Nones when the array was not stored."""
    if data is None:
        return [None] * n
    return [None if v != v else v for v in np.frombuffer(data, REAL).tolist()]


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
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        # The adapter hands trip and stop ids dictionary-encoded already.
        encoded = (column if pa.types.is_dictionary(column.type)
                   else pc.dictionary_encode(column))
        values = encoded.dictionary.to_pylist()
        # Known values looked up by a C-level map (a block's few thousand ids); only new ones
        # go through code(), in order of appearance.
        if self.grow:
            found = list(map(self.index.get, values))
            if None in found:
                found = [self.code(v) if c is None else c
                         for v, c in zip(values, found, strict=True)]
        else:
            found = list(map(self.index.get, values, itertools.repeat(-1)))
        found.append(-1)
        lookup = np.array(found, np.int32)
        indices = pc.fill_null(encoded.indices, len(lookup) - 1)
        return lookup[np.asarray(indices)]


def _ints(column: Any, fill: int, dtype: Any) -> np.ndarray:
    import pyarrow.compute as pc

    if column.null_count:
        column = pc.fill_null(column, fill)
    return np.asarray(column).astype(dtype, copy=False)


def _same_values(a: Any, b: Any) -> bool:
    """Two Arrow columns over the very same buffers (one array under two names)."""
    if a.num_chunks != 1 or b.num_chunks != 1:
        return False
    a, b = a.chunk(0), b.chunk(0)
    return (a.type == b.type and a.offset == b.offset and len(a) == len(b)
            and [x and x.address for x in a.buffers()] == [x and x.address
                                                          for x in b.buffers()])


class TimetableBuilder:
    """Collects stop_times batches as numpy columns, then groups them into patterns."""

    def __init__(self, trip_ids: Sequence[str]) -> None:
        # Stop times of a trip not in ``trip_ids`` (the adapter drops them) would be ignored.
        self.trips = _Codes(trip_ids, grow=False)
        self.n_trips = len(trip_ids)
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
            arrivals = _ints(c[3], NO_TIME, np.int32)
            # The adapter hands departures equal to arrivals as the same array: kept as one.
            departures = (arrivals if _same_values(c[3], c[4])
                          else _ints(c[4], NO_TIME, np.int32))
            columns = [self.trips.column(c[0]), _ints(c[1], 0, np.int32),
                       self.stops.column(c[2]), arrivals, departures,
                       self.headsigns.column(c[5]),
                       _ints(c[6], -1, np.int32), _ints(c[7], -1, np.int32),
                       _ints(c[8], np.nan, np.float64), _ints(c[9], -1, np.int32)]
        for store, column in zip(self.columns, columns, strict=True):
            store.append(column)
        self.count += len(columns[0])

    @staticmethod
    def _empty() -> tuple[Any, Any]:
        import pyarrow as pa

        return _pattern_stop_table([], 0), pa.table(
            [pa.array([], pa.int32()), pa.array([], pa.int32()),
             *(pa.array([], pa.binary()),) * 4], names=list(PATTERN_FIELDS))

    def build(self) -> tuple[Any, Any]:
        """The pattern stops (an Arrow table, ``PATTERN_STOP_FIELDS``) and the patterns (an
        Arrow table, ``PATTERN_FIELDS``), both numbered in order of first appearance."""
        pattern_stops, patterns = self.build_in_two()
        return pattern_stops, patterns()

    def build_in_two(self) -> tuple[Any, Callable[[], Any]]:
        """``build`` in two steps: the pattern stops now, and a function that makes the
        patterns (their per-trip matrices), for a writer that stores the first meanwhile."""
        import pyarrow as pa

        n_trips = self.n_trips
        if not self.count:
            pattern_stops, no_patterns = self._empty()
            return pattern_stops, _returns(no_patterns)
        trip, seq, stop, arr, dep, head, pick, drop, dist, point = _merged(self.columns)
        self.columns = []
        if (trip < 0).any():  # stop times of trips not given (the adapter never hands any)
            known = trip >= 0
            trip, seq, stop, arr, dep, head, pick, drop, dist, point = (
                a[known] for a in (trip, seq, stop, arr, dep, head, pick, drop, dist, point))
            if not len(trip):
                pattern_stops, no_patterns = self._empty()
                return pattern_stops, _returns(no_patterns)
        n = len(trip)
        edges = np.flatnonzero(trip[1:] != trip[:-1]) + 1
        run_trips = trip[np.concatenate(([0], edges))]
        rising = seq[1:] > seq[:-1]
        rising[edges - 1] = True
        if not (rising.all() and np.bincount(run_trips, minlength=n_trips).max() <= 1):
            # Not grouped by trip in rising sequence (feeds almost always are): sort.
            order = np.argsort((trip.astype(np.int64) << 32) | seq, kind="stable")
            trip, seq, stop, arr, dep, head, pick, drop, dist, point = (
                a[order] for a in (trip, seq, stop, arr, dep, head, pick, drop, dist, point))
            del order
            edges = np.flatnonzero(trip[1:] != trip[:-1]) + 1
        starts = np.concatenate(([0], edges))
        ends = np.append(edges, n)
        # A pattern is the exact byte string of its rows' (stop, sequence, headsign, types);
        # the columns with one value throughout (headsigns and types, as a rule) tell no two
        # apart and are left out.
        parts = [stop, seq, *(c for c in (head, pick, drop) if c.strides[0] and _varies(c))]
        signature = np.empty((n, len(parts)), np.int32)
        for i, part in enumerate(parts):
            signature[:, i] = part
        raw = signature.tobytes()
        del signature
        width = len(parts) * 4
        patterns: dict[bytes, int] = {}
        run_pattern = []
        rep_start: list[int] = []
        for s, e in zip((starts * width).tolist(), (ends * width).tolist(), strict=True):
            key = raw[s:e]
            found = patterns.get(key)
            if found is None:
                found = patterns[key] = len(rep_start)
                rep_start.append(s // width)
            run_pattern.append(found)
        del raw, patterns
        run_pattern_arr = np.asarray(run_pattern, np.int64)
        rep = np.asarray(rep_start, np.int64)
        lengths = (ends - starts)[np.searchsorted(starts, rep)]
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        total = int(lengths.sum())
        # The pattern stops: the rows of each pattern's first trip.
        position = np.arange(total) - np.repeat(offsets, lengths)
        rep_rows = np.repeat(rep, lengths) + position
        # Every row's pattern stop, and the departures sorted per pattern stop.
        run_lengths = ends - starts
        # Row r of run k is pattern stop offsets[pattern of k] + (r - starts[k]).
        row_ps = np.repeat(offsets[run_pattern_arr] - starts, run_lengths)
        row_ps += np.arange(n)
        timed = dep != NO_TIME
        if timed.all():  # the usual case: no row to leave out
            ps_sorted, dep_sorted, trips_sorted = _sort_departures(row_ps, dep, trip, total,
                                                                   n_trips)
        else:
            ps_sorted, dep_sorted, trips_sorted = _sort_departures(
                row_ps[timed], dep[timed], trip[timed], total, n_trips)
        del row_ps, timed
        counts = np.bincount(ps_sorted, minlength=total)
        bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int32) * 4
        pattern_stops = _pattern_stop_table([
            pa.array(np.repeat(np.arange(len(rep), dtype=np.int32), lengths)),
            pa.array(position.astype(np.int32)),
            pa.array(self.stops.values, pa.string()).take(pa.array(stop[rep_rows])),
            pa.array(seq[rep_rows]),
            _nullable(pick[rep_rows].astype(np.int16)),
            _nullable(drop[rep_rows].astype(np.int16)),
            _names(self.headsigns.values, head[rep_rows]),
            _binary(bounds, dep_sorted.astype(TIME, copy=False)),
            _binary(bounds, trips_sorted.astype(INDEX, copy=False))], total)

        def patterns_table() -> Any:
            # Per pattern: its trips (by trip index) and, as trips x stops matrices, the
            # per-stop columns that say something beyond the departures (NULL otherwise): the
            # dwell (departure minus arrival), distances and timepoints.
            run_trips = trip[starts]
            by_pattern = np.lexsort((run_trips, run_pattern_arr))
            trips_per_pattern = np.bincount(run_pattern_arr, minlength=len(rep))
            run_bounds = np.concatenate(([0], np.cumsum(trips_per_pattern)))
            ordered_starts = starts[by_pattern]
            ordered_lengths = run_lengths[by_pattern]
            row_order = (np.repeat(ordered_starts - np.concatenate(
                ([0], np.cumsum(ordered_lengths)[:-1])), ordered_lengths) + np.arange(n))
            cell_bounds = np.concatenate(([0], np.cumsum(trips_per_pattern * lengths)))
            pattern_ids = np.arange(len(rep), dtype=np.int32)

            def matrix(values: np.ndarray, says: np.ndarray, *, shared: bool = False) -> Any:
                if not says.any():  # the usual case for at least two of the three
                    return pa.nulls(len(rep), pa.binary())
                ordered = values[row_order]
                keep = np.add.reduceat(says[row_order], cell_bounds[:-1]) > 0
                if not shared or not keep.any():
                    return _segments(cell_bounds, ordered, keep)
                # One row for the pattern when all its trips have the same values
                # (distances and timepoints along a pattern almost always are the same for
                # every trip).
                bits = ordered.view(np.int64 if ordered.itemsize == 8 else np.int32)
                parts, lengths_out = [], []
                for p, (low, high) in enumerate(zip(cell_bounds[:-1].tolist(),
                                                    cell_bounds[1:].tolist(), strict=True)):
                    if not keep[p]:
                        lengths_out.append(0)
                        continue
                    cells = bits[low:high].reshape(-1, int(lengths[p]))
                    one = bool((cells == cells[0]).all())
                    parts.append(ordered[low:low + int(lengths[p])] if one
                                 else ordered[low:high])
                    lengths_out.append(int(lengths[p]) if one else high - low)
                bounds = np.concatenate(([0], np.cumsum(lengths_out)))
                return _segments(bounds, np.concatenate(parts), keep, packed=True)

            patterns = pa.table([
                pa.array(pattern_ids), pa.array(lengths.astype(np.int32)),
                _binary(run_bounds * 4, run_trips[by_pattern].astype(INDEX, copy=False)),
                matrix(np.where((arr >= 0) & (dep >= 0), dep - arr, 0).astype(TIME), arr != dep,
                       shared=True),
                matrix(dist.astype(REAL, copy=False), ~np.isnan(dist), shared=True),
                matrix(point.astype(SMALL, copy=False), point >= 0, shared=True),
            ], names=list(PATTERN_FIELDS))
            return patterns

        return pattern_stops, patterns_table


def _merged(columns: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Each column's blocks as one array, each column's blocks let go of once merged.

    A column with one value throughout (no headsigns, distances or timepoints, say) becomes a
    read-only broadcast of it (no memory), and one whose blocks are all the previous column's
    (departures equal to arrivals) that column itself.
    """
    merged: list[np.ndarray] = []
    for i, blocks in enumerate(columns):
        if merged and len(blocks) == len(columns[i - 1] or ()) and all(
                a is b for a, b in zip(blocks, columns[i - 1] or (), strict=True)):
            merged.append(merged[-1])
        elif _one_value(blocks):
            merged.append(np.broadcast_to(blocks[0][:1].copy(), (sum(map(len, blocks)),)))
        else:
            merged.append(np.concatenate(blocks))
        if i:
            columns[i - 1] = []
    if columns:
        columns[-1] = []
    return merged


def _one_value(blocks: list[np.ndarray]) -> bool:
    """Every value of every block the same (NaN the same as NaN)."""
    if not blocks or not len(blocks[0]):
        return False
    first = blocks[0][0]
    return all(len(b) and not _varies(b) and (b[0] == first or (b[0] != b[0] and first != first))
               for b in blocks)


def _varies(values: np.ndarray) -> bool:
    """More than one value in ``values`` (NaN counts as one value)."""
    if not len(values):
        return False
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        if nan.all():
            return False
        if nan.any():
            return True
    return bool(values.min() != values.max())


PATTERN_STOP_FIELDS = ("pattern_id", "position", "stop_id", "stop_sequence", "pickup_type",
                       "drop_off_type", "stop_headsign", "departure_secs", "trip_indexes")
PATTERN_FIELDS = ("pattern_id", "stop_count", "trip_indexes", "dwell_secs",
                  "shape_dist_traveled", "timepoints")


def _returns(value: Any) -> Callable[[], Any]:
    return lambda: value


def _pattern_stop_table(columns: list[Any], n: int) -> Any:
    import pyarrow as pa

    if not columns:
        kinds = (pa.int32(), pa.int32(), pa.string(), pa.int32(), pa.int16(), pa.int16(),
                 pa.string(), pa.binary(), pa.binary())
        columns = [pa.array([], kind) for kind in kinds]
    return pa.table(columns, names=list(PATTERN_STOP_FIELDS))


def _nullable(values: np.ndarray) -> Any:
    """An Arrow integer array with negative values as nulls."""
    import pyarrow as pa

    return pa.array(values, mask=values < 0)


def _names(names: list[str], codes: np.ndarray) -> Any:
    """Codes (``-1`` for null) as an Arrow string array of the names they stand for."""
    import pyarrow as pa

    return pa.array(names, pa.string()).take(pa.array(codes, mask=codes < 0))


def _binary(bounds: np.ndarray, values: np.ndarray) -> Any:
    """An Arrow binary array of the byte ranges ``bounds`` of ``values`` (no copy per item)."""
    import pyarrow as pa

    return pa.BinaryArray.from_buffers(pa.binary(), len(bounds) - 1, [
        None, pa.py_buffer(bounds.astype(np.int32)), pa.py_buffer(values.tobytes())])


def _segments(bounds: np.ndarray, values: np.ndarray, keep: np.ndarray, *,
              packed: bool = False) -> Any:
    """An Arrow binary array of the item ranges ``bounds`` of ``values``: the ranges where
    ``keep`` as bytes, the others null. ``packed``: ``values`` holds the kept ranges only."""
    import pyarrow as pa

    lengths = np.diff(bounds)
    lengths[~keep] = 0
    if not keep.any():
        return pa.nulls(len(keep), pa.binary())
    data = values if packed or keep.all() else values[np.repeat(keep, np.diff(bounds))]
    offsets = np.concatenate(([0], np.cumsum(lengths))) * values.itemsize
    return pa.BinaryArray.from_buffers(pa.binary(), len(keep), [
        pa.array(keep).buffers()[1], pa.py_buffer(offsets.astype(np.int32)),
        pa.py_buffer(np.ascontiguousarray(data).tobytes())])


def _sort_departures(pattern_stops: np.ndarray, departures: np.ndarray, trips: np.ndarray,
                     n_pattern_stops: int, n_trips: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The departures ordered by pattern stop, time and trip: (pattern stops, times, trips).

    When the three fit in 64 bits (they do for any feed of a few million stop times), they
    are packed into one integer and sorted as values, several times faster than an argsort.
    """
    bits = [max(1, int(n_pattern_stops - 1).bit_length()),
            max(1, int(departures.max(initial=0)).bit_length()),
            max(1, int(n_trips - 1).bit_length())]
    if sum(bits) <= 63:
        packed = pattern_stops.astype(np.int64)  # a copy: the arguments stay as they are
        packed <<= bits[1]
        packed |= departures
        packed <<= bits[2]
        packed |= trips
        packed.sort()
        mask = (1 << bits[2]) - 1
        trips = (packed & mask).astype(np.int32)
        packed >>= bits[2]
        departures = (packed & ((1 << bits[1]) - 1)).astype(np.int32)
        return (packed >> bits[1]), departures, trips
    order = np.lexsort((trips, departures, pattern_stops))
    return pattern_stops[order], departures[order], trips[order]


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

    def build(self) -> Any:
        """An Arrow table, one row per shape (``SHAPE_FIELDS``), its points in sequence order:
        sequences, points as (lat, lon) pairs, distances (null when the shape has none)."""
        import pyarrow as pa

        if not self.count:
            return pa.table([pa.array([], pa.string()), pa.array([], pa.int32()),
                             *(pa.array([], pa.binary()),) * 3], names=list(SHAPE_FIELDS))
        shape, seq, lat, lon, dist = (np.concatenate(c) for c in self.columns)
        self.columns = []
        order = np.lexsort((seq, shape))
        shape, seq, lat, lon, dist = (a[order] for a in (shape, seq, lat, lon, dist))
        n = len(shape)
        edges = np.flatnonzero(shape[1:] != shape[:-1]) + 1
        starts = np.concatenate(([0], edges))
        ends = np.append(edges, n)
        bounds = np.append(starts, n)
        has_dist = np.add.reduceat(~np.isnan(dist), starts) > 0
        return pa.table([
            pa.array(self.shapes.values, pa.string()).take(pa.array(shape[starts])),
            pa.array((ends - starts).astype(np.int32)),
            _binary(bounds * 4, seq.astype(INDEX, copy=False)),
            _binary(bounds * 16, np.column_stack((lat, lon)).astype(REAL, copy=False)),
            _segments(bounds, dist.astype(REAL, copy=False), has_dist),
        ], names=list(SHAPE_FIELDS))


SHAPE_FIELDS = ("shape_id", "point_count", "sequences", "points", "dist_traveled")


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


def trip_stop_times(session: Session, version_id: int, trip_ids: Iterable[str], *,
                    trips: Any = None) -> dict[str, list[StopTime]]:
    """The stop times of some trips of a version, in stop_sequence order. Trips without stop
    times map to []; unknown trips are left out.

    The trips' indexes from the version's trips (``trips``, a caller's
    ``providers.transit.trips.VersionTrips`` of the version; else looked up, cached), then
    three queries: every pattern's trips (a few bytes per trip) to find theirs, those
    patterns' matrices and stops (whose departure arrays give each trip's departure there,
    none where the trip has no time).
    """
    from providers.transit.models import TransitPattern, TransitPatternStop
    from providers.transit.trips import version_trips

    wanted = sorted(set(trip_ids))
    if not wanted:
        return {}
    index_of = (version_trips(session, version_id) if trips is None else trips).index_of
    indexes = {index_of[trip_id]: trip_id for trip_id in wanted if trip_id in index_of}
    found: dict[str, list[StopTime]] = {trip_id: [] for trip_id in indexes.values()}
    if not indexes:
        return found
    asked = np.array(sorted(indexes), INDEX)
    members: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # pattern: (trip rows, trip indexes)
    for pattern_id, data in session.execute(
            sa.select(TransitPattern.pattern_id, TransitPattern.trip_indexes)
            .where(TransitPattern.feed_version_id == version_id)):
        trips = np.frombuffer(data, INDEX)
        rows = np.flatnonzero(np.isin(trips, asked))
        if len(rows):
            members[pattern_id] = (rows, trips[rows])
    if not members:
        return found
    patterns = {row.pattern_id: row for row in session.execute(
        sa.select(TransitPattern.pattern_id, TransitPattern.stop_count,
                  TransitPattern.trip_indexes, TransitPattern.dwell_secs,
                  TransitPattern.shape_dist_traveled,
                  TransitPattern.timepoints)
        .where(TransitPattern.feed_version_id == version_id,
               TransitPattern.pattern_id.in_(sorted(members))))}
    ps = TransitPatternStop
    stops: dict[int, list[Any]] = {}
    for row in session.execute(
            sa.select(ps.pattern_id, ps.stop_sequence, ps.stop_id, ps.stop_headsign,
                      ps.pickup_type, ps.drop_off_type, ps.departure_secs, ps.trip_indexes)
            .where(ps.feed_version_id == version_id, ps.pattern_id.in_(sorted(members)))
            .order_by(ps.pattern_id, ps.position)):
        stops.setdefault(row.pattern_id, []).append(row)
    for pattern_id, (rows, trips) in members.items():
        pattern, pattern_stops = patterns[pattern_id], stops.get(pattern_id, [])
        n = pattern.stop_count
        # departures[i][j]: trip j's departure at stop i (-1: none there).
        departures = np.full((len(pattern_stops), len(trips)), NO_TIME, np.int64)
        for i, row in enumerate(pattern_stops):
            trip_of = np.frombuffer(row.trip_indexes, INDEX)
            if not len(trip_of):
                continue
            order = np.argsort(trip_of, kind="stable")
            at = np.minimum(np.searchsorted(trip_of[order], trips), len(order) - 1)
            hit = trip_of[order][at] == trips
            departures[i, hit] = np.frombuffer(row.departure_secs, TIME)[order][at][hit]
        k = len(pattern.trip_indexes) // INDEX.itemsize
        dwells = _matrix(pattern.dwell_secs, TIME, n, k)
        dists = _matrix(pattern.shape_dist_traveled, REAL, n, k)
        points = _matrix(pattern.timepoints, SMALL, n, k)
        for j, (row_in_pattern, index) in enumerate(zip(rows.tolist(), trips.tolist(),
                                                        strict=True)):
            deps = [None if d < 0 else d for d in departures[:, j].tolist()]
            arrs = (deps if dwells is None else
                    [None if d is None else d - w
                     for d, w in zip(deps, dwells[row_in_pattern].tolist(), strict=True)])
            dist = ([None] * n if dists is None else
                    [None if d != d else d for d in dists[row_in_pattern].tolist()])
            point = ([None] * n if points is None else
                     [None if p < 0 else p for p in points[row_in_pattern].tolist()])
            found[indexes[index]] = [
                StopTime(p.stop_sequence, p.stop_id, a, d, p.stop_headsign, p.pickup_type,
                         p.drop_off_type, sd, tp)
                for p, a, d, sd, tp in zip(pattern_stops, arrs, deps, dist, point,
                                           strict=True)]
    return found


def _matrix(data: bytes | None, dtype: Any, columns: int, rows: int) -> np.ndarray | None:
    """A packed trips x stops matrix (one row stored: the same for every trip), or None when
    it was not stored."""
    if data is None:
        return None
    matrix = np.frombuffer(data, dtype).reshape(-1, columns)
    return np.broadcast_to(matrix, (rows, columns)) if len(matrix) == 1 else matrix


def shape_points(session: Session, version_id: int, shape_id: str
                 ) -> list[tuple[int, float, float, float | None]] | None:
    """A shape's points (sequence, lat, lon, dist_traveled or None) in order; None if unknown."""
    from providers.transit.models import TransitShape

    row = session.execute(
        sa.select(TransitShape.sequences, TransitShape.points, TransitShape.dist_traveled)
        .where(TransitShape.feed_version_id == version_id,
               TransitShape.shape_id == shape_id)).first()
    return None if row is None else unpack_shape(*row)
