"""Settings from the environment and the instance folder."""

import stat

from app.config import Settings


def test_settings_are_read_from_mobihub_variables():
    settings = Settings.from_env({
        "MOBIHUB_DATABASE_URL": "postgresql://db/hub",
        "MOBIHUB_REDIS_URL": "redis://cache:6379/2",
        "MOBIHUB_FEED_FETCH_ALLOW_PRIVATE": "true",
        "MOBIHUB_MAX_UPLOAD_BYTES": "1024",
        "UNRELATED": "x",
    })
    assert settings.DATABASE_URL == "postgresql://db/hub"
    assert settings.REDIS_URL == "redis://cache:6379/2"
    assert settings.FEED_FETCH_ALLOW_PRIVATE is True
    assert settings.MAX_UPLOAD_BYTES == 1024


def test_defaults_put_sqlite_and_a_generated_secret_in_the_instance_folder(make_app, tmp_path,
                                                                         monkeypatch):
    for name in ("MOBIHUB_DATABASE_URL", "MOBIHUB_SECRET_KEY", "MOBIHUB_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    instance = tmp_path / "hub"
    first = make_app(INSTANCE_PATH=str(instance), DATABASE_URL="")
    assert first.config["DATABASE_URL"] == f"sqlite:///{instance / 'mobihub.sqlite3'}"
    secret_file = instance / "secret_key"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 48
    # Generated once, then kept: sessions survive a restart.
    again = make_app(INSTANCE_PATH=str(instance), DATABASE_URL="")
    assert again.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_session_cookies_are_http_only(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
