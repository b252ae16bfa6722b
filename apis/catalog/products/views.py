"""Catalog of published API products."""

from flask.views import MethodView

from apis.blueprint import ApiBlueprint
from apis.catalog.products.schemas import ProductListSchema, ProductSchema
from apis.catalog.products.service import find_product, list_products

blp = ApiBlueprint(
    "catalog-products",
    __name__,
    url_prefix="/catalog/v1/products",
    description="The API products MobiHub publishes.",
)


@blp.route("")
class ProductList(MethodView):
    @blp.response(200, ProductListSchema)
    def get(self):
        """List the published API products with links to their specs and docs."""
        return {"items": list_products()}


@blp.route("/<string:slug>")
class ProductDetail(MethodView):
    @blp.response(200, ProductSchema)
    def get(self, slug: str):
        """Get one API product by its slug (``parking``, ``transit`` …)."""
        return find_product(slug)
