"""The worker's in-memory index of served points and shapes follows every activated version.

The index has no in-process notification: whichever process activates a version, a worker
notices it through the data token that comes with each answer's rows. So activating a new
version here, through the real import path, is what another process's import looks like to it.
"""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from providers.models import Provider
from providers.parking import static_index
from providers.parking.queries import FacilitySearch, search_facilities, zones_at
from tests.factories.parking import import_lots, import_zones_csv, lot


def near(session, redis, lat, lon, radius=500.0):
    page = search_facilities(session, redis, FacilitySearch(lat=lat, lon=lon, radius=radius))
    return [item["id"] for item in page["items"]]


def test_near_follows_a_newly_activated_version(session, redis):
    import_lots(session, redis, [lot("a", 50.0, 7.0), lot("b", 50.001, 7.0)])
    assert near(session, redis, 50.0, 7.0) == ["testcity:a", "testcity:b"]
    built = static_index.current(session.connection(), "facilities")

    # the next version moves "b" away and adds "c": the index is of superseded data now
    import_lots(session, redis, [lot("a", 50.0, 7.0), lot("b", 51.0, 8.0),
                                 lot("c", 50.0005, 7.0)])
    assert near(session, redis, 50.0, 7.0) == ["testcity:a", "testcity:c"]
    assert near(session, redis, 51.0, 8.0) == ["testcity:b"]
    assert static_index.current(session.connection(), "facilities") is not built


def test_near_sees_no_facility_of_a_deleted_version_even_when_its_ids_come_again(
        session, redis):
    # SQLite hands the ids of deleted rows out again (versions and facilities alike); both
    # imports at the same instant, so only the content digest tells the versions apart
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    import_lots(session, redis, [lot("base", 40.0, 5.0)], provider="elsewhere", now=at)
    import_lots(session, redis, [lot("gone", 50.0, 7.0)], now=at)
    assert near(session, redis, 50.0, 7.0) == ["testcity:gone"]
    session.execute(sa.delete(Provider).where(Provider.slug == "testcity"))
    session.expunge_all()

    import_lots(session, redis, [lot("new", 52.0, 9.0)], now=at)
    assert near(session, redis, 50.0, 7.0) == []
    assert near(session, redis, 52.0, 9.0) == ["testcity:new"]


def test_near_on_an_empty_database_then_after_the_first_import(session, redis):
    assert near(session, redis, 50.0, 7.0) == []
    import_lots(session, redis, [lot("a", 50.0, 7.0)])
    assert near(session, redis, 50.0, 7.0) == ["testcity:a"]


def test_near_pages_through_the_index_like_the_sql_path(session, redis):
    lots = [lot(f"l{i}", 50.0 + i * 0.0005, 7.0) for i in range(7)]
    import_lots(session, redis, lots)
    seen, cursor = [], None
    while True:
        page = search_facilities(session, redis, FacilitySearch(
            lat=50.0, lon=7.0, radius=1000, limit=3, cursor=cursor))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"testcity:l{i}" for i in range(7)]
    # a filter the index does not hold (kind) goes through SQL and ranks the same
    filtered = search_facilities(session, redis, FacilitySearch(
        lat=50.0, lon=7.0, radius=1000, limit=10, kinds=["lot", "garage", "other"]))
    plain = search_facilities(session, redis, FacilitySearch(lat=50.0, lon=7.0, radius=1000))
    assert [i["distance_m"] for i in plain["items"]] == sorted(
        i["distance_m"] for i in plain["items"])
    assert {i["id"] for i in filtered["items"]} <= {i["id"] for i in plain["items"]}


SEGMENT = "LINESTRING(9.0 50.0, 9.001 50.0)"
MOVED = "LINESTRING(9.0 50.01, 9.001 50.01)"
SQUARE = "POLYGON((9.0 50.02, 9.001 50.02, 9.001 50.021, 9.0 50.021, 9.0 50.02))"


def test_zones_follow_a_newly_activated_version(session, redis):
    import_zones_csv(session, redis, [f"s1;Main street;{SEGMENT};"])
    assert [z["id"] for z in zones_at(session, 50.00001, 9.0005)] == ["zonecity:s1"]

    import_zones_csv(session, redis, [f"s1;Main street;{MOVED};", f"p1;Square;{SQUARE};"])
    assert zones_at(session, 50.00001, 9.0005) == []
    assert [z["id"] for z in zones_at(session, 50.01001, 9.0005)] == ["zonecity:s1"]
    [square] = zones_at(session, 50.0205, 9.0005)
    assert (square["id"], square["distance_m"]) == ("zonecity:p1", 0.0)


@pytest.mark.parametrize("kind", ["facilities", "zones"])
def test_forget_drops_the_index_and_the_next_lookup_rebuilds_it(session, redis, kind):
    import_lots(session, redis, [lot("a", 50.0, 7.0)])
    import_zones_csv(session, redis, [f"s1;Main street;{SEGMENT};"])
    near(session, redis, 50.0, 7.0)
    zones_at(session, 50.0, 9.0005)
    static_index.forget()
    assert static_index.current(session.connection(), kind) is None
    assert near(session, redis, 50.0, 7.0) == ["testcity:a"]
    assert [z["id"] for z in zones_at(session, 50.0, 9.0005)] == ["zonecity:s1"]
    assert static_index.current(session.connection(), kind) is not None


def test_an_index_read_in_several_chunks_holds_every_served_row(session, redis, monkeypatch):
    monkeypatch.setattr(static_index, "_BATCH", 2)  # 5 lots and 3 zones: 3 and 2 chunks
    import_lots(session, redis, [lot(f"l{i}", 50.0 + i * 0.0005, 7.0) for i in range(5)])
    import_zones_csv(session, redis, [f"s1;Main street;{SEGMENT};", f"s2;Moved;{MOVED};",
                                      f"p1;Square;{SQUARE};"])
    static_index.forget()
    assert near(session, redis, 50.0, 7.0, radius=1000) == [f"testcity:l{i}" for i in range(5)]
    assert len(static_index.current(session.connection(), "facilities").ids) == 5
    assert [z["id"] for z in zones_at(session, 50.0205, 9.0005)] == ["zonecity:p1"]
    assert len(static_index.current(session.connection(), "zones").ids) == 3
