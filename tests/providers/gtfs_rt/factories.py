"""GTFS-Realtime FeedMessages built with the official bindings, and their import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from google.transit import gtfs_realtime_pb2 as rt

from providers.fetch import Payload
from providers.sync import ImportOutcome, import_payload


def feed_message(*entities: Callable[[Any], None], timestamp: int | None = None,
                 differential: bool = False) -> bytes:
    """A serialized FeedMessage; each entity is a function filling a new ``FeedEntity``."""
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    if timestamp is not None:
        message.header.timestamp = timestamp
    if differential:
        message.header.incrementality = rt.FeedHeader.DIFFERENTIAL
    for fill in entities:
        fill(message.entity.add())
    return message.SerializeToString()


def vehicle(entity_id: str, *, vehicle_id: str | None = None, trip_id: str | None = None,
            route_id: str | None = None, stop_id: str | None = None) -> Callable[[Any], None]:
    """A VehiclePosition at Mountain View, optionally on a trip or route and at a stop."""
    def fill(entity: Any) -> None:
        entity.id = entity_id
        entity.vehicle.position.latitude = 37.3944
        entity.vehicle.position.longitude = -122.0764
        if vehicle_id:
            entity.vehicle.vehicle.id = vehicle_id
        if trip_id:
            entity.vehicle.trip.trip_id = trip_id
        if route_id:
            entity.vehicle.trip.route_id = route_id
        if stop_id:
            entity.vehicle.stop_id = stop_id
    return fill


def trip_update(entity_id: str, *, trip_id: str | None = None, route_id: str | None = None,
                start_time: str | None = None, start_date: str | None = None,
                delays: dict[str, int] | None = None, times: dict[str, int] | None = None
                ) -> Callable[[Any], None]:
    """A TripUpdate; ``delays`` maps stop ids to arrival delays in seconds, ``times`` to
    absolute arrival times (POSIX seconds) given without a delay."""
    def fill(entity: Any) -> None:
        entity.id = entity_id
        trip = entity.trip_update.trip
        if trip_id:
            trip.trip_id = trip_id
        if route_id:
            trip.route_id = route_id
        if start_time:
            trip.start_time = start_time
        if start_date:
            trip.start_date = start_date
        for stop_id, delay in (delays or {}).items():
            update = entity.trip_update.stop_time_update.add()
            update.stop_id = stop_id
            update.arrival.delay = delay
        for stop_id, time in (times or {}).items():
            update = entity.trip_update.stop_time_update.add()
            update.stop_id = stop_id
            update.arrival.time = time
    return fill


def alert(entity_id: str, *, routes: tuple[str, ...] = (), stops: tuple[str, ...] = (),
          trips: tuple[str, ...] = ()) -> Callable[[Any], None]:
    """An Alert informing the given routes, stops and trips."""
    def fill(entity: Any) -> None:
        entity.id = entity_id
        entity.alert.header_text.translation.add(text=f"Alert {entity_id}")
        for route_id in routes:
            entity.alert.informed_entity.add(route_id=route_id)
        for stop_id in stops:
            entity.alert.informed_entity.add(stop_id=stop_id)
        for trip_id in trips:
            entity.alert.informed_entity.add().trip.trip_id = trip_id
    return fill


def deleted(entity_id: str) -> Callable[[Any], None]:
    """An entity marked is_deleted (DIFFERENTIAL feeds), carrying only its id."""
    def fill(entity: Any) -> None:
        entity.id = entity_id
        entity.is_deleted = True
    return fill


def import_realtime(session: Any, content: bytes, provider: str, live: Any,
                    now: datetime | None = None) -> ImportOutcome:
    """Import a FeedMessage through the real sync, as ``feeds import --format gtfs-rt``."""
    kwargs = {"clock": lambda: now} if now is not None else {}
    return import_payload(session, provider=provider, format_name="gtfs-rt",
                          payload=Payload(content, f"{provider}.pb"), config={}, live=live,
                          **kwargs)
