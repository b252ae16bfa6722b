"""A version's trips (trips.txt), stored packed and read whole.

Every reader wants a version's trips as a whole (a departures board maps the patterns' trip
indexes to services and ids; a GTFS-Realtime message is matched against its trip ids) or
a few of them by id, so they are not stored a row per trip: NYC subway's 15,911 trip rows,
each with its primary-key entry, cost the server more than any other part of its import
(about 20 ms of CPU; packed, the import's median fell from 0.227 to 0.212 s over 30 A/B
rounds, and the server's CPU for it from 0.08 to 0.05 s). Instead
each ``TransitTripBlock`` row holds up to ``TRIPS_PER_BLOCK`` trips, in trips.txt order, as an
Arrow IPC stream (the columns of ``TRIP_SCHEMA``; zstd-compressed: NYC's 2.0 MB of trips take
0.28 MB, 1 ms to write and 0.5 ms to read). A trip's index (what the patterns hold) is its
position in that order.

Readers load a version's blocks once per process (``version_trips``) into a ``VersionTrips``:
the Arrow table, the ids by index, the index by id and each trip's service index. A version's
records never change after its import, so the cache is keyed by the version's id, content hash
and import time, like the other caches of ``providers.transit.queries``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.orm import Session

from providers.transit.records import RECORD_TABLES

# Trips per stored row: one row for any city's feed; a country's (a million trips and more)
# is split so no single value grows past a few MB.
TRIPS_PER_BLOCK = 65_536
# The trips records' fields (``RECORD_TABLES["trips"]``) as Arrow types.
TRIP_SCHEMA = pa.schema(list(zip(RECORD_TABLES["trips"][1], (
    pa.string(), pa.string(), pa.string(), pa.string(), pa.string(), pa.int16(), pa.string(),
    pa.string(), pa.int16(), pa.int16(), pa.bool_()), strict=True)))
_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")
# Versions kept unpacked per process (a full cache is cleared, as in providers.transit.queries).
_CACHE_LIMIT = 64


class Trip(NamedTuple):
    """One trip of trips.txt and its index in the version."""

    trip_index: int
    trip_id: str
    route_id: str
    service_id: str
    headsign: str | None
    short_name: str | None
    direction_id: int | None
    block_id: str | None
    shape_id: str | None
    wheelchair_accessible: int | None
    bikes_allowed: int | None
    frequency_based: bool


def pack_trips(trips: pa.Table) -> pa.Table:
    """The rows to store for a version's trips (``TRIP_SCHEMA``, in trips.txt order): a table
    of (block, trip_count, trips), none when there is no trip."""
    trips = trips.select(TRIP_SCHEMA.names).cast(TRIP_SCHEMA)
    blocks, counts, payloads = [], [], []
    for block, start in enumerate(range(0, trips.num_rows, TRIPS_PER_BLOCK)):
        part = trips.slice(start, TRIPS_PER_BLOCK)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, TRIP_SCHEMA, options=_IPC_OPTIONS) as writer:
            writer.write_table(part)
        blocks.append(block)
        counts.append(part.num_rows)
        payloads.append(sink.getvalue())
    return pa.table({"block": pa.array(blocks, pa.int32()),
                     "trip_count": pa.array(counts, pa.int32()),
                     "trips": pa.array([p.to_pybytes() for p in payloads], pa.binary())})


def unpack_trips(blocks: Iterable[bytes]) -> pa.Table:
    """The trips of a version's blocks (in block order), as one Arrow table."""
    tables = [pa.ipc.open_stream(pa.py_buffer(data)).read_all() for data in blocks]
    return pa.concat_tables(tables) if tables else TRIP_SCHEMA.empty_table()


class VersionTrips:
    """A version's trips, unpacked: by index (trips.txt order) and by id."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.trip_ids: list[str] = table.column("trip_id").to_pylist()
        self.index_of = {trip_id: i for i, trip_id in enumerate(self.trip_ids)}
        services = table.column("service_id")
        ordered = sorted(pc.unique(services).to_pylist())
        # service_indexes (providers.transit.timetable): the version's services sorted.
        self.service_index = {service: i for i, service in enumerate(ordered)}
        self.service_of = np.asarray(pc.index_in(
            services, value_set=pa.array(ordered, pa.string())).to_numpy(zero_copy_only=False),
            np.int32)
        self.frequency_based = [self.trip_ids[i] for i in np.flatnonzero(
            table.column("frequency_based").to_numpy(zero_copy_only=False)).tolist()]

    def __len__(self) -> int:
        return len(self.trip_ids)

    def __contains__(self, trip_id: object) -> bool:
        return trip_id in self.index_of

    def get(self, trip_id: str) -> Trip | None:
        """A trip by id (None when the version has none of that id)."""
        index = self.index_of.get(trip_id)
        return None if index is None else self.at([index])[index]

    def at(self, indexes: Iterable[int]) -> dict[int, Trip]:
        """Some trips by index (one Arrow ``take`` for them all)."""
        wanted = sorted(set(indexes))
        rows = self.table.take(pa.array(wanted, pa.int64())).to_pylist()
        return {index: Trip(index, **row) for index, row in zip(wanted, rows, strict=True)}


_cache: dict[tuple, VersionTrips] = {}


def version_trips(session: Session, version_id: int, version_key: tuple | None = None
                  ) -> VersionTrips:
    """A version's trips, from the process's cache or its blocks. ``version_key``: the
    version's (id, content hash, import time) when the caller has it already."""
    from providers.models import FeedVersion
    from providers.transit.models import TransitTripBlock

    if version_key is None:
        found = session.execute(sa.select(FeedVersion.content_sha256, FeedVersion.imported_at)
                                .where(FeedVersion.id == version_id)).first()
        version_key = (version_id, *(found or (None, None)))
    cached = _cache.get(version_key)
    if cached is None:
        cached = VersionTrips(unpack_trips(session.scalars(
            sa.select(TransitTripBlock.trips)
            .where(TransitTripBlock.feed_version_id == version_id)
            .order_by(TransitTripBlock.block))))
        if version_key[2] is not None:  # imported: its records are final
            if len(_cache) >= _CACHE_LIMIT:
                _cache.clear()
            _cache[version_key] = cached
    return cached
