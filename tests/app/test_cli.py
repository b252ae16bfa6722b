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


def test_a_command_on_a_database_never_migrated_says_to_upgrade_without_a_traceback(
        make_app, tmp_path):
    from app.cli import cli
    from tests.conftest import fresh_database
    from tests.providers.transit.factories import gtfs_zip

    feed = tmp_path / "feed.zip"
    feed.write_bytes(gtfs_zip())
    with fresh_database(tmp_path, "never_migrated") as url:
        app = make_app(DATABASE_URL=url, REDIS_URL="")
        runner = app.test_cli_runner()
        for args in (["feeds", "import", str(feed), "--provider", "somewhere"],
                     ["feeds", "list"]):
            result = runner.invoke(cli, args)
            assert result.exit_code == 1, result.output
            assert isinstance(result.exception, SystemExit)  # fail(), not a traceback
            assert "run `mobihub db upgrade` first" in result.output
        app.extensions["mobihub.db.state"].engine.dispose()


def test_a_database_that_cannot_be_reached_is_a_readable_error(make_app, tmp_path):
    from app.cli import cli

    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/no/such/folder/hub.sqlite3",
                   REDIS_URL="")
    result = app.test_cli_runner().invoke(cli, ["feeds", "list"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "cannot use the database" in result.output
