"""A clean stop (SIGTERM) of a real `feedsvc serve` while one source's page is being parsed (a page that
takes tens of seconds) and another's response is held by its server: the process exits within
`stop_timeout`, and neither run leaves a trace in the store (no error, no failure count, no backoff, no
lease), so the next start runs both again at once."""

from __future__ import annotations

import functools
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from feedsvc.errors import Interrupted
from feedsvc.fetch import Fetcher
from feedsvc.models import Source
from feedsvc.schedule import Schedule
from feedsvc.service import Service
from feedsvc.settings import load_settings
from tests.conftest import write_config
from tests.ports import free_port

pytestmark = pytest.mark.slow
STOP_TIMEOUT = 5.0
CARD = (
    "<li><h3><a href='https://news.example/{i}'>Harbour council approves new sea wall number {i}</a></h3>"
    "<span>Reuters</span> · <span>2 hours ago</span><p>The council voted to rebuild the wall.</p></li>"
)


def slow_page() -> str:
    """Within every structural bound (250 deep, 3 MB) but about 25 s to extract on an idle core."""
    block = "<div>" * 250 + CARD.format(i=1) + "</div>" * 250
    return "<html><body>" + block * 1000 + "</body></html>"


class HeldServer:
    """An HTTP server on 127.0.0.1 that answers robots.txt with 404 and holds every other request until
    the test ends; ``arrived`` is set when a page request came in."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/robots.txt":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.arrived.set()
                outer.release.wait(timeout=120)
                body = b"<html><body><ul>" + CARD.format(i=2).encode() + b"</ul></body></html>"
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client hung up: that is the point

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/news"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HeldServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def held() -> Iterator[HeldServer]:
    with HeldServer() as server:
        yield server


def _config(tmp: Path, held_url: str) -> Path:
    (tmp / "pages").mkdir()
    (tmp / "pages" / "slow.html").write_text(slow_page(), encoding="utf-8")
    extra = (
        '[[sources]]\nname = "slow"\nurl = "pages/slow.html"\ninterval = "15m"\n\n'
        f'[[sources]]\nname = "held"\nurl = "{held_url}"\ninterval = "15m"\n'
    )
    config = write_config(
        tmp, extra, pages=("daily8-putin-invites-trump.txt",), listen=f"127.0.0.1:{free_port()}"
    )
    text = config.read_text(encoding="utf-8").replace(
        'log_level = "WARNING"', f'log_level = "DEBUG"\nstop_timeout = {STOP_TIMEOUT}'
    )
    config.write_text(text, encoding="utf-8")
    return config


def _serve(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "feedsvc.cli", "serve", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_for(condition: object, what: str, proc: subprocess.Popen[bytes], log: Path, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert callable(condition)
        if condition():
            return
        assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)
    raise AssertionError(f"{what} not seen within {limit} s:\n{log.read_text()[-3000:]}")


def _rows(db: Path) -> dict[str, tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT name, last_fetch, last_error, failures, backoff_until, lease_owner FROM sources"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_sigterm_cuts_a_slow_parse_and_a_held_fetch_and_records_nothing(
    tmp_path: Path, held: HeldServer
) -> None:
    config = _config(tmp_path, held.url)
    log = tmp_path / "serve.log"
    proc = _serve(config, log)
    try:
        _wait_for(held.arrived.is_set, "the held request", proc, log, 120)
        _wait_for(
            lambda: "event=extracting source=slow" in log.read_text(errors="replace"),
            "the slow page's extraction",
            proc,
            log,
            120,
        )
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    assert code == 0, text[-3000:]
    assert took < STOP_TIMEOUT, f"stop took {took:.1f} s, over stop_timeout {STOP_TIMEOUT} s"
    assert "event=run_interrupted source=slow" in text
    assert "event=run_interrupted source=held" in text
    assert "Traceback" not in text
    rows = _rows(tmp_path / "db" / "feedsvc.db")
    for name in ("slow", "held"):
        # Never fetched as far as the store knows: no error, no failure, no backoff, no lease left.
        assert rows[name] == (None, None, 0, None, None), (name, rows[name])

    # The next start runs both again at once (the held one's request comes in again).
    held.arrived.clear()
    proc = _serve(config, log)
    try:
        _wait_for(held.arrived.is_set, "the held request after a restart", proc, log, 120)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0


def test_cancel_cuts_a_request_in_flight_and_refuses_new_ones(held: HeldServer) -> None:
    fetcher = Fetcher(timeout=60)
    source = Source(name="held", url=held.url, interval=900)
    outcome: list[BaseException] = []

    def fetch() -> None:
        try:
            fetcher.fetch(source)
        except BaseException as exc:  # what the test checks
            outcome.append(exc)

    worker = threading.Thread(target=fetch)
    worker.start()
    assert held.arrived.wait(timeout=60)
    fetcher.cancel()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the held request was not cut"
    assert [type(e) for e in outcome] == [Interrupted], outcome
    with pytest.raises(Interrupted):
        fetcher.fetch(source)
    fetcher.close()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_stopped_worker_releases_its_lease_and_records_nothing(
    tmp_path: Path, held: HeldServer, database_url: str
) -> None:
    extra = f'[[sources]]\nname = "held"\nurl = "{held.url}"\n'
    pages = ("daily8-putin-invites-trump.txt",)
    config = write_config(tmp_path, extra, pages=pages, database_url=database_url)
    settings = load_settings(config, environ={})
    service = Service(settings)
    schedule = Schedule(service)
    try:
        service.start()
        schedule.start()
        assert held.arrived.wait(timeout=60)
        started = time.monotonic()
        assert schedule.stop(timeout=30), "a run was still going after the stop"
        assert time.monotonic() - started < 10
        state = service.store.source_state("held")
        assert (state.last_fetch, state.last_error, state.failures, state.backoff_until) == (
            None,
            None,
            0,
            None,
        )
        # Released: due, and claimable by the next worker at once.
        other = Service(settings, role="worker")
        try:
            assert "held" in [c.source for c in other.claim(4)]
        finally:
            other.close()
    finally:
        service.close()


def test_a_claim_cancelled_before_it_ran_is_given_back(tmp_path: Path) -> None:
    from concurrent.futures import Future

    settings = load_settings(write_config(tmp_path, pages=("daily8-putin-invites-trump.txt",)), environ={})
    service = Service(settings)
    schedule = Schedule(service)
    try:
        service.ensure_schedule()
        [claim] = service.claim(1)
        schedule._running[claim.source] = claim
        future: Future[None] = Future()
        future.add_done_callback(functools.partial(schedule._if_cancelled, claim))
        assert future.cancel()  # what ThreadPoolExecutor.shutdown(cancel_futures=True) does to a queued run
        assert not schedule._running
        assert [c.source for c in service.claim(1)] == [claim.source]  # due and free again at once
    finally:
        service.close()
