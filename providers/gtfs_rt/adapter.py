"""GTFS-Realtime adapter: TripUpdates, VehiclePositions and Alerts from one protobuf message.

Decoding uses the official bindings (gtfs-realtime-bindings). Entities become plain dicts, so
the real-time writer and the API never touch protobuf objects. Field meanings follow the
GTFS-Realtime reference (https://gtfs.org/realtime/reference/).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2 as rt

from providers.base import AdapterInfo, FeedFormatError, ImportResult, ValidationReport

DEFAULT_TTL_SECONDS = 900

_TRIP_RELATIONSHIP = {v: k for k, v in rt.TripDescriptor.ScheduleRelationship.items()}
_STOP_RELATIONSHIP = {
    v: k for k, v in rt.TripUpdate.StopTimeUpdate.ScheduleRelationship.items()}
_VEHICLE_STATUS = {v: k for k, v in rt.VehiclePosition.VehicleStopStatus.items()}
_OCCUPANCY = {v: k for k, v in rt.VehiclePosition.OccupancyStatus.items()}
_CAUSE = {v: k for k, v in rt.Alert.Cause.items()}
_EFFECT = {v: k for k, v in rt.Alert.Effect.items()}


def decode_feed(payload: bytes) -> Any:
    """Parse a FeedMessage, or raise FeedFormatError saying why it is not one."""
    if not payload:
        raise FeedFormatError("The payload is empty; a GTFS-Realtime feed is a protobuf "
                              "FeedMessage.", code="invalid_protobuf")
    message = rt.FeedMessage()
    try:
        message.ParseFromString(payload)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise FeedFormatError(f"The payload is not a GTFS-Realtime protobuf: {exc}.",
                              code="invalid_protobuf") from exc
    if not message.HasField("header") or not message.header.gtfs_realtime_version:
        raise FeedFormatError("The payload is not a GTFS-Realtime FeedMessage (it has no "
                              "header with gtfs_realtime_version).", code="invalid_protobuf")
    return message


def _opt(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def _trip(descriptor: Any) -> dict[str, Any]:
    return {
        "trip_id": _opt(descriptor, "trip_id"),
        "route_id": _opt(descriptor, "route_id"),
        "direction_id": _opt(descriptor, "direction_id"),
        "start_date": _opt(descriptor, "start_date"),
        "start_time": _opt(descriptor, "start_time"),
        "schedule_relationship": _TRIP_RELATIONSHIP.get(descriptor.schedule_relationship,
                                                        "SCHEDULED"),
    }


def _event(update: Any, field: str) -> dict[str, Any] | None:
    if not update.HasField(field):
        return None
    event = getattr(update, field)
    return {"time": _opt(event, "time"), "delay": _opt(event, "delay")}


def _translated(text: Any) -> str | None:
    # First translation without a language (or the first one): the feed's default text.
    if not text.translation:
        return None
    for item in text.translation:
        if not item.language:
            return item.text
    return text.translation[0].text


class GtfsRealtimeAdapter:
    """One GTFS-Realtime FeedMessage → trip updates, vehicle positions and alerts."""

    info = AdapterInfo(format="gtfs-rt", kind="transit", realtime=True,
                       title="GTFS-Realtime (trip updates, vehicle positions, alerts)",
                       media_types=("application/x-protobuf", "application/octet-stream"))

    def parse(self, payload: bytes, config: Mapping[str, Any]) -> ImportResult:
        """Decode the message; entities become dicts under trip_updates, vehicles and alerts."""
        message = decode_feed(payload)
        report = ValidationReport()
        trip_updates: list[dict[str, Any]] = []
        vehicles: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        header = message.header
        for entity in message.entity:
            if entity.is_deleted:
                continue
            if entity.HasField("trip_update"):
                tu = entity.trip_update
                trip_updates.append({
                    "entity_id": entity.id,
                    "trip": _trip(tu.trip),
                    "vehicle_id": tu.vehicle.id if tu.HasField("vehicle") else None,
                    "timestamp": _opt(tu, "timestamp"),
                    "delay": _opt(tu, "delay"),
                    "stop_time_updates": [
                        {
                            "stop_sequence": _opt(stu, "stop_sequence"),
                            "stop_id": _opt(stu, "stop_id"),
                            "arrival": _event(stu, "arrival"),
                            "departure": _event(stu, "departure"),
                            "schedule_relationship": _STOP_RELATIONSHIP.get(
                                stu.schedule_relationship, "SCHEDULED"),
                        }
                        for stu in tu.stop_time_update
                    ],
                })
            if entity.HasField("vehicle"):
                vp = entity.vehicle
                if not vp.HasField("position"):
                    report.warning("vehicle_without_position", f"Vehicle entity {entity.id!r} "
                                   "has no position; it is skipped.", field="position",
                                   value=entity.id)
                    continue
                position = vp.position
                if not (-90 <= position.latitude <= 90 and -180 <= position.longitude <= 180):
                    report.error("coordinate_out_of_range", f"Vehicle entity {entity.id!r} is "
                                 "outside WGS84 bounds.", field="position", value=entity.id)
                    continue
                vehicles.append({
                    "entity_id": entity.id,
                    "vehicle_id": (vp.vehicle.id or None) if vp.HasField("vehicle") else None,
                    "label": (vp.vehicle.label or None) if vp.HasField("vehicle") else None,
                    "trip": _trip(vp.trip) if vp.HasField("trip") else None,
                    "lat": position.latitude,
                    "lon": position.longitude,
                    "bearing": _opt(position, "bearing"),
                    "speed": _opt(position, "speed"),
                    "stop_id": _opt(vp, "stop_id"),
                    "current_status": _VEHICLE_STATUS.get(vp.current_status)
                    if vp.HasField("current_status") else None,
                    "occupancy_status": _OCCUPANCY.get(vp.occupancy_status)
                    if vp.HasField("occupancy_status") else None,
                    "timestamp": _opt(vp, "timestamp") or _opt(header, "timestamp"),
                })
            if entity.HasField("alert"):
                alert = entity.alert
                alerts.append({
                    "entity_id": entity.id,
                    "cause": _CAUSE.get(alert.cause, "UNKNOWN_CAUSE"),
                    "effect": _EFFECT.get(alert.effect, "UNKNOWN_EFFECT"),
                    "header": _translated(alert.header_text),
                    "description": _translated(alert.description_text),
                    "url": _translated(alert.url),
                    "active_periods": [
                        {"start": _opt(p, "start"), "end": _opt(p, "end")}
                        for p in alert.active_period
                    ],
                    "informed": [
                        {
                            "agency_id": _opt(sel, "agency_id"),
                            "route_id": _opt(sel, "route_id"),
                            "stop_id": _opt(sel, "stop_id"),
                            "trip_id": sel.trip.trip_id if sel.HasField("trip")
                            and sel.trip.trip_id else None,
                        }
                        for sel in alert.informed_entity
                    ],
                })
        kinds = [k for k, items in (("trip_updates", trip_updates), ("vehicles", vehicles),
                                    ("alerts", alerts)) if items]
        return ImportResult(
            records={"trip_updates": trip_updates, "vehicles": vehicles, "alerts": alerts},
            report=report,
            meta={
                "realtime": True,
                "timestamp": _opt(header, "timestamp"),
                "incrementality": "DIFFERENTIAL" if header.incrementality == 1
                else "FULL_DATASET",
                "kinds": list(config.get("kinds") or kinds),
                "ttl_seconds": int(config.get("realtime_ttl_seconds") or DEFAULT_TTL_SECONDS),
            },
        )
