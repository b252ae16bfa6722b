"""``mobihub oauth …``: OAuth2 clients and signing keys."""

import click


@click.group()
def oauth() -> None:
    """OAuth2 clients and signing keys."""
