"""Arrow tables as PostgreSQL's binary COPY stream, encoded column-wise in C (Arrow, numpy).

psycopg's ``Copy.write_row`` formats a row at a time from Python objects: for the packed
tables (a few thousand rows holding MB of arrays) that was most of the client's share of the
COPY (NYC's pattern stops: 17 ms of CPU, against 2 ms here), and every array went through a
Python ``bytes`` first. Here each row's fields are laid out by numpy (the fixed-width ones, in
network byte order, with their length words) and joined to the variable-width ones by Arrow's
``binary_join_element_wise``, whose output buffer is the rows one after another: the COPY body.

The format (PostgreSQL docs, "COPY", "Binary Format"): a signature and two zero words, then
per row a 16-bit field count and per field a 32-bit length (``-1`` for NULL) and the value in
the type's binary send format, then a ``-1`` 16-bit trailer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
TRAILER = b"\xff\xff"
NULL_FIELD = b"\xff\xff\xff\xff"

# Arrow type -> (PostgreSQL type, numpy dtype of its binary send format: big-endian).
FIXED_WIDTH = {
    pa.int16(): ("int2", np.dtype(">i2")),
    pa.int32(): ("int4", np.dtype(">i4")),
    pa.int64(): ("int8", np.dtype(">i8")),
    pa.float64(): ("float8", np.dtype(">f8")),
    pa.bool_(): ("bool", np.dtype("u1")),
}
VARIABLE_WIDTH = {pa.string(): "text", pa.binary(): "bytea"}


def postgres_types(table: pa.Table) -> list[str]:
    """The PostgreSQL type each column is sent as (a COPY target's columns must match)."""
    return [FIXED_WIDTH[kind][0] if kind in FIXED_WIDTH else VARIABLE_WIDTH[kind]
            for kind in table.schema.types]


def copy_body(table: pa.Table, leading: int | None = None) -> memoryview:
    """The table's rows in binary COPY format, without the signature and the trailer.

    ``leading``: a constant ``int8`` field in front of every row (the feed version id), so the
    caller's table need not carry it as a column. Raises ``KeyError`` for an unsupported type.
    """
    n = table.num_rows
    fields: list[tuple[str, np.dtype]] = [("count", np.dtype(">i2"))]
    values: list[Any] = [table.num_columns + (leading is not None)]
    pieces: list[pa.Array] = []

    def fixed(name: str, dtype: np.dtype, value: Any) -> None:
        fields.extend([(f"{name}_length", np.dtype(">i4")), (name, dtype)])
        values.extend([dtype.itemsize, value])

    def flush() -> None:
        """The fixed-width fields gathered since the last variable-width one, as one piece."""
        if len(fields) == 0:
            return
        layout = np.dtype(fields)
        rows = np.empty(n, layout)
        for (name, _), value in zip(fields, values, strict=True):
            rows[name] = value
        pieces.append(_as_binary(rows, layout.itemsize))
        fields.clear()
        values.clear()

    if leading is not None:
        fixed("leading", np.dtype(">i8"), leading)
    for i, column in enumerate(table.columns):
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        kind = array.type
        if kind not in FIXED_WIDTH and kind not in VARIABLE_WIDTH:
            raise KeyError(f"no binary COPY encoding for Arrow type {kind}")
        if array.null_count == n:  # NULL throughout (optional fields no row gives): -1 only
            fields.append((f"c{i}_length", np.dtype(">i4")))
            values.append(-1)
        elif kind in FIXED_WIDTH:
            dtype = FIXED_WIDTH[kind][1]
            numbers = array.fill_null(False if kind == pa.bool_() else 0).to_numpy(
                zero_copy_only=False)
            if not array.null_count:
                fixed(f"c{i}", dtype, numbers)
                continue
            # A NULL has no value after its length word: the field's width varies by row.
            flush()
            layout = np.dtype([("length", ">i4"), ("value", dtype)])
            present = np.empty(n, layout)
            present["length"] = dtype.itemsize
            present["value"] = numbers
            pieces.append(pc.if_else(array.is_valid(), _as_binary(present, layout.itemsize),
                                     pa.scalar(NULL_FIELD, pa.large_binary())))
        elif kind in VARIABLE_WIDTH:
            lengths = pc.binary_length(array).fill_null(-1)
            fields.append((f"c{i}_length", np.dtype(">i4")))
            values.append(lengths.to_numpy(zero_copy_only=False))
            flush()
            pieces.append(array.cast(pa.large_binary()))
    flush()
    if not n:
        return memoryview(b"")
    joined = pc.binary_join_element_wise(*pieces, pa.scalar(b"", pa.large_binary()),
                                         null_handling="replace", null_replacement=b"")
    offsets = np.frombuffer(joined.buffers()[1], np.int64, n + 1, joined.offset * 8)
    return memoryview(joined.buffers()[2])[offsets[0]:offsets[-1]]


def _as_binary(rows: np.ndarray, width: int) -> pa.Array:
    """A numpy array of fixed-size records as an Arrow binary array, one item per record."""
    data = pa.py_buffer(rows.tobytes())
    offsets = pa.py_buffer(np.arange(0, (len(rows) + 1) * width, width, dtype=np.int64))
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(rows), [None, offsets, data])
