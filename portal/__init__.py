"""Server-rendered portal for developers, providers and admins, and the sample parking app."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from apis import all_products

home = Blueprint("home", __name__, template_folder="templates", static_folder="static",
                 static_url_path="/static/portal")


@home.get("/")
def landing() -> str:
    """The landing page: what the hub publishes and where to start."""
    return render_template("home/landing.html", products=all_products())


def register_portal(app: Flask) -> None:
    """Register the portal's blueprints."""
    app.register_blueprint(home)
