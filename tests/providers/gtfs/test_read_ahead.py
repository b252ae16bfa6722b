"""stop_times' first blocks read on a thread of their own while the small tables are parsed."""

from __future__ import annotations

import threading

import pytest

from providers.base import FeedFormatError
from providers.gtfs.adapter import GtfsAdapter, StopTimeRecords, _ReadAhead
from tests.providers.transit.factories import gtfs_zip

STOP_TIMES = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + "".join(
    f"T1,08:{i % 60:02d}:00,08:{i % 60:02d}:00,A1,{i}\n" for i in range(1, 2_000))


class Blocks:
    """A fetch function handing out numbered blocks; ``gate`` holds back the n-th read."""

    def __init__(self, count: int, *, hold: int | None = None, fail: int | None = None):
        self.count, self.hold, self.fail = count, hold, fail
        self.reads = 0
        self.gate = threading.Event()
        self.reading = threading.Event()

    def __call__(self):
        self.reads += 1
        if self.reads == self.hold:
            self.reading.set()
            self.gate.wait(5)
        if self.reads == self.fail:
            raise FeedFormatError("stop_times.txt cannot be read from the zip.", code="bad_zip")
        return None if self.reads > self.count else self.reads


def read_ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gtfs-read-ahead"]


def wait_for_read_ahead_threads() -> None:
    for thread in read_ahead_threads():
        thread.join(5)


def test_unclaimed_read_ahead_reads_its_most_blocks_and_ends():
    blocks = Blocks(100)
    _ReadAhead(blocks, most=3)
    wait_for_read_ahead_threads()
    assert blocks.reads == 3
    assert not read_ahead_threads()


def test_claimed_read_ahead_hands_over_after_the_block_it_is_reading():
    blocks = Blocks(100, hold=2)
    ahead = _ReadAhead(blocks, most=10)
    assert blocks.reading.wait(5)  # the second read is under way
    assert ahead.take() == 1
    assert not ahead.handed_over
    blocks.gate.set()
    assert ahead.take() == 2
    assert ahead.handed_over  # the consumer reads the third block itself
    wait_for_read_ahead_threads()
    assert blocks.reads == 2


def test_read_ahead_stops_at_the_end_of_the_file():
    ahead = _ReadAhead(Blocks(2), most=10)
    assert [ahead.take(), ahead.take(), ahead.take()] == [1, 2, None]
    assert ahead.handed_over


def test_a_read_that_fails_ahead_fails_in_its_turn():
    ahead = _ReadAhead(Blocks(100, fail=2), most=10)
    assert ahead.take() == 1
    with pytest.raises(FeedFormatError):
        ahead.take()
    assert ahead.handed_over


def stop_time_rows(payload: bytes, **options) -> tuple[list, dict]:
    result = GtfsAdapter(**options).parse(payload, {})
    rows = []
    for batch in result.records["stop_times"].batches():
        rows += batch if isinstance(batch, list) else StopTimeRecords(iter([batch]))
    return rows, result.report.as_dict()


@pytest.mark.parametrize("odd_line", [3, 120, 250, 1_200, 1_990])
def test_blocks_read_ahead_before_an_odd_line_go_back_to_the_row_loop_in_order(odd_line):
    lines = STOP_TIMES.splitlines(keepends=True)
    lines[odd_line] = "T1,08:00:00,08:00:00,ZZ,5000,,,,,\n"  # an undefined stop
    payload = gtfs_zip({"stop_times.txt": "".join(lines)})
    expected = stop_time_rows(payload, fast=False)
    # 2 kB blocks: the odd line falls in the first, a middle or the last of the blocks read
    # ahead, or after them.
    assert stop_time_rows(payload, block_bytes=2048) == expected


def test_a_feed_rejected_before_stop_times_leaves_no_read_ahead_running():
    payload = gtfs_zip({"stops.txt": "stop_name\nNo id\n", "stop_times.txt": STOP_TIMES})
    result = GtfsAdapter(block_bytes=1024).parse(payload, {})
    assert result.report.rejected
    wait_for_read_ahead_threads()
    assert not read_ahead_threads()
