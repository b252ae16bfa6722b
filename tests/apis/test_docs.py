"""The interactive docs work with the network cut: every asset is served by the hub."""

import re


def test_docs_page_loads_only_local_assets(client):
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the docs page references no assets"
    for source in sources:
        assert not source.startswith(("http:", "https:", "//")), f"remote asset {source}"
        if source.startswith("/static/"):
            asset = client.get(source)
            assert asset.status_code == 200, source
            asset.close()


def test_docs_page_lists_every_product_spec_and_each_spec_is_served(client):
    html = client.get("/docs").get_data(as_text=True)
    for product in ("parking", "transit", "catalog", "account"):
        url = f"/openapi/{product}.v1.json"
        assert url in html
        spec = client.get(url)
        assert spec.status_code == 200
        assert spec.get_json()["openapi"].startswith("3.")


def test_catalog_lists_the_products_with_spec_and_docs_links(client):
    items = client.get("/catalog/v1/products").get_json()["items"]
    assert [i["slug"] for i in items] == ["parking", "transit", "catalog", "account"]
    transit = client.get("/catalog/v1/products/transit").get_json()
    assert transit["spec_url"] == "/openapi/transit.v1.json"
    assert transit["docs_url"] == "/docs?product=transit"
