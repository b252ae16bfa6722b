"""docs/gtfs-validation.md lists exactly the codes the GTFS adapter emits, with their severity."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted((ROOT / "providers" / "gtfs").glob("*.py"))
DOC = ROOT / "docs" / "gtfs-validation.md"
ROW = re.compile(r"^\| `([a-z0-9_]+)` \| (error|warning|rejected) \| (yes|no|core files) \|",
                 re.MULTILINE)


def _strings(node: ast.AST | None) -> set[str]:
    """The string constants an expression can evaluate to (through ``a if c else b``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def emitted_codes() -> dict[str, set[str | None]]:
    """Code -> severities, from report calls, FeedFormatError codes and code variables."""
    found: dict[str, set[str | None]] = {}
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                keywords = {k.arg: k.value for k in node.keywords}
                if name in ("error", "warning") and node.args:
                    for code in _strings(node.args[0]):
                        found.setdefault(code, set()).add(name)
                elif name == "add" and len(node.args) >= 2:
                    for code in _strings(node.args[0]):
                        found.setdefault(code, set()).update(_strings(node.args[1]))
                elif name == "problem" and node.args:
                    severity = _strings(keywords.get("severity")) or {"error"}
                    for code in _strings(node.args[0]):
                        found.setdefault(code, set()).update(severity)
                if "code" in keywords:  # FeedFormatError(..., code="...")
                    for code in _strings(keywords["code"]):
                        found.setdefault(code, set()).add("rejected")
            elif isinstance(node, ast.Assign):
                # Codes kept in a variable first (``code = ...``, ``self.bad = ...``).
                targets = {getattr(t, "id", getattr(t, "attr", None)) for t in node.targets}
                if targets & {"code", "bad"}:
                    for code in _strings(node.value):
                        found.setdefault(code, set()).add(None)
    return found


def documented_codes() -> dict[str, str]:
    return {code: severity for code, severity, _ in ROW.findall(DOC.read_text())}


def test_every_code_the_adapter_emits_is_documented_and_no_other():
    emitted, documented = emitted_codes(), documented_codes()
    assert len(emitted) > 40  # the walk found the codes at all
    assert sorted(set(emitted) - set(documented)) == []
    assert sorted(set(documented) - set(emitted)) == []


def test_documented_severities_match_the_code():
    emitted, documented = emitted_codes(), documented_codes()
    wrong = {code: (documented[code], sorted(s for s in emitted[code] if s))
             for code in documented
             if emitted[code] - {None} and documented[code] not in emitted[code]}
    assert wrong == {}
