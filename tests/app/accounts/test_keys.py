"""The API key format: prefix, random secret, checksum; only a digest is stored."""

import re

import sqlalchemy as sa

from app.accounts.keys import generate_key, hash_secret, parse_key
from app.accounts.models import ApiKey
from app.accounts.services import OPERATOR, issue_api_key
from tests.factories.accounts import make_developer_app


def test_generated_keys_carry_environment_id_secret_and_checksum():
    raw, parsed = generate_key("live")
    assert re.fullmatch(r"mob_live_[0-9A-Za-z]{8}_[0-9A-Za-z]{30}", raw)
    assert raw.startswith(parsed.key_id + "_")
    assert parse_key(raw) == parsed
    assert parse_key(generate_key("test")[0]).environment == "test"


def test_secret_has_at_least_128_bits_and_keys_differ():
    raws = {generate_key("live")[0] for _ in range(200)}
    assert len(raws) == 200
    # 24 characters of base62: 24 * log2(62) ≈ 142.9 bits.
    assert len(parse_key(raws.pop()).secret) * 5.954 >= 128


def test_a_typo_is_rejected_by_the_checksum():
    raw, _ = generate_key("live")
    position = len(raw) - 10
    replacement = "A" if raw[position] != "A" else "B"
    typo = raw[:position] + replacement + raw[position + 1:]
    assert parse_key(typo) is None
    assert parse_key(raw[:-1]) is None
    assert parse_key(raw + "x") is None
    assert parse_key("") is None
    assert parse_key(None) is None
    assert parse_key("mob_prod_" + raw[9:]) is None


def test_only_the_sha256_of_the_secret_is_stored(session):
    app = make_developer_app(session)
    issued = issue_api_key(session, OPERATOR, app.id, label="ci")
    parsed = parse_key(issued.raw)
    row = session.execute(sa.select(ApiKey.__table__).where(
        ApiKey.key_id == parsed.key_id)).mappings().one()
    assert row["secret_sha256"] == hash_secret(parsed.secret)
    stored = " ".join(str(value) for value in row.values())
    assert parsed.secret not in stored
    assert issued.raw not in stored


def test_the_raw_key_is_never_in_reprs(session):
    app = make_developer_app(session)
    issued = issue_api_key(session, OPERATOR, app.id)
    assert parse_key(issued.raw).secret not in repr(issued)
    assert parse_key(issued.raw).secret not in repr(parse_key(issued.raw))
