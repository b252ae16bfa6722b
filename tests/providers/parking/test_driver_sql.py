"""The parking reads' one statement, run on the DBAPI cursor (providers/parking/driver_sql.py).

Its rows must be the values ``Connection.execute`` gives, and its errors the ones
``app.db.run_read_only`` relies on: a dead pooled connection is retried once.
"""

import pytest
import sqlalchemy as sa

from app.db import Database, UTCDateTime, db, run_read_only
from providers.parking import queries
from providers.parking.driver_sql import DriverStatement
from providers.parking.queries import FacilitySearch, search_facilities, zones_at
from tests.factories.parking import import_lots, import_zones_csv, lot


def test_rows_are_what_connection_execute_gives(session, redis):
    tariff = {"currency": "EUR", "bands": [{"start": "00:00", "end": "24:00",
                                             "period_minutes": 60, "price": 150}]}
    import_lots(session, redis, [lot("a", 50.0, 7.0, capacity=10, ev="ja", ev_spaces=2,
                                     tariff=tariff), lot("b", 50.001, 7.0)])
    import_zones_csv(session, redis, [
        "z1;Street;LINESTRING(9.0 50.0, 9.001 50.0);",
        "z2;Area;POLYGON((9.0 50.02, 9.001 50.02, 9.001 50.021, 9.0 50.021, 9.0 50.02));"])
    connection = session.connection()
    dialect = connection.dialect.name
    facility_ids = connection.execute(sa.text("SELECT id FROM parking_facility")).scalars().all()
    zone_ids = connection.execute(sa.text("SELECT id FROM parking_zone")).scalars().all()
    for statement, ids in ((queries._facilities_by_id(dialect), facility_ids),
                           (queries._zones_by_id(dialect), zone_ids),
                           (queries._facilities_by_id(dialect), [])):
        values = {"ids": queries._id_list_value(ids, dialect)}
        expected = connection.execute(statement._statement, values).all()
        rows = statement.rows(connection, values)
        assert [row._asdict() for row in rows] == [row._asdict() for row in expected]
        for row, plain in zip(rows, expected, strict=True):  # the same types, too
            assert [type(v) for v in row] == [type(v) for v in plain]


def test_a_statement_with_bind_processors_is_refused(session):
    statement = DriverStatement(sa.select(sa.bindparam("at", type_=UTCDateTime())), "Row",
                                {"at": None})
    with pytest.raises(ValueError, match="bind processors"):
        statement.rows(session.connection(), {"at": None})


def test_a_dead_pooled_connection_is_retried_once(make_app):
    application = make_app(REDIS_URL="")
    engine = Database.state(application).engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the server ends a connection only on PostgreSQL")
    with application.app_context():
        session = db.session()
        live = application.extensions["mobihub.live"].client

        def backend_pid(connection: sa.Connection) -> int:
            return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()

        for lookup in (lambda: search_facilities(session, live,
                                                 FacilitySearch(lat=50.0, lon=7.0)),
                       lambda: zones_at(session, 50.0, 9.0)):
            lookup()
            pid = run_read_only(session, backend_pid)
            with engine.connect() as admin:
                admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                admin.commit()
            lookup()  # the statement meets the dead connection, the pool drops it, one retry
            assert run_read_only(session, backend_pid) != pid
