"""Describe the published products for the catalog (read from the product registry)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from apis import all_products
from app.errors import Problem


def list_products() -> list[dict[str, Any]]:
    """Every product as the catalog shows it."""
    return [_describe(product) for product in all_products()]


def find_product(slug: str) -> dict[str, Any]:
    """One product, or a 404 problem naming the slug."""
    for product in all_products():
        if product.slug == slug:
            return _describe(product)
    raise Problem(404, "not-found", "Not Found", f"No API product is called {slug!r}.")


def _describe(product: Any) -> dict[str, Any]:
    return {
        "slug": product.slug,
        "title": product.title,
        "version": product.version,
        "description": product.description,
        "spec_url": url_for(f"{product.slug}-api-docs.openapi_json"),
        "docs_url": url_for("docs.interactive_docs", product=product.slug),
    }
