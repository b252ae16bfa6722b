"""A newcomer's first call, in a real Chromium against the real hub served by ``mobihub serve``.

Sign up, confirm the address from the mailed link, log in, create an app and a key, run a call
from the interactive reference with that key, call the transit API from the test, flush the
meter and see the calls on the usage page. The server is another process, so the per-test
rollback cannot reach it: the journey runs on a committed database of its own (a SQLite file,
or a PostgreSQL database created and dropped here) and the run's Redis index.

Screenshots of the landing, reference, keys, OAuth clients and usage pages are written, full
page, to ``artifacts/screenshots/`` in the project root (git-ignored) for people to look at.
"""

from __future__ import annotations

import email
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest
import redis as redis_lib

from tests.conftest import PROJECT_ROOT, fresh_database
from tests.portal.factories import PASSWORD, link_in, unique_email

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MOBIHUB = str(Path(sys.executable).with_name("mobihub"))
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
GTFS_SAMPLE = Path("gtfs") / "google-sample" / "sample-feed.zip"
STOPS = "/transit/v1/stops"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium; scripts/test does it as root)"),
]


@dataclass(frozen=True)
class Hub:
    """A running hub: where it answers and where it writes its mail."""

    base_url: str
    instance: Path

    def mails_to(self, address: str) -> list[Message]:
        """The .eml messages the hub wrote for ``address``, oldest first."""
        folder = self.instance / "mail"
        messages = [email.message_from_bytes(path.read_bytes())
                    for path in sorted(folder.glob("*.eml"))] if folder.exists() else []
        return [message for message in messages if message["To"] == address]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def hub_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the served hub's own, committed to, dropped at the end."""
    with fresh_database(tmp_path_factory.mktemp("journey-db"), "journey") as url:
        yield url


@pytest.fixture(scope="module")
def hub_env(hub_database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, str]:
    """The environment of every ``mobihub`` command of the journey (no stray MOBIHUB_*)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOBIHUB_")}
    env.update(MOBIHUB_DATABASE_URL=hub_database, MOBIHUB_REDIS_URL=redis_url,
               MOBIHUB_INSTANCE_PATH=str(tmp_path_factory.mktemp("journey-instance")),
               MOBIHUB_BASE_URL=f"http://127.0.0.1:{port}", MOBIHUB_LOG_LEVEL="WARNING",
               MOBIHUB_USAGE_FLUSH_IN_WORKER="off")  # the test flushes with the CLI
    return env


def mobihub(env: dict[str, str], *args: str) -> str:
    """Run a ``mobihub`` command against the journey's hub; its output."""
    done = subprocess.run([MOBIHUB, *args], env=env, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, check=False)
    assert done.returncode == 0, f"mobihub {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def hub(hub_env: dict[str, str], redis_url: str, shared_data: Path) -> Iterator[Hub]:
    """``mobihub serve`` on a free loopback port, migrated, with the GTFS sample imported."""
    # Buckets other tests left on this Redis index belong to other databases' apps.
    redis_lib.Redis.from_url(redis_url).flushdb()
    mobihub(hub_env, "db", "upgrade")
    mobihub(hub_env, "feeds", "import", str(shared_data / GTFS_SAMPLE),
            "--provider", "Google sample transit", "--format", "gtfs")
    base_url = hub_env["MOBIHUB_BASE_URL"]
    log = Path(hub_env["MOBIHUB_INSTANCE_PATH"]) / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [MOBIHUB, "serve", "--port", base_url.rsplit(":", 1)[1], "--workers", "1"],
            env=hub_env, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(base_url, server, log)
        yield Hub(base_url, Path(hub_env["MOBIHUB_INSTANCE_PATH"]))
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_healthy(base_url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=5):  # noqa: S310
                return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mobihub serve did not come up:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e .[dev])")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, hub: Hub) -> Iterator[object]:
    """A fresh browser tab (own cookies) on the hub; it fails on any page script error."""
    context = browser.new_context(base_url=hub.base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    script_errors: list[str] = []
    tab.on("pageerror", lambda error: script_errors.append(str(error)))
    yield tab
    context.close()
    assert script_errors == []


def screenshot(page, name: str) -> None:
    """A full-page PNG of what the browser shows now, in the artefacts folder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def call_transit(hub: Hub, key: str) -> tuple[int, dict]:
    """GET the stops list with the key, as a developer's program would."""
    request = urllib.request.Request(f"{hub.base_url}{STOPS}?limit=5",  # noqa: S310 - loopback
                                     headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_a_newcomer_signs_up_makes_calls_with_a_new_key_and_sees_them_counted(
        page, hub: Hub, hub_env: dict[str, str]) -> None:
    address = unique_email("journey")

    page.goto("/")
    page.get_by_role("heading", name="One hub for parking and public transport data").wait_for()
    screenshot(page, "landing")
    page.get_by_role("link", name="Sign up free").click()
    page.get_by_label("Work email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organisation or project name").fill("Journey Mobility")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/developer/check-email")

    [verification] = hub.mails_to(address)
    page.goto(link_in(verification))
    page.wait_for_url("**/developer/login")
    page.get_by_text("Your email address is confirmed").wait_for()
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("heading", name="Journey Mobility").wait_for()
    page.get_by_label("App name").fill("Departure board")
    page.get_by_role("button", name="Create app").click()
    page.wait_for_url(re.compile(r".*/developer/apps/\d+/keys$"))
    page.get_by_label("Label").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("new-key").input_value()
    assert key.startswith("mob_")
    screenshot(page, "keys")
    keys_url = page.url
    usage_url = keys_url.rsplit("/", 1)[0] + "/usage"

    page.goto("/developer/reference?product=transit")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use this key").click()
    page.get_by_text("Key set: requests carry it.").wait_for()
    stops = page.locator(".opblock-get", has=page.locator(f'[data-path="{STOPS}"]'))
    stops.locator(".opblock-summary").click()
    stops.get_by_role("button", name="Try it out").click()
    stops.get_by_role("button", name="Execute").click()
    live = stops.locator(".live-responses-table")
    status = live.locator("td.response-col_status:not(.col_header)")
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert "stop_id" in live.locator("td.response-col_description:not(.col_header)").inner_text()
    screenshot(page, "reference")

    page.goto(keys_url.rsplit("/", 1)[0] + "/oauth")
    page.get_by_role("button", name="Create OAuth client").click()
    assert page.get_by_test_id("new-client-secret").input_value().startswith("mobs_")
    screenshot(page, "oauth")

    code, body = call_transit(hub, key)
    assert code == 200
    assert body["items"], body  # real stops from the imported sample feed

    mobihub(hub_env, "usage", "flush")
    page.goto(usage_url)
    transit = page.locator('.card[data-product="transit"]')
    assert transit.locator(".calls").inner_text() == "2"
    page.get_by_role("heading", name="Last calls").wait_for()
    # Both calls (the one from the reference page and the test's own) with their status codes.
    last_calls = page.locator('section[aria-labelledby="calls-h"] tbody tr')
    assert last_calls.count() == 2
    assert all("200" in text for text in last_calls.all_inner_texts())
    screenshot(page, "usage")
