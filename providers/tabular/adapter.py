"""CSV parking data driven by a field mapping: any delimiter, BOM, CRLF, decimal commas.

Geometry comes from a WKT column (``POINT``, ``LINESTRING``, ``POLYGON``) or from lat/lon
columns; header names are stripped of spaces; unknown columns are ignored (RFC 4180 CSV, with
the tolerance real city exports need).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from providers.base import AdapterInfo, FeedFormatError, ImportResult, ValidationReport
from providers.parking.mapping import FieldMapping

DELIMITERS = (";", ",", "\t", "|")


def decode(payload: bytes, encoding: str | None, report: ValidationReport) -> str:
    """Text of a CSV payload: UTF-8 (BOM stripped), else Windows-1252 with a warning."""
    if b"\x00" in payload[:4096]:
        raise FeedFormatError("The payload is binary, not CSV text.", code="not_csv")
    if encoding:
        try:
            return payload.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise FeedFormatError(f"Cannot decode as {encoding}: {exc}.", code="not_csv") from None
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.warning("not_utf8", "The CSV is not UTF-8; it was read as Windows-1252.")
        return payload.decode("cp1252", errors="replace")


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most columns (outside quotes)."""
    counts = {d: len(next(csv.reader([header], delimiter=d))) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] < 2:
        raise FeedFormatError("Cannot find the CSV delimiter: the header has one column.",
                              code="not_csv")
    return best


class CsvAdapter:
    """CSV with a mapping."""

    info = AdapterInfo(format="csv", kind="parking", realtime=False,
                       title="CSV with a field mapping", media_types=("text/csv",))

    def parse(self, payload: bytes, config: Mapping[str, Any]) -> ImportResult:
        """Map every row to a facility, zone or reading; bad rows are reported and skipped."""
        mapping = FieldMapping.from_config(config, required=True)
        report = ValidationReport()
        source = str(config.get("source") or "")
        text = decode(payload, mapping.spec.get("encoding"), report)
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            raise FeedFormatError("The CSV is empty (no header line).", code="not_csv")
        delimiter = mapping.spec.get("delimiter") or sniff_delimiter(lines[0])
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        missing = _missing_columns(mapping, header)
        if missing:
            raise FeedFormatError(f"The CSV has no column {', '.join(map(repr, missing))} named "
                                  f"by the mapping; its columns are {header}.",
                                  code="missing_column")
        out: list[Any] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            where = {"file": source, "line": reader.line_num}
            if len(cells) != len(header):
                report.warning("row_length", f"Row has {len(cells)} cells, the header "
                               f"{len(header)}.", **where)
            row = {name: (cells[i].strip() if i < len(cells) else "")
                   for i, name in enumerate(header)}
            built = mapping.build(row, geometry=None, crs=None, report=report, where=where)
            if built is not None:
                out.append(built)
        key = ("availability" if mapping.realtime else
               "zones" if mapping.record_type == "zone" else "facilities")
        return ImportResult({key: out}, report, meta={"realtime": mapping.realtime})


def _missing_columns(mapping: FieldMapping, header: list[str]) -> list[str]:
    columns = set(header)
    wanted: list[str] = []

    def collect(spec: Any) -> None:
        if isinstance(spec, str):
            wanted.append(spec)
        elif isinstance(spec, list):
            wanted.extend(spec)
        elif isinstance(spec, Mapping) and "field" in spec:
            wanted.append(spec["field"])

    for name, spec in mapping.fields.items():
        if name in ("attributes", "rules"):
            for sub in spec.values():
                collect(sub)
        else:
            collect(spec)
    return [w for w in dict.fromkeys(wanted) if w not in columns]
