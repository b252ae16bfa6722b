"""GET /transit/v1/vehicles: live positions, optionally in a box."""

from __future__ import annotations

from providers.transit.live import apply_update


def vehicle(vehicle_id: str, lat: float, lon: float) -> dict:
    """A vehicle position as the GTFS-RT writer stores it."""
    return {"entity_id": vehicle_id, "vehicle_id": vehicle_id, "lat": lat, "lon": lon,
            "trip": None, "timestamp": 1_700_000_000}


def test_a_bbox_over_the_antimeridian_keeps_the_vehicles_on_both_sides(api_client, redis):
    apply_update(redis, "fiji", {
        "full": True,
        "vehicles": {v["vehicle_id"]: v for v in (vehicle("west", -16.8, 179.999),
                                                  vehicle("east", -16.8, -179.999),
                                                  vehicle("far", -16.8, 170.0))},
        "meta": {"timestamp": 1_700_000_000, "received_at": 1_700_000_000,
                 "static_version": 0}}, ttl=600)
    response = api_client.get("/transit/v1/vehicles?bbox=179.99,-17,-179.99,-16")
    assert response.status_code == 200
    assert [v["id"] for v in response.get_json()["items"]] == ["fiji:east", "fiji:west"]
