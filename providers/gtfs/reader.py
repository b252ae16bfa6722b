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
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from isal import isal_zlib

from providers.base import FeedFormatError, ValidationReport

# Limits for untrusted zips. The largest real feeds (whole countries) stay well below them.
MAX_MEMBERS = 500
MAX_MEMBER_BYTES = 4 * 1024**3
MAX_TOTAL_BYTES = 8 * 1024**3
# Deflate tops out near 1:1030; real CSV compresses ~1:10. Above this ratio a big member is a bomb.
MAX_RATIO = 200
RATIO_CHECK_FLOOR = 16 * 1024 * 1024

csv.field_size_limit(1024 * 1024)

# Bytes per block of the fast path (``open_blocks``). Each block costs a few dozen Arrow calls
# of fixed overhead, so 1 MiB is too small (HART's stop_times parse is a tenth slower than at
# 4 MiB); but the reader parses one block while the next is checked, and at 4 MiB the blocks
# and their Arrow columns no longer fit the processor's cache beside each other: at 2 MiB the
# whole NYC import took 46 ms (SQLite) and 47 ms (PostgreSQL) less, and a tenth less CPU,
# on a machine with 8 MiB of L3 cache.
FAST_BLOCK_BYTES = 2 << 20


# What reading a member can raise when the zip is damaged (zipfile's errors, and ours alike).
ZIP_READ_ERRORS = (zipfile.BadZipFile, EOFError, OSError)


def unreadable(filename: str, exc: BaseException) -> FeedFormatError:
    """The rejection of a feed whose member ``filename`` cannot be read (``bad_zip``)."""
    return FeedFormatError(f"{filename} cannot be read from the zip: {exc}.", code="bad_zip")


@dataclass
class CsvFile:
    """One GTFS table being read: its cleaned header and the row iterator."""

    name: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    # The fast path's raw blocks (``open_blocks``); ``rows`` then reads on from where they stop.
    blocks: ByteBlocks | None = None


class GtfsArchive:
    """The members of a GTFS zip, checked against the bomb limits on opening."""

    def __init__(self, payload: bytes) -> None:
        if not payload.startswith(b"PK"):
            raise FeedFormatError(
                "The payload is not a zip archive; a GTFS feed is a zip of .txt files "
                "(or a folder of them).", code="not_a_zip")
        self.payload = memoryview(payload)
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

    def _open_member(self, info: zipfile.ZipInfo, *, buffered: bool = True) -> Any:
        """A member's bytes as a file: deflated ones inflated by ISA-L, others by ``zipfile``.

        ISA-L's inflate (``isal``) is twice as fast as zlib's, and its CRC-32 four times; it
        lets go of the GIL as zlib does. The guarantees are ``zipfile``'s: never more than the
        declared size, the CRC checked at the end, errors as ``BadZipFile`` or ``EOFError``.
        """
        try:
            if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
                return self.zip.open(info)  # stored, other methods, encrypted: zipfile decides
            member = InflatedMember(self.payload, info)
        except (*ZIP_READ_ERRORS, RuntimeError, NotImplementedError, ValueError) as exc:
            # A damaged local header; zipfile's refusals of an encrypted member (RuntimeError)
            # and of a compression method it lacks (NotImplementedError).
            raise unreadable(info.filename, exc) from exc
        return io.BufferedReader(member) if buffered else member

    def has(self, table: str) -> bool:
        """Whether the feed holds ``<table>.txt``."""
        return table in self.members

    def open_table(self, table: str, report: ValidationReport) -> CsvFile | None:
        """The cleaned header and lazy rows of ``<table>.txt``, or None when it cannot be read."""
        filename = f"{table}.txt"
        raw = self._open_member(self.members[table])
        try:
            start = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
        except ZIP_READ_ERRORS as exc:
            raise unreadable(filename, exc) from exc
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


    def open_blocks(self, table: str, report: ValidationReport,
                    block_bytes: int = FAST_BLOCK_BYTES) -> CsvFile | None:
        """``<table>.txt`` for the vectorised fast path, or None when its start is unusual.

        Only a simple header (one ASCII line, no quotes or NUL) qualifies; anything else (and
        every report about the file's encoding or emptiness) is left to ``open_table``. The
        returned file's ``blocks`` hand out the data in blocks of whole lines; its ``rows`` read
        on, row by row, from wherever the blocks stopped.
        """
        filename = f"{table}.txt"
        raw = self._open_member(self.members[table], buffered=False)
        try:
            first = raw.read(block_bytes)
            while b"\n" not in first and len(first) < 65536 and (more := raw.read(block_bytes)):
                first += more
        except ZIP_READ_ERRORS as exc:
            raw.close()
            raise unreadable(filename, exc) from exc
        if first.startswith(codecs.BOM_UTF8):
            first = first[len(codecs.BOM_UTF8):]
        end = first.find(b"\n")
        line = first[:end].removesuffix(b"\r") if end > 0 else b""
        if (not line.strip() or not line.isascii() or b'"' in line or b"\x00" in line
                or b"\r" in line):
            raw.close()
            return None
        header_row = next(csv.reader([line.decode("ascii")]))
        header = [h.strip().strip("\ufeff").lower() for h in header_row]
        blocks = ByteBlocks(raw, first[end + 1:], 2, filename, report, block_bytes)
        return CsvFile(filename, header, blocks.rows(), blocks)


