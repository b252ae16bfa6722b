"""Arrow tables encoded as PostgreSQL's binary COPY stream (providers.transit.pgcopy)."""

from __future__ import annotations

import struct

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.transit import pgcopy


def field(fmt: str, value) -> bytes:
    data = struct.pack(fmt, value)
    return struct.pack(">i", len(data)) + data


def text(value: bytes | None) -> bytes:
    return b"\xff\xff\xff\xff" if value is None else struct.pack(">i", len(value)) + value


def test_rows_are_laid_out_as_postgresql_documents_the_binary_format():
    table = pa.table({
        "small": pa.array([1, None], pa.int16()),
        "number": pa.array([-7, 2**31 - 1], pa.int32()),
        "name": pa.array(["Gare du Nord", ""], pa.string()),
        "packed": pa.array([b"\x00\x01", None], pa.binary()),
        "real": pa.array([0.5, None], pa.float64()),
        "flag": pa.array([True, False], pa.bool_()),
        "unused": pa.array([None, None], pa.int16()),  # NULL throughout
    })
    body = bytes(pgcopy.copy_body(table, leading=42))
    expected = (
        struct.pack(">h", 8) + field(">q", 42) + field(">h", 1) + field(">i", -7)
        + text(b"Gare du Nord") + text(b"\x00\x01") + field(">d", 0.5) + field(">?", True)
        + text(None)
        + struct.pack(">h", 8) + field(">q", 42) + text(None) + field(">i", 2**31 - 1)
        + text(b"") + text(None) + text(None) + field(">?", False) + text(None))
    assert body == expected


def test_an_empty_table_has_an_empty_body():
    table = pa.table({"n": pa.array([], pa.int32()), "b": pa.array([], pa.binary())})
    assert bytes(pgcopy.copy_body(table, leading=1)) == b""


def test_a_type_without_an_encoding_is_refused():
    with pytest.raises(KeyError, match="date32"):
        pgcopy.copy_body(pa.table({"day": pa.array([0], pa.date32())}))


def test_postgres_types_name_each_column_s_type():
    table = pa.table({"a": pa.array([1], pa.int16()), "b": pa.array(["x"]),
                      "c": pa.array([b"x"]), "d": pa.array([1.0])})
    assert pgcopy.postgres_types(table) == ["int2", "text", "bytea", "float8"]


ARROW_TYPES = [pa.int16(), pa.int32(), pa.int64(), pa.float64(), pa.bool_(), pa.string(),
               pa.binary()]
VALUES = {
    pa.int16(): st.integers(-2**15, 2**15 - 1),
    pa.int32(): st.integers(-2**31, 2**31 - 1),
    pa.int64(): st.integers(-2**63, 2**63 - 1),
    pa.float64(): st.floats(allow_nan=False),
    pa.bool_(): st.booleans(),
    pa.string(): st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",))),
    pa.binary(): st.binary(max_size=300),
}


@st.composite
def tables(draw):
    kinds = draw(st.lists(st.sampled_from(ARROW_TYPES), min_size=1, max_size=6))
    rows = draw(st.integers(0, 12))
    columns = {f"c{i}": pa.array(draw(st.lists(st.none() | VALUES[kind], min_size=rows,
                                               max_size=rows)), kind)
               for i, kind in enumerate(kinds)}
    return pa.table(columns)


@pytest.mark.postgres_only
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables())
def test_postgresql_reads_back_every_value_copied(session, table):
    driver = session.connection().connection.driver_connection
    types = pgcopy.postgres_types(table)
    with driver.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copied (version int8, "
                       + ", ".join(f"{name} {kind}" for name, kind in
                                   zip(table.column_names, types, strict=True))
                       + ") ON COMMIT DROP")
        with cursor.copy("COPY copied FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(pgcopy.SIGNATURE)
            copy.write(pgcopy.copy_body(table, leading=9))
            copy.write(pgcopy.TRAILER)
        cursor.execute("SELECT * FROM copied", prepare=False)
        stored = cursor.fetchall()
        cursor.execute("DROP TABLE copied")
    expected = [(9, *row) for row in zip(*(c.to_pylist() for c in table.columns), strict=True)]
    assert stored == expected
