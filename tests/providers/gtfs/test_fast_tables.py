"""The vectorised paths of trips.txt and shapes.txt must give exactly what the row loop gives.

Like stop_times (``test_fast_stop_times.py``): random feeds sprinkled with lines the row loop
reports or treats specially, parsed with and without the fast path at several block sizes; the
records and the whole validation report must be identical.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.gtfs import adapter
from providers.gtfs.adapter import GtfsAdapter, parse_time
from tests.providers.transit.factories import gtfs_zip

SHAPES_HEADER = "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence,shape_dist_traveled\n"
SHAPE_ODD = [
    ",40.1,-73.1,1,\n",                       # missing_required_field
    "S1,40.1,-73.1,x,\n",                     # invalid_integer
    "S1,40.1,-73.1,-4,\n",                    # out_of_range
    "S1,40.1,-73.1,7.0,\n",                   # an integer written as a float
    "S1,95.0,-73.1,900,\n",                   # coordinate_out_of_range
    "S1,40.1,-190,901,\n",                    # coordinate_out_of_range
    "S1,,-73.1,902,\n",                       # missing_required_field
    "S1,4o.1,-73.1,903,\n",                   # invalid_float
    "S1,40.1,-73.1,904,-2\n",                 # out_of_range (kept, without distance)
    "S1,40.1,-73.1,905,nan\n",
    "S1,40.1,-73.1,906,1_0\n",
    "S1,40.1,-73.1,1,\n",                     # duplicate_key (if S1 has point 1)
    " S2 , 40.2 ,-73.2, 907 , 3 \n",
    '"S 3",40.3,-73.3,908,\n',
    '"S""4",40.3,-73.3,909,\n',
    '"S\n5",40.3,-73.3,910,\n',               # a line end inside quotes
    "S1,40.1,-73.1,911\n",                    # missing_row_cells
    "S1,40.1,-73.1,912,,\n",                  # extra_row_cells
    "\n",
]

TRIPS_HEADER = ("route_id,service_id,trip_id,trip_headsign,trip_short_name,direction_id,"
                "block_id,shape_id,wheelchair_accessible,bikes_allowed\n")
TRIP_ODD = [
    "R1,WEEK,,x,,,,,,\n",                     # missing_required_field
    "RX,WEEK,TX1,x,,,,,,\n",                  # undefined_route
    "R1,NOPE,TX2,x,,,,,,\n",                  # undefined_service
    "R1,WEEK,T1,again,,,,,,\n",               # duplicate_key (T1 is in every feed)
    "R1,WEEK,TX3,x,,2,,,,\n",                 # out_of_range
    "R1,WEEK,TX4,x,,,,,x,\n",                 # invalid_integer (kept)
    "R1,WEEK,TX5,x,,01,,,, 1 \n",
    'R1,WEEK,TX6,"Alpha, Bravo",,1,,,,\n',
    'R1,WEEK,TX7,"say ""hi""",,1,,,,\n',
    'R1,WEEK,TX8,"two\nlines",,1,,,,\n',
    "R1,WEEK,TX9,,,,,\n",                     # missing_row_cells
    " R1 , WEEK , TX10 ,  ,,0,B1,SH,2,0\n",
    "R1,WEEK,TX11,caf\u00e9,,,,,,\n",
    "\n",
]


def shapes_feed(rng: random.Random, odd: int) -> str:
    rows = []
    for shape in range(1, 8):
        seqs = list(range(1, rng.randint(2, 40)))
        if rng.random() < 0.3:
            seqs = [s * 3 for s in seqs]
        if rng.random() < 0.2:
            rng.shuffle(seqs)
        for seq in seqs:
            rows.append(f"S{shape},{rng.uniform(-90, 90):.6f},{rng.uniform(-180, 180):.6f},"
                        f"{seq},{rng.choice(['', '1.5', str(seq * 10)])}\n")
    for _ in range(odd):
        rows.insert(rng.randrange(len(rows)), rng.choice([*SHAPE_ODD, rng.choice(rows)]))
    return SHAPES_HEADER + "".join(rows)