# Compressed bytes handed to the inflater per call (its output is capped by the read size).
INFLATE_CHUNK = 1 << 20


class InflatedMember(io.RawIOBase):
    """One deflated member of an in-memory zip, inflated as it is read (ISA-L).

    ``read(n)`` returns up to ``n`` bytes without an extra copy (the block reader's call);
    ``readinto`` serves ``io.BufferedReader`` (the row reader's).
    """

    def __init__(self, payload: memoryview, info: zipfile.ZipInfo) -> None:
        offset = info.header_offset
        header = bytes(payload[offset:offset + 30])
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"Bad magic number for file header of {info.filename}")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        start = offset + 30 + name_length + extra_length
        self.name = info.filename
        self.compressed = payload[start:start + info.compress_size]
        self.position = 0
        self.inflater = isal_zlib.decompressobj(-15)
        self.tail = b""
        self.left = info.file_size
        self.crc = 0
        self.expected_crc = info.CRC

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        size = self.left if size is None or size < 0 else min(size, self.left)
        parts, got = [], 0
        try:
            while got < size and not self.inflater.eof:
                if self.tail:
                    data = self.tail
                else:
                    # Input spent: b"" still drains output the inflater holds back (ISA-L keeps
                    # what a capped call could not return).
                    data = self.compressed[self.position:self.position + INFLATE_CHUNK]
                    self.position += len(data)
                out = self.inflater.decompress(data, size - got)
                self.tail = self.inflater.unconsumed_tail
                if not out and not data:
                    break
                parts.append(out)
                got += len(out)
        except isal_zlib.error as exc:
            raise zipfile.BadZipFile(f"{self.name} is damaged: {exc}") from exc
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.left -= len(data)
        self.crc = isal_zlib.crc32(data, self.crc)
        if (size and not data) or not self.left:
            self._finish()
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _finish(self) -> None:
        if self.left:
            raise EOFError(f"Compressed file ended before the end-of-stream marker was "
                           f"reached ({self.name})")
        if self.crc != self.expected_crc:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self.name!r}")


