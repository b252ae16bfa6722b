"""Read the CSV files of a GTFS zip safely and tolerantly, one row at a time.

Safety (GTFS is untrusted input): the zip's member count and declared sizes are checked before
anything is read, and compression ratios typical of zip bombs are refused; ``zipfile`` never
returns more than a member's declared size and checks its CRC at the end. Tolerance (GTFS
reference, "Dataset Files" / "File Requirements"): UTF-8 with or without BOM, CRLF, LF or mixed
line endings, spaces around header names, unknown columns, short or long rows, files in one
sub-folder of the zip and extra non-``.txt`` members. Bytes that are not UTF-8, UTF-16 files and
NUL characters are reported per line, never a crash.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from providers.base import FeedFormatError, ValidationReport

# Limits for untrusted zips. The largest real feeds (whole countries) stay well below them.
MAX_MEMBERS = 500
MAX_MEMBER_BYTES = 4 * 1024**3
MAX_TOTAL_BYTES = 8 * 1024**3
# Deflate tops out near 1:1030; real CSV compresses ~1:10. Above this ratio a big member is a bomb.
MAX_RATIO = 200
RATIO_CHECK_FLOOR = 16 * 1024 * 1024

csv.field_size_limit(1024 * 1024)


@dataclass
class CsvFile:
    """One GTFS table being read: its cleaned header and the row iterator."""

    name: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


class GtfsArchive:
    """The members of a GTFS zip, checked against the bomb limits on opening."""

    def __init__(self, payload: bytes) -> None:
        if not payload.startswith(b"PK"):
            raise FeedFormatError(
                "The payload is not a zip archive; a GTFS feed is a zip of .txt files "
                "(or a folder of them).", code="not_a_zip")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(payload))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise FeedFormatError(f"The zip archive is damaged: {exc}.", code="bad_zip") from exc
        if len(infos) > MAX_MEMBERS:
            raise FeedFormatError(f"The zip has {len(infos):,} members; at most {MAX_MEMBERS} "
                                  "are accepted.", code="zip_too_many_members")
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
                raise FeedFormatError(
                    f"The zip member {info.filename} expands to {info.file_size:,} bytes, over "
                    "the limit.", code="zip_too_large")
            if (info.file_size > RATIO_CHECK_FLOOR
                    and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                raise FeedFormatError(
                    f"The zip member {info.filename} is compressed {info.file_size:,} to "
                    f"{info.compress_size:,} bytes: refused as a zip bomb.", code="zip_bomb")
        self.members = self._locate_tables(infos)
        self.other_members = sorted(
            i.filename for i in infos
            if not i.is_dir() and i not in self.members.values()
            and not i.filename.startswith("__MACOSX/"))

    @staticmethod
    def _locate_tables(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        # The tables sit at the root; some publishers zip the folder, so accept one sub-folder.
        tables = [i for i in infos if not i.is_dir() and i.filename.lower().endswith(".txt")
                  and not i.filename.startswith("__MACOSX/")]
        root = [i for i in tables if "/" not in i.filename]
        if not root:
            folders = {i.filename.rsplit("/", 1)[0] for i in tables}
            root = tables if len(folders) == 1 else []
        return {i.filename.rsplit("/", 1)[-1].lower()[:-4]: i for i in root}

    def has(self, table: str) -> bool:
        """Whether the feed holds ``<table>.txt``."""
        return table in self.members

    def open_table(self, table: str, report: ValidationReport) -> CsvFile | None:
        """The cleaned header and lazy rows of ``<table>.txt``, or None when it cannot be read."""
        filename = f"{table}.txt"
        raw = self.zip.open(self.members[table])
        start = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
                len(start) >= 2 and (start[0] == 0 or start[1] == 0)):
            raw.close()
            report.error("invalid_encoding", f"{filename} is UTF-16 (or binary); GTFS files "
                         "must be UTF-8.", file=filename)
            return None
        # surrogateescape keeps invalid bytes visible per line instead of failing the file.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        lines = _checked_lines(text, filename, report)
        reader = csv.reader(lines, skipinitialspace=False)
        try:
            header_row = next(reader)
        except StopIteration:
            report.warning("empty_file", f"{filename} is empty.", file=filename)
            return None
        except (zipfile.BadZipFile, EOFError, OSError, csv.Error) as exc:
            raise FeedFormatError(f"{filename} cannot be read: {exc}.", code="bad_zip") from exc
        header = [printable(h).strip().strip("\ufeff").lower() for h in header_row]
        return CsvFile(filename, header, _rows(reader, lines, filename, report))


def printable(text: str) -> str:
    """Text with undecodable bytes (kept as surrogates) shown as U+FFFD, safe to store as JSON."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# Characters decoded per block: big enough that per-block Python work is noise, small enough
