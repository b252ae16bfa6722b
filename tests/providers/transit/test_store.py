"""The transit writer's helpers: batches parsed ahead of the database write."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from providers.transit.store import prefetched


def test_prefetched_batches_arrive_in_order_from_another_thread():
    threads = set()

    def batches() -> Iterator[int]:
        for n in range(50):
            threads.add(threading.current_thread().name)
            yield n

    assert list(prefetched(batches(), depth=2)) == list(range(50))
    assert threads == {"transit-prefetch"}


def test_a_parse_error_is_raised_to_the_writer():
    def batches() -> Iterator[int]:
        yield 1
        raise ValueError("bad block")

    stream = prefetched(batches())
    assert next(stream) == 1
    with pytest.raises(ValueError, match="bad block"):
        next(stream)


def test_an_abandoned_write_stops_the_parse():
    produced = []

    def batches() -> Iterator[int]:
        for n in range(10_000):
            produced.append(n)
            yield n

    stream = prefetched(batches(), depth=2)
    assert next(stream) == 0
    stream.close()  # the writer failed: the producer must not parse the whole file
    assert not any(t.name == "transit-prefetch" for t in threading.enumerate())
    assert len(produced) < 10
