"""Canonical transit data: models, writers and the query services behind the transit API."""
