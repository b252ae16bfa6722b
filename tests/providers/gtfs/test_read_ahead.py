"""stop_times' blocks read on a thread of their own, from before the small tables are parsed."""

from __future__ import annotations

import threading
import time

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


def wait_until(condition) -> None:
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


def test_unclaimed_read_ahead_reads_its_most_blocks_and_ends():
    blocks = Blocks(100)
    _ReadAhead(blocks, most=3)
    wait_for_read_ahead_threads()
    assert blocks.reads == 3
    assert not read_ahead_threads()


def test_claimed_read_ahead_reads_on_at_most_its_most_blocks_ahead():
    blocks = Blocks(100)
    ahead = _ReadAhead(blocks, most=3)
    wait_for_read_ahead_threads()  # unclaimed: paused after 3
    assert ahead.take() == 1  # claimed: resumed
    wait_until(lambda: blocks.reads >= 4)
    time.sleep(0.05)
    assert blocks.reads == 4  # 2, 3 and 4 waiting; the fifth read waits for a take
    assert [ahead.take() for _ in range(5)] == [2, 3, 4, 5, 6]
    ahead.close()
    assert not read_ahead_threads()
    assert blocks.reads <= 9


def test_read_ahead_whose_consumer_stopped_taking_pauses_and_resumes_on_the_next_take():
    blocks = Blocks(100)
    ahead = _ReadAhead(blocks, most=2, idle=0.05)
    assert ahead.take() == 1
    wait_until(lambda: blocks.reads >= 3)
    wait_for_read_ahead_threads()  # 2 and 3 waiting, no take for 0.05 s: paused
    assert not read_ahead_threads()
    assert [ahead.take() for _ in range(4)] == [2, 3, 4, 5]
    ahead.close()
    assert not read_ahead_threads()


def test_stopped_read_ahead_returns_the_blocks_read_and_not_taken_in_order():
    blocks = Blocks(100, hold=4)
    ahead = _ReadAhead(blocks, most=10)
    assert ahead.take() == 1
    assert blocks.reading.wait(5)  # the fourth read is under way
    threading.Timer(0.05, blocks.gate.set).start()
    assert ahead.stop() == [2, 3, 4]  # the block being read included
    assert not read_ahead_threads()
    assert blocks.reads == 4


def test_read_ahead_stops_at_the_end_of_the_file():
    ahead = _ReadAhead(Blocks(2), most=10)
    assert [ahead.take(), ahead.take(), ahead.take()] == [1, 2, None]
    wait_for_read_ahead_threads()
    assert not read_ahead_threads()


def test_a_read_that_fails_ahead_fails_in_its_turn():
    ahead = _ReadAhead(Blocks(100, fail=2), most=10)
    assert ahead.take() == 1
    with pytest.raises(FeedFormatError):
        ahead.take()
    wait_for_read_ahead_threads()
    assert not read_ahead_threads()


def test_a_read_that_failed_ahead_fails_when_the_blocks_are_given_back():
    blocks = Blocks(100, fail=3)
    ahead = _ReadAhead(blocks, most=10)
    assert ahead.take() == 1
    wait_until(lambda: blocks.reads >= 3)
    with pytest.raises(FeedFormatError):
        ahead.stop()


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
