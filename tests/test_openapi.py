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
