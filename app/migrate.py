"""Alembic, driven from code: ``mobihub db upgrade`` and the test harness call these."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from app.db import PER_STATEMENT_ON_POSTGRESQL

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs on ``engine`` (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["engine"] = engine
    return config


def include_object(dialect_name: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` for comparing the models with a database of this dialect.

    Foreign keys marked ``PER_STATEMENT_ON_POSTGRESQL`` are triggers on PostgreSQL, not
    constraints: comparing them there would report every one as missing.
    """

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
                ) -> bool:
        if type_ != "foreign_key_constraint" or dialect_name != "postgresql" or reflected:
            return True
        return not any(key.info.get(PER_STATEMENT_ON_POSTGRESQL) for key in obj.elements)

    return include


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Migrate the database to the newest revision of every branch."""
    command.upgrade(alembic_config(engine), revision)


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database is at."""
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions(engine: Engine) -> set[str]:
    """The newest revisions the code knows."""
    return set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def pending_revisions(engine: Engine) -> set[str]:
    """Revisions the code knows that the database has not applied yet.

    Alembic keeps only the tips of what was applied in its version table (a revision that
    another one ``depends_on`` drops out of it), so compare against everything below them.
    """
    script = ScriptDirectory.from_config(alembic_config(engine))
    current = tuple(current_revisions(engine))
    applied = {rev.revision for rev in script.revision_map.iterate_revisions(current, "base")}
    known = {rev.revision for rev in script.walk_revisions()}
    return known - applied
