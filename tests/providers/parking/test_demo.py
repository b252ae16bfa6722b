"""The demo city: labelled as generated, served by the API, with a replayed day."""

from providers.parking.demo import PROVIDER, seed_demo_city
from tests.support.gateway import make_developer, make_plan


def test_demo_city_is_served_with_zones_tariffs_and_history(session, api_client):
    lines = list(seed_demo_city(session))
    assert "generated" in PROVIDER
    assert any("replayed 576" in line for line in lines)
    headers = make_developer(session, plan=make_plan(session)).headers
    items = api_client.get("/parking/v1/facilities?lat=50.9375&lon=6.9603&radius=5000&limit=50",
                           headers=headers).get_json()["items"]
    assert len(items) == 6
    assert all("(generated)" in i["name"] for i in items)
    assert all(i["availability"]["live"] for i in items)
    zones = api_client.get("/parking/v1/zones?lat=50.9375&lon=6.9603", headers=headers)
    assert [z["name"] for z in zones.get_json()["items"]] == ["Demo Zone Centre (generated)"]
    history = api_client.get(f"/parking/v1/facilities/{items[0]['id']}/availability"
                             "?interval=3600", headers=headers).get_json()["items"]
    assert sum(b["samples"] for b in history) >= 90
    again = list(seed_demo_city(session))
    assert "unchanged" in again[0]
