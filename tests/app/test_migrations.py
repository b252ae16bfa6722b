"""Alembic migrations and the SQLAlchemy models describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db import Base, Database
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
