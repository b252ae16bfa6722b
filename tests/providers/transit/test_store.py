"""The timetable packing the transit writer does: patterns, sorted departures, shapes."""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pytest

from providers.base import FeedFormatError
from providers.transit.records import PACKED_RECORDS
from providers.transit.store import (
    _HEAP_KEPT_MMAP_THRESHOLD,
    _HEAP_KEPT_TRIM_THRESHOLD,
    _M_MMAP_THRESHOLD,
    _M_TRIM_THRESHOLD,
    _glibc,
    _heap_kept,
    _pack,
)
from providers.transit.timetable import (
    ShapeBuilder,
    TimetableBuilder,
    _merged,
    _sort_departures,
    unpack_shape,
)

TRIPS = ["A", "B", "C", "D"]


def stop_time(trip, seq, stop, arr, dep=None, head=None, pick=None, drop=None, dist=None,
              point=None):
    return (trip, seq, stop, arr, arr if dep is None else dep, head, pick, drop, dist, point)


def departures(pattern_stops, row):
    return (np.frombuffer(pattern_stops.column("departure_secs")[row].as_py(), "<i4").tolist(),
            np.frombuffer(pattern_stops.column("trip_indexes")[row].as_py(), "<i4").tolist())


def test_trips_with_the_same_stops_share_a_pattern_in_any_row_order():
    rows = [stop_time("B", 2, "y", 700), stop_time("A", 1, "x", 900),
            stop_time("B", 1, "x", 600), stop_time("A", 2, "y", 1000),
            stop_time("C", 1, "x", 650, pick=1), stop_time("C", 2, "y", 750)]
    builder = TimetableBuilder(TRIPS)
    builder.add(rows[:3])
    builder.add(rows[3:])
    assert builder.count == 6
    pattern_stops, patterns = builder.build()
    trips = {p["pattern_id"]: np.frombuffer(p["trip_indexes"], "<i4").tolist()
             for p in patterns.to_pylist()}
    assert sorted(trips.values()) == [[0, 1], [2]]  # C may not be boarded at x: its own
    shared = next(p for p, t in trips.items() if t == [0, 1])
    rows_of_shared = [i for i, p in enumerate(pattern_stops.column("pattern_id").to_pylist())
                      if p == shared]
    assert [pattern_stops.column("stop_id")[i].as_py() for i in rows_of_shared] == ["x", "y"]
    assert departures(pattern_stops, rows_of_shared[0]) == ([600, 900], [1, 0])
    assert departures(pattern_stops, rows_of_shared[1]) == ([700, 1000], [1, 0])
    # Nothing beyond the departures to say: no matrices.
    assert all(p["dwell_secs"] is None and p["shape_dist_traveled"] is None
               for p in patterns.to_pylist())


def test_arrivals_distances_and_timepoints_are_kept_per_pattern_when_given():
    builder = TimetableBuilder(TRIPS)
    builder.add([stop_time("A", 1, "x", None, None), stop_time("A", 2, "y", 100, 160,
                                                                point=1, dist=2.5),
                 stop_time("A", 3, "z", 200)])
    pattern_stops, patterns = builder.build()
    pattern = patterns.to_pylist()[0]
    assert pattern["stop_count"] == 3
    assert np.frombuffer(pattern["dwell_secs"], "<i4").tolist() == [0, 60, 0]
    dist = np.frombuffer(pattern["shape_dist_traveled"], "<f8").tolist()
    assert [None if d != d else d for d in dist] == [None, 2.5, None]
    assert np.frombuffer(pattern["timepoints"], "<i4").tolist() == [-1, 1, -1]
    # A stop time without a time has no departure to list.
    assert [departures(pattern_stops, i)[0] for i in range(3)] == [[], [160], [200]]


