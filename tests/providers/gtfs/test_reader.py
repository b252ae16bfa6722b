"""The zip member reader: ISA-L inflate with zipfile's guarantees (sizes, CRC, damage)."""

from __future__ import annotations

import io
import random
import struct
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.base import FeedFormatError, ValidationReport
from providers.gtfs.adapter import GtfsAdapter
from providers.gtfs.reader import GtfsArchive, InflatedMember
from tests.providers.transit.factories import gtfs_zip

STOP_TIMES = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + "".join(
    f"T1,08:{i % 60:02d}:00,08:{i % 60:02d}:00,A1,{i}\n" for i in range(1, 20_000))


def member_data_offset(payload: bytes, info: zipfile.ZipInfo) -> int:
    """Where a member's compressed bytes start (after its local header)."""
    name_length, extra_length = struct.unpack(
        "<HH", payload[info.header_offset + 26:info.header_offset + 30])
    return info.header_offset + 30 + name_length + extra_length


def read_in(member: io.RawIOBase, size: int) -> bytes:
    chunks = []
    while chunk := member.read(size):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("size", [1, 997, 1 << 16, 4 << 20])
def test_inflated_members_are_byte_for_byte_what_zipfile_reads(size):
    payload = gtfs_zip({"stop_times.txt": STOP_TIMES})
    archive = zipfile.ZipFile(io.BytesIO(payload))
    for info in archive.infolist():
        if size == 1 and info.file_size > 100_000:
            continue  # byte by byte: the small members are enough
        member = InflatedMember(memoryview(payload), info)
        assert read_in(member, size) == archive.read(info)
        assert member.read(size) == b""


def test_real_feed_inflates_as_zipfile_does_through_a_buffered_reader(shared_data):
    payload = (shared_data / "gtfs/caltrain/ct.zip").read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(payload))
    for info in archive.infolist():
        if info.compress_type == zipfile.ZIP_DEFLATED:
            reader = io.BufferedReader(InflatedMember(memoryview(payload), info))
            assert reader.read() == archive.read(info)


def test_damaged_deflate_data_is_a_bad_zip_not_a_crash():
    payload = bytearray(gtfs_zip({"stop_times.txt": STOP_TIMES}))
    info = zipfile.ZipFile(io.BytesIO(bytes(payload))).getinfo("stop_times.txt")
    start = member_data_offset(bytes(payload), info)
    payload[start:start + 64] = b"\xff" * 64  # not a deflate stream any more
    with pytest.raises(zipfile.BadZipFile, match=r"stop_times\.txt"):
        read_in(InflatedMember(memoryview(bytes(payload)), info), 1 << 20)


def test_a_wrong_crc_is_reported_at_the_end_of_the_member():
    payload = gtfs_zip({"stop_times.txt": STOP_TIMES})
    info = zipfile.ZipFile(io.BytesIO(payload)).getinfo("stop_times.txt")
    info.CRC ^= 1
    with pytest.raises(zipfile.BadZipFile, match="Bad CRC-32"):
        read_in(InflatedMember(memoryview(payload), info), 4096)


def test_never_more_than_the_declared_size():
    payload = gtfs_zip({"stop_times.txt": STOP_TIMES})
    info = zipfile.ZipFile(io.BytesIO(payload)).getinfo("stop_times.txt")
    info.file_size = 1000  # a member that inflates to more than its directory says
    member = InflatedMember(memoryview(payload), info)
    with pytest.raises(zipfile.BadZipFile, match="Bad CRC-32"):
        member.read(1 << 20)
    assert member.left == 0


def test_truncated_compressed_data_ends_in_eof_error():
    payload = gtfs_zip({"stop_times.txt": STOP_TIMES})
    info = zipfile.ZipFile(io.BytesIO(payload)).getinfo("stop_times.txt")
    info.compress_size //= 2
    with pytest.raises(EOFError):
        read_in(InflatedMember(memoryview(payload), info), 1 << 16)


