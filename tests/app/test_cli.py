"""The ``mobihub`` command's foundation commands."""

import sqlalchemy as sa

from app.accounts.models import Organisation


def test_db_upgrade_is_idempotent_and_names_the_backend(mobihub, app):
    first = mobihub("db", "upgrade")
    second = mobihub("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    backend = app.extensions["mobihub.db.state"].engine.dialect.name
    assert f"({backend})" in second.output


def test_demo_is_idempotent(mobihub, session):
    first = mobihub("demo")
    second = mobihub("demo")
    assert first.exit_code == 0, first.output
    assert "created organisation 'MobiHub Demo'" in first.output
    assert "found organisation 'MobiHub Demo'" in second.output
    count = session.scalar(
        sa.select(sa.func.count())
        .select_from(Organisation)
        .where(Organisation.slug == "mobihub-demo")
    )
    assert count == 1


def test_unknown_command_is_a_usage_error(mobihub):
    result = mobihub("no-such-command")
    assert result.exit_code == 2