def test_arrow_batches_and_tuples_pack_alike():
    rows = [stop_time("A", 1, "x", 10, head="H"), stop_time("A", 2, "y", 20),
            stop_time("D", 1, "x", 5, head="H"), stop_time("D", 2, "y", 15)]
    table = pa.table([pa.array(c) for c in zip(*rows, strict=True)],
                     names=list(PACKED_RECORDS["stop_times"]))
    table = table.set_column(6, "pickup_type", table.column(6).cast(pa.int16()))
    table = table.set_column(7, "drop_off_type", table.column(7).cast(pa.int16()))
    table = table.set_column(8, "shape_dist_traveled", table.column(8).cast(pa.float64()))
    table = table.set_column(9, "timepoint", table.column(9).cast(pa.int16()))
    from_tuples, from_arrow = TimetableBuilder(TRIPS), TimetableBuilder(TRIPS)
    from_tuples.add(rows)
    from_arrow.add(table)
    assert [t.to_pylist() for t in from_tuples.build()] == [
        t.to_pylist() for t in from_arrow.build()]


def test_distances_shared_by_every_trip_of_a_pattern_are_stored_once():
    builder = TimetableBuilder(TRIPS)
    builder.add([stop_time("A", 1, "x", 10, dist=0.0), stop_time("A", 2, "y", 20, dist=1.0),
                 stop_time("B", 1, "x", 30, dist=0.0), stop_time("B", 2, "y", 40, dist=1.0),
                 stop_time("C", 1, "z", 30, dist=0.0), stop_time("C", 2, "y", 40, dist=1.0),
                 stop_time("D", 1, "z", 50, dist=0.0), stop_time("D", 2, "y", 60, dist=2.0)])
    _, patterns = builder.build()
    dist = [np.frombuffer(p["shape_dist_traveled"], "<f8").tolist()
            for p in patterns.to_pylist()]
    assert dist == [[0.0, 1.0], [0.0, 1.0, 0.0, 2.0]]  # shared; trips C and D differ


def test_no_stop_times_build_empty_tables():
    pattern_stops, patterns = TimetableBuilder(TRIPS).build()
    assert pattern_stops.num_rows == patterns.num_rows == 0


def test_departures_sort_by_stop_then_time_then_trip_packed_or_not():
    rng = np.random.default_rng(3)
    stops = rng.integers(0, 50, 2000)
    times = rng.integers(0, 100_000, 2000).astype(np.int32)
    trips = rng.integers(0, 500, 2000).astype(np.int32)
    packed = _sort_departures(stops, times, trips, 50, 500)
    expected = np.lexsort((trips, times, stops))
    assert [a.tolist() for a in packed] == [stops[expected].tolist(), times[expected].tolist(),
                                            trips[expected].tolist()]
    # Too wide for one 64-bit key: the lexsort fallback gives the same order.
    wide = _sort_departures(stops, times, trips, 1 << 40, 500)
    assert [a.tolist() for a in wide] == [a.tolist() for a in packed]


def test_shapes_pack_one_row_per_shape_in_sequence_order():
    builder = ShapeBuilder()
    builder.add([("S", 5, 1.5, 2.5, None), ("T", 1, 0.0, 0.0, 3.0), ("S", 2, 1.0, 2.0, 0.5)])
    shapes = builder.build().to_pylist()
    assert builder.count == 3
    assert [s["shape_id"] for s in shapes] == ["S", "T"]
    first = unpack_shape(shapes[0]["sequences"], shapes[0]["points"],
                         shapes[0]["dist_traveled"])
    assert first == [(2, 1.0, 2.0, 0.5), (5, 1.5, 2.5, None)]
    assert shapes[1]["point_count"] == 1


