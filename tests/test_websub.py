"""WebSub: hub links in every format, and publish pings to a local hub (one per changed feed URL, in the
background, retried a bounded number of times, never for a private feed)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree as ET

import feedparser
import pytest

from feedsvc.service import Service
from feedsvc.settings import Settings, load_settings
from feedsvc.websub import HubPinger, publish_form, retry_delay, should_retry
from tests.conftest import write_config
from tests.ports import free_port
from tests.test_publish import atom_problems, rss_problems

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "http://127.0.0.1:8080/feeds"
FEEDS = ("all", "putin-invites-trump", "ukraine-security-talks", "habba-ruling-reaction")
DEADLINE = 120.0  # seconds to wait for a condition on a loaded machine


class Hub:
    """A WebSub hub on 127.0.0.1 that records every publish ping. ``statuses`` are answered in turn
    (then 204); while ``gate`` is clear, requests are recorded but not answered."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.pings: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.cond = threading.Condition()
        self.gate = threading.Event()
        self.gate.set()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                with hub.cond:
                    hub.pings.append(
                        {
                            "path": self.path,
                            "type": self.headers.get("Content-Type"),
                            "form": parse_qs(body, keep_blank_values=True),
                        }
                    )
                    status = hub.statuses.pop(0) if hub.statuses else 204
                    hub.cond.notify_all()
                hub.gate.wait(DEADLINE)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hub"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def urls(self) -> list[str]:
        with self.cond:
            return [url for p in self.pings for url in p["form"].get("hub.url", [])]

    def wait_for(self, predicate: Callable[[], bool]) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, DEADLINE), f"hub saw only {self.pings}"

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(DEADLINE)


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.close()


def _every_url(names: tuple[str, ...] = FEEDS) -> list[str]:
    return sorted(f"{BASE}/{name}.{ext}" for name in names for ext in ("atom", "rss", "json"))


def _settings(config: Path, hub: str, **environ: str) -> Settings:
    return load_settings(config, environ={"FEEDSVC_HUB": hub, **environ})


def _quiet(service: Service) -> None:
    """Every queued ping sent or given up."""
    assert service.websub is not None and service.websub.wait_idle(DEADLINE)


def test_the_publisher_pings_the_hub_once_per_changed_feed_url(tmp_path: Path, hub: Hub) -> None:
    config = write_config(tmp_path)
    service = Service(_settings(config, hub.url))
    service.start()
    try:
        service.run_once()
        _quiet(service)
        assert sorted(hub.urls()) == _every_url()  # every format, each once
        for ping in hub.pings:
            assert ping["path"] == "/hub" and ping["type"] == "application/x-www-form-urlencoded"
            assert ping["form"]["hub.mode"] == ["publish"] and len(ping["form"]["hub.url"]) == 1
        assert service.publish_feeds() == 0  # nothing changed: no ping
        _quiet(service)
        assert len(hub.pings) == 12
    finally:
        service.close()
    # A restart with nothing changed republishes nothing and pings nothing.
    again = Service(_settings(config, hub.url))
    again.start()
    _quiet(again)
    again.close()
    assert len(hub.pings) == 12
    # A source's new title changes that source's feed only: three pings at start-up.
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('name = "habba-ruling-reaction"\n', 'name = "habba-ruling-reaction"\ntitle = "Habba"\n'),
        encoding="utf-8",
    )
    renamed = Service(_settings(config, hub.url))
    renamed.start()
    try:
        _quiet(renamed)
        assert sorted(hub.urls()[12:]) == _every_url(("habba-ruling-reaction",))
    finally:
        renamed.close()


def test_a_new_hub_republishes_every_feed_at_start_up(tmp_path: Path, hub: Hub) -> None:
    config = write_config(tmp_path)
    first = Service(_settings(config, hub.url))
    first.start()
    first.run_once()
    _quiet(first)
    first.close()
    other = Hub()
    try:
        moved = Service(_settings(config, other.url))
        moved.start()  # the hub is part of the feeds' fingerprint: rebuilt now, not at the next change
        try:
            _quiet(moved)
            assert sorted(other.urls()) == _every_url()
            for name in FEEDS:
                feed = moved.publisher.get(f"{name}.atom")
                assert feed is not None and f'<link href="{other.url}" rel="hub"/>'.encode() in feed.content
        finally:
            moved.close()
    finally:
        other.close()
    assert len(hub.pings) == 12


