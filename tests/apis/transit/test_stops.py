"""GET /transit/v1/stops: near a point, in a box, by name."""

from __future__ import annotations

from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes

# Fiji's Taveuni lies on the antimeridian: W is just west of it, E just east, F far away.
ANTIMERIDIAN_STOPS = {
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
                 "A,Alpha Station,-16.80,179.9990,1,\n"
                 "A1,Alpha Platform 1,-16.80,179.9991,0,A\n"
                 "B,Bravo East,-16.80,-179.9990,0,\n"
                 "F,Far away,-16.80,170.0,0,\n",
}


def test_a_near_search_finds_stops_across_the_antimeridian(api_client, session):
    import_gtfs_bytes(session, gtfs_zip(ANTIMERIDIAN_STOPS))
    items = api_client.get("/transit/v1/stops?lat=-16.80&lon=179.9995&radius=300").get_json()
    assert [s["id"] for s in items["items"]] == ["testtransit:A1", "testtransit:A",
                                                 "testtransit:B"]
    assert 100 < items["items"][-1]["distance"] < 200


def test_a_bbox_whose_west_edge_is_east_of_its_east_edge_crosses_the_antimeridian(
        api_client, session):
    # RFC 7946 section 5.2: such a box spans the antimeridian.
    import_gtfs_bytes(session, gtfs_zip(ANTIMERIDIAN_STOPS))
    response = api_client.get("/transit/v1/stops?bbox=179.99,-17,-179.99,-16")
    assert response.status_code == 200
    assert sorted(s["id"] for s in response.get_json()["items"]) == [
        "testtransit:A", "testtransit:A1", "testtransit:B"]


def test_a_bbox_with_its_south_edge_north_of_its_north_edge_is_a_422(api_client):
    response = api_client.get("/transit/v1/stops?bbox=0,10,1,9")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "bbox"


def test_a_name_search_folds_the_case_of_letters_beyond_ascii(api_client, session):
    # SQLite's own lower() folds ASCII letters only: "MÜNCHEN" would not match "münchen".
    import_gtfs_bytes(session, gtfs_zip({
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
                     "M,MÜNCHEN Hbf,48.14,11.56\n"
                     "S,ΣΟΦΙΑ Central,42.71,23.32\n"
                     "P,Paris Est,48.88,2.36\n"}))

    def found(q: str) -> list[str]:
        response = api_client.get("/transit/v1/stops", query_string={"q": q})
        assert response.status_code == 200
        return [s["id"] for s in response.get_json()["items"]]

    assert found("münchen") == found("München") == found("MÜNCHEN") == ["testtransit:M"]
    assert found("σοφια") == ["testtransit:S"]
    assert found("ü") == ["testtransit:M"]
