"""Read a feed payload from a local path or a URL, safely.

URLs are fetched with a timeout and a size cap, and only from public addresses: the host is
resolved once, every address checked, and the connection made to the checked address (so DNS
rebinding cannot swap in a private one). Redirects are followed by hand and checked again.
This guards the hub against server-side request forgery (OWASP SSRF prevention cheat sheet).
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 5
USER_AGENT = "MobiHub-FeedFetcher/1.0 (+https://mobihub.eu)"


class FetchError(Exception):
    """The payload could not be read; the message says why in plain words."""


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch."""

    timeout: float = 30.0  # for each connect and read
    max_bytes: int = 512 * 1024 * 1024
    allow_private: bool = False
    # For the whole fetch, redirects included: a server sending a byte now and then never
    # trips the per-read timeout, and would hold an import (and its worker) for ever.
    deadline: float = 600.0


@dataclass(frozen=True)
class Payload:
    """The bytes of a feed and where they came from."""

    content: bytes
    source: str
    content_type: str | None = None


def read_source(source: str, policy: FetchPolicy) -> Payload:
    """Read a payload from an ``http(s)://`` URL or a local file path."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in {"http", "https"}:
        return fetch_url(source, policy)
    if scheme not in {"", "file"} and not (len(scheme) == 1 and source[1:3] in {":\\", ":/"}):
        raise FetchError(f"Unsupported source {source!r}: give a file path or an http(s) URL.")
    path = Path(source.removeprefix("file://")).expanduser()
    if not path.exists():
        raise FetchError(f"No such file: {path}")
    if path.is_dir():
        return Payload(_zip_folder(path, policy.max_bytes), str(path.resolve()), "application/zip")
    size = path.stat().st_size
    if size > policy.max_bytes:
        raise FetchError(f"{path} is {size:,} bytes; the limit is {policy.max_bytes:,}.")
    return Payload(path.read_bytes(), str(path.resolve()))


def _zip_folder(path: Path, limit: int) -> bytes:
    """A folder feed (an unzipped GTFS) as the zip its adapter reads; sub-folders are ignored."""
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for member in sorted(p for p in path.iterdir() if p.is_file()):
            total += member.stat().st_size
            if total > limit:
                raise FetchError(f"{path} holds more than the limit of {limit:,} bytes.")
            archive.write(member, member.name)
    return buffer.getvalue()


def check_address(host: str, port: int, allow_private: bool) -> str:
    """Resolve ``host`` and return an address to connect to, refusing non-public ones."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"Cannot resolve host {host!r}: {exc.strerror}.") from exc
    addresses = [info[4][0] for info in infos]
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not _is_public(ip):
                raise FetchError(
                    f"Refusing to fetch from {host!r}: it resolves to the non-public address "
                    f"{ip}. Feeds must be published on the public internet."
                )
    return addresses[0]


# IPv6 prefixes that carry an IPv4 address in their last 32 bits and reach it through a
# translator: NAT64 (RFC 6052, RFC 8215). Python's is_global judges the IPv6 prefix only.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global unicast, and so is any IPv4 address it embeds (mapped, 6to4, Teredo, NAT64)."""
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if any(ip in network for network in _NAT64):
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        return all(_is_public(v4) for v4 in embedded if v4 is not None)
    return True


def fetch_url(url: str, policy: FetchPolicy) -> Payload:
    """GET a URL with the policy's checks, following up to five redirects."""
    current = url
    deadline = time.monotonic() + policy.deadline
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(current)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise FetchError(f"Unsupported URL {current!r}: only http and https are fetched.")
        if parts.username or parts.password:
            raise FetchError("URLs with embedded credentials are not fetched.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = check_address(parts.hostname, port, policy.allow_private)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"{url} took more than {policy.deadline:g} s to fetch.")
        connection = _connection(parts.scheme, parts.hostname, address, port,
                                 min(policy.timeout, remaining))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("GET", target, headers={
                "Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": USER_AGENT,
                "Accept": "*/*", "Accept-Encoding": "identity",
            })
            response = connection.getresponse()
            if response.status in {301, 302, 303, 307, 308}:
                location = response.getheader("Location")
                if not location:
                    raise FetchError(f"{current} redirected without a Location header.")
                current = urljoin(current, location)
                continue
            if response.status != 200:
                raise FetchError(f"{current} answered HTTP {response.status} {response.reason}.")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchError(
                    f"{current} declares {int(declared):,} bytes; the limit is "
                    f"{policy.max_bytes:,}."
                )
            content = _read_capped(response, policy.max_bytes, current, connection,
                                   policy, deadline)
            return Payload(content, url, response.getheader("Content-Type"))
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"Fetching {current} failed: {exc or type(exc).__name__}.") from exc
        finally:
            connection.close()
    raise FetchError(f"{url} redirected more than {MAX_REDIRECTS} times.")


def _read_capped(response: http.client.HTTPResponse, limit: int, url: str,
                 connection: http.client.HTTPConnection, policy: FetchPolicy,
                 deadline: float) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"{url} took more than {policy.deadline:g} s to send the feed.")
        if connection.sock is not None:
            connection.sock.settimeout(min(policy.timeout, remaining))
        # read1: what has arrived (one receive), so the deadline is checked as bytes trickle.
        chunk = response.read1(1 << 16)
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise FetchError(f"{url} sent more than the limit of {limit:,} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a pre-checked address while verifying the certificate for the host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def _connection(
    scheme: str, host: str, address: str, port: int, timeout: float
) -> http.client.HTTPConnection:
    if scheme == "https":
        return _PinnedHTTPSConnection(host, address, port, timeout)
    return _PinnedHTTPConnection(host, address, port, timeout)