def printable(text: str) -> str:
    """Text with undecodable bytes (kept as surrogates) shown as U+FFFD, safe to store as JSON."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class ByteBlocks:
    """A table's bytes after its header, in blocks that end at a line end.

    ``next_block`` returns ``(line number of the block's first line, bytes, lines in it)`` for
    a block that is clean at the byte level (no NUL or lone CR; valid UTF-8), or None
    at the end or at the first block that is not: that one stays pending, and ``rows`` (the
    ordinary row-by-row reader, see ``_rows``) reads on from it with the right line numbers.
    A caller that finds a problem in a clean block gives it back with ``give_back``.

    A block is let go of once handed out: its lines are counted then (``_count_lines``), so
    that the table never sits in memory whole, not even for line numbers.
    """

    def __init__(self, raw: Any, pending: bytes, line: int, filename: str,
                 report: ValidationReport, block_bytes: int) -> None:
        self.raw = raw
        self.pending = pending
        self.line = line  # the line number of the first pending line
        self.filename = filename
        self.report = report
        self.block_bytes = block_bytes
        self.eof = False

    def _read(self) -> bytes:
        try:
            data = self.raw.read(self.block_bytes)
        except ZIP_READ_ERRORS as exc:
            raise unreadable(self.filename, exc) from exc
        if not data:
            self.eof = True
        return data

    def next_block(self) -> tuple[int, bytes, int] | None:
        # The block is joined once from what is pending and what is read (each read is a
        # fresh 2 MiB): concatenating, then cutting at the last line end, copied it twice.
        parts = [self.pending]
        size = len(self.pending)
        has_end = b"\n" in self.pending
        while not self.eof and not has_end:
            if size > 4 * self.block_bytes:
                self.pending = b"".join(parts)
                return None  # no line end in sight: the row reader copes
            parts.append(self._read())
            size += len(parts[-1])
            has_end = b"\n" in parts[-1]
        if not self.eof and size < self.block_bytes // 2:
            # Topped up when what is pending is a line's tail, not when it is a block already
            # (the first, read with the header): a double block costs Arrow more than twice.
            parts.append(self._read())
        last, cut = len(parts) - 1, len(parts[-1])
        if not self.eof:
            while (cut := parts[last].rfind(b"\n") + 1) == 0:
                last -= 1
        block = b"".join([*parts[:last], memoryview(parts[last])[:cut]])
        rest = parts[last][cut:] + b"".join(parts[last + 1:])
        if not block or not _clean_bytes(block):
            self.pending = block + rest
            return None
        self.pending = rest
        start, lines = self.line, _count_lines(block)
        self.line = start + lines
        return start, block, lines

    def give_back(self, start: int, block: bytes, lines: int) -> None:
        """Put the block ``next_block`` handed out last back in front, for ``rows``."""
        self.pending = block + self.pending
        self.line = start

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Rows (with their line numbers) from where the blocks stopped to the end."""
        if self.eof and not self.pending:
            return  # the blocks took it all (and no line number is needed)
        raw = io.BufferedReader(_Prefixed(self, self.raw))  # type: ignore[arg-type]
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        lines = _checked_lines(text, self.filename, self.report)
        reader = csv.reader(lines, skipinitialspace=False)
        yield from _rows(reader, lines, self.filename, self.report, offset=self.line - 1)


class _Prefixed(io.RawIOBase):
    """The pending bytes of a ``ByteBlocks``, then the rest of its member."""

    def __init__(self, blocks: ByteBlocks, raw: Any) -> None:
        self.blocks = blocks
        self.raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        pending = self.blocks.pending
        if pending:
            n = min(len(buffer), len(pending))
            buffer[:n] = pending[:n]
            self.blocks.pending = pending[n:]
            return n
        data = self.raw.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _count_lines(block: bytes) -> int:
    """The line ends in ``block``: a vectorised count, a quarter of ``bytes.count``'s time
    (7 ms for NYC's 31 MB of stop_times), mostly without the GIL."""
    return int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))


def _clean_bytes(block: bytes) -> bool:
    """No NUL or lone CR, and valid UTF-8: nothing at the byte level needs reporting.

    Quotes are allowed: Arrow's CSV parser reads quoted fields as ``csv.reader`` does, and a
    quoted field cut at the block's end fails to parse, which sends the block to the row loop.
    """
    if b"\x00" in block:
        return False
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        return False
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


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


def _rows(reader: csv.reader, lines: _LineCheck, filename: str, report: ValidationReport,
          offset: int = 0) -> Iterator[tuple[int, list[str]]]:
    """Rows with their line numbers; blank lines skipped, undecodable ones reported and dropped.

    ``offset``: lines before the first one the reader sees (not counting the header's)."""
    try:
        for row in reader:
            if lines.bad is not None:
                code, lines.bad = lines.bad, None
                message = ("contains a NUL character" if code == "null_character"
                           else "is not valid UTF-8")
                line = reader.line_num + offset
                report.error(code, f"Line {line} of {filename} {message}; the record "
                             "is dropped.", file=filename, line=line)
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield reader.line_num + offset, row
    except csv.Error as exc:
        line = reader.line_num + offset
        report.error("csv_syntax", f"{filename} has a CSV syntax error near line "
                     f"{line}: {exc}; the rest of the file is skipped.",
                     file=filename, line=line)
    except ZIP_READ_ERRORS as exc:
        raise unreadable(filename, exc) from exc
