"""Alembic environment: migrations run on the engine the caller passes in ``attributes``."""

from alembic import context

from app.db import Base, import_all_models
from app.migrate import include_object

import_all_models()
config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object(connection.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
