"""Reading feed payloads: SSRF refusal, size caps, redirects and folders."""

import http.server
import threading
import time
import zipfile
from collections.abc import Iterator
from io import BytesIO

import pytest

from providers.fetch import FetchError, FetchPolicy, check_address, read_source


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
     "::1", "0.0.0.0", "100.64.0.1"],  # noqa: S104 - the point is to refuse it,
)
def test_private_loopback_and_link_local_addresses_are_refused(host):
    with pytest.raises(FetchError, match="non-public address"):
        check_address(host, 80, allow_private=False)


@pytest.mark.parametrize(
    "host",
    ["64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a00:1::1",
     "::ffff:10.0.0.1"],
)
def test_ipv6_addresses_embedding_a_private_ipv4_address_are_refused(host):
    # NAT64 (RFC 6052) and 6to4 addresses count as global for Python, but a translator
    # forwards them to the IPv4 address inside: 127.0.0.1, 169.254.169.254, 10.0.0.1.
    with pytest.raises(FetchError, match="non-public address"):
        check_address(host, 80, allow_private=False)


def test_ipv6_addresses_embedding_a_public_ipv4_address_are_allowed():
    assert check_address("64:ff9b::808:808", 443, allow_private=False) == "64:ff9b::808:808"


def test_a_public_address_is_allowed():
    assert check_address("8.8.8.8", 443, allow_private=False) == "8.8.8.8"


def test_url_to_a_private_address_is_refused_before_connecting():
    with pytest.raises(FetchError, match="non-public address"):
        read_source("http://127.0.0.1:9/feed.zip", FetchPolicy())


def test_unsupported_schemes_and_credentials_are_refused():
    with pytest.raises(FetchError, match="Unsupported source"):
        read_source("ftp://example.org/feed.zip", FetchPolicy())
    with pytest.raises(FetchError, match="embedded credentials"):
        read_source("https://user:pw@example.org/feed.zip", FetchPolicy())


class _FeedHandler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        if self.path == "/trickle":  # one byte every 50 ms: never idle for a whole timeout
            self.send_response(200)
            self.send_header("Content-Length", "200")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass  # the client gave up
            return
        status, headers, body = self.routes.get(self.path, (404, {}, b"no"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[tuple[str, dict]]:
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    handler = type("Handler", (_FeedHandler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()
    server.server_close()


def test_fetch_from_a_local_server_when_private_addresses_are_allowed(feed_server):
    base, routes = feed_server
    routes["/feed.json"] = (200, {"Content-Type": "application/json"}, b'{"ok": true}')
    payload = read_source(f"{base}/feed.json", FetchPolicy(allow_private=True))
    assert payload.content == b'{"ok": true}'
    assert payload.content_type == "application/json"


def test_oversized_payload_is_refused(feed_server):
    base, routes = feed_server
    routes["/big"] = (200, {}, b"x" * 2048)
    with pytest.raises(FetchError, match=r"limit (is|of) 1,000"):
        read_source(f"{base}/big", FetchPolicy(allow_private=True, max_bytes=1000))


def test_a_server_trickling_bytes_is_cut_off_at_the_deadline(feed_server):
    base, _ = feed_server
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"took more than 0\.5 s"):
        read_source(f"{base}/trickle", FetchPolicy(allow_private=True, timeout=5, deadline=0.5))
    assert time.monotonic() - started < 3  # the whole body would take 10 s


def test_redirects_are_followed_and_http_errors_are_readable(feed_server):
    base, routes = feed_server
    routes["/old"] = (302, {"Location": "/new"}, b"")
    routes["/new"] = (200, {}, b"moved here")
    assert read_source(f"{base}/old", FetchPolicy(allow_private=True)).content == b"moved here"
    with pytest.raises(FetchError, match="HTTP 404"):
        read_source(f"{base}/missing", FetchPolicy(allow_private=True))


def test_redirect_loops_are_cut(feed_server):
    base, routes = feed_server
    routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(FetchError, match="more than 5 times"):
        read_source(f"{base}/loop", FetchPolicy(allow_private=True))


def test_missing_file_is_a_readable_error(tmp_path):
    with pytest.raises(FetchError, match="No such file"):
        read_source(str(tmp_path / "absent.zip"), FetchPolicy())


def test_a_folder_is_read_as_a_zip_of_its_files(tmp_path):
    (tmp_path / "stops.txt").write_text("stop_id\nA\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ignored.txt").write_text("x")
    payload = read_source(str(tmp_path), FetchPolicy())
    with zipfile.ZipFile(BytesIO(payload.content)) as archive:
        assert archive.namelist() == ["stops.txt"]
        assert archive.read("stops.txt") == b"stop_id\nA\n"