def test_every_format_names_the_hub_and_stays_valid(tmp_path: Path, hub: Hub) -> None:
    service = Service(_settings(write_config(tmp_path), hub.url))
    service.start()
    try:
        service.run_once()
        for name in FEEDS:
            atom, rss, doc = (service.publisher.get(f"{name}.{ext}") for ext in ("atom", "rss", "json"))
            assert atom is not None and rss is not None and doc is not None
            assert atom_problems(atom.content) == [] and rss_problems(rss.content) == []
            links = {
                link.get("rel"): link.get("href") for link in ET.fromstring(atom.content).iter(ATOM + "link")
            }
            assert links["hub"] == hub.url and links["self"] == f"{BASE}/{name}.atom"
            parsed = feedparser.parse(atom.content)
            assert not parsed.bozo and {"rel": "hub", "href": hub.url} in [
                {"rel": link.rel, "href": link.href} for link in parsed.feed.links
            ]
            assert b'xmlns:atom="http://www.w3.org/2005/Atom"' in rss.content
            channel = ET.fromstring(rss.content).find("channel")
            assert channel is not None
            tags = [(child.tag, child.get("rel")) for child in channel]
            self_at = tags.index((ATOM + "link", "self"))
            assert tags[self_at + 1] == (ATOM + "link", "hub")  # beside the self link, before the items
            assert channel.findtext("link") == "http://127.0.0.1:8080/"  # not the hub's address
            assert channel.find(f"{ATOM}link[@rel='hub']").get("href") == hub.url  # type: ignore[union-attr]
            parsed_rss = feedparser.parse(rss.content)
            assert not parsed_rss.bozo and parsed_rss.entries
            feed = json.loads(doc.content)
            assert feed["hubs"] == [{"type": "WebSub", "url": hub.url}]
            assert feed["feed_url"] == f"{BASE}/{name}.json"
    finally:
        service.close()


def test_without_a_hub_feeds_name_none(demo_settings: Callable[[], Settings]) -> None:
    service = Service(demo_settings())
    service.start()
    try:
        service.run_once()
        assert service.websub is None
        for name in FEEDS:
            assert b'rel="hub"' not in service.publisher.get(f"{name}.atom").content  # type: ignore[union-attr]
            assert b'rel="hub"' not in service.publisher.get(f"{name}.rss").content  # type: ignore[union-attr]
            assert "hubs" not in json.loads(service.publisher.get(f"{name}.json").content)  # type: ignore[union-attr]
    finally:
        service.close()


PRIVATE = (
    '[[feeds]]\nname = "ukraine"\ntitle = "Ukraine"\nkeywords = ["Ukraine", "Kyiv", "Zelensky"]\n'
    'token = "feed-token-51"\n'
)


def test_private_feeds_are_never_announced_to_the_hub(tmp_path: Path, hub: Hub) -> None:
    service = Service(_settings(write_config(tmp_path, extra=PRIVATE), hub.url))
    service.start()
    try:
        service.run_once()
        _quiet(service)
        assert sorted(hub.urls()) == _every_url()  # the public feeds only
        for ext in ("atom", "rss", "json"):
            feed = service.publisher.get(f"ukraine.{ext}")
            assert feed is not None and b"hub" not in feed.content and b"feed-token-51" not in feed.content
    finally:
        service.close()


def test_a_service_token_makes_every_feed_private_so_none_names_the_hub(tmp_path: Path, hub: Hub) -> None:
    service = Service(_settings(write_config(tmp_path), hub.url, FEEDSVC_TOKEN="service-token-77"))
    service.start()
    try:
        service.run_once()
        assert service.websub is None and service.context.hub == ""
        for name in FEEDS:
            assert b"hub" not in service.publisher.get(f"{name}.atom").content  # type: ignore[union-attr]
    finally:
        service.close()
    assert hub.pings == []


