"""The adapter interface every provider format implements, and its validation report.

Learned from ParkenDD/parkapi-sources-v3 (one converter per source with declared metadata,
per-record errors) and transitland-lib (feed versions, error codes with counts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Severity = Literal["error", "warning"]
AdapterKind = Literal["parking", "transit", "shared"]

# How many example problems of one code a report keeps; the count goes on past it.
EXAMPLES_PER_CODE = 20


class FeedFormatError(Exception):
    """The payload is not the declared format at all (or is unsafe to read); nothing is stored."""

    def __init__(self, message: str, *, code: str = "invalid_format") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Issue:
    """One problem in a feed, located as precisely as the format allows."""

    code: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class ValidationReport:
    """Problems found in a feed, counted per code and capped in examples per code.

    ``fatal`` errors reject the whole import (a required file missing); other errors drop the
    record they concern and are reported.
    """

    counts: Counter[str] = field(default_factory=Counter)
    severities: dict[str, Severity] = field(default_factory=dict)
    examples: dict[str, list[Issue]] = field(default_factory=dict)
    fatal: list[Issue] = field(default_factory=list)

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        value: Any = None,
        fatal: bool = False,
    ) -> None:
        """Record one problem."""
        issue = Issue(code, severity, message, file, line, field,
                      None if value is None else str(value)[:200])
        self.counts[code] += 1
        self.severities[code] = severity
        kept = self.examples.setdefault(code, [])
        if len(kept) < EXAMPLES_PER_CODE:
            kept.append(issue)
        if fatal:
            self.fatal.append(issue)

    def error(self, code: str, message: str, **where: Any) -> None:
        """Record an error (the record it concerns is dropped)."""
        self.add(code, "error", message, **where)

    def warning(self, code: str, message: str, **where: Any) -> None:
        """Record a warning (the record is kept)."""
        self.add(code, "warning", message, **where)

    @property
    def rejected(self) -> bool:
        """Whether a fatal problem rejects the whole import."""
        return bool(self.fatal)

    def count(self, severity: Severity) -> int:
        """Total problems of one severity."""
        return sum(n for code, n in self.counts.items() if self.severities[code] == severity)

    def by_code(self, severity: Severity) -> dict[str, int]:
        """Counts per code for one severity."""
        return {c: n for c, n in sorted(self.counts.items()) if self.severities[c] == severity}

    def top(self, limit: int = 10) -> list[Issue]:
        """The first examples, fatal ones first, then errors, then warnings."""
        ordered = list(self.fatal)
        for severity in ("error", "warning"):
            for code in self.by_code(severity):  # type: ignore[arg-type]
                ordered.extend(i for i in self.examples[code] if i not in ordered)
        return ordered[:limit]

    def as_dict(self) -> dict[str, Any]:
        """JSON form, stored with the feed version."""
        return {
            "rejected": self.rejected,
            "errors": self.by_code("error"),
            "warnings": self.by_code("warning"),
            "fatal": [i.as_dict() for i in self.fatal],
            "examples": {c: [i.as_dict() for i in v] for c, v in sorted(self.examples.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationReport:
        """Rebuild a stored report."""
        report = cls()
        for severity, key in (("error", "errors"), ("warning", "warnings")):
            for code, n in data.get(key, {}).items():
                report.counts[code] = n
                report.severities[code] = severity  # type: ignore[assignment]
        for code, issues in data.get("examples", {}).items():
            report.examples[code] = [Issue(**i) for i in issues]
        report.fatal = [Issue(**i) for i in data.get("fatal", [])]
        return report


@dataclass(frozen=True)
class AdapterInfo:
    """What an adapter reads: its format name, the kind of data and whether it is real-time."""

    format: str
    kind: AdapterKind
    realtime: bool
    title: str
    media_types: tuple[str, ...] = ()


@dataclass
class ImportResult:
    """Normalised records from one payload plus the report of what was wrong with it.

    ``records`` maps a record type (``"facilities"``, ``"stops"`` …) to an iterable that may be
    lazy, so large feeds stream instead of sitting in memory.
    """

    records: dict[str, Iterable[Any]]
    report: ValidationReport = field(default_factory=ValidationReport)
    meta: dict[str, Any] = field(default_factory=dict)


class Adapter(Protocol):
    """One upstream format. ``parse`` never raises on a bad record, only on a bad payload."""

    info: AdapterInfo

    def parse(self, payload: bytes, config: Mapping[str, Any]) -> ImportResult: ...
