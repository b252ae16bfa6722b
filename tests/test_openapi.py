"""The checked-in specs under ``openapi/`` are exactly what the app generates."""

from pathlib import Path

from apis import all_products, dump_spec, spec_documents

OPENAPI_DIR = Path(__file__).resolve().parent.parent / "openapi"


def test_checked_in_specs_match_the_generated_ones(app):
    generated = spec_documents(app)
    assert sorted(generated) == sorted(p.spec_filename for p in all_products())
    for filename, document in generated.items():
        checked_in = OPENAPI_DIR / filename
        assert checked_in.exists(), f"{filename} missing: run `mobihub openapi write`"
        assert checked_in.read_text(encoding="utf-8") == dump_spec(document), (
            f"openapi/{filename} drifted from the code: run `mobihub openapi write`"
        )


def test_openapi_write_command_writes_one_file_per_product(mobihub, tmp_path):
    result = mobihub("openapi", "write", str(tmp_path))
    assert result.exit_code == 0, result.output
    for product in all_products():
        written = tmp_path / product.spec_filename
        assert written.read_text() == (OPENAPI_DIR / product.spec_filename).read_text()


def test_every_error_response_is_documented_as_problem_json(app):
    for document in spec_documents(app).values():
        for response in document["components"].get("responses", {}).values():
            if "content" in response:
                assert list(response["content"]) == ["application/problem+json"]


def test_metered_products_declare_api_key_and_oauth2_and_the_catalog_is_public(app):
    documents = spec_documents(app)
    for product, scope in (("parking", "parking:read"), ("transit", "transit:read")):
        document = documents[f"{product}.v1.yaml"]
        schemes = document["components"]["securitySchemes"]
        assert schemes["ApiKey"] == {
            "type": "apiKey", "in": "header", "name": "X-API-Key",
            "description": schemes["ApiKey"]["description"],
        }
        assert schemes["OAuth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
        assert document["security"] == [{"ApiKey": []}, {"OAuth2": [scope]}]
    assert "security" not in documents["catalog.v1.yaml"]
