"""Alembic migrations and the SQLAlchemy models describe the same schema."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db import PER_STATEMENT_ON_POSTGRESQL, Base, Database, import_all_models
from app.migrate import current_revisions, head_revisions, include_object, pending_revisions


def test_database_is_at_every_head(app):
    engine = Database.state(app).engine
    assert pending_revisions(engine) == set()
    assert current_revisions(engine) <= head_revisions(engine)


def test_models_and_migrations_do_not_drift(app):
    engine = Database.state(app).engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": include_object(connection.dialect.name)})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "models changed without a migration: " + repr(differences)


@pytest.mark.postgres_only
def test_every_key_left_out_of_the_comparison_has_its_triggers(app):
    """The drift test skips keys marked PER_STATEMENT_ON_POSTGRESQL; this holds each such table
    to the triggers that stand in for its key (a new table needs them in a migration)."""
    import_all_models()
    marked = sorted(table.name for table in Base.metadata.tables.values()
                    if any(key.info.get(PER_STATEMENT_ON_POSTGRESQL)
                           for key in table.foreign_keys))
    assert marked
    with Database.state(app).engine.connect() as connection:
        triggers = set(connection.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").scalars())
        cascade = connection.exec_driver_sql(
            "SELECT prosrc FROM pg_proc WHERE proname = 'feed_version_cascade_transit'").scalar()
    for table in marked:
        assert {f"{table}_version_key_insert", f"{table}_version_key_update"} <= triggers, table
        assert f"DELETE FROM {table} WHERE" in cascade, table


@pytest.mark.postgres_only
def test_storage_parameters_of_the_models_are_the_databases(app):
    """Alembic does not compare a table's storage parameters (``postgresql_with``): this does."""
    import_all_models()
    declared = {table.name: table.dialect_options["postgresql"]["with"]
                for table in Base.metadata.tables.values()
                if table.dialect_options["postgresql"]["with"]}
    assert "transit_pattern_stop" in declared
    with Database.state(app).engine.connect() as connection:
        stored = dict(connection.exec_driver_sql(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%(names)s)",
            {"names": list(declared)}).all())
    for table, options in declared.items():
        assert sorted(stored[table] or []) == sorted(
            f"{key}={value}" for key, value in options.items()), table
