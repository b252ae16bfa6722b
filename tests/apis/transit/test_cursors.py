"""Pagination cursors of the transit lists: pages neither skip nor repeat, forged ones are 400."""

from __future__ import annotations

import base64
import json

import pytest

from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes

STOPS_NEAR = "/transit/v1/stops?lat=40.75&lon=-73.99&radius=5000"
TWO_ROUTES = ("route_id,agency_id,route_short_name,route_long_name,route_type\n"
              "R1,AG,1,Alpha - Bravo,3\nR2,AG,2,Bravo - Alpha,3\n")


def forged(data: object) -> str:
    """A cursor built by the client, not by the API."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def all_pages(api_client, path: str) -> list[str]:
    ids, cursor = [], None
    while True:
        body = api_client.get(path + (f"&cursor={cursor}" if cursor else "")).get_json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


@pytest.fixture
def network(session):
    return import_gtfs_bytes(session, gtfs_zip())


@pytest.mark.parametrize("path", ["/transit/v1/stops?limit=1", STOPS_NEAR + "&limit=1",
                                  "/transit/v1/routes?limit=1"])
def test_pages_of_one_item_list_everything_once(api_client, network, path):
    everything = api_client.get(path.replace("limit=1", "limit=200")).get_json()["items"]
    assert all_pages(api_client, path) == [item["id"] for item in everything]


@pytest.mark.parametrize(("path", "content"), [
    ("/transit/v1/stops", {"after": "abc"}),
    ("/transit/v1/stops", {"after": None}),
    ("/transit/v1/stops", {"after": -5}),
    ("/transit/v1/stops", {"after": True}),
    ("/transit/v1/stops", {"after": 2**64}),
    ("/transit/v1/stops", {"offset": 1}),  # a near search's cursor on the plain list
    (STOPS_NEAR, {"offset": "x"}),
    (STOPS_NEAR, {"offset": -1}),
    (STOPS_NEAR, {"offset": 1.5}),
    (STOPS_NEAR, {"after": 1}),  # the plain list's cursor on a near search
    ("/transit/v1/routes", {"v": "a"}),
    ("/transit/v1/routes", {"v": None}),
    ("/transit/v1/routes", {"v": 1, "r": 7}),
    ("/transit/v1/routes", {"v": 1}),
    ("/transit/v1/routes", []),
])
def test_a_tampered_cursor_is_a_400_problem_not_a_500(api_client, network, path, content):
    joiner = "&" if "?" in path else "?"
    response = api_client.get(f"{path}{joiner}cursor={forged(content)}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "https://mobihub.eu/problems/invalid-cursor"


@pytest.mark.parametrize(("path", "other"), [
    (STOPS_NEAR + "&limit=1", STOPS_NEAR.replace("radius=5000", "radius=4000")),
    ("/transit/v1/stops?limit=1", "/transit/v1/stops?q=a"),
    ("/transit/v1/stops?q=a&limit=1", "/transit/v1/stops?q=b"),
    ("/transit/v1/routes?limit=1", "/transit/v1/routes?type=3"),
])
def test_a_cursor_sent_back_with_other_filters_is_a_400_problem(api_client, session, path,
                                                                 other):
    import_gtfs_bytes(session, gtfs_zip({"routes.txt": TWO_ROUTES}))
    cursor = api_client.get(path).get_json()["next_cursor"]
    assert cursor is not None
    joiner = "&" if "?" in other else "?"
    assert api_client.get(f"{path}&cursor={cursor}").status_code == 200  # same filters
    response = api_client.get(f"{other}{joiner}limit=1&cursor={cursor}")
    assert response.status_code == 400
    assert response.get_json()["type"] == "https://mobihub.eu/problems/invalid-cursor"
    assert "other filters" in response.get_json()["detail"]