def test_columns_of_one_value_merge_as_broadcasts_and_shared_blocks_as_one_array():
    shared = [np.array([5, 6], np.int32), np.array([7], np.int32)]
    columns = [
        shared,
        list(shared),  # the same blocks: departures equal to arrivals
        [np.array([-1, -1], np.int32), np.array([-1], np.int32)],
        [np.array([np.nan, np.nan]), np.array([np.nan])],
        [np.array([0, 0], np.int32), np.array([1], np.int32)],
        [np.array([np.nan, 2.0]), np.array([np.nan])],
    ]
    arrivals, departures, headsigns, distances, types, partial = _merged(columns)
    assert arrivals.tolist() == [5, 6, 7]
    assert departures is arrivals
    assert headsigns.tolist() == [-1, -1, -1]
    assert headsigns.strides == (0,)
    assert np.isnan(distances).all()
    assert distances.shape == (3,)
    assert distances.strides == (0,)
    assert types.tolist() == [0, 0, 1]
    assert types.strides == (4,)
    assert np.isnan(partial[[0, 2]]).all()
    assert partial[1] == 2.0
    assert columns == [[]] * 6  # every block let go of


def test_packing_takes_departures_equal_to_arrivals_as_one_array_from_arrow():
    arrival = pa.array([600, 660, 600, 660], pa.int32())
    batch = pa.table([pa.array(["A", "A", "B", "B"]).dictionary_encode(),
                      pa.array([1, 2, 1, 2], pa.int32()), pa.array(["x", "y", "x", "y"]),
                      arrival, arrival, pa.nulls(4, pa.string()), pa.nulls(4, pa.int16()),
                      pa.nulls(4, pa.int16()), pa.nulls(4, pa.float64()),
                      pa.nulls(4, pa.int16())],
                     names=list(PACKED_RECORDS["stop_times"]))
    builder = TimetableBuilder(TRIPS)
    builder.add(batch)
    assert builder.columns[4][0] is builder.columns[3][0]
    pattern_stops, patterns = builder.build()
    assert pattern_stops.num_rows == 2
    assert patterns.num_rows == 1
    assert departures(pattern_stops, 0) == ([600, 600], [0, 1])
    assert patterns.column("dwell_secs").null_count == 1


class RecordingLibc:
    """Records the allocator calls ``_heap_kept`` makes (the real ones change the process)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, parameter: int, value: int) -> int:
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


def test_imports_at_once_keep_the_heap_until_the_last_one_ends():
    libc = RecordingLibc()
    with _heap_kept(libc):
        with _heap_kept(libc):
            assert [call[0] for call in libc.calls] == ["mallopt", "mallopt"]
        assert len(libc.calls) == 2  # the other import still runs
    kept, restored = libc.calls[:2], libc.calls[2:]
    assert {value for _, _, value in kept} == {32 << 20, 1 << 30}
    assert restored == [("mallopt", -3, 128 << 10), ("mallopt", -1, 128 << 10),
                        ("malloc_trim", 0)]


def test_glibc_takes_the_kept_heap_thresholds():
    libc = _glibc()
    if libc is None:
        pytest.skip("not glibc: the heap is left as it is")
    try:  # mallopt answers 1 for a value it takes, 0 for one out of its range
        assert libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_KEPT_MMAP_THRESHOLD) == 1
        assert libc.mallopt(_M_TRIM_THRESHOLD, _HEAP_KEPT_TRIM_THRESHOLD) == 1
    finally:
        with _heap_kept():
            pass  # and gives them back


class FailingStopTimes:
    """stop_times whose reading fails after one batch (a damaged member, say)."""

    def batches(self):
        yield [("T1", 1, "S1", 0, 0, None, None, None, None, None)]
        raise FeedFormatError("stop_times.txt cannot be read from the zip.", code="bad_zip")


def test_packing_says_stop_times_are_read_before_it_groups_them():
    read = threading.Event()
    rows = [("T1", seq, f"S{seq}", seq * 60, seq * 60, None, None, None, None, None)
            for seq in (1, 2)]
    pattern_stops, _, count = _pack(["T1"], rows, read)
    assert read.is_set()
    assert (count, pattern_stops.num_rows) == (2, 2)


def test_packing_says_stop_times_are_read_when_their_reading_fails():
    read = threading.Event()
    with pytest.raises(FeedFormatError):
        _pack(["T1"], FailingStopTimes(), read)
    assert read.is_set()  # the writer waiting for it goes on to its error
