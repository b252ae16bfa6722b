"""Account API product: a developer's own organisations, apps and usage."""

from apis import ApiProduct


def _blueprints() -> list:
    from apis.account.apps.views import blp as apps
    from apis.account.usage.views import blp as usage

    return [apps, usage]


PRODUCT = ApiProduct(
    slug="account",
    title="MobiHub Account API",
    version="v1",
    description="Your organisation's apps, credentials and metered usage.",
    blueprints=_blueprints,
)
