"""Read-only work (app.db.run_read_only): no transaction, no pre-ping, a retry when dead."""

import sqlalchemy as sa

from app.db import Database, _read_engine, create_db_engine, db, run_read_only, unicode_lower


def test_read_only_work_opens_no_transaction_and_outlives_a_dead_pooled_connection(make_app):
    application = make_app(REDIS_URL="")
    engine = Database.state(application).engine
    with application.app_context():
        session = db.session()

        def backend_state(connection: sa.Connection) -> tuple[int, bool]:
            if connection.dialect.name == "postgresql":
                pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
                return pid, connection.connection.dbapi_connection.autocommit
            connection.execute(sa.text("SELECT 1")).all()
            return 0, not connection.connection.dbapi_connection.in_transaction

        pid, without_transaction = run_read_only(session, backend_state)
        assert without_transaction
        assert not session.in_transaction()  # the app's session was not used
        if engine.dialect.name != "postgresql":
            return
        # the server ends that pooled connection; the next read notices and retries once
        with engine.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        new_pid, _ = run_read_only(session, backend_state)
        assert new_pid != pid


def test_read_only_work_shares_the_transaction_of_a_session_that_has_one(app, session):
    session.execute(sa.text("SELECT 1"))
    assert run_read_only(session, lambda connection: connection) is session.connection()


def test_read_only_work_on_sqlite_folds_letters_beyond_ascii_like_the_app_engine(tmp_path):
    # The read-only twin of a file-backed SQLite engine has its own connections: the app's SQL
    # functions (app.db.unicode_lower) must be there too.
    engine = create_db_engine(f"sqlite:///{tmp_path / 'fold.sqlite3'}")
    try:
        query = sa.select(unicode_lower(sa.literal("MÜNCHEN ΣΟΦΙΑ")))
        for each in (engine, _read_engine(engine)):
            with each.connect() as connection:
                assert connection.execute(query).scalar_one() == "münchen σοφια"
    finally:
        engine.dispose()
