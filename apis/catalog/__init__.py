"""Catalog API product: which API products the hub publishes and where their specs live."""

from apis import ApiProduct


def _blueprints() -> list:
    from apis.catalog.products.views import blp

    return [blp]


PRODUCT = ApiProduct(
    slug="catalog",
    title="MobiHub Catalog API",
    version="v1",
    description="The API products MobiHub publishes, with links to their OpenAPI documents.",
    blueprints=_blueprints,
    authenticated=False,
)
