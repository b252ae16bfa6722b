"""Fixtures shared by the OAuth tests."""

import pytest

from tests.factories.accounts import make_developer_app
from tests.factories.oauth import make_client


@pytest.fixture
def registered(session):
    """A confidential client of a fresh developer app, committed."""
    registered = make_client(session, make_developer_app(session))
    session.commit()
    return registered