def trips_feed(rng: random.Random, odd: int) -> str:
    rows = [f"R1,{rng.choice(['WEEK', 'HOLIDAY'])},T{i},"
            f"{rng.choice(['', 'Bravo', ' Alpha '])},{rng.choice(['', '12'])},"
            f"{rng.choice(['', '0', '1'])},{rng.choice(['', 'B7'])},{rng.choice(['', 'SH1'])},"
            f"{rng.choice(['', '0', '1', '2'])},{rng.choice(['', '1'])}\n" for i in range(60)]
    for _ in range(odd):
        rows.insert(rng.randrange(len(rows)), rng.choice([*TRIP_ODD, rng.choice(rows)]))
    return TRIPS_HEADER + "".join(rows)


def parse(payload: bytes, **options) -> tuple[list, list, dict, list]:
    result = GtfsAdapter(**options).parse(payload, {})
    trips = result.records.get("trips", [])  # absent when the feed is rejected early
    trip_batches = list(getattr(trips, "batches", lambda: [list(trips)])())
    shapes = result.records.get("shapes")
    shape_batches = list(shapes.batches()) if shapes is not None else []
    trip_rows, shape_rows = list(trips), []
    for batch in shape_batches:
        shape_rows += batch if isinstance(batch, list) else zip(
            *(column.to_pylist() for column in batch.columns), strict=True)
    return trip_rows, shape_rows, result.report.as_dict(), trip_batches + shape_batches


def feed_zip(trips: str, shapes: str, crlf: bool) -> bytes:
    if crlf:
        trips, shapes = trips.replace("\n", "\r\n"), shapes.replace("\n", "\r\n")
    return gtfs_zip({"trips.txt": trips, "shapes.txt": shapes,
                     "frequencies.txt": "trip_id,start_time,end_time,headway_secs\n"
                                        "T3,10:00:00,11:00:00,900\n"})


@pytest.mark.parametrize("seed", range(40))
def test_fast_trips_and_shapes_match_the_row_loop(seed):
    rng = random.Random(seed)
    odd = 0 if seed % 4 == 0 else rng.randint(1, 8)
    payload = feed_zip(trips_feed(rng, odd), shapes_feed(rng, odd), crlf=seed % 5 == 0)
    expected_trips, expected_shapes, report, _ = parse(payload, fast=False)
    for block in (120, 1000, 1 << 20):
        trips, shapes, fast_report, batches = parse(payload, block_bytes=block)
        assert repr(trips) == repr(expected_trips)
        assert repr(shapes) == repr(expected_shapes)
        assert fast_report == report
        if seed % 4 == 0:
            assert not any(isinstance(b, list) for b in batches)  # all of it went fast


def test_quoted_fields_take_the_fast_path():
    trips = TRIPS_HEADER + "".join(f'R1,WEEK,T{i},"Bravo, via ""A""",,1,,,,\n'
                                   for i in range(30))
    payload = feed_zip(trips, SHAPES_HEADER + '"S1",40.1,-73.1,1,\n', crlf=False)
    rows, shapes, _, batches = parse(payload)
    assert not any(isinstance(b, list) for b in batches)
    assert rows[0][3] == 'Bravo, via "A"'
    assert shapes == [("S1", 1, 40.1, -73.1, None)]


def test_a_quoted_line_end_cut_by_a_block_goes_to_the_row_loop():
    trips = TRIPS_HEADER + "".join(
        f"R1,WEEK,T{i},a,,,,,,\n" for i in range(1, 5)) + 'R1,WEEK,T9,"one\ntwo\nthree",,,,,,\n' + (
        "".join(f"R1,WEEK,T{i},b,,,,,,\n" for i in range(10, 14)))
    payload = feed_zip(trips, SHAPES_HEADER, crlf=False)
    expected = parse(payload, fast=False)
    assert expected[0][4][3] == "one\ntwo\nthree"
    for block in range(20, 200, 7):  # some cut inside the quoted value
        got = parse(payload, block_bytes=block)
        assert got[0] == expected[0]
        assert got[2] == expected[2]


@pytest.mark.parametrize("path", [
    "caltrain/ct.zip", "bullrunner/bullrunner-gtfs.zip", "google-sample/sample-feed.zip",
    "google-sample/sample-feed-bom.zip", "google-sample/sample-feed-invalid.zip",
    "google-sample/sample-feed-plus.zip", "google-sample/routing-NA-times.zip",
])
def test_real_feeds_give_the_same_trips_shapes_and_report_both_ways(shared_data, path):
    payload = (shared_data / "gtfs" / path).read_bytes()
    assert parse(payload)[:3] == parse(payload, fast=False)[:3]