# that a table never sits in memory.
BLOCK_CHARS = 1 << 20


class _LineCheck:
    """The lines of a table for ``csv.reader``; flags lines with NUL bytes or invalid UTF-8.

    Text is decoded a block at a time. A clean block (ASCII, or valid UTF-8, without NUL) is
    split into lines by ``io.StringIO`` (universal newlines, endings kept, like the
    ``TextIOWrapper`` it reads from), entirely in C; only a block holding a bad byte is checked
    line by line. ``bad`` is set when such a line is handed out, for the row loop to report.
    """

    def __init__(self, text: io.TextIOWrapper, filename: str, report: ValidationReport,
                 block_chars: int = BLOCK_CHARS) -> None:
        self.text = text
        self.filename = filename
        self.report = report
        self.block_chars = block_chars
        self.bad: str | None = None

    def __iter__(self) -> Iterator[str]:
        return itertools.chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[Iterator[str]]:
        carry = ""
        while True:
            block = self.text.read(self.block_chars)
            if not block:
                if carry:
                    yield self._lines(carry)
                return
            block = carry + block
            # Hand out only complete lines; the tail (and a final "\r" that may be half of a
            # "\r\n") waits for the next block.
            end = block.rfind("\n") + 1
            cr = block.rfind("\r", end, len(block) - 1)
            if cr >= 0:
                end = cr + 1
            carry = block[end:]
            if end:
                yield self._lines(block[:end])

    def _lines(self, block: str) -> Iterator[str]:
        if "\x00" not in block:
            if block.isascii():
                return io.StringIO(block, newline="")
            try:
                block.encode("utf-8")  # surrogates (undecodable bytes) refuse to encode
            except UnicodeEncodeError:
                pass
            else:
                return io.StringIO(block, newline="")
        return self._checked(block)

    def _checked(self, block: str) -> Iterator[str]:
        for line in io.StringIO(block, newline=""):
            if not line.isascii() or "\x00" in line:
                if "\x00" in line:
                    self.bad = "null_character"
                    line = line.replace("\x00", "")
                elif any("\udc80" <= ch <= "\udcff" for ch in line):
                    self.bad = "invalid_utf8"
            yield line


def _checked_lines(text: io.TextIOWrapper, filename: str, report: ValidationReport) -> _LineCheck:
    return _LineCheck(text, filename, report)


def _rows(reader: csv.reader, lines: _LineCheck, filename: str, report: ValidationReport
          ) -> Iterator[tuple[int, list[str]]]:
    """Rows with their line numbers; blank lines skipped, undecodable ones reported and dropped."""
    try:
        for row in reader:
            if lines.bad is not None:
                code, lines.bad = lines.bad, None
                message = ("contains a NUL character" if code == "null_character"
                           else "is not valid UTF-8")
                report.error(code, f"Line {reader.line_num} of {filename} {message}; the record "
                             "is dropped.", file=filename, line=reader.line_num)
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield reader.line_num, row
    except csv.Error as exc:
        report.error("csv_syntax", f"{filename} has a CSV syntax error near line "
                     f"{reader.line_num}: {exc}; the rest of the file is skipped.",
                     file=filename, line=reader.line_num)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise FeedFormatError(f"{filename} cannot be read from the zip: {exc}.",
                              code="bad_zip") from exc
