from tests.support.gateway import developer, hub, hub_client, probe_hub  # noqa: F401