def test_a_clean_real_feed_takes_the_fast_path_for_trips_and_shapes(shared_data):
    batches = parse((shared_data / "gtfs/caltrain/ct.zip").read_bytes())[3]
    assert batches
    assert not any(isinstance(b, list) for b in batches)


@pytest.mark.parametrize("texts", [
    ["4:05:00", "13:05:59", "24:30:00", "", "99:59:59", "0:00:00"],
    ["100:00:00", "7:00:00"], [" 4:05:00", "05:00:00 "], [""], ["23:59:59"],
    ["4:5:00"], ["4:60:00"], ["a:00:00"], ["12:00:0x"], ["1:000:00"], ["-1:00:00"], ["12:00"],
])
def test_column_times_are_what_parse_time_makes_of_each_text(texts):
    import pyarrow as pa

    got = adapter._fast_times(pa.array(texts), len(texts))
    expected = [parse_time(t.strip()) if t.strip() else None for t in texts]
    valid = all(e is not None for t, e in zip(texts, expected, strict=True) if t.strip())
    if valid:
        assert got is not None
    if got is not None:
        assert got.to_pylist() == expected


_TIME_LIKE = st.one_of(
    st.just(""),
    st.builds(lambda h, m, s: f"{h}:{m:02d}:{s:02d}", st.integers(0, 99), st.integers(0, 99),
              st.integers(0, 99)),
    st.text(alphabet="0123456789: ;a\x00\xff", min_size=6, max_size=9))


@given(st.lists(_TIME_LIKE, min_size=1, max_size=8), st.integers(0, 2))
def test_times_read_from_the_bytes_are_parse_times_or_left_to_the_text_path(texts, skip):
    import pyarrow as pa

    column = pa.array(["9:00:00"] * skip + texts).slice(skip)  # an offset into shared data
    got = adapter._digits_times(column)
    expected = [parse_time(t) if t else None for t in texts]
    simple = all(not t or (len(t) in (7, 8) and t.isascii() and e is not None)
                 for t, e in zip(texts, expected, strict=True))
    if simple:
        assert got is not None
    if got is not None:
        assert got.to_pylist() == expected


@pytest.mark.parametrize("texts", [["0", "1", "", "9"], ["", " ", "x"], ["12", "3"], [" 1 "],
                                   ["0", "1", "9"], ["7", " ", "x", "0"]])
def test_column_flags_are_what_the_row_loop_makes_of_each_text(texts):
    import pyarrow as pa

    got = adapter._fast_small_int(pa.array(texts), len(texts))
    assert got.to_pylist() == [int(t.strip()) if t.strip().isdigit() else None for t in texts]


STOPS_HEADER = ("stop_id,stop_code,stop_name,stop_lat,stop_lon,location_type,parent_station,"
                "wheelchair_boarding,platform_code\n")
STOP_ODD = [
    ",c,Nameless id,40.1,-73.1,0,,,\n",       # missing_required_field
    "A,c,Again,40.1,-73.1,0,,,\n",            # duplicate_key (A is in every feed)
    "Q1,c,,40.1,-73.1,0,,,\n",                # missing_stop_name
    "Q2,c,Zero,0,0,0,,,\n",                   # suspicious_coordinates
    "Q3,c,Far,95,-73.1,0,,,\n",               # coordinate_out_of_range
    "Q4,c,Nowhere,,,0,,,\n",                  # missing_required_field
    "Q5,c,Node,,,3,,,\n",                     # a generic node needs no position
    "Q6,c,Odd type,40.1,-73.1,7,,,\n",        # out_of_range
    "Q7,c,Wheel,40.1,-73.1,0,,4,\n",          # out_of_range
    "Q8,c,Orphan,40.1,-73.1,0,NOPE,,\n",      # undefined_parent_station
    "Q9,c,Twin,40.750001,-73.990001,0,,,\n",  # stops_too_close (to A1)
    " Q10 , c ,\"Quoted, name\", 40.2 ,-73.2,,,1, 2 \n",
    "Q11,c,Short,40.1,-73.1\n",               # missing_row_cells
    "\n",
]