def test_publishing_never_waits_for_the_hub(tmp_path: Path, hub: Hub) -> None:
    hub.gate.clear()  # the hub takes the pings but answers none of them
    service = Service(_settings(write_config(tmp_path), hub.url))
    service.start()
    try:
        worker = threading.Thread(target=service.run_once)
        worker.start()
        hub.wait_for(lambda: len(hub.pings) >= 1)  # a ping is in flight and held
        worker.join(DEADLINE)
        assert not worker.is_alive(), "publishing waited for the hub"
        assert len(hub.pings) == 1 and all(service.publisher.get(f"{n}.atom") for n in FEEDS)
        hub.gate.set()
        _quiet(service)
        assert sorted(hub.urls()) == _every_url()
    finally:
        hub.gate.set()
        service.close()


def test_failed_pings_are_retried_a_bounded_number_of_times_and_logged(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="feedsvc.websub")
    pinger = HubPinger(hub.url, attempts=3, delay=0.01)
    try:
        hub.statuses = [500, 503]  # then 204
        pinger.ping([f"{BASE}/all.atom"])
        assert pinger.wait_idle(DEADLINE) and pinger.sent == 1 and pinger.failed == 0
        assert hub.urls() == [f"{BASE}/all.atom"] * 3
        failures = [r.getMessage() for r in caplog.records]
        assert len(failures) == 2 and all(f"hub={hub.url}" in m for m in failures)
        assert "status=500 attempt=1/3" in failures[0] and "status=503 attempt=2/3" in failures[1]
        caplog.clear()
        hub.statuses = [500, 500, 500]  # every attempt fails: three requests, then it gives up
        pinger.ping([f"{BASE}/all.rss"])
        assert pinger.wait_idle(DEADLINE) and pinger.failed == 1
        assert hub.urls()[3:] == [f"{BASE}/all.rss"] * 3
        assert (
            "give up" in caplog.records[-1].getMessage() and "attempt=3/3" in caplog.records[-1].getMessage()
        )
        caplog.clear()
        hub.statuses = [400]  # the hub refuses the URL: not retried
        pinger.ping([f"{BASE}/all.json"])
        assert pinger.wait_idle(DEADLINE) and pinger.failed == 2
        assert hub.urls()[6:] == [f"{BASE}/all.json"]
        assert "status=400 attempt=1/3" in caplog.records[0].getMessage()
    finally:
        pinger.close()


def test_an_unreachable_hub_is_logged_and_never_fatal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="feedsvc.websub")
    port = free_port()  # a port nothing listens on
    pinger = HubPinger(f"http://user:hubsecret@127.0.0.1:{port}/", attempts=2, delay=0.01)
    try:
        pinger.ping([f"{BASE}/all.atom", f"{BASE}/all.atom"])  # queued once
        assert pinger.wait_idle(DEADLINE) and pinger.failed == 1 and pinger.sent == 0
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == 2 and all("status=none" in m and "ConnectError" in m for m in messages)
        assert all(f"hub=http://user:***@127.0.0.1:{port}/" in m for m in messages)
    finally:
        pinger.close()


def test_closing_drops_what_is_queued_without_waiting_for_the_hub(hub: Hub) -> None:
    hub.gate.clear()
    pinger = HubPinger(hub.url, attempts=1, timeout=DEADLINE)
    pinger.ping([f"{BASE}/{name}.atom" for name in FEEDS])
    hub.wait_for(lambda: len(hub.pings) == 1)
    assert pinger.close(timeout=0) is False  # returns at once, the ping in flight still held
    hub.gate.set()
    assert pinger.close(timeout=DEADLINE) is True
    assert hub.urls() == [f"{BASE}/all.atom"]  # the three queued behind it were dropped
    pinger.ping([f"{BASE}/late.atom"])  # after close: ignored, never raised
    assert pinger.wait_idle(DEADLINE) and hub.urls() == [f"{BASE}/all.atom"]


@pytest.mark.parametrize(
    ("status", "attempt", "retry"),
    [
        (None, 1, True),
        (500, 1, True),
        (503, 3, True),
        (429, 2, True),
        (500, 4, False),
        (None, 4, False),
        (400, 1, False),
        (404, 1, False),
        (410, 2, False),
    ],
)
def test_which_failures_are_retried(status: int | None, attempt: int, retry: bool) -> None:
    assert should_retry(status, attempt, attempts=4) is retry


def test_retry_delays_grow_and_the_form_is_the_publish_ping() -> None:
    assert [retry_delay(n, 2.0) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert publish_form("https://x.example/feeds/all.atom") == {
        "hub.mode": "publish",
        "hub.url": "https://x.example/feeds/all.atom",
    }