def test_stored_members_are_read_by_zipfile():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("stop_times.txt", STOP_TIMES)
    archive = GtfsArchive(buffer.getvalue())
    raw = archive._open_member(archive.members["stop_times"])
    assert not isinstance(raw, (InflatedMember, io.BufferedReader))
    assert raw.read() == STOP_TIMES.encode()


@pytest.mark.parametrize("fast", [True, False])
def test_a_damaged_stop_times_member_rejects_the_feed_with_bad_zip(fast):
    payload = bytearray(gtfs_zip({"stop_times.txt": STOP_TIMES}))
    info = zipfile.ZipFile(io.BytesIO(bytes(payload))).getinfo("stop_times.txt")
    start = member_data_offset(bytes(payload), info) + info.compress_size // 2
    payload[start:start + 64] = b"\xff" * 64

    def parse_and_stream() -> None:  # the damage shows at the parse or while streaming
        result = GtfsAdapter(fast=fast).parse(bytes(payload), {})
        for batch in result.records["stop_times"].batches():
            del batch

    with pytest.raises(FeedFormatError) as caught:
        parse_and_stream()
    assert caught.value.code == "bad_zip"


def test_a_damaged_member_header_rejects_the_feed_with_bad_zip():
    payload = bytearray(gtfs_zip())
    info = zipfile.ZipFile(io.BytesIO(bytes(payload))).getinfo("stops.txt")
    payload[info.header_offset:info.header_offset + 4] = b"XXXX"
    with pytest.raises(FeedFormatError, match=r"stops\.txt cannot be read") as caught:
        GtfsAdapter().parse(bytes(payload), {})
    assert caught.value.code == "bad_zip"


def central_entry(payload: bytes, name: str) -> int:
    """Where ``name``'s central directory entry starts (what zipfile reads its flags from)."""
    position = payload.index(b"PK\x01\x02")
    while True:
        (name_length,) = struct.unpack("<H", payload[position + 28:position + 30])
        if payload[position + 46:position + 46 + name_length] == name.encode():
            return position
        position = payload.index(b"PK\x01\x02", position + 4)


def test_an_encrypted_member_rejects_the_feed_with_bad_zip():
    payload = bytearray(gtfs_zip())
    payload[central_entry(bytes(payload), "stops.txt") + 8] |= 0x1  # "encrypted"
    with pytest.raises(FeedFormatError, match=r"stops\.txt cannot be read") as caught:
        GtfsAdapter().parse(bytes(payload), {})
    assert caught.value.code == "bad_zip"


def test_a_member_damaged_at_its_start_rejects_the_feed_with_bad_zip():
    # calendar.txt goes through the row reader, whose first look (the encoding check) inflates.
    payload = bytearray(gtfs_zip())
    info = zipfile.ZipFile(io.BytesIO(bytes(payload))).getinfo("calendar.txt")
    start = member_data_offset(bytes(payload), info)
    payload[start:start + 8] = b"\xff" * 8
    with pytest.raises(FeedFormatError, match=r"calendar\.txt cannot be read") as caught:
        GtfsAdapter().parse(bytes(payload), {})
    assert caught.value.code == "bad_zip"


def drain(payload: bytes, **options) -> tuple[dict[str, str], dict]:
    """Parse and read every record stream, as the writer does: (records as text, report)."""
    result = GtfsAdapter(**options).parse(payload, {})
    return {name: repr(list(rows)) for name, rows in result.records.items()}, (
        result.report.as_dict())


def outcome(payload: bytes, **options) -> str:
    """"read", or the code of the format error that rejected the payload."""
    try:
        drain(payload, **options)
    except FeedFormatError as exc:
        return exc.code
    return "read"


@pytest.mark.parametrize("seed", range(3))
def test_corrupted_bytes_of_a_real_zip_end_in_a_result_or_bad_zip(shared_data, seed):
    original = (shared_data / "gtfs/caltrain/ct.zip").read_bytes()
    rng = random.Random(seed)
    for _ in range(15):
        payload = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(payload))
            if rng.random() < 0.7:
                payload[position:position + rng.randint(1, 32)] = rng.randbytes(
                    rng.randint(1, 32))
            else:
                del payload[position:position + rng.randint(1, 200)]
        for fast in (True, False):  # any other exception fails the test
            assert outcome(bytes(payload), fast=fast) in {"read", "bad_zip", "not_a_zip",
                                                          "no_gtfs_files"}