def stops_feed(rng: random.Random, odd: int) -> str:
    rows = ["A,,Alpha Station,40.7500,-73.9900,1,,,\n", "A1,,Alpha 1,40.7501,-73.9901,0,A,,1\n",
            "B,,Bravo,40.7600,-73.9800,0,,2,\n"]
    rows += [f"S{i},{rng.choice(['', 'c'])},Stop {i},{rng.uniform(-89, 89):.6f},"
             f"{rng.uniform(-179, 179):.6f},{rng.choice(['', '0', '1'])},"
             f"{rng.choice(['', 'A'])},{rng.choice(['', '0', '1', '2'])},"
             f"{rng.choice(['', 'P'])}\n" for i in range(60)]
    for _ in range(odd):
        rows.insert(rng.randrange(3, len(rows)), rng.choice([*STOP_ODD, rng.choice(rows[3:])]))
    return STOPS_HEADER + "".join(rows)


@pytest.mark.parametrize("seed", range(30))
def test_fast_stops_match_the_row_loop(seed):
    rng = random.Random(seed)
    text = stops_feed(rng, 0 if seed % 4 == 0 else rng.randint(1, 6))
    if seed % 5 == 0:
        text = text.replace("\n", "\r\n")
    payload = gtfs_zip({"stops.txt": text})
    expected = GtfsAdapter(fast=False).parse(payload, {})
    for block in (100, 700, 1 << 20):
        got = GtfsAdapter(block_bytes=block).parse(payload, {})
        assert repr(got.records.get("stops")) == repr(expected.records.get("stops"))
        assert got.report.as_dict() == expected.report.as_dict()


@pytest.mark.parametrize("texts", [
    ["a", "b c", ""], [" a", "b"], ["a\t"], ["caf\u00e9"], ["\u00a0x"], ["x\u3000"], ["", ""],
    ["\x1cq"], ["q\r"], ["in side"],
])
def test_column_trim_is_str_strip(texts):
    import pyarrow as pa

    assert adapter._trim(pa.array(texts)).to_pylist() == [t.strip() for t in texts]


@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12), st.sampled_from([0, 0, 1]),
                          st.booleans()), max_size=40),
       st.floats(-75, 75))
def test_stops_too_close_are_every_pair_within_two_metres_reported_in_file_order(
        points, latitude):
    import math

    from providers.base import ValidationReport

    # Stops on a grid of 0.45 m (in latitude; no two exactly 2 m apart), some of them stations
    # or with a parent: only separate stops count.
    rows = [(f"S{i}", None, None, None, latitude + y * 0.45 / 111_195.0,
             10.0 + x * 0.45 / 111_195.0, None, kind, "P" if parent else None, None, None,
             None, i + 2) for i, (x, y, kind, parent) in enumerate(points)]
    report = ValidationReport()
    adapter._warn_stops_too_close(rows, report)

    def close(a, b):
        dy = (b[4] - a[4]) * 111_195.0
        dx = (b[5] - a[5]) * 111_195.0 * math.cos(math.radians(b[4]))
        return dx * dx + dy * dy < 4.0

    separate = [r for r in rows if r[7] == 0 and r[8] is None]
    expected = [(a[0], b[0]) for j, b in enumerate(separate) for a in separate[:j]
                if close(a, b)]
    got = [(issue.message.split("'")[1], issue.value)
           for issue in report.examples.get("stops_too_close", [])]
    assert report.counts["stops_too_close"] == len(expected)
    assert got == expected[:len(got)]


@pytest.mark.parametrize("latitude", [0.0, 51.5, 78.0])
def test_stops_just_under_two_metres_apart_are_too_close_and_just_over_are_not(latitude):
    import math

    from providers.base import ValidationReport

    metre_lat = 1 / 111_195.0
    metre_lon = metre_lat / math.cos(math.radians(latitude))
    offsets = {"N199": (1.99, 0), "N201": (2.01, 0), "E199": (0, 1.99), "E201": (0, 2.01),
               "D199": (1.99 / 2 ** 0.5,) * 2, "D201": (2.01 / 2 ** 0.5,) * 2}
    for name, (north, east) in offsets.items():
        rows = [("O", None, None, None, latitude, 10.0, None, 0, None, None, None, None, 2),
                (name, None, None, None, latitude + north * metre_lat,
                 10.0 + east * metre_lon, None, 0, None, None, None, None, 3)]
        report = ValidationReport()
        adapter._warn_stops_too_close(rows, report)
        assert report.counts["stops_too_close"] == (name.endswith("199")), name
