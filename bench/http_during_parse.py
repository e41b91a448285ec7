"""Does parsing stall the HTTP server? Feed latency while a 2 MB HTML page is extracted in a worker thread
(as the scheduler does), against the same server idle, in the same run. The server is `feedsvc serve`'s
(feedsvc.server.server_config: httptools + uvloop and the feed fast path when installed).

Run: python -m bench.http_during_parse
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

from bench.extract_pages import big_html
from feedsvc.app import create_app
from feedsvc.extract import extract
from feedsvc.models import Page, Source
from feedsvc.server import server_config
from feedsvc.settings import load_settings
from tests.conftest import write_config
from tests.ports import free_port

REQUESTS = 400


def _probe(url: str) -> tuple[float, float, float]:
    latencies = []
    with httpx.Client() as client:
        for _ in range(REQUESTS):
            start = time.perf_counter()
            client.get(url, headers={"Accept-Encoding": "identity"})
            latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1], latencies[-1]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="feedsvc-bench-"))
    port = free_port()
    settings = load_settings(write_config(tmp, listen=f"127.0.0.1:{port}"), environ={})
    app = create_app(settings, schedule=False)
    app.state.service.run_once()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, stop_timeout=2))
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}/feeds/all.atom"
    while not server.started:
        time.sleep(0.05)

    idle = _probe(url)
    html = big_html()
    source = Source(name="bench", url="https://daily8.example/tag/ukraine", interval=900)
    page = Page(
        source="bench", url=source.url, content=html, fetched_at=datetime.now(UTC), content_type="text/html"
    )
    done = threading.Event()
    parsed = 0

    def parse_forever() -> None:
        nonlocal parsed
        while not done.is_set():
            extract(page, source, max_bytes=10_000_000)
            parsed += 1

    worker = threading.Thread(target=parse_forever)
    worker.start()
    busy = _probe(url)
    done.set()
    worker.join()
    server.should_exit = True

    print(f"GET /feeds/all.atom, {REQUESTS} sequential requests, latency in ms")
    print(f"{'server':<34} {'p50':>7} {'p99':>7} {'max':>7}")
    print(f"{'idle (baseline)':<34} {idle[0]:>7.2f} {idle[1]:>7.2f} {idle[2]:>7.2f}")
    print(f"{'while extracting a 2 MB page':<34} {busy[0]:>7.2f} {busy[1]:>7.2f} {busy[2]:>7.2f}")
    print(f"pages extracted meanwhile: {parsed + 1}; p99 ratio busy/idle: {busy[1] / idle[1]:.1f}x")


if __name__ == "__main__":
    main()
