"""Server-rendered portal: the developer portal (provider and admin pages and the sample parking
app are not built yet)."""

from __future__ import annotations

from flask import Blueprint, Flask, g, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from apis import all_products
from app.db import db
from app.identity.catalog import list_plans

home = Blueprint("home", __name__, template_folder="templates", static_folder="static",
                 static_url_path="/static/portal")
csrf = CSRFProtect()


@home.get("/")
def landing() -> str:
    """The landing page: what the hub publishes, the plans, and where to start."""
    plans = list_plans(db.session())
    db.session().commit()  # list_plans creates the catalogue on a fresh install
    return render_template("home/landing.html", products=all_products(), plans=plans)


@home.before_app_request
def fresh_csrf_cache() -> None:
    """Forget a form token cached in ``g`` by an earlier request sharing the app context."""
    # flask-wtf caches the token in g; tests (and CLI code) can run several requests in one
    # app context, where a cached token of another session would be wrong.
    g.pop("csrf_token", None)
    g.pop("csrf_valid", None)


def csrf_failed(error: CSRFError) -> tuple[str, int]:
    """A stale or missing form token: say so plainly and let the user retry."""
    return render_template("errors/error.html", status=400, title="Form expired",
                           detail="The form was open too long or came from elsewhere. "
                                  "Go back, reload the page and send it again."), 400


def register_portal(app: Flask) -> None:
    """Register the portal's blueprints and CSRF protection of their forms.

    CSRF is checked by the portal blueprints themselves (``csrf.protect()`` in their
    ``before_request``), not app-wide: the APIs and the OAuth token endpoint authenticate with
    keys and tokens, never cookies, and must not require a form token.
    """
    from portal.developer import developer

    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session's lifetime
    csrf.init_app(app)
    app.register_blueprint(home)
    app.register_blueprint(developer)
    app.register_error_handler(CSRFError, csrf_failed)
