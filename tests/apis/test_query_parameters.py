"""Every GET of the API products refuses query parameters it does not know.

A misspelt filter (``?lmit=5``, ``?radus=100``) silently ignored gives a client a plausible but
wrong answer; naming it in a validation problem shows the mistake at once.
"""

from __future__ import annotations

import re

import pytest

from apis import all_products, spec_documents

PRODUCTS = {product.slug for product in all_products()}


def _get_operations() -> list[tuple[str, str]]:
    from flask import Flask

    from apis import register_apis

    app = Flask(__name__)
    register_apis(app)
    operations = []
    for filename, document in spec_documents(app).items():
        for path, item in document["paths"].items():
            if "get" in item and filename.split(".")[0] in PRODUCTS:
                operations.append((filename.split(".")[0], path))
    return operations


OPERATIONS = _get_operations()


def test_every_product_is_covered():
    assert {product for product, _ in OPERATIONS} == PRODUCTS


@pytest.mark.parametrize(("product", "path"), OPERATIONS)
def test_an_unknown_query_parameter_is_a_422_problem_naming_it(api_client, product, path):
    url = re.sub(r"\{[^}]+\}", "1" if product == "account" else "someprovider:someid", path)
    response = api_client.get(f"{url}?lmit=5")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "https://mobihub.eu/problems/validation-error"
    assert {"field": "lmit", "in": "query", "message": "Unknown query parameter."} in body["errors"]


def test_known_parameters_still_work_next_to_each_other(api_client):
    response = api_client.get("/transit/v1/stops?limit=5&q=x&lat=1&lon=2&radius=10")
    assert response.status_code == 200
