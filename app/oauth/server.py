"""The OAuth2 authorization server (being built)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the authorization server."""
