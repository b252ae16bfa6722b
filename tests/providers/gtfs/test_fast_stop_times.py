"""The vectorised stop_times path must give exactly what the row loop gives: rows and report."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.gtfs import adapter
from providers.gtfs.adapter import GtfsAdapter, StopTimeRecords
from tests.providers.transit.factories import gtfs_zip

HEADER = ("trip_id,arrival_time,departure_time,stop_id,stop_sequence,stop_headsign,"
          "pickup_type,drop_off_type,shape_dist_traveled,timepoint\n")
TRIPS = "route_id,service_id,trip_id\n" + "".join(f"R1,WEEK,T{i}\n" for i in range(12))
GOOD = "{trip},{t},{t},{stop},{seq},{head},0,1,{dist},1\n"
# One line each that the row loop reports or treats specially; each sends its block (and the
# rest of the file) to the row loop.
ODD = [
    "TX,08:00:00,08:00:00,A1,1,,,,,\n",             # undefined_trip
    "T1,08:00:00,08:00:00,ZZ,99,,,,,\n",            # undefined_stop
    "T1,08:00:00,08:00:00,A1,x,,,,,\n",             # invalid_integer
    "T1,08:00:00,08:00:00,A1,-3,,,,,\n",            # negative_stop_sequence
    "T1,8:0:00,8:0:00,A1,77,,,,,\n",                # invalid_time
    "T1,,08:00:00,A1,78,,,,,\n",                    # missing_arrival_time
    "T1,09:00:00,08:00:00,A1,79,,,,,\n",            # departure_before_arrival
    "T1,08:00:00,08:00:00,A1,80,,,,\n",             # missing_row_cells
    "T1,08:00:00,08:00:00,A1,81,,,,,,\n",           # extra_row_cells
    'T1,08:00:00,08:00:00,A1,82,"quoted, head",,,,\n',
    "T1,08:00:00,08:00:00,A1,83,caf\u00e9 \u00a0,,,,\n",
    "T1,08:00:00,08:00:00,A1,0x10,,,,,\n",
    "T1,08:00:00,08:00:00,A1, 84 ,,,, 1e3 ,\n",
    "T1,08:00:00,08:00:00,A1,85,, 2 ,x,nan,\u0663\n",
    "T1,08:00:00,08:00:00,A1,86,,,,1_0,\n",
    "\n",
    "   \n",
]


def feed(rng: random.Random, odd: int) -> str:
    rows = []
    for trip in range(12):
        seqs = list(range(1, rng.randint(2, 30)))
        if rng.random() < 0.3:
            seqs = [s * 2 for s in seqs]
        if rng.random() < 0.2:
            rng.shuffle(seqs)
        for n, seq in enumerate(seqs):
            t = "" if 0 < n < len(seqs) - 1 and rng.random() < 0.2 else (
                f"{rng.randint(4, 26):02d}:{rng.randint(0, 59):02d}:00")
            rows.append(GOOD.format(trip=f"T{trip}", t=t, stop=rng.choice(["A1", "B", " B"]),
                                    seq=seq, head=rng.choice(["", "Bravo", " Alpha "]),
                                    dist=rng.choice(["", "1.5", "2"])))
    # Interleave trips a little (a trip reappearing later), repeat some rows (duplicates).
    for _ in range(3):
        i, j = rng.randrange(len(rows)), rng.randrange(len(rows))
        rows[i], rows[j] = rows[j], rows[i]
    for _ in range(odd):
        rows.insert(rng.randrange(len(rows)), rng.choice([*ODD, rng.choice(rows)]))
    return HEADER + "".join(rows)


def parse(payload: bytes, **options):
    result = GtfsAdapter(**options).parse(payload, {})
    records = result.records["stop_times"]
    batches = list(records.batches())
    rows = []
    for batch in batches:
        rows += batch if isinstance(batch, list) else StopTimeRecords(iter([batch]))
    return rows, result.report.as_dict(), batches


@pytest.mark.parametrize("seed", range(40))
def test_fast_path_matches_the_row_loop(seed):
    rng = random.Random(seed)
    text = feed(rng, odd=0 if seed % 4 == 0 else rng.randint(1, 4))
    if seed % 5 == 0:
        text = text.replace("\n", "\r\n")
    payload = gtfs_zip({"trips.txt": TRIPS, "stop_times.txt": text, "frequencies.txt": None})
    expected, report, _ = parse(payload, fast=False)
    for block in (150, 1000, 1 << 20):
        rows, fast_report, batches = parse(payload, block_bytes=block)
        assert repr(rows) == repr(expected)  # repr: nan == nan
        assert fast_report == report
        if seed % 4 == 0 and "\r" not in text:
            assert not any(isinstance(b, list) for b in batches)  # all of it went fast


def test_clean_real_feed_takes_the_fast_path(shared_data):
    payload = (shared_data / "gtfs/caltrain/ct.zip").read_bytes()
    _, _, batches = parse(payload)
    assert batches
    assert not any(isinstance(b, list) for b in batches)
    assert parse(payload)[:2] == parse(payload, fast=False)[:2]


def test_whitespace_is_what_str_strip_strips():
    assert set(adapter._PY_WHITESPACE) == {
        chr(c) for c in range(0x110000) if chr(c).isspace()}


def test_times_of_eight_byte_texts_are_read_in_place():
    import pyarrow as pa

    texts = pa.array(["xx", "00:06:00", "25:30:59", "07:00:00"]).slice(1)
    assert adapter._fast_times(texts, 3).to_pylist() == [360, 91859, 25200]
    assert adapter._fast_times(pa.array(["00:60:00", "01:00:00"]), 2) is None
    # Eight bytes a value on average, not each: "H:MM:SS" beside "HHH:MM:SS".
    assert adapter._fast_times(pa.array(["1:00:00", "100:00:00"]), 2).to_pylist() == [
        3600, 360000]


@pytest.mark.parametrize("values", [
    ["a b", " c", "d"], ["abc", "d\u00e9f "], ["x\u00a0", "y"], ["plain", "ids"], ["", ""]])
def test_trim_strips_what_str_strip_strips(values):
    import pyarrow as pa

    assert adapter._trim(pa.array(values)).to_pylist() == [v.strip() for v in values]


@pytest.mark.parametrize("values", [
    ["T1", "T1", "T2", "T2", "T2", "T1", "T3"], ["T1"], [], ["a", "b", "a", "b"]])
def test_run_encoding_is_dictionary_encoding(values):
    import pyarrow as pa
    import pyarrow.compute as pc

    for column in (pa.array(values, pa.string()), pa.array(["x", *values], pa.string()).slice(1)):
        runs, hashed = adapter._encode_runs(column), pc.dictionary_encode(column)
        assert runs.dictionary.equals(hashed.dictionary)
        assert runs.indices.to_pylist() == hashed.indices.to_pylist()


@given(st.lists(st.text(alphabet="0123456789 x-+\u0663", max_size=11), max_size=30),
       st.integers(0, 3))
def test_sequence_numbers_are_one_to_nine_ascii_digits_or_left_to_the_row_loop(texts, skip):
    import pyarrow as pa

    column = pa.array(["1"] * skip + texts, pa.string()).slice(skip)
    got = adapter._fast_sequence(column)
    if all(t.isascii() and t.isdigit() and 1 <= len(t) <= 9 for t in texts):
        assert got is not None
        assert got.to_pylist() == [int(t) for t in texts]
    else:
        assert got is None


def test_sequence_columns_with_nulls_take_arrow_s_checks_without_failing():
    import pyarrow as pa

    assert adapter._fast_sequence(pa.array([None], pa.string())).to_pylist() == [None]
    assert adapter._fast_sequence(pa.array(["12", None])).to_pylist() == [12, None]
    assert adapter._fast_sequence(pa.array(["12", "x", None])) is None


@given(st.lists(st.lists(st.tuples(st.sampled_from("ABCD"), st.integers(0, 6)), max_size=12),
                max_size=5))
def test_taken_sequences_are_the_pairs_of_every_block_without_a_repeat(blocks):
    """Blocks in (id, sequence) order skip the sort; both ways must agree with plain sets."""
    import numpy as np

    taken: dict = {}
    pairs: set = set()
    for block in blocks:
        names = list(dict.fromkeys(name for name, _ in block))
        codes = np.array([names.index(name) for name, _ in block], np.int32)
        seqs = np.array([seq for _, seq in block], np.int32)
        repeat = len(set(block)) < len(block) or bool(pairs & set(block))
        assert adapter._take_new_sequences(taken, codes, names, seqs) is not repeat
        if not repeat:
            pairs |= set(block)
        assert {(name, seq) for name, seqs in taken.items() for seq in seqs} == pairs
        for _name, seqs in taken.items():
            if isinstance(seqs, range):
                assert seqs.step == 1


@pytest.mark.parametrize(("codes", "names"), [
    ([0, 0, 2, 2], ["A", "B", "C"]),  # an id the block does not hold
    ([0, 0, 1, 1], ["B", "A"]),       # ids not in the order first seen
])
def test_taken_sequences_follow_the_codes_whatever_the_names_order(codes, names):
    import numpy as np

    taken: dict = {}
    assert adapter._take_new_sequences(taken, np.array(codes, np.int32), names,
                                       np.array([1, 2, 1, 2], np.int32))
    assert taken == {names[codes[0]]: range(1, 3), names[codes[2]]: range(1, 3)}


def test_empty_texts_become_null_over_the_same_buffers():
    import pyarrow as pa

    for values in (["a", "", "bc", ""], ["", ""], ["x"], []):
        for column in (pa.array(values, pa.string()),
                       pa.array(["", *values], pa.string()).slice(1)):
            got = adapter._empty_as_null(column)
            got.validate(full=True)
            assert got.to_pylist() == [v or None for v in values]
