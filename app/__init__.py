"""MobiHub application package: factory, configuration, persistence, CLI and gateway."""

from app.factory import create_app

__all__ = ["create_app"]