TOKENS = [b'"', b",", b"\n", b"\r", b"\r\n", b"\x00", b"\xff", b"\xef\xbb\xbf", b" ", b"-1",
          b"25:61:00", b"99999999999", b"1e400", b"nan", b"\t", b"\xe2\x80\xa8", b'a"b']


@pytest.mark.parametrize("seed", range(2))
def test_mutated_real_tables_give_the_same_records_and_report_on_every_path(shared_data, seed):
    source = zipfile.ZipFile(shared_data / "gtfs/caltrain/ct.zip")
    files = {info.filename: source.read(info) for info in source.infolist()}
    rng = random.Random(seed)
    for _ in range(4):
        mutated = dict(files)
        for _ in range(rng.randint(1, 6)):
            name = rng.choice(["stop_times.txt", "trips.txt", "stops.txt", "shapes.txt",
                               "calendar.txt", "routes.txt"])
            data, token = bytearray(mutated[name]), rng.choice(TOKENS)
            position = rng.randrange(len(data) + 1)
            data[position:position + (0 if rng.random() < 0.5 else len(token))] = token
            mutated[name] = bytes(data)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in mutated.items():
                archive.writestr(name, content)
        payload = buffer.getvalue()
        expected = drain(payload, fast=False)
        assert drain(payload) == expected
        assert drain(payload, block_bytes=3000) == expected


def test_blocks_number_their_lines_and_rows_read_on_from_a_block_given_back():
    archive = GtfsArchive(gtfs_zip({"stop_times.txt": STOP_TIMES}))
    stop_times = archive.open_blocks("stop_times", ValidationReport(), block_bytes=64 << 10)
    first = stop_times.blocks.next_block()
    second = stop_times.blocks.next_block()
    assert first[0] == 2  # the header is line 1
    assert second[0] == first[0] + first[2] == first[0] + first[1].count(b"\n")
    stop_times.blocks.give_back(*second)
    line, row = next(iter(stop_times.rows))
    assert line == second[0]
    assert ",".join(row) + "\n" == second[1].decode()[:second[1].index(b"\n") + 1]


def test_no_block_is_much_more_than_the_block_size_not_even_the_first():
    # The first block starts with what was read with the header (a block's worth): it is not
    # topped up to two blocks, which Arrow parses at more than twice the cost.
    archive = GtfsArchive(gtfs_zip({"stop_times.txt": STOP_TIMES}))
    size = 64 << 10
    stop_times = archive.open_blocks("stop_times", ValidationReport(), block_bytes=size)
    lengths = []
    while (block := stop_times.blocks.next_block()) is not None:
        lengths.append(len(block[1]))
    assert sum(lengths) == len(STOP_TIMES) - len(STOP_TIMES.split("\n", 1)[0]) - 1
    assert max(lengths) <= size + 100  # a block, and the rest of its last line
    assert all(length >= size // 2 for length in lengths[:-1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=80), st.integers(16, 700),
       st.booleans())
def test_blocks_are_whole_lines_that_join_back_into_the_file(lengths, size, final_newline):
    # Lines shorter and longer than a block (up to the four blocks a line may span).
    body = "\n".join("x" * n for n in lengths) + ("\n" if final_newline else "")
    text = "stop_id\n" + body
    archive = GtfsArchive(gtfs_zip({"stops.txt": text}))
    stops = archive.open_blocks("stops", ValidationReport(), block_bytes=size)
    blocks, line = [], 2
    while (block := stops.blocks.next_block()) is not None:
        assert block[0] == line
        line += block[2]
        blocks.append(block[1])
    assert all(b.endswith(b"\n") for b in blocks[:-1])
    rest = stops.blocks.pending + stops.blocks.raw.read()  # what the row loop would read
    assert b"".join(blocks) + rest == body.encode()
